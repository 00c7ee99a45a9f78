//! Proxy modes end to end: `--mode`, the wanted state and readiness per mode, the migration
//! table in text and JSON, the deprecation finding, and the version checks.

use std::fs;

use serde_json::Value;

use crate::support::*;

/// A Debian 12 node without any IPVS module: not loaded, not in the module index.
fn no_ipvs_node() -> Node {
    let node = Node::new("debian12-ready");
    let release = node.read("/proc/sys/kernel/osrelease");
    let dep = format!("/lib/modules/{}/modules.dep", release.trim());
    let keep = |text: String| -> String {
        text.lines()
            .filter(|l| !l.contains("ip_vs"))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    node.write(&dep, &keep(node.read(&dep)));
    node.write("/proc/modules", &keep(node.read("/proc/modules")));
    node.write(
        "/etc/modules-load.d/ipvs.conf",
        "nf_conntrack\nbr_netfilter\n",
    );
    let _ = fs::remove_dir_all(node.path("/proc/net/ip_vs"));
    node
}

fn outcome<'a>(v: &'a Value, mode: &str) -> &'a Value {
    &v["kube_proxy"]["modes"][mode]["outcome"]
}

fn reasons(v: &Value, mode: &str) -> String {
    v["kube_proxy"]["modes"][mode]["reasons"]
        .as_array()
        .unwrap_or_else(|| panic!("kube_proxy.modes.{mode}.reasons: {}", v["kube_proxy"]))
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn nftables_mode_needs_no_ipvs_and_a_node_without_ipvs_is_ready() {
    let node = no_ipvs_node();
    let (code, v) = node.json(&[
        "--mode",
        "nftables",
        "--kube-proxy-version",
        "1.33",
        "check",
    ]);
    assert_eq!(code, 0, "{}", v["findings"]);
    assert_eq!(v["ready"], true);
    assert_eq!(v["kube_proxy"]["mode"], "nftables");
    assert_eq!(v["kube_proxy"]["outcome"], "nftables");
    assert_eq!(module_names(&v), ["nf_conntrack", "br_netfilter"]);
    // every mode still wants br_netfilter's and k8s.conf's sysctls
    assert_eq!(
        sysctl(&v, "net.bridge.bridge-nf-call-iptables")["want"],
        "1"
    );
    assert_eq!(sysctl(&v, "net.ipv4.ip_forward")["want"], "1");
    assert!(finding(&v, "FileExisting-ipset").is_none());
    // the same node in IPVS mode is not ready
    let (code, v) = node.json(&["--kube-proxy-version", "1.33", "check"]);
    assert_eq!(code, 1);
    assert_eq!(v["kube_proxy"]["outcome"], "fail");
    assert_eq!(outcome(&v, "nftables"), "nftables");
    let r = node.run(&[
        "--mode",
        "nftables",
        "--kube-proxy-version",
        "1.33",
        "check",
    ]);
    assert!(
        r.stdout
            .contains("Ready for kube-proxy in nftables mode (0 warnings)."),
        "{}",
        r.stdout
    );
}

#[test]
fn apply_in_nftables_mode_writes_no_ipvs_modules() {
    let node = Node::new("debian12-fresh");
    let r = node.run(&[
        "--mode",
        "nftables",
        "--kube-proxy-version",
        "1.31",
        "apply",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let conf = node.read("/etc/modules-load.d/ipvs.conf");
    assert!(!conf.contains("ip_vs"), "{conf}");
    assert!(
        conf.contains("br_netfilter") && conf.contains("nf_conntrack"),
        "{conf}"
    );
    assert!(!node.modprobe_calls().iter().any(|c| c.contains("ip_vs")));
}

#[test]
fn the_migration_table_is_in_json_and_text() {
    let node = Node::new("debian12-ready");
    let (code, v) = node.json(&["--kube-proxy-version", "1.30", "check"]);
    assert_eq!(code, 0);
    // the configured mode's verdict stays where it was
    assert_eq!(v["kube_proxy"]["outcome"], "ipvs");
    assert_eq!(outcome(&v, "ipvs"), "ipvs");
    assert_eq!(outcome(&v, "iptables"), "iptables");
    // 1.30 needs the alpha gate for nftables
    assert_eq!(outcome(&v, "nftables"), "fail");
    assert!(
        reasons(&v, "nftables").contains("Invalid value: \"nftables\""),
        "{}",
        reasons(&v, "nftables")
    );
    let r = node.run(&["--kube-proxy-version", "1.30", "check"]);
    let table = r
        .stdout
        .split("Proxy modes, kube-proxy 1.30 on this node now:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no migration table: {}", r.stdout));
    let lines: Vec<&str> = table.lines().take(5).collect();
    assert_eq!(lines[0], "  ipvs      will run in IPVS mode");
    assert_eq!(
        lines[1],
        "  nftables  will NOT start: it exits with an error and crash-loops"
    );
    assert!(
        lines[2].starts_with("            KubeProxyConfiguration.Mode.ProxyMode: Invalid value")
    );
    // reasons wrap at 80 columns: the iptables row follows them
    assert!(
        table
            .lines()
            .take_while(|l| !l.starts_with("[preflight]"))
            .any(|l| l == "  iptables  will run in iptables mode"),
        "{table}"
    );
    // with the gate in the config, 1.30 runs nftables; the host's nft counts on the host
    let gates = node.path("/etc/kp.yaml");
    node.write(
        "/etc/kp.yaml",
        "kind: KubeProxyConfiguration\nmode: ipvs\nfeatureGates:\n  NFTablesProxyMode: true\n",
    );
    let cfg = ["--kube-proxy-config", gates.to_str().unwrap()];
    let (_, v) = node.json(&[&cfg[..], &["--kube-proxy-version", "1.30", "check"]].concat());
    assert_eq!(outcome(&v, "nftables"), "nftables");
    fs::remove_file(node.path("/usr/sbin/nft")).unwrap();
    let (_, v) = node.json(
        &[
            &cfg[..],
            &[
                "--kube-proxy-runtime",
                "host",
                "--kube-proxy-version",
                "1.30",
                "check",
            ],
        ]
        .concat(),
    );
    assert_eq!(outcome(&v, "nftables"), "fail");
    assert!(reasons(&v, "nftables").contains("could not find nftables binary"));
}

#[test]
fn a_missing_rule_feature_is_its_own_outcome_services_break() {
    let node = Node::new("debian12-ready");
    let release = node.read("/proc/sys/kernel/osrelease");
    let dep = format!("/lib/modules/{}/modules.dep", release.trim());
    let text: String = node
        .read(&dep)
        .lines()
        .filter(|l| !l.contains("nft_numgen"))
        .map(|l| format!("{l}\n"))
        .collect();
    node.write(&dep, &text);
    let (code, v) = node.json(&[
        "--mode",
        "nftables",
        "--kube-proxy-version",
        "1.33",
        "check",
    ]);
    assert_eq!(code, 1);
    assert_eq!(v["kube_proxy"]["outcome"], "broken");
    let f = finding(&v, "KubeProxyNFTables").expect("the verdict finding");
    assert_eq!(f["severity"], "error");
    let msg = f["message"].as_str().unwrap();
    assert!(
        msg.contains("starts, but its rules fail to load: Services will NOT work")
            && msg.contains("nft_numgen"),
        "{msg}"
    );
}

#[test]
fn ipvs_deprecation_says_whether_nftables_would_work_here() {
    let node = Node::new("debian12-ready");
    let (code, v) = node.json(&["--kube-proxy-version", "1.35", "check"]);
    assert_eq!(code, 0);
    let msg = finding(&v, "KubeProxyDeprecated").expect("deprecation")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        msg,
        "kube-proxy 1.35 deprecates IPVS mode (kubeadm warns from 1.37); nftables mode works on this node today (nodeprep --mode nftables check)"
    );
    // the text says it once, as a finding: not under each verdict nor in the modes table
    let text = node.run(&["--kube-proxy-version", "1.35", "check"]).stdout;
    assert_eq!(text.matches("deprecat").count(), 1, "{text}");
    // without a version given or found, the newest behaviour is judged, and nothing is said
    // of a deprecation the node may never meet
    let (_, v) = Node::new("debian12-fresh").json(&["check"]);
    assert_eq!(v["kube_proxy"]["version"], "1.37");
    assert!(
        finding(&v, "KubeProxyDeprecated").is_none(),
        "{}",
        v["findings"]
    );
    // on the host without nft it would not, and it says what is missing
    fs::remove_file(node.path("/usr/sbin/nft")).unwrap();
    let (_, v) = node.json(&[
        "--kube-proxy-runtime",
        "host",
        "--kube-proxy-version",
        "1.35",
        "check",
    ]);
    let msg = finding(&v, "KubeProxyDeprecated").expect("deprecation")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("nftables mode would not work here yet")
            && msg.contains("could not find nftables binary"),
        "{msg}"
    );
    // only logged when IPVS is in use: not when kube-proxy 1.35 fails to start in IPVS mode
    let (code, v) = node.json(&[
        "--kube-proxy-version",
        "1.35",
        "--scheduler",
        "twos",
        "check",
    ]);
    assert_eq!(code, 1);
    assert_eq!(v["kube_proxy"]["outcome"], "fail");
    assert!(finding(&v, "KubeProxyDeprecated").is_none());
    // and not before 1.35
    let (_, v) = node.json(&["--kube-proxy-version", "1.34", "check"]);
    assert!(finding(&v, "KubeProxyDeprecated").is_none());
}

