//! Every system path nodeprep touches is relative to one root directory, `/` by default.

use std::fmt;
use std::path::{Path, PathBuf};

/// The directories helper programs are looked up in (under the root), never the caller's PATH.
pub const TRUSTED_DIRS: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root(PathBuf);

impl Root {
    /// A relative directory is made absolute, so that paths under it mean the same thing to
    /// helper programs whatever their working directory. A path that resolves to `/` (`/.`,
    /// a symlink to `/`) is the host, and is spelled `/`.
    pub fn new(dir: impl Into<PathBuf>) -> Root {
        let dir: PathBuf = dir.into();
        if std::fs::canonicalize(&dir).is_ok_and(|p| p == Path::new("/")) {
            return Root(PathBuf::from("/"));
        }
        Root(std::path::absolute(&dir).unwrap_or(dir))
    }

    /// Whether this is the running system's own `/`, where effects reach the real kernel.
    pub fn is_host(&self) -> bool {
        self.0 == Path::new("/")
    }

    pub fn dir(&self) -> &Path {
        &self.0
    }

    /// `abs` is a path as seen on the node ("/etc/sysctl.d"); the result is where it lies here.
    pub fn path(&self, abs: impl AsRef<Path>) -> PathBuf {
        let abs = abs.as_ref();
        self.0.join(abs.strip_prefix("/").unwrap_or(abs))
    }

    /// The reverse of [`Root::path`], for messages and reports: the path as seen on the node.
    pub fn node_path(&self, real: &Path) -> String {
        match real.strip_prefix(&self.0) {
            Ok(rel) if !self.is_host() => format!("/{}", rel.display()),
            _ => real.display().to_string(),
        }
    }

    pub fn trusted_dirs(&self) -> Vec<PathBuf> {
        TRUSTED_DIRS.iter().map(|d| self.path(d)).collect()
    }
}

impl fmt::Display for Root {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_joined_under_the_root() {
        let r = Root::new("/tmp/fx");
        assert_eq!(r.path("/proc/modules"), Path::new("/tmp/fx/proc/modules"));
        assert_eq!(r.node_path(Path::new("/tmp/fx/etc/x")), "/etc/x");
        assert!(!r.is_host());
        let h = Root::new("/");
        assert_eq!(h.path("/proc/modules"), Path::new("/proc/modules"));
        assert_eq!(h.node_path(Path::new("/etc/x")), "/etc/x");
        assert!(h.is_host());
        // any spelling of / is the host: apply's root check must not be sidestepped
        assert!(Root::new("/.").is_host());
        assert!(Root::new("/usr/..").is_host());
        let rel = Root::new("some/dir");
        assert!(rel.dir().is_absolute() && rel.dir().ends_with("some/dir"));
    }
}
