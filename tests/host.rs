//! `nodeprep check` on the machine running the tests: real root, read-only. What it must find
//! is read here independently from /proc, so the test holds on any machine, and asserts more
//! on the kind of machine nodeprep is developed on (no module support, no IPVS).

use std::path::Path;

use crate::support::*;

#[test]
fn check_on_this_machine_agrees_with_proc() {
    let r = nodeprep(&["--output", "json", "check"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", r.stdout, r.stderr));
    assert_eq!(
        r.code,
        if v["ready"] == true { 0 } else { 1 },
        "{}",
        r.stderr
    );
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(v["kernel"]["release"], release.trim());
    let modules_supported = Path::new("/proc/modules").exists();
    assert_eq!(v["kernel"]["modules_supported"], modules_supported);
    let fwd = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    assert_eq!(sysctl(&v, "net.ipv4.ip_forward")["live"], fwd.trim());
    let ipvs_live = Path::new("/proc/net/ip_vs").exists();
    if !modules_supported && !ipvs_live {
        // this development machine: a kernel without loadable modules and without IPVS
        assert_eq!(module(&v, "ip_vs")["state"], "missing");
        assert_eq!(v["ready"], false);
        assert_eq!(v["kube_proxy"]["outcome"], "fail");
        assert!(error_ids(&v).contains(&"KernelModule-ip_vs".to_string()));
    } else {
        // a machine with module support or IPVS: ip_vs is somewhere
        assert_ne!(module(&v, "ip_vs")["state"], "missing", "{v:#}");
    }
}

#[test]
fn text_check_on_this_machine_prints_a_report() {
    let r = nodeprep(&["check"]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("nodeprep check: kernel "),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("[preflight] Running pre-flight checks"));
}
