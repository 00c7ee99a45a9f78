//! The boundary to the machine: reading files under the root and running the root's own
//! helper programs. Effects that change the node live in `apply`.

use std::ffi::OsStr;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::root::Root;

/// Reads a whole file; `None` when it does not exist (or a directory on the way is missing).
pub fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// The entries of a directory, sorted; empty when it does not exist.
pub fn list_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(Vec::new());
        }
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        out.push(entry.path());
    }
    out.sort();
    Ok(out)
}

/// Whether `path` is a symlink to /dev/null: systemd's way of masking a drop-in.
pub fn is_masked(path: &Path) -> bool {
    std::fs::read_link(path).is_ok_and(|t| t == Path::new("/dev/null"))
}

/// Finds a helper program in the trusted directories under the root, never in PATH.
pub fn find_program(root: &Root, name: &str) -> Option<PathBuf> {
    let dirs = std::env::join_paths(root.trusted_dirs()).ok()?;
    which::which_in(name, Some(dirs), root.dir()).ok()
}

pub struct Output {
    pub success: bool,
    pub code: Option<i32>,
    /// stdout followed by stderr, trimmed.
    pub text: String,
}

/// Runs a helper program of the root with a clean environment and a time limit.
pub fn run(root: &Root, program: &Path, args: &[&str], timeout: Duration) -> Result<Output> {
    let mut path = root.trusted_dirs();
    if !root.is_host() {
        // helper scripts inside a fixture root still need a shell's basic tools
        path.extend(crate::root::TRUSTED_DIRS.iter().map(PathBuf::from));
    }
    let mut child = Command::new(program)
        .args(args)
        .env_clear()
        .env("PATH", std::env::join_paths(path).unwrap_or_default())
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", program.display()))?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out_reader = thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stdout.read_to_end(&mut s);
        s
    });
    let err_reader = thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr.read_to_end(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(st) = child.try_wait().context("waiting for a helper program")? {
            break st;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!(
                "{} {} did not finish within {}s",
                program.display(),
                args.join(" "),
                timeout.as_secs()
            );
        }
        thread::sleep(Duration::from_millis(5));
    };
    let mut bytes = out_reader.join().unwrap_or_default();
    bytes.extend(err_reader.join().unwrap_or_default());
    Ok(Output {
        success: status.success(),
        code: status.code(),
        text: String::from_utf8_lossy(&bytes).trim().to_string(),
    })
}

/// The first `v<digits>.<digits>` in a version banner, as kube-proxy's ipset check reads it.
pub fn first_version(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices('v') {
        let rest = &bytes[i + 1..];
        let major = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if major == 0 || rest.get(major) != Some(&b'.') {
            continue;
        }
        let minor = rest[major + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if minor > 0 {
            return Some(text[i + 1..i + 2 + major + minor].to_string());
        }
    }
    None
}

pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(OsStr::to_string_lossy)
        .unwrap_or_default()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_like_kube_proxy_reads_them() {
        assert_eq!(
            first_version("ipset v7.17, protocol version: 7").as_deref(),
            Some("7.17")
        );
        assert_eq!(
            first_version("ipset v6.38, protocol version: 6").as_deref(),
            Some("6.38")
        );
        assert_eq!(
            first_version("ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)")
                .as_deref(),
            Some("1.31")
        );
        assert_eq!(
            first_version("iptables v1.8.9 (nf_tables)").as_deref(),
            Some("1.8")
        );
        assert_eq!(first_version("version 7"), None);
        assert_eq!(first_version("v7"), None);
    }
}