#[test]
fn the_mode_comes_from_the_flag_then_the_config_then_ipvs() {
    let node = Node::new("debian12-ready");
    let (_, v) = node.json(&["check"]);
    assert_eq!(v["kube_proxy"]["mode"], "ipvs");
    let cfg = |name: &str, text: &str| {
        node.write(&format!("/etc/{name}"), text);
        node.path(&format!("/etc/{name}"))
            .to_str()
            .unwrap()
            .to_string()
    };
    // blank means iptables
    let blank = cfg("blank.yaml", "kind: KubeProxyConfiguration\nmode: \"\"\n");
    let (code, v) = node.json(&["--kube-proxy-config", &blank, "check"]);
    assert_eq!(code, 0, "{}", v["findings"]);
    assert_eq!(v["kube_proxy"]["mode"], "");
    assert_eq!(v["kube_proxy"]["outcome"], "iptables");
    let r = node.run(&["--kube-proxy-config", &blank, "check"]);
    assert!(r.stdout.contains("mode iptables (blank)"), "{}", r.stdout);
    // `IPVS` is not a mode: kube-proxy's validation rejects it and it crash-loops
    let upper = cfg("upper.yaml", "kind: KubeProxyConfiguration\nmode: IPVS\n");
    let (code, v) = node.json(&["--kube-proxy-config", &upper, "check"]);
    assert_eq!(code, 1);
    assert_eq!(v["kube_proxy"]["outcome"], "fail");
    let msg = finding_message(&v, "KubeProxyMode", "error");
    assert!(msg.contains("Invalid value: \"IPVS\""), "{msg}");
    // --mode wins over the config
    let (code, v) = node.json(&["--kube-proxy-config", &upper, "--mode", "ipvs", "check"]);
    assert_eq!(code, 0);
    assert_eq!(v["kube_proxy"]["mode"], "ipvs");
    // userspace in a version that still has it is a warning, not an error
    let us = cfg("us.yaml", "kind: KubeProxyConfiguration\nmode: userspace\n");
    let (code, v) = node.json(&[
        "--kube-proxy-config",
        &us,
        "--kube-proxy-version",
        "1.25",
        "check",
    ]);
    assert_eq!(code, 0);
    assert_eq!(v["kube_proxy"]["outcome"], "userspace");
    assert_eq!(finding(&v, "KubeProxyMode").unwrap()["severity"], "warning");
    let (code, v) = node.json(&[
        "--kube-proxy-config",
        &us,
        "--kube-proxy-version",
        "1.26",
        "check",
    ]);
    assert_eq!(code, 1);
    assert_eq!(v["kube_proxy"]["outcome"], "fail");
}

