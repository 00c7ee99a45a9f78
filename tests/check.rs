//! `nodeprep check` on the fixture roots: what it finds, how it says it, and that it writes nothing.

use crate::support::*;

#[test]
fn fresh_debian_node_is_not_ready_and_everything_is_loadable() {
    let node = Node::new("debian12-fresh");
    let (code, v) = node.json(&["check"]);
    assert_eq!(code, 1);
    assert_eq!(v["ready"], false);
    assert_eq!(v["kernel"]["release"], "6.1.0-13-amd64");
    assert_eq!(module_names(&v), DEFAULT_MODULES);
    for m in DEFAULT_MODULES {
        assert_eq!(module(&v, m)["state"], "loadable", "{m}");
        assert_eq!(module(&v, m)["persisted"], false, "{m}");
    }
    let bridge = sysctl(&v, "net.bridge.bridge-nf-call-iptables");
    assert_eq!(bridge["want"], "1");
    assert!(
        bridge["live"].is_null(),
        "no br_netfilter, no key: {bridge}"
    );
    assert!(bridge["boot"].is_null());
    let fwd = sysctl(&v, "net.ipv4.ip_forward");
    assert_eq!((&fwd["live"], &fwd["boot"]), (&"0".into(), &"0".into()));
    assert_eq!(sysctl(&v, "vm.swappiness")["live"], "60");
    let ipset = &v["binaries"][0];
    assert_eq!(ipset["name"], "ipset");
    assert_eq!(ipset["path"], "/usr/sbin/ipset");
    assert_eq!(ipset["version"], "7.17");
    // no kube-proxy, kubelet or kubeadm in the root: the newest behaviour is judged
    assert_eq!(v["kube_proxy"]["version"], "1.37");
    assert_eq!(v["kube_proxy"]["outcome"], "ipvs");
    let errors = error_ids(&v);
    // one finding per problem: not loaded and not persisted is one error saying both, for
    // all the modules of that cause, each id standing for it
    assert!(
        errors.contains(&"KernelModule-ip_vs".to_string()),
        "{errors:?}"
    );
    for m in DEFAULT_MODULES {
        let f = finding(&v, &format!("KernelModule-{m}")).unwrap();
        assert_eq!(f["id"], "KernelModule-ip_vs", "{f}");
        let msg = f["message"].as_str().unwrap();
        assert!(
            msg.contains(m)
                && msg.contains("are loadable but not loaded")
                && msg.contains("at boot"),
            "{msg}"
        );
    }
    for id in [
        "Sysctl-net.bridge.bridge-nf-call-iptables",
        "Sysctl-net.bridge.bridge-nf-call-ip6tables",
        "Sysctl-net.ipv4.ip_forward",
    ] {
        let f = finding(&v, id).unwrap_or_else(|| panic!("{id} in {errors:?}"));
        assert_eq!(f["severity"], "error", "{f}");
    }
    // the modules, the two bridge keys br_netfilter makes, ip_forward
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        !errors
            .iter()
            .any(|e| e.starts_with("ModulesLoad-") || e.starts_with("SysctlBoot-")),
        "{errors:?}"
    );
    // kube-proxy does not need vm.swappiness: a warning, not an error that blocks ready
    let sw = finding(&v, "Sysctl-vm.swappiness").unwrap();
    assert_eq!(sw["severity"], "warning");
}

