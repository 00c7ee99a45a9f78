//! A root that is not `/` is untrusted (issue 26): its programs run sandboxed when it is a
//! live node's, not at all when it is an image, and "live" is the kernel's word, not the
//! root's. The hostile helper is a static C program built here (tests/vm/guest/hostile.c, which
//! the QEMU suite plants too): it climbs out of its chroot, mounts a procfs, signals a process
//! of the test's, and leaves a `setsid` child behind.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

/// The name the hostile helper's left-behind child takes (its `comm`).
const KID: &str = "np-hostile-kid";

const HOSTILE_C: &str = include_str!("vm/guest/hostile.c");

/// The hostile program, static, aimed at `outside`; None (a skip is printed) where no C
/// compiler with a static libc is installed (.ci/run installs one).
fn build_hostile(dir: &Path, outside: &Path) -> Option<std::path::PathBuf> {
    let src = dir.join("hostile.c");
    let bin = dir.join("hostile");
    fs::write(&src, HOSTILE_C).unwrap();
    let built = Command::new("cc")
        .args(["-static", "-O1", "-o"])
        .arg(&bin)
        .arg(format!("-DOUTSIDE=\"{}\"", outside.display()))
        .arg(&src)
        .output();
    match built {
        Ok(o) if o.status.success() => Some(bin),
        Ok(o) => {
            skip(&format!(
                "cc -static failed ({}): install gcc and libc6-dev",
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .next()
                    .unwrap_or("")
            ));
            None
        }
        Err(e) => {
            skip(&format!("no C compiler ({e}): install gcc and libc6-dev"));
            None
        }
    }
}

/// What the hostile helper could have touched outside the root, before and after.
struct Watch {
    victim: Child,
    mounts: String,
    outside: std::collections::BTreeMap<std::path::PathBuf, (String, u32, u64)>,
}

impl Watch {
    fn new(node: &Node) -> Watch {
        let victim = Command::new("sleep")
            .arg("600")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        node.write("/tmp/victim.pid", &victim.id().to_string());
        Watch {
            victim,
            mounts: mount_points(),
            outside: node.outside_snapshot(),
        }
    }