#[test]
fn host_run_nftables_wants_the_hosts_nft() {
    let node = Node::new("debian12-fresh");
    let (_, v) = node.json(&[
        "--mode",
        "nftables",
        "--kube-proxy-runtime",
        "host",
        "check",
    ]);
    let msg = finding_message(&v, "FileExisting-nft", "error");
    assert!(
        msg.ends_with("install it: apt-get install -y nftables"),
        "{msg}"
    );
    assert_eq!(v["kube_proxy"]["outcome"], "fail");
    // a containerised kube-proxy brings its own: a warning
    let (_, v) = node.json(&["--mode", "nftables", "check"]);
    assert_eq!(
        finding(&v, "FileExisting-nft").unwrap()["severity"],
        "warning"
    );
    // ipset and ipvsadm are IPVS mode's only
    assert!(finding(&v, "FileExisting-ipvsadm").is_none());
}

#[test]
fn versions_that_do_not_exist_are_usage_errors_and_future_ones_are_judged_as_the_newest() {
    for bad in ["0.9", "1.2.3.4", "one"] {
        let r = nodeprep(&["--root", "/", "--kube-proxy-version", bad, "check"]);
        assert_eq!(r.code, 64, "{bad}: {}", r.stderr);
        assert!(
            r.stderr.starts_with("error: --kube-proxy-version"),
            "{}",
            r.stderr
        );
        // clap's usage-error style: the message, the usage line, the hint
        assert!(
            r.stderr.contains("For more information, try '--help'."),
            "{}",
            r.stderr
        );
    }
    let r = nodeprep(&["--root", "/", "--kube-proxy-version", "0.9", "check"]);
    assert!(r.stderr.contains("below 1.0"), "{}", r.stderr);
    let r = nodeprep(&["--root", "/", "--mode", "ebpf", "check"]);
    assert_eq!(r.code, 64, "{}", r.stderr);
    let node = Node::new("debian12-ready");
    let (code, v) = node.json(&["--kube-proxy-version", "1.40.2", "check"]);
    assert_eq!(code, 0, "a warning, not an error");
    assert_eq!(v["kube_proxy"]["version"], "1.37");
    let msg = finding_message(&v, "KubeProxyVersion", "warning");
    assert!(msg.contains("1.40 (--kube-proxy-version) is newer than the newest version nodeprep knows; judging as 1.37"), "{msg}");
    // the patch level is kept
    let (_, v) = node.json(&["--kube-proxy-version", "1.12.7", "check"]);
    assert_eq!(v["kube_proxy"]["patch"], 7);
}

