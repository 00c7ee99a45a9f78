//! The kube-proxy verdict, table-driven: fixture root × kube-proxy version × scheduler ×
//! runtime → what kube-proxy itself does. Each row names the kube-proxy behaviour it pins
//! down (see docs/kube-proxy.md, Part 1 §1–§4, and the notes in src/plan/verdict.rs);
//! every version boundary is covered from both sides.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::support::fixture_surroundings;
use clap::Parser;
use nodeprep::cli::Cli;
use nodeprep::config::Config;
use nodeprep::plan;
use nodeprep::run::Survey;

use crate::support::*;

/// Changes made to a copy of the fixture before checking.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Setup {
    AsIs,
    /// No ipset on the host.
    NoIpset,
    /// The host's ipset is too old (v4.5).
    OldIpset,
    /// /proc/sys/kernel/modules_disabled = 1.
    ModulesDisabled,
    /// A KubeProxyConfiguration with `featureGates: SupportIPVSProxyMode=true` (1.8–1.9 need it).
    IpvsGate,
}
use Setup::*;

struct Row {
    fixture: &'static str,
    setup: Setup,
    version: &'static str,
    scheduler: &'static str,
    runtime: &'static str,
    outcome: &'static str,
    /// Must appear in the reasons (what kube-proxy logs); "" means no reasons at all.
    reason: &'static str,
}

const fn row(
    fixture: &'static str,
    setup: Setup,
    version: &'static str,
    scheduler: &'static str,
    runtime: &'static str,
    outcome: &'static str,
    reason: &'static str,
) -> Row {
    Row {
        fixture,
        setup,
        version,
        scheduler,
        runtime,
        outcome,
        reason,
    }
}

const C: &str = "container";
const H: &str = "host";
/// debian12-ready: Linux 6.1, every default module loaded (ip_vs_lc only loadable).
const READY: &str = "debian12-ready";
/// debian12-fresh: Linux 6.1, every module loadable, nothing loaded.
const FRESH: &str = "debian12-fresh";

const NOT_LOADED: &str =
    "IPVS proxier will not be used because the following required kernel modules are not loaded:";