#[test]
fn prepared_node_is_ready_and_the_kubeadm_version_is_used() {
    let node = Node::new("debian12-ready");
    let (code, v) = node.json(&["check"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["ready"], true);
    assert!(error_ids(&v).is_empty());
    for m in DEFAULT_MODULES {
        assert_eq!(module(&v, m)["state"], "loaded");
        assert_eq!(module(&v, m)["persisted"], true);
        assert_eq!(
            module(&v, m)["persisted_by"][0],
            "/etc/modules-load.d/ipvs.conf"
        );
    }
    let fwd = sysctl(&v, "net.ipv4.ip_forward");
    assert_eq!(fwd["boot_source"], "/etc/sysctl.d/k8s.conf:5");
    assert_eq!(v["kube_proxy"]["version"], "1.30");
    assert_eq!(v["kube_proxy"]["version_source"], "/usr/bin/kubeadm");
    assert_eq!(v["kube_proxy"]["reasons"], serde_json::json!([]));
    // 1.30 is not yet deprecated
    assert!(finding(&v, "KubeProxyDeprecated").is_none());
}

#[test]
fn centos7_uses_nf_conntrack_ipv4_and_its_xz_modules() {
    let node = Node::new("centos7");
    let (code, v) = node.json(&["check"]);
    assert_eq!(code, 1);
    let names = module_names(&v);
    assert!(
        names.contains(&"nf_conntrack_ipv4".to_string()),
        "{names:?}"
    );
    assert!(!names.contains(&"nf_conntrack".to_string()), "{names:?}");
    assert_eq!(module(&v, "ip_vs_sh")["state"], "loadable");
    assert_eq!(module(&v, "nf_conntrack_ipv4")["state"], "loadable");
    // kubelet 1.18 is found and judged
    assert_eq!(v["kube_proxy"]["version"], "1.18");
    assert_eq!(v["kube_proxy"]["version_source"], "/usr/bin/kubelet");
    assert_eq!(v["binaries"][0]["version"], "7.1");
}

#[test]
fn centos7s_00_system_conf_loses_to_k8s_conf_after_apply() {
    let node = Node::new("centos7");
    let (_, before) = node.json(&["check"]);
    // 00-system.conf turns bridge-nf-call-iptables off, but the key does not exist at boot
    // until br_netfilter is persisted
    assert!(
        sysctl(&before, "net.bridge.bridge-nf-call-iptables")["boot"].is_null(),
        "{before:#}"
    );
    assert_eq!(node.run(&["apply"]).code, 0);
    let (code, after) = node.json(&["check"]);
    assert_eq!(code, 0, "{after:#}");
    let s = sysctl(&after, "net.bridge.bridge-nf-call-iptables");
    assert_eq!(s["boot"], "1");
    assert_eq!(s["boot_source"], "/etc/sysctl.d/k8s.conf:3");
    assert!(
        node.read("/etc/modules-load.d/ipvs.conf")
            .contains("\nnf_conntrack_ipv4\n")
    );
}

#[test]
fn rhel8_has_only_nf_conntrack_and_the_seeds_script_is_flagged() {
    let node = Node::new("rhel8");
    let (code, v) = node.json(&["check"]);
    assert_eq!(code, 1);
    let names = module_names(&v);
    assert!(names.contains(&"nf_conntrack".to_string()), "{names:?}");
    assert!(
        !names.contains(&"nf_conntrack_ipv4".to_string()),
        "{names:?}"
    );
    assert_eq!(module(&v, "ip_vs")["state"], "loadable", ".ko.xz counts");
    let legacy = finding(&v, "LegacyModulesScript").expect("legacy script finding");
    assert_eq!(legacy["severity"], "warning");
    let msg = legacy["message"].as_str().unwrap();
    assert!(msg.contains("/etc/sysconfig/modules/ipvs.modules"), "{msg}");
    assert!(msg.contains("nf_conntrack_ipv4"), "{msg}");
    // the install hint follows the distribution
    let ipvsadm = finding(&v, "FileExisting-ipvsadm").expect("ipvsadm is missing");
    assert!(
        ipvsadm["message"]
            .as_str()
            .unwrap()
            .contains("dnf install -y ipvsadm"),
        "{ipvsadm}"
    );
}

#[test]
fn builtin_ipvs_counts_as_present_and_persisted() {
    let node = Node::new("ipvs-builtin");
    let (code, v) = node.json(&["check"]);
    assert_eq!(code, 1, "only the sysctls are wrong");
    for m in DEFAULT_MODULES {
        assert_eq!(module(&v, m)["state"], "builtin", "{m}");
        assert_eq!(module(&v, m)["persisted"], true, "{m}");
    }
    let mut errors = error_ids(&v);
    errors.sort();
    assert_eq!(errors, ["Sysctl-net.ipv4.ip_forward"]);
    assert_eq!(
        finding(&v, "Sysctl-vm.swappiness").unwrap()["severity"],
        "warning"
    );
    // builtin br_netfilter: its keys exist and keep the kernel default 1 at boot
    assert_eq!(
        sysctl(&v, "net.bridge.bridge-nf-call-iptables")["boot"],
        "1"
    );
}

#[test]
fn a_kernel_without_module_support_is_reported_as_such() {
    let node = Node::new("no-modules");
    let (code, v) = node.json(&["check"]);
    assert_eq!(code, 1);
    assert_eq!(v["kernel"]["modules_supported"], false);
    assert_eq!(module(&v, "ip_vs")["state"], "missing");
    // from CONFIG_…=y in /proc/config.gz
    assert_eq!(module(&v, "nf_conntrack")["state"], "builtin");
    assert_eq!(module(&v, "br_netfilter")["state"], "builtin");
    let f = finding(&v, "KernelModule-ip_vs").unwrap();
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("no loadable-module support"),
        "{f}"
    );
    assert_eq!(v["kube_proxy"]["outcome"], "fail");
    assert_eq!(
        v["kube_proxy"]["reasons"][0],
        "can't use the IPVS proxier: Ipvs not supported"
    );
}

