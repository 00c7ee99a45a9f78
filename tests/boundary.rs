//! `--root` is a chroot: hostile trees, inputs and helpers stay bounded. Every test also
//! checks that nothing beside the root (`Node::outside`, on this machine) changed.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// Runs nodeprep against the node, failing the test (not hanging it) after `secs`.
fn run_within(node: &Node, args: &[&str], secs: u64) -> Run {
    let mut all = vec!["--root", node.root.to_str().unwrap()];
    all.extend_from_slice(args);
    let mut child = command(&all)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            panic!("nodeprep {args:?} still running after {secs}s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Run::from_output(child.wait_with_output().unwrap())
}

/// No process with this command line is left, once the killed ones have been reaped.
/// A `sleep SECS` only this test process starts, and the `pgrep` pattern for it: its
/// duration carries the process id, so that another test run on the machine (pgrep looks
/// machine-wide) cannot be taken for it.
pub fn own_sleep(secs: u32) -> (String, String) {
    let arg = format!("{secs}.{}", std::process::id());
    (
        format!("sleep {arg}"),
        format!("^sleep {}$", arg.replace('.', "\\.")),
    )
}

/// No process whose command line matches `cmdline` is left running (a zombie does not
/// count), within 20 s: a loaded machine can take seconds to let a killed process exit. On
/// a timeout, what is left is printed.
pub fn gone(cmdline: &str) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        let found = Command::new("pgrep")
            .args(["-f", cmdline])
            .output()
            .unwrap();
        let live = String::from_utf8_lossy(&found.stdout)
            .lines()
            .filter(|pid| {
                // a zombie waiting for init to reap it is not running
                fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                    !s.rsplit(')')
                        .next()
                        .unwrap_or("")
                        .trim_start()
                        .starts_with('Z')
                })
            })
            .count();
        if live == 0 {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let ps = Command::new("ps")
        .args(["-eo", "pid,ppid,pgid,stat,etimes,args"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let pattern = cmdline
        .trim_start_matches('^')
        .trim_end_matches('$')
        .replace("\\", "");
    eprintln!(
        "still running after 20 s ({cmdline}):\n{}",
        ps.lines()
            .filter(|l| l.contains("PPID") || l.contains(&pattern))
            .collect::<Vec<_>>()
            .join("\n")
    );
    false
}

fn json_of(r: &Run) -> serde_json::Value {
    serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", r.stdout, r.stderr))
}

#[test]
fn an_absolute_symlinked_sysctl_d_is_taken_inside_the_root() {
    let node = Node::new("debian12-fresh");
    let outside = node.outside.to_str().unwrap().to_string();
    let before = node.outside_snapshot();
    // on this machine the link would lead beside the root; on the node it names <root>/<that>
    fs::remove_dir_all(node.path("/etc/sysctl.d")).unwrap();
    node.link("/etc/sysctl.d", format!("{outside}/sysctl.d"));
    // dangling on the node: the directory cannot be created, as `mkdir -p` could not there
    let r = run_within(&node, &["apply"], 60);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("etc/sysctl.d"), "{}", r.stderr);
    assert_eq!(
        node.outside_snapshot(),
        before,
        "apply wrote beside the root"
    );
    fs::create_dir_all(node.path(&format!("{outside}/sysctl.d"))).unwrap();
    let r = run_within(&node, &["apply"], 60);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        node.outside_snapshot(),
        before,
        "apply wrote beside the root"
    );
    let inside = node.path(&format!("{outside}/sysctl.d/k8s.conf"));
    assert!(
        inside.is_file(),
        "k8s.conf not written where the node's link leads"
    );
}