#[rustfmt::skip]
const ROWS: &[Row] = &[
    // ≤ 1.8: reads /proc/modules, loads nothing, falls back to the userspace proxier; it wants
    // nf_conntrack_ipv4, which no kernel ≥ 4.19 has
    row(READY, IpvsGate, "1.8", "rr", C, "userspace", "can't determine whether to use ipvs proxy, using userspace proxier: Failed to load kernel modules: [nf_conntrack_ipv4]"),
    // ≤ 1.8 does not modprobe: on a node where nothing is loaded every module is missing
    row("centos7", IpvsGate, "1.8", "rr", C, "userspace", "Failed to load kernel modules: [ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh nf_conntrack_ipv4]"),
    // 1.9 (boundary with 1.8): modprobes the base modules itself, then falls back to iptables
    row("centos7", IpvsGate, "1.9", "rr", C, "ipvs", ""),
    row(READY, IpvsGate, "1.9", "rr", C, "iptables", "[nf_conntrack_ipv4]"),
    // without the gate (off by default until 1.10) `ipvs` is an unknown mode: iptables
    row("centos7", AsIs, "1.8", "rr", C, "iptables", "Flag proxy-mode=\"ipvs\" unknown, assuming iptables proxy"),
    row("centos7", AsIs, "1.9", "rr", C, "iptables", "Flag proxy-mode=\"ipvs\" unknown, assuming iptables proxy"),
    row("centos7", AsIs, "1.10", "rr", C, "ipvs", ""),
    // 1.9–1.12 always require nf_conntrack_ipv4: a 6.1 kernel falls back, with 1.9–1.18's messages
    row(READY, AsIs, "1.10", "rr", C, "iptables", "can't determine whether to use ipvs proxy, error: IPVS proxier will not be used because the following required kernel modules are not loaded: [nf_conntrack_ipv4]"),
    row(READY, AsIs, "1.10", "rr", C, "iptables", "Can't use ipvs proxier, trying iptables proxier"),
    row(READY, AsIs, "1.12", "rr", C, "iptables", "Using iptables Proxier."),
    // 3.10 has nf_conntrack_ipv4, and kube-proxy loads everything itself
    row("centos7", AsIs, "1.10", "rr", C, "ipvs", ""),
    // RHEL 8's 4.18 has no nf_conntrack_ipv4 (merge backported): 1.12 falls back
    row("rhel8", AsIs, "1.12", "rr", C, "iptables", "[nf_conntrack_ipv4]"),
    // before 1.11 a builtin module does not count: it never shows in /proc/modules
    row("ipvs-builtin", AsIs, "1.10", "rr", C, "iptables", "[ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh nf_conntrack_ipv4]"),
    // 1.11 (boundary) reads modules.builtin (PR #63850), but still wants nf_conntrack_ipv4
    row("ipvs-builtin", AsIs, "1.11", "rr", C, "iptables", "[nf_conntrack_ipv4]"),
    row("ipvs-builtin", AsIs, "1.12", "rr", C, "iptables", "[nf_conntrack_ipv4]"),
    // 1.13 (boundary) picks the conntrack module by kernel version (PR #70398): nf_conntrack on ≥ 4.19
    row("ipvs-builtin", AsIs, "1.13", "rr", C, "ipvs", ""),
    row(READY, AsIs, "1.13", "rr", C, "ipvs", ""),
    // 1.13–1.26 quirk: on 4.18 the version rule asks for nf_conntrack_ipv4, which RHEL 8 lacks,
    // but a missing conntrack module is never reported
    row("rhel8", AsIs, "1.13", "rr", C, "ipvs", ""),
    row("rhel8", AsIs, "1.26", "rr", C, "ipvs", ""),
    row(READY, AsIs, "1.15", "rr", C, "ipvs", ""),
    row(FRESH, AsIs, "1.15", "rr", C, "ipvs", ""),
    // 1.18 / 1.19 (message boundary): "can't determine…" becomes "Can't use the IPVS proxier: …"
    row(READY, NoIpset, "1.18", "rr", H, "iptables", "can't determine whether to use ipvs proxy, error: error getting ipset version, error: exec: \"ipset\": executable file not found in $PATH"),
    row(READY, NoIpset, "1.19", "rr", H, "iptables", "Can't use the IPVS proxier: error getting ipset version"),
    // before 1.20 the scheduler's module is not checked
    row(READY, AsIs, "1.19", "lc", C, "ipvs", ""),
    // 1.20 (boundary) requires ip_vs_<scheduler> loaded (PR #93040)
    row(READY, AsIs, "1.20", "lc", C, "iptables", "Can't use the IPVS proxier: IPVS proxier will not be used because the following required kernel modules are not loaded: [ip_vs_lc]"),
    row(READY, AsIs, "1.20", "rr", C, "ipvs", ""),
    // 1.20–1.26: only the base modules are modprobed, so a loadable ip_vs_lc is not enough
    row(FRESH, AsIs, "1.22", "lc", C, "iptables", "[ip_vs_lc]"),
    row(FRESH, AsIs, "1.22", "rr", C, "ipvs", ""),
    // 1.21–1.25 log in structured form
    row(READY, AsIs, "1.22", "lc", C, "iptables", "\"Can't use the IPVS proxier\" err=\"IPVS proxier will not be used because the following required kernel modules are not loaded: [ip_vs_lc]\""),
    // 1.20–1.26 quirk: a builtin non-default scheduler module is not recognised
    row("ipvs-builtin", AsIs, "1.22", "lc", C, "iptables", "[ip_vs_lc]"),
    row("ipvs-builtin", AsIs, "1.22", "rr", C, "ipvs", ""),
    row(READY, AsIs, "1.25", "lc", C, "iptables", NOT_LOADED),
    // 1.26 (boundary) no longer falls back: it exits (PR #111806)
    row(READY, AsIs, "1.26", "lc", C, "fail", "can't use the IPVS proxier: IPVS proxier will not be used because the following required kernel modules are not loaded: [ip_vs_lc]"),
    row("ipvs-builtin", AsIs, "1.26", "lc", C, "fail", "[ip_vs_lc]"),
    row(FRESH, AsIs, "1.26", "rr", C, "ipvs", ""),
    // 1.27 (boundary): a functional probe (PR #114669); the kernel autoloads ip_vs_lc
    row(READY, AsIs, "1.27", "lc", C, "ipvs", ""),
    row(FRESH, AsIs, "1.30", "lc", C, "ipvs", "only if something loads nf_conntrack first"),
    row("ipvs-builtin", AsIs, "1.27", "lc", C, "ipvs", ""),
    // validation rejects mh, fo, ovf, twos up to 1.26 …
    row(READY, AsIs, "1.10", "mh", C, "fail", "KubeProxyConfiguration.IPVS.Scheduler: Invalid value: \"mh\": must be in [rr wrr lc wlc lblc lblcr sh dh sed nq ]"),
    row(READY, AsIs, "1.22", "fo", C, "fail", "Invalid value: \"fo\""),
    row(READY, AsIs, "1.26", "mh", C, "fail", "Invalid value: \"mh\""),
    // … and 1.27 dropped that validation (PR #114878): the kernel decides
    row(READY, AsIs, "1.27", "mh", C, "ipvs", ""),
    row("ipvs-builtin", AsIs, "1.30", "mh", C, "ipvs", ""),
    // Linux 6.1 has no ip_vs_twos: adding the dummy virtual server fails
    row(READY, AsIs, "1.30", "twos", C, "fail", "can't use the IPVS proxier: no such file or directory"),
    row("rhel8", AsIs, "1.30", "twos", C, "fail", "no such file or directory"),
    // no /proc/modules: 1.9–1.26 cannot read the module list; ≥ 1.27 finds no IPVS
    row("no-modules", IpvsGate, "1.8", "rr", C, "userspace", "using userspace proxier"),
    row("no-modules", AsIs, "1.15", "rr", C, "iptables", "/proc/modules"),
    row("no-modules", AsIs, "1.26", "rr", C, "fail", "/proc/modules"),
    row("no-modules", AsIs, "1.30", "rr", C, "fail", "can't use the IPVS proxier: Ipvs not supported"),
    // whose modprobe.d applies: a container's own modprobe ignores the host's `install … /bin/false` …
    row("modprobe-d", AsIs, "1.22", "rr", C, "ipvs", ""),
    // … kube-proxy on the host runs the host's modprobe; `blacklist ip_vs_sh` does not stop it
    row("modprobe-d", AsIs, "1.22", "rr", H, "iptables", "[ip_vs_wrr]"),
    // ≥ 1.27 loads the scheduler by kernel autoload, which always runs the host's modprobe
    row("modprobe-d", AsIs, "1.30", "wrr", C, "fail", "no such file or directory"),
    row("modprobe-d", AsIs, "1.30", "rr", C, "ipvs", "only if something loads nf_conntrack"),
    // whose ipset counts: the host's only for a kube-proxy on the host
    row(READY, NoIpset, "1.30", "rr", H, "fail", "can't use the IPVS proxier: error getting ipset version, error: exec: \"ipset\": executable file not found in $PATH"),
    row(READY, NoIpset, "1.30", "rr", C, "ipvs", ""),
    row(READY, OldIpset, "1.22", "rr", H, "iptables", "ipset version: v4.5 is less than min required version: 6.0"),
    row(READY, OldIpset, "1.22", "rr", C, "ipvs", ""),
    // modules_disabled stops every load, whoever asks
    // the fallback is tryIPTablesProxy, and nothing of iptables or conntrack is loaded: after
    // the proxier is created, setting nf_conntrack_max fails and kube-proxy exits
    row(FRESH, ModulesDisabled, "1.22", "rr", C, "fail", "[ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh]"),
    row(FRESH, ModulesDisabled, "1.22", "rr", C, "fail", "open /proc/sys/net/netfilter/nf_conntrack_max: no such file or directory"),
    row(FRESH, ModulesDisabled, "1.27", "rr", C, "fail", "can't use the IPVS proxier: Ipvs not supported"),
    // from 1.28 nf_conntrack_max is set before any mode logic (platformSetup)
    row(FRESH, ModulesDisabled, "1.28", "rr", C, "fail", "nf_conntrack_max"),
    row(READY, ModulesDisabled, "1.30", "rr", C, "ipvs", ""),
    // 1.34 / 1.35: same probe; 1.35 deprecates IPVS mode (see the test below)
    row(READY, AsIs, "1.34", "rr", C, "ipvs", ""),
    row(READY, AsIs, "1.35", "rr", C, "ipvs", "The ipvs proxier is now deprecated and may be removed in a future release. Please use 'nftables' instead."),
];

