//! The two ways `Root` resolves a path under a root other than `/` — one `openat2` from the
//! root's descriptor (kernels from 5.6), libpathrs (older kernels, or a seccomp profile that
//! refuses `openat2`) — give the same answers on a hostile tree, and neither reaches outside.
//! This machine has `openat2`, so libpathrs is forced with `Root::with_libpathrs`.

use std::fs;
use std::path::Path;

use nodeprep::root::{Entry, Root, Target};

use crate::support::Node;

/// A root whose links aim outside it in every way there is.
fn hostile() -> Node {
    let node = Node::new("debian12-ready");
    let secret = node.outside.join("secret");
    // absolute and relative escapes, a directory link, a loop, a FIFO, a final link
    node.link("/etc/abs-secret", &secret);
    node.link("/etc/rel-secret", "../../../../../../../../outside/secret");
    node.link("/etc/dotdot", "../../../..");
    fs::remove_dir_all(node.path("/etc/sysctl.d")).unwrap();
    node.link("/etc/sysctl.d", node.outside.join("sysctl.d"));
    fs::write(
        node.outside.join("sysctl.d/decoy.conf"),
        "vm.swappiness = 7\n",
    )
    .unwrap();
    node.link("/etc/loop-a", "/etc/loop-b");
    node.link("/etc/loop-b", "/etc/loop-a");
    node.link("/etc/hostname-link", "/etc/hostname");
    node.write("/etc/hostname", "in-root\n");
    node.write("/outside/secret", "the root's own /outside/secret\n");
    nix::unistd::mkfifo(&node.path("/etc/fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    node
}

/// What a root says about a set of paths, for comparison: every answer as text.
fn survey(root: &Root) -> Vec<String> {
    let mut out = Vec::new();
    for p in [
        "/etc/abs-secret",
        "/etc/rel-secret",
        "/etc/dotdot/outside/secret",
        "/etc/hostname-link",
        "/etc/sysctl.d/decoy.conf",
        "/etc/loop-a",
        "/etc/fifo",
        "/../../outside/secret",
        "/etc/missing",
    ] {
        let read = match root.read(p, 1 << 20) {
            Ok(Some(b)) => format!("read {}", String::from_utf8_lossy(&b).trim()),
            Ok(None) => "absent".into(),
            Err(e) => format!("error {}", short(&format!("{e:#}"))),
        };
        out.push(format!("{p}: {read}; entry {:?}", root.entry(p).ok()));
    }
    out.push(format!(
        "list /etc/sysctl.d: {:?}",
        root.list_dir("/etc/sysctl.d").ok()
    ));
    out.push(format!("ipset: {:?}", root.find_program("ipset")));
    out.push(format!("masked? {}", root.is_masked("/etc/abs-secret")));
    out
}

/// The message without the OS's wording, which differs between the resolvers (ELOOP from
/// the kernel, "too many links" from libpathrs): what matters is which path and that it fails.
fn short(e: &str) -> String {
    e.split(':').next().unwrap_or(e).to_string()
}

#[test]
fn openat2_and_libpathrs_agree_and_stay_inside() {
    let node = hostile();
    let before = node.outside_snapshot();
    let kernel = Root::new(&node.root);
    let pathrs = kernel.with_libpathrs();
    assert_eq!(kernel.resolver().unwrap(), "openat2");
    assert_eq!(pathrs.resolver().unwrap(), "libpathrs");
    assert_eq!(Root::new("/").resolver().unwrap(), "host");

    let a = survey(&kernel);
    let b = survey(&pathrs);
    assert_eq!(a, b, "the two resolvers disagree");
    // and what they agree on is the chroot's answer, never the host's
    let joined = a.join("\n");
    assert!(
        !joined.contains("hunter2") && !joined.contains("swappiness = 7"),
        "something outside was read:\n{joined}"
    );
    let own_secret = "read the root's own /outside/secret";
    let expected = [
        // an absolute link to a path of this machine names that path inside the root
        (0, "absent"),
        (1, own_secret),
        (2, own_secret),
        (3, "read in-root"),
        // /etc/sysctl.d → <outside>/sysctl.d is, inside the root, a path that does not exist
        (4, "absent"),
        (5, ": error "),
        (6, ": error "),
        (6, "Some(Special(\"FIFO\"))"),
        (7, own_secret),
        (8, "absent; entry Some(Missing)"),
    ];
    for (i, want) in expected {
        assert!(a[i].contains(want), "want {want:?} in: {}", a[i]);
    }
    assert_eq!(
        node.outside_snapshot(),
        before,
        "something outside the root changed"
    );
}

#[test]
fn writes_through_links_land_inside_with_either_resolver() {
    for force in [false, true] {
        let node = hostile();
        let before = node.outside_snapshot();
        let root = Root::new(&node.root);
        let root = if force { root.with_libpathrs() } else { root };
        // the absolute link to <outside>/sysctl.d dangles inside the root: an error, as
        // `mkdir -p` there would be; once the directory exists inside, the write lands there
        let e = root
            .write_atomic("/etc/sysctl.d/k8s.conf", b"net.ipv4.ip_forward = 1\n")
            .expect_err("a dangling directory link");
        assert!(
            format!("{e:#}").contains("etc/sysctl.d"),
            "libpathrs={force}: {e:#}"
        );
        let inside = node.root.join(
            node.outside
                .join("sysctl.d/k8s.conf")
                .strip_prefix("/")
                .unwrap(),
        );
        fs::create_dir_all(inside.parent().unwrap()).unwrap();
        root.write_atomic("/etc/sysctl.d/k8s.conf", b"net.ipv4.ip_forward = 1\n")
            .expect("written");
        assert_eq!(
            fs::read_to_string(&inside).unwrap(),
            "net.ipv4.ip_forward = 1\n",
            "libpathrs={force}"
        );
        // a final link is followed to its in-root target and kept
        root.write_atomic("/etc/hostname-link", b"written\n")
            .unwrap();
        assert_eq!(node.read("/etc/hostname"), "written\n");
        assert!(
            fs::symlink_metadata(node.path("/etc/hostname-link"))
                .unwrap()
                .is_symlink()
        );
        // new directories are made, inside, along the way
        root.write_atomic("/var/lib/new/deep/file", b"x").unwrap();
        assert_eq!(node.read("/var/lib/new/deep/file"), "x");
        assert_eq!(
            root.write_target("/etc/abs-secret").unwrap(),
            Target::File(node.outside.join("secret")),
            "the target is named as a node path"
        );
        // and created there (as `echo > /etc/abs-secret` would on the node)
        root.write_atomic("/etc/abs-secret", b"overwritten\n")
            .unwrap();
        let there = node
            .root
            .join(node.outside.join("secret").strip_prefix("/").unwrap());
        assert_eq!(fs::read_to_string(there).unwrap(), "overwritten\n");
        assert_eq!(
            node.read("/outside/secret"),
            "the root's own /outside/secret\n"
        );
        let _lock = root.lock("/run/nodeprep.lock").expect("lock taken");
        assert!(node.path("/run/nodeprep.lock").is_file());
        drop(_lock);
        assert_eq!(
            node.outside_snapshot(),
            before,
            "libpathrs={force}: outside changed"
        );
        assert!(!Path::new(&node.outside.join("sysctl.d/k8s.conf")).exists());
        assert_eq!(
            root.entry("/etc/hostname").unwrap(),
            Entry::File { mode: 0o644 }
        );
    }
}

#[test]
fn a_root_that_is_not_a_directory_is_one_clear_error_for_both() {
    let node = Node::new("debian12-ready");
    let file = node.path("/etc/os-release");
    for root in [Root::new(&file), Root::new(&file).with_libpathrs()] {
        let e = format!("{:#}", root.open().expect_err("a file is not a root"));
        assert!(
            e.starts_with(&format!(
                "cannot open the root directory {}",
                file.display()
            )) && e.ends_with("give --root the path of a node's /"),
            "{e}"
        );
    }
}

/// `find_programs` (each trusted directory resolved once, a name one `fstatat` there) and
/// `find_program` (the same for one name) find the first trusted directory with an
/// executable file of the name, links followed inside the root only, with either resolver;
/// on the host's `/`, what a plain walk of the trusted directories finds.
#[test]
fn programs_are_found_in_the_first_trusted_directory_inside_the_root() {
    use std::os::unix::fs::PermissionsExt;
    let node = Node::new("debian12-ready");
    let exec = |p: &Path| fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
    // not executable in an earlier directory: the later executable one
    node.write("/usr/local/sbin/t-noexec", "#!/bin/sh\n");
    node.script("/usr/sbin/t-noexec", "exit 0");
    // a link in the first directory, to an executable elsewhere in the root
    node.script("/opt/real/t-link", "exit 0");
    node.link("/usr/local/sbin/t-link", "/opt/real/t-link");
    // a link aimed at this machine's path of an executable outside the root: absent inside
    let outside_tool = node.outside.join("t-escape");
    fs::write(&outside_tool, "#!/bin/sh\n").unwrap();
    exec(&outside_tool);
    node.link("/usr/local/bin/t-escape", &outside_tool);
    // ../../../../ from usr/local/bin is the directory beside the root, on this machine
    node.link(
        "/usr/local/bin/t-escape-rel",
        "../../../../outside/t-escape",
    );
    assert!(
        node.path("/usr/local/bin/t-escape-rel").exists(),
        "the relative link must reach the outside file when followed on the host"
    );
    // a directory of that name first, then the program under /sbin (a link to usr/sbin)
    fs::create_dir_all(node.path("/usr/local/bin/t-dir")).unwrap();
    node.script("/usr/sbin/t-dir", "exit 0");
    // a dangling link, then the real one
    node.link("/usr/local/sbin/t-dangling", "/nowhere/t-dangling");
    node.script("/usr/bin/t-dangling", "exit 0");
    let names = [
        "t-noexec",
        "t-link",
        "t-escape",
        "t-escape-rel",
        "t-dir",
        "t-dangling",
        "t-missing",
        "ipset",
        "kubeadm",
        "sh",
    ];
    let expected = [
        Some("/usr/sbin/t-noexec"),
        Some("/usr/local/sbin/t-link"),
        None,
        None,
        Some("/usr/sbin/t-dir"),
        Some("/usr/bin/t-dangling"),
        None,
        Some("/usr/sbin/ipset"),
        Some("/usr/bin/kubeadm"),
        Some("/usr/bin/sh"),
    ];
    let before = node.outside_snapshot();
    let kernel = Root::new(&node.root);
    let want: Vec<Option<String>> = expected.iter().map(|e| e.map(String::from)).collect();
    for root in [kernel.clone(), kernel.with_libpathrs()] {
        let resolver = root.resolver().unwrap();
        assert_eq!(root.find_programs(&names), want, "{resolver}");
        for (name, want) in names.iter().zip(&want) {
            assert_eq!(&root.find_program(name), want, "{name}, {resolver}");
        }
    }
    assert_eq!(
        node.outside_snapshot(),
        before,
        "something outside the root changed"
    );
    // the host's /: what a plain walk finds (the first trusted directory whose entry,
    // links followed, is a regular file with an execute bit)
    let host = Root::new("/");
    let host_names = ["sh", "env", "nodeprep-no-such-program"];
    let walked: Vec<Option<String>> = host_names
        .iter()
        .map(|n| {
            nodeprep::root::TRUSTED_DIRS
                .iter()
                .map(|d| format!("{d}/{n}"))
                .find(|p| {
                    fs::metadata(p)
                        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                })
        })
        .collect();
    assert!(walked[0].is_some() && walked[2].is_none(), "{walked:?}");
    assert_eq!(host.find_programs(&host_names), walked);
}