#[test]
fn modprobe_d_lines_touching_required_modules_are_reported() {
    let node = Node::new("modprobe-d");
    let (_, v) = node.json(&["check"]);
    let install = finding(&v, "ModprobeInstall-ip_vs_wrr").expect("install line");
    assert_eq!(install["severity"], "error");
    assert_eq!(
        install["id"], "KernelModule-ip_vs_wrr",
        "one finding for one cause"
    );
    assert!(
        install["message"]
            .as_str()
            .unwrap()
            .contains("`install ip_vs_wrr /bin/false` in /etc/modprobe.d/local.conf"),
        "{install}"
    );
    let bl = finding(&v, "ModprobeBlacklist-ip_vs_sh").expect("blacklist line");
    assert_eq!(bl["severity"], "warning");
    assert!(finding(&v, "ModprobeBlacklist-ip_vs").is_none());
}

#[test]
fn boot_values_replay_sysctl_d_in_systemds_order() {
    let node = Node::new("sysctl-override");
    let (_, v) = node.json(&["check"]);
    // security.conf sorts after k8s.conf and wins at boot
    let fwd = sysctl(&v, "net.ipv4.ip_forward");
    assert_eq!(fwd["boot"], "0");
    assert_eq!(fwd["boot_source"], "/etc/sysctl.d/security.conf:2");
    // /etc/sysctl.conf is reached through Debian's 99-sysctl.conf symlink, after 99-local.conf
    let sw = sysctl(&v, "vm.swappiness");
    assert_eq!(sw["boot"], "10");
    assert_eq!(sw["boot_source"], "/etc/sysctl.d/99-sysctl.conf:9");
    let conf = finding(&v, "SysctlConf-vm.swappiness").expect("sysctl.conf warning");
    assert_eq!(conf["severity"], "warning");
    let boot = finding(&v, "Sysctl-net.ipv4.ip_forward").unwrap();
    assert!(
        boot["message"]
            .as_str()
            .unwrap()
            .contains("/etc/sysctl.d/security.conf is applied after /etc/sysctl.d/k8s.conf"),
        "{boot}"
    );
}

#[test]
fn stale_modules_load_entries_are_flagged() {
    let node = Node::new("foreign");
    let (_, v) = node.json(&["check"]);
    let msg = finding_message(&v, "ModulesLoadUnknown-nf_conntrack_ipv4", "warning");
    assert!(
        msg.contains("Failed to find module 'nf_conntrack_ipv4'"),
        "{msg}"
    );
    // ip_vs is listed by the hand-written file, so it counts as persisted
    assert_eq!(module(&v, "ip_vs")["persisted"], true);
    assert_eq!(module(&v, "ip_vs_rr")["persisted"], false);
}

#[test]
fn check_writes_nothing() {
    for name in ["debian12-fresh", "foreign", "no-modules"] {
        let node = Node::new(name);
        let before = node.snapshot();
        node.run(&["check"]);
        node.run(&["--output", "json", "check"]);
        assert_eq!(before, node.snapshot(), "{name}");
    }
}

