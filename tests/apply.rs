//! `nodeprep apply` end to end on copies of the fixture roots, with the fake modprobe inside.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::*;

fn action<'a>(v: &'a serde_json::Value, kind: &str, target: &str) -> &'a serde_json::Value {
    v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == kind && a["target"] == target)
        .unwrap_or_else(|| panic!("no {kind} {target} in {}", v["actions"]))
}

fn no_temp_files(dir: &Path) {
    for e in fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.contains(".nodeprep-"), "left behind: {name}");
    }
}

#[test]
fn fresh_node_becomes_exactly_the_prepared_fixture() {
    let node = Node::new("debian12-fresh");
    let (code, v) = node.json(&["apply"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["ready"], true);
    assert_eq!(v["changed"], true);
    // one modprobe of the root's for every module, each named once
    assert_eq!(
        node.modprobe_calls(),
        ["-a ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh nf_conntrack br_netfilter"]
    );
    // the files are those of the prepared fixture, byte for byte
    let ready = fixture("debian12-ready");
    for f in ["etc/modules-load.d/ipvs.conf", "etc/sysctl.d/k8s.conf"] {
        assert_eq!(
            node.read(f),
            fs::read_to_string(ready.join(f)).unwrap(),
            "{f}"
        );
        let mode = fs::metadata(node.path(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "{f}");
    }
    // live sysctls set after br_netfilter made its keys appear
    assert_eq!(
        node.read("/proc/sys/net/bridge/bridge-nf-call-iptables"),
        "1\n"
    );
    assert_eq!(node.read("/proc/sys/net/ipv4/ip_forward"), "1\n");
    assert_eq!(node.read("/proc/sys/vm/swappiness"), "0\n");
    let a = action(&v, "set_sysctl", "net.ipv4.ip_forward");
    assert_eq!(
        (a["ok"].as_bool(), a["detail"].as_str()),
        (Some(true), Some("0 -> 1"))
    );
    no_temp_files(&node.path("/etc/sysctl.d"));
    no_temp_files(&node.path("/etc/modules-load.d"));
}

#[test]
fn second_apply_changes_nothing_and_detailed_exitcode_tells() {
    let node = Node::new("debian12-fresh");
    let first = node.run(&["apply", "--detailed-exitcode"]);
    assert_eq!(first.code, 2);
    assert!(
        first.stderr.is_empty(),
        "no progress bar when stderr is not a terminal: {}",
        first.stderr
    );
    let before = node.snapshot();
    let (code, v) = node.json(&["apply", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["changed"], false);
    assert_eq!(v["actions"], serde_json::json!([]));
    // same inodes, same bytes: nothing was rewritten
    let mut after = node.snapshot();
    after.remove(Path::new("run/nodeprep.lock"));
    let mut before = before;
    before.remove(Path::new("run/nodeprep.lock"));
    assert_eq!(before, after);
    assert_eq!(node.modprobe_calls().len(), 1, "no module loaded twice");
    let text = node.run(&["apply"]);
    assert!(
        text.stdout
            .contains("  nothing changed: the node already matched\n"),
        "{}",
        text.stdout
    );
}

#[test]
fn dry_run_shows_diffs_and_changes_nothing() {
    let node = Node::new("foreign");
    let before = node.snapshot();
    let r = node.run(&["apply", "--dry-run", "--detailed-exitcode"]);
    assert_eq!(
        r.code, 2,
        "would change, and would then be ready\n{}",
        r.stdout
    );
    assert_eq!(before, node.snapshot());
    assert!(
        r.stdout.contains("--- /etc/sysctl.d/k8s.conf"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("-net.ipv4.ip_forward=0\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("+net.ipv4.ip_forward = 1\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("+ip_vs_rr\n"), "{}", r.stdout);
    let (code, v) = node.json(&["apply", "--dry-run"]);
    assert_eq!(code, 0);
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["ready_after_apply"], true);
    assert_eq!(v["diffs"][1]["path"], "/etc/sysctl.d/k8s.conf");
    let diff = v["diffs"][1]["diff"].as_str().unwrap();
    assert!(
        diff.contains(" net.bridge.bridge-nf-call-iptables = 1\n-net.ipv4.ip_forward=0\n+net.ipv4.ip_forward = 1\n net.core.somaxconn = 32768\n"),
        "{diff}"
    );
    assert!(action_rows(&v).contains(&("load_module".into(), "br_netfilter".into(), true)));
    assert_eq!(before, node.snapshot());
    assert!(node.modprobe_calls().is_empty());
}

#[test]
fn dry_run_exit_codes_follow_the_node_after_apply() {
    // a later sysctl.d file wins over k8s.conf: apply would not make this node ready
    let node = Node::new("sysctl-override");
    let r = node.run(&["apply", "--dry-run", "--detailed-exitcode"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    // the predicted result, not the current state's verdict
    let text = unwrapped(&r.stdout);
    assert_eq!(
        closing(&r.stdout),
        "After apply the node would still not be ready: 1 error, 1 warning that nodeprep cannot fix; see above.",
        "{text}"
    );
    assert!(!text.contains("Not ready:"), "{text}");
    assert!(
        text.contains("/etc/sysctl.d/security.conf is applied after /etc/sysctl.d/k8s.conf"),
        "{text}"
    );
    // nothing to do on a prepared node
    let ready = Node::new("debian12-ready");
    let r = ready.run(&["apply", "--dry-run", "--detailed-exitcode"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout
            .contains("  nothing to do: the node already matches\n"),
        "{}",
        r.stdout
    );
    assert_eq!(
        closing(&r.stdout),
        "After apply the node would be ready for kube-proxy in IPVS mode (0 warnings).",
        "{}",
        r.stdout
    );
}

#[test]
fn foreign_lines_are_kept_and_our_keys_updated_in_place() {
    let node = Node::new("foreign");
    assert_eq!(node.run(&["apply"]).code, 0);
    assert_eq!(
        node.read("/etc/modules-load.d/ipvs.conf"),
        "# written by hand from a wiki page\noverlay\nip_vs\n; the wiki also said:\n\
         # nf_conntrack_ipv4  # nodeprep: no nf_conntrack_ipv4 in kernel 6.1.0-13-amd64\n\
         ip_vs_rr\nip_vs_wrr\nip_vs_sh\nnf_conntrack\nbr_netfilter\n"
    );
    assert_eq!(
        node.read("/etc/sysctl.d/k8s.conf"),
        "# from the wiki\nnet.bridge.bridge-nf-call-ip6tables = 1\nnet.bridge.bridge-nf-call-iptables = 1\n\
         net.ipv4.ip_forward = 1\nnet.core.somaxconn = 32768\n; keep this comment\nvm.swappiness = 0\n"
    );
    // other modules-load.d files are not touched
    assert_eq!(
        node.read("/etc/modules-load.d/modules.conf"),
        fs::read_to_string(fixture("foreign").join("etc/modules-load.d/modules.conf")).unwrap()
    );
}

#[test]
fn a_module_missing_from_the_kernel_is_reported_and_never_written() {
    // Linux 6.1 has no ip_vs_twos (added in 6.2)
    let node = Node::new("debian12-fresh");
    let (code, v) = node.json(&["--module", "ip_vs_twos", "apply"]);
    assert_eq!(code, 1);
    let a = action(&v, "load_module", "ip_vs_twos");
    assert_eq!(a["ok"], false);
    assert!(
        a["detail"]
            .as_str()
            .unwrap()
            .contains("ip_vs_twos does not exist for kernel 6.1.0-13-amd64"),
        "{a}"
    );
    assert_eq!(module(&v, "ip_vs")["state"], "loaded", "the rest is loaded");
    let conf = node.read("/etc/modules-load.d/ipvs.conf");
    assert!(!conf.contains("twos"), "{conf}");
    assert!(conf.contains("\nbr_netfilter\n"));
    assert_eq!(error_ids(&v), ["KernelModule-ip_vs_twos"]);
}

#[test]
fn modprobe_d_install_false_fails_the_load_and_blacklist_does_not() {
    let node = Node::new("modprobe-d");
    let (code, v) = node.json(&["apply"]);
    assert_eq!(code, 1);
    let wrr = action(&v, "load_module", "ip_vs_wrr");
    assert_eq!(wrr["ok"], false);
    assert!(
        wrr["detail"]
            .as_str()
            .unwrap()
            .starts_with("`install ip_vs_wrr /bin/false` in /etc/modprobe.d/"),
        "{wrr}"
    );
    // the plan knows the load fails, so apply does not run modprobe for it
    assert!(
        !node
            .modprobe_calls()
            .iter()
            .any(|c| c.contains("ip_vs_wrr")),
        "{:?}",
        node.modprobe_calls()
    );
    // `blacklist` does not stop modprobe by name...
    assert_eq!(module(&v, "ip_vs_sh")["state"], "loaded");
    // ...but systemd-modules-load skips it at boot, so it is still not persisted
    assert_eq!(module(&v, "ip_vs_sh")["persisted"], false);
    let errors = error_ids(&v);
    assert!(
        errors.contains(&"ModulesLoad-ip_vs_sh".to_string()),
        "{errors:?}"
    );
    // the install line is why ip_vs_wrr cannot be loaded: one finding says both
    let wrr = finding(&v, "ModprobeInstall-ip_vs_wrr").expect("the install line's finding");
    assert_eq!(wrr["id"], "KernelModule-ip_vs_wrr", "{wrr}");
    assert!(
        wrr["message"]
            .as_str()
            .unwrap()
            .contains("install ip_vs_wrr /bin/false"),
        "{wrr}"
    );
    let conf = node.read("/etc/modules-load.d/ipvs.conf");
    assert!(
        !conf.contains("ip_vs_wrr"),
        "a module that failed to load is not persisted: {conf}"
    );
}

#[test]
fn install_true_is_known_to_do_nothing_and_not_run() {
    let node = Node::new("debian12-fresh");
    node.write(
        "/etc/modprobe.d/disable.conf",
        "install ip_vs_sh /bin/true\n",
    );
    let (code, v) = node.json(&["apply"]);
    assert_eq!(code, 1);
    let sh = action(&v, "load_module", "ip_vs_sh");
    assert_eq!(sh["ok"], false);
    assert!(
        sh["detail"]
            .as_str()
            .unwrap()
            .contains("/etc/modprobe.d/disable.conf: every load of it does nothing"),
        "{sh}"
    );
    assert_eq!(module(&v, "ip_vs_sh")["state"], "loadable");
}

#[test]
fn a_modprobe_that_lies_is_caught_by_the_reprobe() {
    // a modprobe that exits 0 without loading anything (no modprobe.d line says so)
    let node = Node::new("debian12-fresh");
    node.script("/usr/sbin/modprobe", "exit 0");
    let (code, v) = node.json(&["apply"]);
    assert_eq!(code, 1);
    let sh = action(&v, "load_module", "ip_vs_sh");
    assert_eq!(sh["ok"], false);
    assert!(
        sh["detail"]
            .as_str()
            .unwrap()
            .contains("exited 0 but ip_vs_sh is not loaded"),
        "{sh}"
    );
    assert_eq!(module(&v, "ip_vs_sh")["state"], "loadable");
    let msg = finding(&v, "KernelModule-ip_vs_sh").unwrap()["message"]
        .as_str()
        .unwrap();
    assert!(
        msg.contains("cannot load it (modprobe ip_vs_sh exited 0"),
        "{msg}"
    );
}

#[test]
fn sysctls_are_never_created() {
    // br_netfilter cannot load, so its keys never appear; nodeprep must not create them
    let node = Node::new("debian12-fresh");
    node.write(
        "/etc/modprobe.d/no-bridge.conf",
        "install br_netfilter /bin/false\n",
    );
    let (code, v) = node.json(&["apply"]);
    assert_eq!(code, 1);
    assert!(!node.path("/proc/sys/net/bridge").exists());
    let a = action(&v, "set_sysctl", "net.bridge.bridge-nf-call-iptables");
    assert_eq!(a["ok"], false);
    assert!(
        a["detail"].as_str().unwrap().contains("does not exist"),
        "{a}"
    );
}

#[test]
fn a_later_sysctl_file_keeps_the_node_not_ready_after_apply() {
    let node = Node::new("sysctl-override");
    let (code, v) = node.json(&["apply"]);
    assert_eq!(code, 1, "security.conf still wins at boot");
    assert_eq!(error_ids(&v), ["SysctlBoot-net.ipv4.ip_forward"]);
    // live value is set anyway, and foreign files are left alone
    assert_eq!(node.read("/proc/sys/net/ipv4/ip_forward"), "1\n");
    assert_eq!(
        node.read("/etc/sysctl.d/security.conf"),
        "# site hardening\nnet.ipv4.ip_forward = 0\n"
    );
    // 99-local.conf sorts before k8s.conf ('9' < 'k'): k8s.conf wins over it
    assert_eq!(
        sysctl(&v, "vm.swappiness")["boot_source"],
        "/etc/sysctl.d/k8s.conf:6"
    );
}

#[test]
fn builtin_modules_are_not_written_to_modules_load_d() {
    let node = Node::new("ipvs-builtin");
    let (code, v) = node.json(&["apply"]);
    assert_eq!(code, 0, "{v:#}");
    assert!(node.modprobe_calls().is_empty());
    assert!(!node.path("/etc/modules-load.d/ipvs.conf").exists());
    assert!(node.path("/etc/sysctl.d/k8s.conf").exists());
}

#[test]
fn without_module_support_apply_fails_cleanly() {
    let node = Node::new("no-modules");
    let (code, v) = node.json(&["apply"]);
    assert_eq!(code, 1);
    for m in ["ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh"] {
        assert_eq!(action(&v, "load_module", m)["ok"], false, "{m}");
    }
    assert!(!node.path("/etc/modules-load.d").exists());
    assert_eq!(node.read("/proc/sys/net/ipv4/ip_forward"), "1\n");
}

#[test]
fn centos7_loads_nf_conntrack_ipv4() {
    let node = Node::new("centos7");
    assert_eq!(node.run(&["apply"]).code, 0);
    assert!(
        node.modprobe_calls()
            .iter()
            .any(|c| c.split_whitespace().any(|w| w == "nf_conntrack_ipv4")),
        "{:?}",
        node.modprobe_calls()
    );
    assert!(node.read("/proc/modules").contains("\nnf_conntrack_ipv4 "));
}

#[test]
fn a_held_lock_stops_apply_with_exit_3() {
    use nix::fcntl::{Flock, FlockArg};
    let node = Node::new("debian12-fresh");
    fs::create_dir_all(node.path("/run")).unwrap();
    let file = fs::File::create(node.path("/run/nodeprep.lock")).unwrap();
    let _held = Flock::lock(file, FlockArg::LockExclusiveNonblock).expect("take the lock");
    let before = node.snapshot();
    let r = node.run(&["apply"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("nodeprep.lock"), "{}", r.stderr);
    assert!(
        r.stderr.contains("another nodeprep apply is running"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);
    assert_eq!(before, node.snapshot());
}

#[test]
fn an_io_error_exits_3_naming_the_path_and_leaves_no_temp_file() {
    let node = Node::new("debian12-fresh");
    // /etc/sysctl.d is a file: writing k8s.conf fails with ENOTDIR
    fs::remove_dir_all(node.path("/etc/sysctl.d")).unwrap();
    node.write("/etc/sysctl.d", "not a directory\n");
    let r = node.run(&["apply"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.starts_with("nodeprep: "), "{}", r.stderr);
    assert!(r.stderr.contains("/etc/sysctl.d"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    no_temp_files(&node.path("/etc/modules-load.d"));
    no_temp_files(&node.path("/etc"));
}

#[test]
fn written_files_are_0644_whatever_the_umask() {
    let node = Node::new("debian12-fresh");
    let status = std::process::Command::new("sh")
        .args(["-c", "umask 077; exec \"$0\" --root \"$1\" -q apply"])
        .arg(BIN)
        .arg(&node.root)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env(nodeprep::config::FAKE_PROC_ENV, "1")
        .output()
        .unwrap()
        .status;
    assert_eq!(status.code(), Some(0));
    for f in ["/etc/modules-load.d/ipvs.conf", "/etc/sysctl.d/k8s.conf"] {
        let mode = fs::metadata(node.path(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "{f}");
    }
}

#[test]
fn sigint_during_a_helper_exits_130_at_once_with_files_untouched() {
    let node = Node::new("debian12-fresh");
    // a modprobe that signals it started, then takes a long while; it runs chrooted, so the
    // script names paths as the node sees them
    let (sleep, sleeping) = crate::boundary::own_sleep(31);
    node.wrap_modprobe(&format!(
        ": > /tmp/started\n{sleep}\nexec /usr/sbin/modprobe.real \"$@\""
    ));
    let mut child = command(&["--root", node.root.to_str().unwrap(), "apply"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    node.wait_for_started("the fake modprobe");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    // a deadline well below the helper's 31 s: a nodeprep that waits for it fails the test
    // instead of passing late, and one that never exits does not hang the suite
    let interrupted = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if interrupted.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            panic!("nodeprep still running 20s after SIGINT");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!node.path("/etc/modules-load.d/ipvs.conf").exists());
    assert!(!node.path("/etc/sysctl.d/k8s.conf").exists());
    // the helper's whole group went with it: the real modprobe was never reached
    assert_eq!(node.modprobe_calls(), Vec::<String>::new());
    assert!(
        crate::boundary::gone(&sleeping),
        "the helper's sleep outlived nodeprep"
    );
}

#[test]
fn one_modprobe_loads_them_all_and_a_failure_is_asked_again_alone() {
    let node = Node::new("debian12-fresh");
    // a modprobe that cannot insert ip_vs_sh, whoever asks, and loads the rest
    node.wrap_modprobe(
        "echo \"$*\" >> /wrapper.log\nst=0\nfor a; do case $a in\n  -*) ;;\n  ip_vs_sh) echo \"modprobe: ERROR: could not insert 'ip_vs_sh': Unknown symbol in module\" >&2; st=1 ;;\n  *) /usr/sbin/modprobe.real \"$a\" || st=1 ;;\nesac; done\nexit $st",
    );
    let (code, v) = node.json(&["apply"]);
    assert_eq!(code, 1, "{v:#}");
    let calls = node.read("/wrapper.log");
    assert_eq!(
        calls, "-a ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh nf_conntrack br_netfilter\nip_vs_sh\n",
        "one batch, then only the module it did not load"
    );
    let sh = action(&v, "load_module", "ip_vs_sh");
    assert_eq!(sh["ok"], false, "{sh}");
    assert!(
        sh["detail"]
            .as_str()
            .unwrap()
            .contains("Unknown symbol in module"),
        "its own error: {sh}"
    );
    for m in [
        "ip_vs",
        "ip_vs_rr",
        "ip_vs_wrr",
        "nf_conntrack",
        "br_netfilter",
    ] {
        assert_eq!(action(&v, "load_module", m)["ok"], true, "{m}");
    }
}

/// A rewritten file keeps its owner, group, mode and extended attributes; directories
/// apply creates are 0755 whatever the umask it runs with.
#[test]
fn rewritten_files_keep_what_is_not_nodeprep_s_and_new_directories_are_0755() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let node = Node::new("debian12-fresh");
    let outside = node.outside_snapshot();
    let conf = node.path("/etc/sysctl.d/k8s.conf");
    node.write(
        "/etc/sysctl.d/k8s.conf",
        "# the admin's\nnet.core.somaxconn = 1024\n",
    );
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o640)).unwrap();
    let owner = if in_user_namespace() {
        None
    } else {
        std::os::unix::fs::chown(&conf, Some(1000), Some(1000)).unwrap();
        Some((1000, 1000))
    };
    // user.* attributes where the file system takes them (trusted.* needs the real root)
    let xattr = ["user.nodeprep-test", "trusted.nodeprep-test"]
        .into_iter()
        .find(|name| xattr::set(&conf, name, b"keep me").is_ok());
    // no modules-load.d yet: apply creates it, under a umask that would make it 0000
    std::fs::remove_dir_all(node.path("/etc/modules-load.d")).unwrap();
    let out = std::process::Command::new("sh")
        .args(["-c", "umask 0777; exec \"$@\"", "sh", BIN])
        .args(["--root", node.root.to_str().unwrap(), "apply"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env(nodeprep::config::FAKE_PROC_ENV, "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = node.read("/etc/sysctl.d/k8s.conf");
    assert!(
        text.contains("net.ipv4.ip_forward = 1") && text.contains("# the admin's"),
        "{text}"
    );
    let meta = std::fs::metadata(&conf).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o640);
    match owner {
        Some(o) => assert_eq!((meta.uid(), meta.gid()), o),
        None => {
            skip_in_user_namespace(
                "the owner case of rewritten_files_keep",
                "chown to another user",
            );
        }
    };
    match xattr {
        Some(name) => assert_eq!(
            xattr::get(&conf, name).unwrap().as_deref(),
            Some(&b"keep me"[..])
        ),
        None => skip(&format!(
            "the extended attributes of rewritten_files_keep: the file system of {} takes none",
            conf.display()
        )),
    }
    let dir = std::fs::metadata(node.path("/etc/modules-load.d")).unwrap();
    assert_eq!(dir.mode() & 0o7777, 0o755);
    let file = std::fs::metadata(node.path("/etc/modules-load.d/ipvs.conf")).unwrap();
    assert_eq!(file.mode() & 0o7777, 0o644);
    assert_eq!(node.outside_snapshot(), outside);
}

/// An ordinary user's apply of a live root is refused before anything is written: each
/// load would need root (its modprobe runs chrooted).
#[test]
fn apply_as_an_ordinary_user_is_refused_before_writing() {
    if skip_in_user_namespace(
        "apply_as_an_ordinary_user_is_refused",
        "a second user (nobody)",
    ) {
        return;
    }
    let node = Node::new("debian12-fresh");
    let before = node.snapshot();
    let outside = node.outside_snapshot();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN])
        .args(["--root", node.root.to_str().unwrap(), "apply"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env(nodeprep::config::FAKE_PROC_ENV, "1")
        .output()
        .expect("setpriv (util-linux) runs");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("which needs root"), "{stderr}");
    assert_eq!(node.snapshot(), before, "apply wrote in the root");
    assert_eq!(node.outside_snapshot(), outside);
}