const GATE_CONFIG: &str = "/etc/kube-proxy-gate.yaml";

fn prepare(fixture: &str, setup: Setup) -> Node {
    let node = Node::new(fixture);
    let script = |body: &str| {
        let p = node.path("/usr/sbin/ipset");
        fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    };
    match setup {
        AsIs => {}
        NoIpset => fs::remove_file(node.path("/usr/sbin/ipset")).unwrap(),
        OldIpset => script("echo 'ipset v4.5, protocol version: 4'"),
        ModulesDisabled => node.write("/proc/sys/kernel/modules_disabled", "1\n"),
        IpvsGate => node.write(
            GATE_CONFIG,
            "kind: KubeProxyConfiguration\nmode: ipvs\nfeatureGates: SupportIPVSProxyMode=true\n",
        ),
    }
    node
}

/// The row's arguments, before the subcommand.
fn row_args(node: &Node, r: &Row) -> Vec<String> {
    let mut args = Vec::new();
    if r.setup == IpvsGate {
        args.push("--kube-proxy-config".to_string());
        args.push(node.path(GATE_CONFIG).to_str().unwrap().to_string());
    }
    for a in [
        "--kube-proxy-version",
        r.version,
        "--scheduler",
        r.scheduler,
        "--kube-proxy-runtime",
        r.runtime,
    ] {
        args.push(a.to_string());
    }
    args
}