#[test]
fn text_report_follows_kubeadm_preflight_conventions() {
    let node = Node::new("debian12-fresh");
    let r = node.run(&["check"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("[preflight] Running pre-flight checks\n"));
    assert!(
        r.stdout.contains(
            "\t[ERROR KernelModule-ip_vs]: ip_vs, ip_vs_rr, ip_vs_wrr, ip_vs_sh,\n\t  nf_conntrack and br_netfilter are loadable but not loaded, and no\n\t  modules-load.d file loads them at boot; `nodeprep apply` loads them\n\t  and writes /etc/modules-load.d/ipvs.conf\n"
        ),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("\t[WARNING Sysctl-vm.swappiness]: "));
    assert!(
        !r.stdout.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    assert!(r.stderr.is_empty(), "{}", r.stderr);
}

#[test]
fn quiet_prints_only_warnings_and_errors() {
    let node = Node::new("debian12-fresh");
    let r = node.run(&["--quiet", "check"]);
    assert_eq!(r.code, 1);
    assert!(!r.stdout.is_empty());
    for line in r.stdout.lines() {
        assert!(
            line.starts_with("\t[ERROR ")
                || line.starts_with("\t[WARNING ")
                || line.starts_with("\t  "),
            "{line:?}"
        );
    }
    let ready = Node::new("debian12-ready");
    let r = ready.run(&["-q", "check", "--kube-proxy-version", "1.30"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""));
}

#[test]
fn root_can_come_from_the_environment() {
    let node = Node::new("debian12-ready");
    let out = command(&["-o", "json", "check"])
        .env("NODEPREP_ROOT", &node.root)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(v["kernel"]["release"], "6.1.0-13-amd64");
}

#[test]
fn extra_modules_and_sysctls_are_checked_too() {
    let node = Node::new("debian12-ready");
    let (code, v) = node.json(&[
        "--module",
        "ip_vs_lc",
        "--module",
        "ip-vs-lc",
        "--sysctl",
        "net.ipv4.ip_forward=1",
        "--sysctl",
        "net/core/somaxconn=4096",
        "check",
    ]);
    assert_eq!(code, 1);
    let names = module_names(&v);
    assert_eq!(
        names.iter().filter(|n| *n == "ip_vs_lc").count(),
        1,
        "{names:?}"
    );
    assert_eq!(module(&v, "ip_vs_lc")["state"], "loadable");
    let s = sysctl(&v, "net.core.somaxconn");
    assert_eq!(s["want"], "4096");
    assert!(error_ids(&v).contains(&"Sysctl-net.core.somaxconn".to_string()));
}

#[test]
fn check_runs_unprivileged() {
    if crate::support::skip_in_user_namespace("check_runs_unprivileged", "a second user (nobody)") {
        return;
    }
    // `check` needs no root: run it as nobody when the tests run as root
    let node = Node::new("debian12-ready");
    let root = node.root.to_str().unwrap();
    let unprivileged = |args: &[&str]| {
        let out = if nix::unistd::geteuid().is_root() {
            std::process::Command::new("setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN])
                .args(args)
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                .env(nodeprep::config::FAKE_PROC_ENV, "1")
                .output()
                .expect("setpriv (util-linux) runs")
        } else {
            command(args).output().unwrap()
        };
        Run::from_output(out)
    };
    let r = unprivileged(&["--root", root, "-q", "check"]);
    assert_eq!(r.code, 0, "{} {}", r.stdout, r.stderr);
    // the root's helpers run chrooted, which needs root: the finding says so, and check
    // still judges the rest
    let r = unprivileged(&["--root", root, "--output", "json", "check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let msg = finding_message(&v, "IpsetVersion", "warning");
    assert!(
        msg.contains("cannot run /usr/sbin/ipset of ")
            && msg.contains("a helper of another root runs chrooted into it, which needs root"),
        "{msg}"
    );
    assert_eq!(binary(&v, "ipset")["version"], serde_json::Value::Null);
}

#[test]
fn modules_disabled_is_an_error_while_a_module_still_needs_loading() {
    let node = Node::new("debian12-fresh");
    node.write("/proc/sys/kernel/modules_disabled", "1\n");
    let (code, v) = node.json(&["check"]);
    assert_eq!(code, 1);
    assert_eq!(v["kernel"]["modules_disabled"], true);
    let f = finding(&v, "ModulesDisabled").expect("modules_disabled finding");
    assert_eq!(f["severity"], "error");
    // apply cannot load anything, and says so per module without calling modprobe
    let (code, v) = node.json(&["apply"]);
    assert_eq!(code, 1);
    assert!(node.modprobe_calls().is_empty());
    let a = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["target"] == "ip_vs")
        .unwrap();
    assert_eq!(a["ok"], false);
    assert!(
        a["detail"].as_str().unwrap().contains("modules_disabled"),
        "{a}"
    );
    // a prepared node has nothing left to load: no finding
    let ready = Node::new("debian12-ready");
    ready.write("/proc/sys/kernel/modules_disabled", "1\n");
    let (code, v) = ready.json(&["check"]);
    assert_eq!(code, 0);
    assert!(finding(&v, "ModulesDisabled").is_none());
}

#[test]
fn an_old_ipset_is_an_error_only_for_a_kube_proxy_on_the_host() {
    let node = Node::new("debian12-ready");
    node.write(
        "/usr/sbin/ipset",
        "#!/bin/sh\necho 'ipset v4.5, protocol version: 4'\n",
    );
    let (code, v) = node.json(&["--kube-proxy-version", "1.30", "check"]);
    assert_eq!(code, 0, "a containerised kube-proxy brings its own ipset");
    let msg = finding_message(&v, "IpsetVersion", "warning");
    assert!(
        msg.contains("ipset version 4.5 is not at least 6.0"),
        "{msg}"
    );
    let (code, v) = node.json(&[
        "--kube-proxy-version",
        "1.30",
        "--kube-proxy-runtime",
        "host",
        "check",
    ]);
    assert_eq!(code, 1);
    assert_eq!(finding(&v, "IpsetVersion").unwrap()["severity"], "error");
}

#[test]
fn a_stale_entry_in_someone_elses_file_is_left_to_the_user() {
    let node = Node::new("debian12-ready");
    node.write(
        "/etc/modules-load.d/old-ipvs.conf",
        "ip_vs\nnf_conntrack_ipv4\n",
    );
    let (_, v) = node.json(&["check"]);
    let f = finding(&v, "ModulesLoadUnknown-nf_conntrack_ipv4").expect("stale entry");
    let msg = f["message"].as_str().unwrap();
    assert!(
        msg.starts_with("/etc/modules-load.d/old-ipvs.conf lists nf_conntrack_ipv4"),
        "{msg}"
    );
    assert!(msg.ends_with("remove that line"), "{msg}");
    // and apply does not touch that file
    let before = node.read("/etc/modules-load.d/old-ipvs.conf");
    node.run(&["apply"]);
    assert_eq!(node.read("/etc/modules-load.d/old-ipvs.conf"), before);
}

/// `nodeprep check | head`: a reader that goes away before the report is written is not an
/// error, and is no death by SIGPIPE (the test's `Command` starts nodeprep with SIGPIPE at
/// its default; nodeprep's own start ignores it). The exit code stays the report's.
#[test]
fn a_reader_that_is_gone_is_not_an_error_and_no_sigpipe_death() {
    use std::os::unix::process::ExitStatusExt;
    let node = Node::new("debian12-ready");
    let outside = node.outside_snapshot();
    let mut child = command(&["--root", node.root.to_str().unwrap(), "check"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.signal(), None, "killed by a signal");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(node.outside_snapshot(), outside);
}

/// A sysctl value that would smuggle a second setting into k8s.conf, or that the kernel
/// rejects, is a usage error before anything is written.
#[test]
fn sysctl_values_are_refused_before_anything_is_written() {
    let node = Node::new("debian12-fresh");
    let before = node.snapshot();
    let outside = node.outside_snapshot();
    for (arg, says) in [
        (
            "net.core.somaxconn=4096\rkernel.domainname=x",
            "control character",
        ),
        ("net.ipv4.ip_forward=true", "use 1 or 0"),
        ("net.core.somaxconn=lots", "an integer"),
    ] {
        let r = node.run(&["--sysctl", arg, "apply"]);
        assert_eq!(r.code, 64, "{arg}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{arg}: {}", r.stderr);
    }
    assert_eq!(node.snapshot(), before, "apply wrote in the root");
    assert_eq!(node.outside_snapshot(), outside);
}
