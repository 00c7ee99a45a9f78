//! Host tools for fixture roots. The fake helpers under tests/fixtures are shell scripts, and
//! nodeprep runs a helper of a root other than `/` chrooted into that root, so each test root
//! gets its own `/bin/sh` and the few tools the fakes use, with the shared libraries `ldd`
//! names for them. They are copied once per machine into a cache and hard-linked from there
//! (never from the host's own files, so nothing a test does to a root can reach them).
//! Running helpers chrooted needs root: the tests that run them are run as root (CI is).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// What the fakes call; `sleep` for the slow and flooding helpers of the boundary tests.
pub const TOOLS: [&str; 14] = [
    "sh", "cat", "dirname", "basename", "mkdir", "grep", "tr", "awk", "sed", "sleep", "head",
    "yes", "true", "ls",
];

fn host_tool(name: &str) -> PathBuf {
    ["/usr/bin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("the test toolbox needs {name} in /usr/bin or /bin"))
        .canonicalize()
        .unwrap()
}

fn libraries(bin: &Path) -> Vec<PathBuf> {
    let out = Command::new("ldd")
        .arg(bin)
        .output()
        .expect("the test toolbox needs ldd (libc-bin)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let path = match l.split_once("=>") {
                Some((_, rest)) => rest.split_whitespace().next()?,
                None => l.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

fn build(dir: &Path) {
    for name in TOOLS {
        let bin = host_tool(name);
        let dst = dir.join("usr/bin").join(name);
        fs::create_dir_all(dst.parent().unwrap()).unwrap();
        fs::copy(&bin, &dst).unwrap();
        for lib in libraries(&bin) {
            let dst = dir.join(lib.strip_prefix("/").unwrap());
            if !dst.exists() {
                fs::create_dir_all(dst.parent().unwrap()).unwrap();
                fs::copy(lib.canonicalize().unwrap(), &dst).unwrap();
            }
        }
    }
}

/// The cache, built on first use (atomically, so parallel test processes agree).
fn cache() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("nodeprep-toolbox-{}", env!("CARGO_PKG_VERSION")));
        if !dir.join("usr/bin/sh").exists() {
            let tmp = std::env::temp_dir().join(format!("nodeprep-toolbox.{}", std::process::id()));
            let _ = fs::remove_dir_all(&tmp);
            build(&tmp);
            if fs::rename(&tmp, &dir).is_err() {
                let _ = fs::remove_dir_all(&tmp);
            }
        }
        dir
    })
}

fn link_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let src = entry.path();
        let dst = to.join(entry.file_name());
        if src.is_dir() {
            // follow what the root has there (`bin -> usr/bin` stays a link)
            fs::create_dir_all(&dst).unwrap();
            link_tree(&src, &dst);
        } else if fs::symlink_metadata(&dst).is_err() {
            fs::hard_link(&src, &dst)
                .or_else(|_| fs::copy(&src, &dst).map(|_| ()))
                .unwrap();
        }
    }
}

/// Gives `root` the toolbox: `/usr/bin/sh` and friends, `/lib*/…` libraries.
pub fn install(root: &Path) {
    // a test that surveys the root in this process runs its helpers through the real binary
    nodeprep::system::set_trampoline(crate::support::BIN);
    link_tree(cache(), root);
    let null = root.join("dev/null");
    if fs::symlink_metadata(&null).is_err() {
        fs::create_dir_all(root.join("dev")).unwrap();
        let made = Command::new("mknod")
            .args(["-m", "666"])
            .arg(&null)
            .args(["c", "1", "3"])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !made {
            // no device in a user namespace: a regular file takes what the fakes throw away
            fs::write(&null, "").unwrap();
            fs::set_permissions(&null, fs::Permissions::from_mode(0o666)).unwrap();
        }
    }
    if fs::symlink_metadata(root.join("bin")).is_err() {
        std::os::unix::fs::symlink("usr/bin", root.join("bin")).unwrap();
    }
}

/// Copies a tree keeping symlinks as symlinks and permission bits.
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let meta = fs::symlink_metadata(&src).unwrap();
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if meta.is_dir() {
            copy_tree(&src, &dst);
        } else {
            fs::copy(&src, &dst).unwrap();
            fs::set_permissions(&dst, meta.permissions()).unwrap();
        }
    }
}