    /// Nothing outside the root changed: no file, no mount, no signal, no process left.
    fn assert_unharmed(mut self, node: &Node, what: &str) {
        assert_eq!(
            node.outside_snapshot(),
            self.outside,
            "{what}: a file beside the root changed"
        );
        assert!(
            !node.outside.join("escaped").exists(),
            "{what}: the helper escaped"
        );
        assert_eq!(mount_points(), self.mounts, "{what}: a mount stayed behind");
        assert!(
            self.victim.try_wait().unwrap().is_none(),
            "{what}: the helper signalled a process outside"
        );
        let since = Instant::now();
        while let Some(pid) = kid() {
            assert!(
                since.elapsed() < Duration::from_secs(10),
                "{what}: the helper's child {pid} outlived nodeprep"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.victim.kill();
        let _ = self.victim.wait();
    }
}

/// This process's mount points.
fn mount_points() -> String {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().nth(4).unwrap_or("").to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A live process named [`KID`], if any.
fn kid() -> Option<String> {
    fs::read_dir("/proc").unwrap().flatten().find_map(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        let comm = fs::read_to_string(e.path().join("comm")).ok()?;
        let state = fs::read_to_string(e.path().join("stat")).ok()?;
        let zombie = state.rsplit(')').next()?.split_whitespace().next() == Some("Z");
        (comm.trim() == KID && !zombie).then_some(name)
    })
}

/// `program` in the root replaced by the hostile helper.
fn plant(node: &Node, bin: &Path, program: &str) {
    let at = node.path(program);
    let _ = fs::remove_file(&at);
    fs::copy(bin, &at).unwrap();
    fs::set_permissions(&at, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_live_root_s_hostile_helpers_reach_nothing_outside() {
    let node = Node::new("debian12-ready");
    let watch = Watch::new(&node);
    let Some(bin) = build_hostile(node.root.parent().unwrap(), &node.outside) else {
        return;
    };
    for p in ["/usr/sbin/ipset", "/usr/sbin/iptables"] {
        plant(&node, &bin, p);
    }
    let r = node.run(&["check", "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ran = fs::read_to_string(node.path("/tmp/hostile-ran")).unwrap_or_default();
    assert_eq!(ran.lines().count(), 2, "the helpers were not run: {ran:?}");
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(binary(&v, "ipset")["version"], "7.17", "{v}");
    watch.assert_unharmed(&node, "check");
}

#[test]
fn a_hostile_modprobe_gets_no_more_than_loading_modules() {
    let node = Node::new("debian12-fresh");
    let watch = Watch::new(&node);
    let Some(bin) = build_hostile(node.root.parent().unwrap(), &node.outside) else {
        return;
    };
    plant(&node, &bin, "/usr/sbin/modprobe");
    let r = node.run(&["apply", "-o", "json"]);
    // it loads nothing: the loads fail, and apply says so
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        fs::read_to_string(node.path("/tmp/hostile-ran")).is_ok_and(|t| !t.is_empty()),
        "modprobe was not run"
    );
    watch.assert_unharmed(&node, "apply");
}

/// A tree whose `/proc` is a plain directory is an image, whatever that directory says: its
/// programs are not run (their versions come from its package database), and apply never runs
/// its modprobe, which would load the tree's modules into this kernel.
#[test]
fn a_crafted_proc_does_not_make_an_image_live() {
    let node = Node::new("debian12-fresh");
    let watch = Watch::new(&node);
    let Some(bin) = build_hostile(node.root.parent().unwrap(), &node.outside) else {
        return;
    };
    for p in [
        "/usr/sbin/ipset",
        "/usr/sbin/iptables",
        "/usr/sbin/modprobe",
        "/usr/bin/kubelet",
    ] {
        plant(&node, &bin, p);
    }
    node.write(
        "/var/lib/dpkg/status",
        "Package: ipset\nStatus: install ok installed\nVersion: 7.19-1\n\n\
         Package: kubelet\nStatus: install ok installed\nVersion: 1.31.4-1.1\n",
    );
    let before = node.snapshot();
    // the caller does not vouch for its /proc (NODEPREP_FAKE_PROC unset)
    let root = node.root.to_str().unwrap();
    let run = |args: &[&str]| {
        let mut all = vec!["--root", root];
        all.extend_from_slice(args);
        Run::from_output(
            command(&all)
                .env_remove(nodeprep::config::FAKE_PROC_ENV)
                .output()
                .unwrap(),
        )
    };
    let r = run(&["check", "-o", "json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|_| panic!("{}", r.stderr));
    assert!(finding(&v, "ImageRoot").is_some(), "{v}");
    assert_eq!(binary(&v, "ipset")["version"], "7.19", "{v}");
    assert_eq!(binary(&v, "iptables")["version"], Value::Null, "{v}");
    assert_eq!(v["kube_proxy"]["version"], "1.31", "{}", v["kube_proxy"]);
    assert_eq!(node.snapshot(), before, "check changed the image");
    let r = run(&["apply", "-o", "json"]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    assert!(
        !node.path("/tmp/hostile-ran").exists(),
        "a program of the image ran"
    );
    assert!(node.path("/etc/modules-load.d/ipvs.conf").exists());
    watch.assert_unharmed(&node, "check and apply of an image");
}

/// The kernel's word decides: the host's own procfs, bound into a tree, makes it live when
/// the tree holds the running kernel's module tree (or the kernel loads no modules at all),
/// and an image when it holds another kernel's only.
#[test]
fn a_tree_with_the_host_s_procfs_is_live_only_with_the_running_kernel_s_modules() {
    let running = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let running = running.trim();
    let modules_supported = Path::new("/proc/modules").exists();
    for with_tree in [false, true] {
        let node = Node::new("debian12-ready");
        let outside = node.outside_snapshot();
        let mounts = mount_points();
        fs::remove_dir_all(node.path("/proc")).unwrap();
        fs::create_dir(node.path("/proc")).unwrap();
        if with_tree {
            fs::create_dir_all(node.path(&format!("/lib/modules/{running}"))).unwrap();
        }
        // the bind mount lives and dies with a private mount namespace; the caller does not
        // vouch for /proc: the kernel decides
        let r = with_mount(
            &node,
            r#"mount --rbind /proc "$ROOT/proc""#,
            &["check", "-o", "json"],
            false,
        );
        if r.stdout.is_empty() && r.stderr.contains("mount") {
            skip(&format!("cannot bind /proc here: {}", r.stderr.trim()));
            return;
        }
        let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|_| panic!("{}", r.stderr));
        let live = with_tree || !modules_supported;
        assert_eq!(
            finding(&v, "ImageRoot").is_none(),
            live,
            "module tree {with_tree}, module support {modules_supported}: {v}"
        );
        if live {
            assert_eq!(v["kernel"]["release"], running, "{}", v["kernel"]);
        }
        assert_eq!(mount_points(), mounts);
        assert_eq!(node.outside_snapshot(), outside);
    }
}

/// nodeprep SIGKILLed mid-apply (no chance to kill anything): its modprobe dies with it, by
/// the parent-death signal and the PID namespace, and a second apply finds none running.
#[test]
fn a_sigkilled_apply_leaves_no_modprobe_running() {
    let node = Node::new("debian12-fresh");
    let (sleep, sleeping) = crate::boundary::own_sleep(91);
    node.wrap_modprobe(&format!(
        ": > /tmp/started\n{sleep}\nexec /usr/sbin/modprobe.real \"$@\""
    ));
    let outside = node.outside_snapshot();
    let mut child = command(&["--root", node.root.to_str().unwrap(), "apply"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    node.wait_for_started("the fake modprobe");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        crate::boundary::gone(&sleeping),
        "modprobe outlived a SIGKILLed apply"
    );
    assert_eq!(node.modprobe_calls(), Vec::<String>::new());
    assert_eq!(node.outside_snapshot(), outside);
}

/// A modprobe that hangs: the batch is killed at apply's one deadline (60 s), and no module
/// is asked again on its own after it (before: 60 s more per module).
#[test]
fn a_hung_modprobe_costs_one_deadline_for_all_loads() {
    let node = Node::new("debian12-fresh");
    let (sleep, sleeping) = crate::boundary::own_sleep(900);
    node.wrap_modprobe(&format!("echo \"$*\" >> /tmp/hung-modprobe.log\n{sleep}"));
    let outside = node.outside_snapshot();
    let (code, v) = node.json(&["apply"]);
    assert_eq!(code, 1, "{v}");
    let calls = node.read("/tmp/hung-modprobe.log");
    assert_eq!(
        calls.lines().count(),
        1,
        "asked again after the deadline: {calls}"
    );
    assert!(calls.starts_with("-a "), "{calls}");
    let loads: Vec<&Value> = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "load_module")
        .collect();
    assert!(loads.len() > 1, "{v}");
    for a in loads {
        assert_eq!(a["ok"], false, "{a}");
        assert!(
            a["detail"]
                .as_str()
                .unwrap()
                .contains("not asked: apply's module loads took their 60 s"),
            "{a}"
        );
    }
    assert!(crate::boundary::gone(&sleeping));
    assert_eq!(node.outside_snapshot(), outside);
}