#[test]
fn a_k8s_conf_linked_to_a_secret_outside_is_neither_shown_nor_copied() {
    let node = Node::new("debian12-fresh");
    let secret = node.outside.join("secret");
    node.link("/etc/sysctl.d/k8s.conf", &secret);
    let before = node.outside_snapshot();
    let r = run_within(&node, &["apply", "--dry-run", "-o", "json"], 60);
    assert!(!r.stdout.contains("hunter2"), "{}", r.stdout);
    let r = run_within(&node, &["apply"], 60);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(node.outside_snapshot(), before);
    // the link is kept, and its target inside the root got the file
    assert!(
        fs::symlink_metadata(node.path("/etc/sysctl.d/k8s.conf"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let target = node.read(secret.to_str().unwrap());
    assert!(
        target.contains("net.ipv4.ip_forward = 1") && !target.contains("hunter2"),
        "{target}"
    );
}

#[test]
fn proc_sys_and_lock_links_cannot_reach_outside() {
    let node = Node::new("debian12-fresh");
    let outside = node.outside.to_str().unwrap().to_string();
    fs::remove_file(node.path("/proc/sys/net/ipv4/ip_forward")).unwrap();
    node.link("/proc/sys/net/ipv4/ip_forward", format!("{outside}/secret"));
    let before = node.outside_snapshot();
    let r = run_within(&node, &["apply", "-o", "json"], 60);
    assert_eq!(node.outside_snapshot(), before, "{}", r.stderr);
    let v = json_of(&r);
    let a = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["target"] == "net.ipv4.ip_forward")
        .expect("an ip_forward action");
    assert_eq!(a["ok"], false, "{a}");

    let node = Node::new("debian12-fresh");
    node.link("/run/nodeprep.lock", node.outside.join("lock"));
    let before = node.outside_snapshot();
    let r = run_within(&node, &["apply"], 60);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("nodeprep.lock"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert_eq!(node.outside_snapshot(), before);
}

#[test]
fn a_helper_linked_outside_the_root_is_never_run() {
    let node = Node::new("debian12-fresh");
    let evil = node.outside.join("evil");
    fs::write(
        &evil,
        format!("#!/bin/sh\necho ran > {}/ran\n", node.outside.display()),
    )
    .unwrap();
    fs::set_permissions(&evil, fs::Permissions::from_mode(0o755)).unwrap();
    for helper in ["/usr/sbin/modprobe", "/usr/sbin/ipset"] {
        fs::remove_file(node.path(helper)).unwrap();
        node.link(helper, &evil);
    }
    let before = node.outside_snapshot();
    let r = run_within(&node, &["apply", "-o", "json"], 60);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(
        node.outside_snapshot(),
        before,
        "a helper outside the root ran"
    );
    let v = json_of(&r);
    let ipset = binary(&v, "ipset");
    assert!(ipset["path"].is_null(), "{ipset}");
}

#[test]
fn a_helper_runs_chrooted_and_sees_the_root_as_slash() {
    let node = Node::new("debian12-ready");
    let before = node.outside_snapshot();
    // it also tries to climb out: in a chroot `/..` is `/`, so the file lands in the root
    node.script(
        "/usr/sbin/ipset",
        "echo climbed > /../../../outside/escaped\n\
         if [ -e /etc/sysctl.d/k8s.conf ] && [ ! -e /work ]; then echo 'ipset v7.99, protocol version: 7'; else echo 'ipset v1.0'; fi",
    );
    node.write("/outside/.keep", "");
    // writable by the helper, which runs as nobody
    fs::set_permissions(node.path("/outside"), fs::Permissions::from_mode(0o777)).unwrap();
    let (code, v) = node.json(&["check"]);
    assert_eq!(code, 0);
    let ipset = binary(&v, "ipset");
    assert_eq!(ipset["version"], "7.99", "{ipset}");
    assert_eq!(node.read("/outside/escaped"), "climbed\n");
    assert_eq!(
        node.outside_snapshot(),
        before,
        "the helper wrote beside the root"
    );
}

/// A directory descriptor nodeprep was started with (not close-on-exec, as a wrapper may
/// leave one) would let a chrooted helper `fchdir(2)` out of the root: the helper never
/// gets it, nor any other descriptor beyond its three pipes.
#[test]
fn a_descriptor_nodeprep_inherits_never_reaches_a_helper() {
    let node = Node::new("debian12-ready");
    node.script(
        "/usr/sbin/ipset",
        "if (true <&7) 2>/dev/null; then echo 'ipset v1.0 (fd 7 open)'; \
         else echo 'ipset v7.99, protocol version: 7'; fi",
    );
    let before = node.outside_snapshot();
    let out = Command::new("sh")
        .args([
            "-c",
            "exec 7<\"$1\"; exec \"$2\" --root \"$3\" check --output json",
        ])
        .arg("sh")
        .arg(&node.outside)
        .arg(BIN)
        .arg(&node.root)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env(nodeprep::config::FAKE_PROC_ENV, "1")
        .output()
        .unwrap();
    let r = Run::from_output(out);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json_of(&r);
    let ipset = binary(&v, "ipset");
    assert_eq!(ipset["version"], "7.99", "the helper had fd 7: {ipset}");
    assert_eq!(node.outside_snapshot(), before);
}

#[test]
fn sysctl_keys_and_kernel_releases_cannot_traverse() {
    let node = Node::new("debian12-fresh");
    let before = node.outside_snapshot();
    for key in [
        "net.ipv4//..//..//..//outside//secret=1",
        "kernel/../../outside/secret=1",
    ] {
        let r = node.run(&["--sysctl", key, "apply"]);
        assert_eq!(r.code, 64, "{key}: {}", r.stderr);
        assert!(r.stderr.contains("is not a sysctl key"), "{}", r.stderr);
    }
    node.write("/proc/sys/kernel/osrelease", "../../../outside\n");
    let r = node.run(&["check"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("not a kernel release"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert_eq!(node.outside_snapshot(), before);
}

#[test]
fn a_helper_that_leaves_a_child_or_floods_is_bounded() {
    let node = Node::new("debian12-ready");
    // a wrapper that backgrounds something holding its stdout
    let (sleep, sleeping) = own_sleep(300);
    node.script(
        "/usr/sbin/ipset",
        &format!("{sleep} &\necho 'ipset v7.17, protocol version: 7'"),
    );
    // one that floods (iptables: ipvsadm is never run)
    let flood = format!("flood{}", std::process::id());
    node.script("/usr/sbin/iptables", &format!("yes {flood}"));
    let r = run_within(&node, &["check", "-o", "json"], 30);
    let v = json_of(&r);
    let ipset = &v["binaries"].as_array().unwrap()[0];
    assert_eq!(ipset["version"], "7.17", "{ipset}");
    assert!(gone(&sleeping), "the helper's child outlived the run");
    let iptables = &v["binaries"].as_array().unwrap()[2];
    assert_eq!(iptables["name"], "iptables");
    assert!(iptables["version"].is_null(), "{iptables}");
    assert!(
        gone(&format!("^yes {flood}$")),
        "the flooding helper outlived the run"
    );
}

#[test]
fn fifos_and_devices_are_errors_never_hangs() {
    let fifo = |node: &Node, p: &str| {
        let path = node.path(p);
        let _ = fs::remove_file(&path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    };
    for (p, cmd) in [
        ("/etc/sysctl.d/50-fifo.conf", "check"),
        ("/etc/sysctl.d/k8s.conf", "apply"),
        ("/run/nodeprep.lock", "apply"),
        ("/proc/modules", "check"),
        ("/lib/modules/6.1.0-13-amd64/modules.dep", "check"),
    ] {
        let node = Node::new("debian12-fresh");
        fifo(&node, p);
        let before = node.outside_snapshot();
        let r = run_within(&node, &[cmd], 30);
        assert_eq!(r.code, 3, "{p}: {}\n{}", r.stdout, r.stderr);
        let name = p.rsplit('/').next().unwrap();
        assert!(
            r.stderr.contains(name) && r.stderr.contains("FIFO")
                || r.stderr.contains("not a regular file"),
            "{p}: {}",
            r.stderr
        );
        assert_eq!(r.stderr.lines().count(), 1, "{p}: {}", r.stderr);
        assert_eq!(node.outside_snapshot(), before);
    }
    // the node's /dev/zero as a drop-in: a device, not an endless read
    if crate::support::skip_in_user_namespace(
        "the device case of fifos_and_devices",
        "mknod of a device",
    ) {
        return;
    }
    let node = Node::new("debian12-fresh");
    node.link("/etc/sysctl.d/60-zero.conf", "/dev/zero");
    let made = Command::new("mknod")
        .arg(node.path("/dev/zero"))
        .args(["c", "1", "5"])
        .status()
        .unwrap();
    assert!(made.success());
    let r = run_within(&node, &["check"], 30);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("character device"), "{}", r.stderr);
}

#[test]
fn a_huge_file_and_a_gzip_bomb_are_refused() {
    // check is exit 3 with one line naming the file and what is wrong, nothing beside the
    // root changed
    let refused = |node: &Node, file: &str, why: &str| {
        let before = node.outside_snapshot();
        let r = run_within(node, &["check"], 30);
        assert_eq!(r.code, 3, "{}", r.stderr);
        assert!(
            r.stderr.contains(file) && r.stderr.contains(why),
            "{}",
            r.stderr
        );
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert_eq!(node.outside_snapshot(), before);
    };
    let node = Node::new("debian12-fresh");
    let f = fs::File::create(node.path("/etc/sysctl.d/70-huge.conf")).unwrap();
    f.set_len(64 << 20).unwrap(); // sparse: costs no disk
    refused(&node, "70-huge.conf", "larger than");
    // the kernel index is read line by line: one endless line is refused all the same
    fs::remove_file(node.path("/etc/sysctl.d/70-huge.conf")).unwrap();
    let dep = node.path("/lib/modules/6.1.0-13-amd64/modules.dep");
    fs::File::create(&dep).unwrap().set_len(64 << 20).unwrap();
    refused(&node, "modules.dep", "larger than");

    let node = Node::new("debian12-fresh");
    let gz = Command::new("sh")
        .arg("-c")
        .arg("head -c 100000000 /dev/zero | gzip -c")
        .output()
        .unwrap()
        .stdout;
    assert!(gz.len() < 1 << 20, "the bomb is small");
    fs::write(node.path("/proc").join("config.gz"), gz).unwrap();
    refused(&node, "config.gz", "unpacks to more than");
}

#[test]
fn a_line_added_during_a_slow_modprobe_is_kept() {
    let node = Node::new("debian12-fresh");
    node.write(
        "/etc/sysctl.d/k8s.conf",
        "# ours and theirs\nnet.ipv4.ip_forward = 0\n",
    );
    // config management edits k8s.conf while apply is loading modules
    node.wrap_modprobe(
        "grep -q added /etc/sysctl.d/k8s.conf || echo 'net.core.somaxconn = 4096 # added' >> /etc/sysctl.d/k8s.conf\nexec /usr/sbin/modprobe.real \"$@\"",
    );
    let before = node.outside_snapshot();
    let r = run_within(&node, &["apply"], 60);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let k8s = node.read("/etc/sysctl.d/k8s.conf");
    assert!(k8s.contains("net.core.somaxconn = 4096 # added"), "{k8s}");
    assert!(k8s.contains("net.ipv4.ip_forward = 1\n"), "{k8s}");
    assert_eq!(k8s.matches("net.ipv4.ip_forward").count(), 1, "{k8s}");
    assert_eq!(node.outside_snapshot(), before);
}

#[test]
fn an_in_root_symlink_keeps_its_link_and_a_mask_is_never_replaced() {
    let node = Node::new("debian12-fresh");
    node.write(
        "/etc/kubernetes/node-sysctl.conf",
        "# from config management\nnet.ipv4.ip_forward = 0\n",
    );
    node.link("/etc/sysctl.d/k8s.conf", "/etc/kubernetes/node-sysctl.conf");
    node.link("/etc/modules-load.d/ipvs.conf", "/dev/null");
    let before = node.outside_snapshot();
    let r = run_within(&node, &["apply", "-o", "json"], 60);
    assert_eq!(node.outside_snapshot(), before);
    let link = fs::read_link(node.path("/etc/sysctl.d/k8s.conf")).unwrap();
    assert_eq!(link.to_str(), Some("/etc/kubernetes/node-sysctl.conf"));
    let target = node.read("/etc/kubernetes/node-sysctl.conf");
    assert!(
        target.starts_with("# from config management\nnet.ipv4.ip_forward = 1\n"),
        "{target}"
    );
    let mask = fs::read_link(node.path("/etc/modules-load.d/ipvs.conf")).unwrap();
    assert_eq!(mask.to_str(), Some("/dev/null"), "the mask was replaced");
    let v = json_of(&r);
    let f = finding(&v, "ManagedFileMasked").expect("a finding for the mask");
    let msg = f["message"].as_str().unwrap();
    assert!(
        msg.contains("/etc/modules-load.d/ipvs.conf") && msg.contains("masked"),
        "{msg}"
    );
    // the modules cannot be persisted: the node is not ready, and says so
    assert_eq!(r.code, 1, "{}", r.stdout);
}

#[test]
fn foreign_bytes_a_bom_and_foreign_module_lines_are_kept() {
    let node = Node::new("debian12-fresh");
    let k8s =
        b"\xef\xbb\xbfnet.ipv4.ip_forward = 0\n# caf\xe9 \xff\xfe\nnet.core.somaxconn = 1024\n";
    fs::create_dir_all(node.path("/etc/sysctl.d")).unwrap();
    fs::write(node.path("/etc/sysctl.d/k8s.conf"), k8s).unwrap();
    node.write("/etc/modules-load.d/ipvs.conf", "zfs\nnf_conntrack_ipv4\n");
    // a stale temp file of ours from a killed run
    node.write("/etc/sysctl.d/.k8s.conf.nodeprep.tmp", "half");
    let before = node.outside_snapshot();
    let r = run_within(&node, &["apply", "-o", "json"], 60);
    assert_eq!(node.outside_snapshot(), before);
    let mut got = Vec::new();
    fs::File::open(node.path("/etc/sysctl.d/k8s.conf"))
        .unwrap()
        .read_to_end(&mut got)
        .unwrap();
    assert!(
        got.starts_with(
            b"\xef\xbb\xbfnet.ipv4.ip_forward = 1\n# caf\xe9 \xff\xfe\nnet.core.somaxconn = 1024\n"
        ),
        "{}",
        String::from_utf8_lossy(&got)
    );
    assert_eq!(
        String::from_utf8_lossy(&got)
            .matches("net.ipv4.ip_forward")
            .count(),
        1
    );
    assert!(!node.path("/etc/sysctl.d/.k8s.conf.nodeprep.tmp").exists());
    let modules = node.read("/etc/modules-load.d/ipvs.conf");
    assert!(modules.starts_with("zfs\n# nf_conntrack_ipv4"), "{modules}");
    let v = json_of(&r);
    let f = finding(&v, "ModulesLoadUnknown-zfs").expect("a warning for zfs");
    assert_eq!(f["severity"], "warning");
    assert!(
        f["message"].as_str().unwrap().contains("remove that line"),
        "{f}"
    );
}

#[test]
fn a_report_that_cannot_be_written_is_exit_3() {
    let node = Node::new("debian12-ready");
    let full = fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = command(&["--root", node.root.to_str().unwrap(), "check", "-o", "json"])
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot write the report"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // a stderr that cannot be written is no panic either
    let full = fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = command(&["--root", "/nonexistent-root", "check"])
        .stderr(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn an_image_without_proc_is_judged_at_boot_and_gets_only_its_files() {
    let node = Node::new("debian12-fresh");
    fs::remove_dir_all(node.path("/proc")).unwrap();
    let before = node.outside_snapshot();
    let (code, v) = node.json(&["check"]);
    assert_eq!(code, 1);
    let f = finding(&v, "ImageRoot").expect("the image is named as such");
    assert!(
        f["message"].as_str().unwrap().contains("6.1.0-13-amd64"),
        "{f}"
    );
    let r = run_within(&node, &["apply"], 60);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        !node.path("/proc").exists(),
        "apply created something under /proc"
    );
    // its lock: a file of nodeprep's user in the image's /run (a tmpfs at boot), not a
    // lock on the root directory that anybody who can open it could hold
    let lock = fs::symlink_metadata(node.path("/run/nodeprep.lock")).expect("the lock file");
    assert!(lock.is_file());
    assert_eq!(
        std::os::unix::fs::MetadataExt::uid(&lock),
        nix::unistd::geteuid().as_raw()
    );
    assert!(node.modprobe_calls().is_empty(), "an image's modprobe ran");
    assert!(
        node.read("/etc/modules-load.d/ipvs.conf")
            .contains("br_netfilter\n")
    );
    assert!(
        node.read("/etc/sysctl.d/k8s.conf")
            .contains("net.ipv4.ip_forward = 1\n")
    );
    let (code, _) = node.json(&["check"]);
    assert_eq!(code, 0, "the image is ready once its files are written");
    assert_eq!(node.outside_snapshot(), before);

    // two kernels: the operator picks one
    let node = Node::new("debian12-fresh");
    fs::remove_dir_all(node.path("/proc")).unwrap();
    toolbox_copy_kernel(&node, "6.1.0-13-amd64", "6.1.0-18-amd64");
    let r = node.run(&["check"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("several kernels") && r.stderr.contains("--kernel-release"),
        "{}",
        r.stderr
    );
    let (code, v) = node.json(&["--kernel-release", "6.1.0-18-amd64", "check"]);
    assert_eq!(code, 1);
    assert_eq!(v["kernel"]["release"], "6.1.0-18-amd64", "{}", v["kernel"]);
    let r = node.run(&["--kernel-release", "9.9", "check"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let r = node.run(&["--kernel-release", "../x", "check"]);
    assert_eq!(r.code, 64, "{}", r.stderr);
}

fn toolbox_copy_kernel(node: &Node, from: &str, to: &str) {
    copy_tree(
        &node.path(&format!("/lib/modules/{from}")),
        &node.path(&format!("/lib/modules/{to}")),
    );
}

#[test]
fn a_symlink_loop_is_one_clear_error() {
    let node = Node::new("debian12-fresh");
    node.link("/etc/sysctl.d/k8s.conf", "/etc/sysctl.d/loop.conf");
    node.link("/etc/sysctl.d/loop.conf", "/etc/sysctl.d/k8s.conf");
    let before = node.outside_snapshot();
    for cmd in ["check", "apply"] {
        let r = run_within(&node, &[cmd], 30);
        assert_eq!(r.code, 3, "{cmd}: {}", r.stderr);
        assert!(
            r.stderr.contains("k8s.conf") || r.stderr.contains("loop.conf"),
            "{}",
            r.stderr
        );
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    }
    assert_eq!(node.outside_snapshot(), before);
}

/// Runs `apply` in a private mount namespace where `mount_cmd` (a shell line) was run first.
fn apply_with_mount(node: &Node, mount_cmd: &str) -> Run {
    with_mount(node, mount_cmd, &["apply"], true)
}

#[test]
fn a_read_only_or_full_filesystem_is_exit_3_with_nothing_half_written() {
    // read-only: /etc of the node bind-mounted read-only
    let node = Node::new("debian12-fresh");
    let etc = node.path("/etc");
    let before = node.outside_snapshot();
    let r = apply_with_mount(
        &node,
        &format!(
            "mount --bind {0} {0}; mount -o remount,bind,ro {0}",
            etc.display()
        ),
    );
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("Read-only file system") && r.stderr.contains("/etc/"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(!node.path("/etc/sysctl.d/k8s.conf").exists());
    assert_eq!(node.outside_snapshot(), before);

    // full: the node's sysctl.d on a tmpfs with no room left
    let node = Node::new("debian12-fresh");
    let dir = node.path("/etc/sysctl.d");
    let r = apply_with_mount(
        &node,
        &format!(
            "mount -t tmpfs -o size=4k tmpfs {0}; head -c 1M /dev/zero > {0}/fill 2>/dev/null || true",
            dir.display()
        ),
    );
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("No space left on device") && r.stderr.contains("k8s.conf"),
        "{}",
        r.stderr
    );
    // the tmpfs went with the namespace: nothing of ours is in the real directory either
    assert!(!dir.join("k8s.conf").exists() && !dir.join(".k8s.conf.nodeprep.tmp").exists());
}

/// The release build aborts on a panic (a bug), so no drop kills the helpers then: the
/// panic hook does. Simulated here with the helpers' `Running` forgotten, not dropped.
#[test]
fn a_panic_still_kills_the_helpers_running() {
    let (cmd, pattern) = own_sleep(40);
    nodeprep::signals::install_panic_hook();
    nodeprep::system::set_trampoline(BIN);
    let host = nodeprep::root::Root::new("/");
    let sh = host.find_program("sh").expect("a shell");
    let running = nodeprep::system::start(
        &host,
        &[(sh, vec!["-c", cmd.as_str()])],
        nodeprep::system::Privilege::Nothing,
        Duration::from_secs(60),
    );
    let started = Instant::now();
    while !Command::new("pgrep")
        .args(["-f", &pattern])
        .output()
        .unwrap()
        .status
        .success()
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{cmd} never ran"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let crashed = std::thread::spawn(move || {
        std::mem::forget(running);
        panic!("a simulated bug (expected in this test)");
    })
    .join();
    assert!(crashed.is_err());
    assert!(gone(&pattern), "{cmd} outlived the panic");
}

/// A batch dropped at once (an error on the way): none of its helpers is left running.
#[test]
fn helpers_dropped_before_their_exec_do_not_survive() {
    let (cmd, pattern) = own_sleep(41);
    nodeprep::system::set_trampoline(BIN);
    let host = nodeprep::root::Root::new("/");
    let sh = host.find_program("sh").expect("a shell");
    let script = format!("exec {cmd}");
    let jobs: Vec<(String, Vec<&str>)> = (0..8)
        .map(|_| (sh.clone(), vec!["-c", script.as_str()]))
        .collect();
    drop(nodeprep::system::start(
        &host,
        &jobs,
        nodeprep::system::Privilege::Nothing,
        Duration::from_secs(60),
    ));
    assert!(gone(&pattern), "{cmd} outlived its dropped batch");
    // a helper still on its way would have exec'd by now
    std::thread::sleep(Duration::from_millis(300));
    assert!(gone(&pattern), "{cmd} exec'd after its batch was dropped");
}

#[test]
fn sigterm_ends_check_at_once_with_130_and_its_helpers() {
    let node = Node::new("debian12-ready");
    // a helper that hangs: check waits for it until the signal
    let (sleep, sleeping) = own_sleep(32);
    node.script(
        "/usr/sbin/ipset",
        &format!(": > /tmp/started\n{sleep}\necho 'ipset v7.17'"),
    );
    let child = command(&["--root", node.root.to_str().unwrap(), "check"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    node.wait_for_started("the helper");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr, "nodeprep: interrupted\n");
    assert!(gone(&sleeping), "the helper outlived check");
}

/// nodeprep started with its standard input, output and error closed (a careless cron line,
/// `<&- >&- 2>&-`): no file it opens may take their numbers, or a message would be written
/// into a file being replaced and a config read from one. While check waits for a helper,
/// its 0, 1 and 2 must be /dev/null; apply must write what it writes with them open.
#[test]
fn closed_standard_descriptors_never_become_a_file_of_the_root() {
    use std::os::unix::process::CommandExt;
    let closed = Node::new("debian12-fresh");
    let open = Node::new("debian12-fresh");
    let outside = closed.outside_snapshot();
    let closed_command = |args: &[&str]| {
        let mut all = vec!["--root", closed.root.to_str().unwrap()];
        all.extend_from_slice(args);
        let mut c = command(&all);
        // SAFETY: close(2) between fork and exec
        unsafe {
            c.pre_exec(|| {
                (0..3).for_each(|fd| {
                    nix::libc::close(fd);
                });
                Ok(())
            });
        }
        c
    };
    let ipset = fs::read_to_string(closed.path("/usr/sbin/ipset")).unwrap();
    let (sleep, sleeping) = own_sleep(33);
    closed.script(
        "/usr/sbin/ipset",
        &format!(": > /tmp/started\n{sleep}\necho 'ipset v7.17'"),
    );
    let mut child = closed_command(&["check"]).spawn().unwrap();
    closed.wait_for_started("the helper");
    let fds: Vec<_> = (0..3)
        .map(|fd| fs::read_link(format!("/proc/{}/fd/{fd}", child.id())).ok())
        .collect();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130));
    assert!(gone(&sleeping), "the helper outlived check");
    let null = Some(std::path::PathBuf::from("/dev/null"));
    assert_eq!(
        fds,
        vec![null.clone(), null.clone(), null],
        "nodeprep's 0, 1 and 2"
    );

    fs::write(closed.path("/usr/sbin/ipset"), ipset).unwrap();
    let applied = closed_command(&["apply"]).status().unwrap();
    assert_eq!(applied.code(), Some(0), "apply");
    assert_eq!(open.run(&["apply"]).code, 0);
    for f in ["/etc/modules-load.d/ipvs.conf", "/etc/sysctl.d/k8s.conf"] {
        assert_eq!(closed.read(f), open.read(f), "{f}");
    }
    assert_eq!(closed.outside_snapshot(), outside);
}

/// A lock file somebody else made (who could hold it for ever) or a link in its place is
/// refused, naming it, before anything is written.
#[test]
fn a_lock_file_that_is_not_nodeprep_s_is_refused() {
    let node = Node::new("debian12-fresh");
    fs::remove_dir_all(node.path("/proc")).unwrap();
    fs::create_dir_all(node.path("/run")).unwrap();
    let before = node.snapshot();
    let outside = node.outside_snapshot();
    std::os::unix::fs::symlink("/etc/hostname", node.path("/run/nodeprep.lock")).unwrap();
    let r = node.run(&["apply"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("is a symlink; remove it"), "{}", r.stderr);
    fs::remove_file(node.path("/run/nodeprep.lock")).unwrap();
    if in_user_namespace() {
        skip("a lock file of another user: no other user in this user namespace");
    } else {
        fs::write(node.path("/run/nodeprep.lock"), "").unwrap();
        std::os::unix::fs::chown(node.path("/run/nodeprep.lock"), Some(65534), Some(65534))
            .unwrap();
        let r = node.run(&["apply"]);
        assert_eq!(r.code, 3, "{}", r.stderr);
        assert!(
            r.stderr
                .contains("belongs to uid 65534, not to nodeprep's user"),
            "{}",
            r.stderr
        );
        fs::remove_file(node.path("/run/nodeprep.lock")).unwrap();
    }
    assert_eq!(
        node.snapshot(),
        before,
        "apply wrote before refusing the lock"
    );
    assert_eq!(node.outside_snapshot(), outside);
}