#[test]
fn a_blank_scheduler_means_rr() {
    let node = Node::new("debian12-ready");
    let (code, v) = node.json(&["--scheduler", "", "--kube-proxy-version", "1.22", "check"]);
    assert_eq!(code, 0, "{}", v["findings"]);
    assert_eq!(v["kube_proxy"]["scheduler"], "rr");
    assert!(!module_names(&v).contains(&"ip_vs_".to_string()));
    node.write(
        "/etc/kp.yaml",
        "kind: KubeProxyConfiguration\nmode: ipvs\nipvs:\n  scheduler: \"\"\n",
    );
    let f = node.path("/etc/kp.yaml");
    let (code, v) = node.json(&[
        "--kube-proxy-config",
        f.to_str().unwrap(),
        "--kube-proxy-version",
        "1.22",
        "check",
    ]);
    assert_eq!(code, 0, "{}", v["findings"]);
    assert_eq!(v["kube_proxy"]["scheduler"], "rr");
    assert_eq!(v["kube_proxy"]["outcome"], "ipvs");
}

#[test]
fn no_live_probe_is_run_for_iptables_mode() {
    // read-only on this machine: --probe needs the real root, and is skipped here
    let r = nodeprep(&["--mode", "iptables", "--output", "json", "check", "--probe"]);
    let v: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", r.stdout, r.stderr));
    assert!(v.get("probe").is_none(), "{}", v["probe"]);
    assert!(v.get("nft_probe").is_none(), "{}", v["nft_probe"]);
    let f = finding(&v, "LiveProbe").expect("a note that the probe was skipped");
    assert_eq!(f["severity"], "info");
}

#[test]
fn the_nftables_probe_answers_on_the_real_root_or_says_why_not() {
    // the real / as it is: with no nft (this machine) the probe says it cannot run; with
    // one, its tables live in a namespace of their own and go with it
    let r = nodeprep(&["--mode", "nftables", "--output", "json", "check", "--probe"]);
    let v: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", r.stdout, r.stderr));
    assert!(v.get("probe").is_none(), "{}", v["probe"]);
    let p = &v["nft_probe"];
    let nft = v["binaries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "nft")
        .unwrap();
    if p["ran"] == true {
        let families: Vec<&str> = p["families"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["family"].as_str().unwrap())
            .collect();
        assert_eq!(families, ["ip", "ip6"], "{p}");
    } else {
        assert_eq!(p["families"], serde_json::json!([]), "{p}");
        let f = finding(&v, "LiveProbe").expect("why the probe did not run");
        assert_eq!(f["severity"], "warning");
        assert!(f["message"].as_str().unwrap().contains("cannot run"), "{f}");
        if nft["path"].is_null() {
            assert!(
                f["message"].as_str().unwrap().contains("no nft under /"),
                "{f}"
            );
        }
    }
}

#[test]
fn the_seeds_ipvs_feature_gate_stops_a_modern_kube_proxy() {
    // the 1.8–1.9 recipe's kubeadm config, used with kubeadm 1.30
    let node = Node::new("debian12-ready");
    node.write(
        "/etc/kubeadm.yaml",
        "kind: MasterConfiguration\napiVersion: kubeadm.k8s.io/v1alpha1\nkubeProxy:\n  config:\n    featureGates: SupportIPVSProxyMode=true\n    mode: ipvs\n",
    );
    let f = node.path("/etc/kubeadm.yaml");
    let (code, v) = node.json(&["--kube-proxy-config", f.to_str().unwrap(), "check"]);
    assert_eq!(code, 1);
    assert_eq!(v["kube_proxy"]["outcome"], "fail");
    let msg = finding(&v, "KubeProxyIPVS").expect("verdict")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("unrecognized feature gate: SupportIPVSProxyMode"),
        "{msg}"
    );
    // 1.9 needs it
    let (_, v) = node.json(&[
        "--kube-proxy-config",
        f.to_str().unwrap(),
        "--kube-proxy-version",
        "1.9",
        "check",
    ]);
    assert_ne!(
        v["kube_proxy"]["reasons"][0],
        "unrecognized feature gate: SupportIPVSProxyMode"
    );
    assert!(
        !v["kube_proxy"]["reasons"]
            .to_string()
            .contains("SupportIPVSProxyMode is not enabled"),
        "{}",
        v["kube_proxy"]
    );
}