/// What is wrong with the verdict `kp` (the report's `kube_proxy`) for row `r`, if anything.
fn row_wrong(r: &Row, kp: &serde_json::Value) -> Option<String> {
    let reasons: Vec<&str> = kp["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    let reason_ok = if r.reason.is_empty() {
        reasons.is_empty()
    } else {
        reasons.iter().any(|x| x.contains(r.reason))
    };
    (kp["outcome"] != r.outcome || !reason_ok || kp["version"] != r.version).then(|| {
        format!(
            "{} {:?} {} {} {}: want {} {:?}, got {} {:?}",
            r.fixture,
            r.setup,
            r.version,
            r.scheduler,
            r.runtime,
            r.outcome,
            r.reason,
            kp["outcome"],
            reasons
        )
    })
}

fn config(node: &Node, r: &Row) -> Config {
    let mut args = vec!["nodeprep".to_string(), "--root".into()];
    args.push(node.root.to_str().unwrap().into());
    args.extend(row_args(node, r));
    args.push("check".into());
    let cli = Cli::try_parse_from(&args).expect("arguments parse");
    Config::from_cli(cli, fixture_surroundings()).expect("config resolves")
}

/// Every row, judged in-process: each prepared root is surveyed once, then the planner's
/// verdict is computed for each row's version, scheduler and runtime.
#[test]
fn kube_proxy_verdict_table() {
    let mut nodes: HashMap<(&str, Setup), (Node, Survey)> = HashMap::new();
    let mut wrong = Vec::new();
    for r in ROWS {
        let (node, survey) = nodes.entry((r.fixture, r.setup)).or_insert_with(|| {
            let node = prepare(r.fixture, r.setup);
            let survey = Survey::take(&config(&node, r)).expect("survey");
            (node, survey)
        });
        let cfg = config(node, r);
        let facts = &survey.facts;
        let wanted = plan::wanted(&cfg.ask(), facts);
        let projected = plan::project(facts, &wanted);
        let a = plan::assess(&cfg.ask(), facts, &wanted, &projected);
        let kp = serde_json::to_value(&a.kube_proxy).unwrap();
        wrong.extend(row_wrong(r, &kp));
    }
    assert!(
        wrong.is_empty(),
        "{} rows wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// A few rows end to end through the binary's JSON report: the in-process verdict is the one
/// the command prints.
#[test]
fn kube_proxy_verdict_rows_end_to_end() {
    let mut wrong = Vec::new();
    let picked: Vec<&Row> = ROWS.iter().step_by(12).collect();
    assert!(picked.len() >= 4, "{} rows", picked.len());
    for r in picked {
        let node = prepare(r.fixture, r.setup);
        let mut args = row_args(&node, r);
        args.push("check".into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (_, v) = node.json(&args);
        wrong.extend(row_wrong(r, &v["kube_proxy"]));
    }
    assert!(wrong.is_empty(), "rows wrong:\n{}", wrong.join("\n"));
}

#[test]
fn anything_but_ipvs_is_an_error_finding() {
    let node = Node::new(READY);
    let (code, v) = node.json(&["--kube-proxy-version", "1.22", "--scheduler", "lc", "check"]);
    assert_eq!(
        code, 1,
        "a silent fallback to iptables makes the node not ready"
    );
    let f = finding(&v, "KubeProxyIPVS").expect("verdict finding");
    assert_eq!(f["severity"], "error");
    // the text report says it in one sentence, and what apply changes about it
    let r = node.run(&["--kube-proxy-version", "1.22", "--scheduler", "lc", "check"]);
    assert!(
        r.stdout
            .contains("  now: kube-proxy 1.22 will NOT use IPVS: it falls back to iptables\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("  after `nodeprep apply`: kube-proxy 1.22 will run in IPVS mode\n"),
        "apply loads ip_vs_lc: {}",
        r.stdout
    );
}

#[test]
fn ipvs_mode_is_deprecated_from_1_35() {
    let node = Node::new(READY);
    let (code, v) = node.json(&["--kube-proxy-version", "1.34", "check"]);
    assert_eq!(code, 0);
    assert!(finding(&v, "KubeProxyDeprecated").is_none());
    let (code, v) = node.json(&["--kube-proxy-version", "1.35.1", "check"]);
    assert_eq!(code, 0, "a warning, not an error");
    let f = finding(&v, "KubeProxyDeprecated").expect("deprecation warning");
    assert_eq!(f["severity"], "warning");
    assert!(f["message"].as_str().unwrap().contains("nftables"));
}

#[test]
fn the_version_comes_from_the_flag_then_the_binaries_then_the_newest() {
    let node = Node::new(READY);
    let (_, v) = node.json(&["--kube-proxy-version", "v1.27.3", "check"]);
    assert_eq!(v["kube_proxy"]["version"], "1.27");
    assert_eq!(v["kube_proxy"]["version_source"], "--kube-proxy-version");
    let (_, v) = node.json(&["check"]);
    assert_eq!(v["kube_proxy"]["version_source"], "/usr/bin/kubeadm");
    // a kube-proxy binary is asked before kubeadm
    node.write(
        "/usr/local/bin/kube-proxy",
        "#!/bin/sh\necho 'Kubernetes v1.24.17'\n",
    );
    fs::set_permissions(
        node.path("/usr/local/bin/kube-proxy"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let (_, v) = node.json(&["check"]);
    assert_eq!(v["kube_proxy"]["version"], "1.24");
    assert_eq!(
        v["kube_proxy"]["version_source"],
        "/usr/local/bin/kube-proxy"
    );
    let fresh = Node::new(FRESH);
    let (_, v) = fresh.json(&["check"]);
    assert_eq!(v["kube_proxy"]["version"], "1.37");
}
