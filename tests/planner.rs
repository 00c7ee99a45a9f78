//! The planner, called in-process: the two managed files, the boot-time sysctl replay, the
//! findings, and the wanted state. Facts are surveyed from copies of small temporary roots or
//! of the fixture roots under tests/fixtures, whose helpers run chrooted through the real
//! binary.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use clap::Parser;
use tempfile::TempDir;

use crate::support::DEFAULT_MODULES;
use crate::support::fixture_surroundings;
use crate::toolbox;
use nodeprep::cli::Cli;
use nodeprep::config::{Config, Version};
use nodeprep::plan::files::{self, changes, diff};
use nodeprep::plan::*;
use nodeprep::probe::Facts;
use nodeprep::probe::document::Document;
use nodeprep::probe::kernel::parse_release;
use nodeprep::probe::kernel::{Kernel, ModState};
use nodeprep::probe::sysctl::normalize_key;
use nodeprep::probe::sysctl::parse as parse_sysctl;
use nodeprep::probe::{MODULES_FILE, SYSCTL_FILE};
use nodeprep::run::Survey;

// ---------------------------------------------------------------------------------------
// helpers

const MODULES_HEADER: &str = "# Kernel modules for kube-proxy, loaded at boot by systemd-modules-load.\n# Managed by nodeprep; lines it did not write are kept.\n";
const SYSCTL_HEADER: &str = "# Sysctls for Kubernetes nodes, applied at boot by systemd-sysctl.\n# Managed by nodeprep; lines it did not write are kept.\n";
const DEBIAN_RELEASE: &str = "6.1.0-13-amd64";

/// `files::modules_content` of a file given as text (the probe hands it over parsed).
fn modules_content(existing: Option<&str>, k: &Kernel, w: &Wanted) -> Option<String> {
    files::modules_content(existing.map(Document::modules).as_ref(), k, w)
}

/// `files::sysctl_content` of a file given as text.
fn sysctl_content(existing: Option<&str>, w: &Wanted) -> String {
    files::sysctl_content(existing.map(Document::sysctls).as_ref(), w)
}

fn strings(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

fn set(xs: &[&str]) -> BTreeSet<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

fn kernel(release: &str, loaded: &[&str], builtin: &[&str], dep: &[&str]) -> Kernel {
    Kernel {
        release: release.into(),
        version: parse_release(release),
        modules_supported: true,
        loaded: set(loaded),
        builtin_listed: set(builtin).into(),
        dep: set(dep).into(),
        modules_dir: Some(format!("/lib/modules/{release}")),
        ..Kernel::default()
    }
}

/// The default sysctls in path form, plus `extra` (already in path form).
fn wanted_with(modules: &[&str], extra_sysctls: &[(&str, &str)]) -> Wanted {
    let mut sysctls: Vec<(String, String)> = DEFAULT_SYSCTLS
        .iter()
        .map(|(k, v)| (normalize_key(k), v.to_string()))
        .collect();
    sysctls.extend(
        extra_sysctls
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    Wanted {
        modules: strings(modules),
        sysctls,
        scheduler: nodeprep::domain::Scheduler::default(),
        mode: "ipvs".into(),
        binaries: vec!["ipset", "ipvsadm", "iptables"],
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn read_fixture(name: &str, node_path: &str) -> String {
    fs::read_to_string(fixture(name).join(node_path.trim_start_matches('/'))).unwrap()
}

/// `nodeprep [extra…] --root DIR check`, parsed as main would.
fn config(root: &Path, extra: &[&str]) -> Config {
    let mut args = vec![
        "nodeprep".to_string(),
        "--root".into(),
        root.to_str().unwrap().into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push("check".into());
    let cli = Cli::try_parse_from(&args).expect("arguments parse");
    Config::from_cli(cli, fixture_surroundings()).expect("config resolves")
}

/// Surveys a copy of `root` with the test toolbox in it (its helpers run chrooted).
fn node(root: &Path, extra: &[&str]) -> Node {
    let tmp = TempDir::new().unwrap();
    let copy = tmp.path().join("root");
    toolbox::copy_tree(root, &copy);
    toolbox::install(&copy);
    let cfg = config(&copy, extra);
    let survey = Survey::take(&cfg).expect("probe");
    Node {
        cfg,
        survey,
        _tmp: tmp,
    }
}

/// A node surveyed as `run::run` does for `check`.
struct Node {
    cfg: Config,
    survey: Survey,
    _tmp: TempDir,
}

impl Node {
    fn assess(&self) -> Assessment {
        self.survey.assess(&self.cfg)
    }
}

impl std::ops::Deref for Node {
    type Target = Survey;
    fn deref(&self) -> &Survey {
        &self.survey
    }
}

/// The finding that stands for `id`: its own, or one it was grouped into (`also`).
fn finding<'a>(a: &'a Assessment, id: &str) -> &'a Finding {
    a.findings
        .iter()
        .find(|f| f.id == id || f.also.iter().any(|x| x == id))
        .unwrap_or_else(|| {
            panic!(
                "no finding {id}; have {:?}",
                a.findings.iter().map(|f| &f.id).collect::<Vec<_>>()
            )
        })
}

/// A small Debian-12-like node under a temporary root: kernel 6.1, `loaded` in
/// /proc/modules, the IPVS modules and br_netfilter in modules.dep, plus `files`.
/// A file content starting with `->` makes a symlink to the rest.
fn temp_node(loaded: &[&str], files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut all: Vec<(String, String)> = vec![
        (
            "/proc/sys/kernel/osrelease".into(),
            format!("{DEBIAN_RELEASE}\n"),
        ),
        (
            "/proc/modules".into(),
            loaded
                .iter()
                .map(|m| format!("{m} 16384 0 - Live 0x0000000000000000\n"))
                .collect(),
        ),
        (
            format!("/lib/modules/{DEBIAN_RELEASE}/modules.dep"),
            [
                "kernel/net/netfilter/nf_conntrack.ko:",
                "kernel/net/netfilter/ipvs/ip_vs.ko: kernel/net/netfilter/nf_conntrack.ko",
                "kernel/net/netfilter/ipvs/ip_vs_rr.ko: kernel/net/netfilter/ipvs/ip_vs.ko",
                "kernel/net/netfilter/ipvs/ip_vs_wrr.ko: kernel/net/netfilter/ipvs/ip_vs.ko",
                "kernel/net/netfilter/ipvs/ip_vs_sh.ko: kernel/net/netfilter/ipvs/ip_vs.ko",
                "kernel/net/bridge/br_netfilter.ko: kernel/net/bridge/bridge.ko",
                "kernel/net/bridge/bridge.ko:",
                "",
            ]
            .join("\n"),
        ),
        (
            format!("/lib/modules/{DEBIAN_RELEASE}/modules.builtin"),
            "kernel/net/ipv4/tcp_cubic.ko\n".into(),
        ),
        ("/proc/sys/net/ipv4/ip_forward".into(), "0\n".into()),
        ("/proc/sys/vm/swappiness".into(), "60\n".into()),
    ];
    all.extend(files.iter().map(|(p, c)| (p.to_string(), c.to_string())));
    for (path, content) in all {
        let p = dir.path().join(path.trim_start_matches('/'));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        match content.strip_prefix("->") {
            Some(target) => std::os::unix::fs::symlink(target, &p).unwrap(),
            None => fs::write(&p, content).unwrap(),
        }
    }
    dir
}

fn boot(facts: &Facts, key: &str) -> (Option<String>, String) {
    let b = boot_value(facts, &normalize_key(key));
    // the winning file is the `file:line` source without its line
    assert_eq!(
        b.file.as_deref(),
        b.source
            .rsplit_once(':')
            .map(|(f, _)| f)
            .filter(|f| f.starts_with('/')),
        "{b:?}"
    );
    (b.value, b.source)
}

fn some(v: &str, src: &str) -> (Option<String>, String) {
    (Some(v.to_string()), src.to_string())
}

// ---------------------------------------------------------------------------------------
// 1. files::modules_content

#[test]
fn modules_new_file_lists_only_loaded_modules_after_the_header() {
    // loaded: ip_vs, ip_vs_rr, nf_conntrack; builtin: br_netfilter;
    // loadable but not loaded: ip_vs_wrr; missing: ip_vs_sh
    let k = kernel(
        DEBIAN_RELEASE,
        &["ip_vs", "ip_vs_rr", "nf_conntrack", "ext4"],
        &["br_netfilter"],
        &["ip_vs", "ip_vs_rr", "ip_vs_wrr", "nf_conntrack"],
    );
    let got = modules_content(None, &k, &wanted_with(&DEFAULT_MODULES, &[]));
    assert_eq!(
        got.as_deref(),
        Some(format!("{MODULES_HEADER}ip_vs\nip_vs_rr\nnf_conntrack\n").as_str())
    );
}

#[test]
fn modules_builtin_modules_are_never_listed() {
    let k = kernel("5.15.0-ipvs-builtin", &[], &DEFAULT_MODULES, &[]);
    let w = wanted_with(&DEFAULT_MODULES, &[]);
    // no file and nothing to load at boot: no file is created
    assert_eq!(modules_content(None, &k, &w), None);
    // an existing file is left exactly as it is: builtin modules are not appended
    assert_eq!(
        modules_content(Some("# mine\n"), &k, &w).as_deref(),
        Some("# mine\n")
    );
    // one loaded module among builtins: only it is listed
    let k = kernel("5.15.0-ipvs-builtin", &["ip_vs_sh"], &DEFAULT_MODULES, &[]);
    let w = wanted_with(&["ip_vs", "ip_vs_sh", "br_netfilter"], &[]);
    assert_eq!(
        modules_content(None, &k, &w).as_deref(),
        Some(format!("{MODULES_HEADER}ip_vs_sh\n").as_str())
    );
}

#[test]
fn modules_nothing_loaded_and_no_file_gives_none() {
    // everything only loadable (not loaded yet) or missing
    let k = kernel(DEBIAN_RELEASE, &["ext4"], &[], &["ip_vs", "ip_vs_rr"]);
    assert_eq!(
        modules_content(None, &k, &wanted_with(&DEFAULT_MODULES, &[])),
        None
    );
    // and no wanted modules at all
    let k = kernel(DEBIAN_RELEASE, &["ip_vs"], &[], &[]);
    assert_eq!(modules_content(None, &k, &wanted_with(&[], &[])), None);
}

#[test]
fn modules_existing_file_keeps_foreign_lines_and_comments_in_order() {
    let existing = "# site modules\n; old-style comment\noverlay\n\nip_vs\n  nf-conntrack  \n";
    let k = kernel(
        DEBIAN_RELEASE,
        &["overlay", "ip_vs", "ip_vs_rr", "nf_conntrack"],
        &[],
        &["overlay", "ip_vs", "ip_vs_rr", "nf_conntrack"],
    );
    let got = modules_content(
        Some(existing),
        &k,
        &wanted_with(&["ip_vs", "ip_vs_rr", "nf_conntrack"], &[]),
    );
    // no header added to an existing file; ip_vs and nf-conntrack (same module as
    // nf_conntrack) are not listed again; only ip_vs_rr is appended
    assert_eq!(
        got.as_deref(),
        Some("# site modules\n; old-style comment\noverlay\n\nip_vs\n  nf-conntrack  \nip_vs_rr\n")
    );
}

#[test]
fn modules_entry_missing_on_this_kernel_is_commented_out_with_a_note() {
    // the seeds' nf_conntrack_ipv4 on a 6.1 kernel, where it was merged into nf_conntrack
    let existing = "ip_vs\n  nf_conntrack_ipv4 \nbr_netfilter\n";
    let k = kernel(
        DEBIAN_RELEASE,
        &["ip_vs", "nf_conntrack", "br_netfilter"],
        &[],
        &["ip_vs", "nf_conntrack", "br_netfilter"],
    );
    let w = wanted_with(&["ip_vs", "nf_conntrack", "br_netfilter"], &[]);
    let got = modules_content(Some(existing), &k, &w).unwrap();
    assert_eq!(
        got,
        "ip_vs\n# nf_conntrack_ipv4  # nodeprep: no nf_conntrack_ipv4 in kernel 6.1.0-13-amd64\nbr_netfilter\nnf_conntrack\n"
    );
    // what systemd-modules-load will read from it: no missing module any more
    assert_eq!(
        nodeprep::probe::persist::parse_modules_load(&got),
        strings(&["ip_vs", "br_netfilter", "nf_conntrack"])
    );
    // a wanted module that is missing is neither listed nor kept
    let w = wanted_with(&["ip_vs", "nf_conntrack_ipv4"], &[]);
    assert_eq!(
        modules_content(Some("nf_conntrack_ipv4\n"), &k, &w).as_deref(),
        Some(
            "# nf_conntrack_ipv4  # nodeprep: no nf_conntrack_ipv4 in kernel 6.1.0-13-amd64\nip_vs\n"
        )
    );
}

#[test]
fn modules_content_is_idempotent() {
    let k = kernel(
        DEBIAN_RELEASE,
        &["ip_vs", "ip_vs_rr", "nf_conntrack", "overlay"],
        &["br_netfilter"],
        &["ip_vs", "ip_vs_rr", "nf_conntrack", "overlay"],
    );
    let w = wanted_with(&DEFAULT_MODULES, &[]);
    for existing in [
        None,
        Some("# mine\noverlay\nnf_conntrack_ipv4\n; x\nip-vs\n"),
        Some(""),
    ] {
        let first = modules_content(existing, &k, &w).unwrap();
        let second = modules_content(Some(&first), &k, &w).unwrap();
        assert_eq!(second, first, "not idempotent from {existing:?}");
    }
}

#[test]
fn modules_entries_are_kept_when_the_kernel_has_no_module_index() {
    // /lib/modules/<release> is gone (e.g. Arch Linux after a kernel upgrade, before the
    // reboot): nodeprep cannot know whether ip_vs_sh exists, the next kernel likely has it
    let root = temp_node(
        &["ext4"],
        &[("/etc/modules-load.d/ipvs.conf", "ip_vs\nip_vs_sh\n")],
    );
    fs::remove_dir_all(root.path().join("lib/modules")).unwrap();
    let n = node(root.path(), &[]);
    assert_eq!(n.facts.kernel.modules_dir, None);
    let c = changes(&n.facts, &n.wanted);
    assert!(
        !c.iter().any(|c| c.path == MODULES_FILE),
        "{:?}",
        c.iter().find(|c| c.path == MODULES_FILE).map(|c| &c.after)
    );
}

// ---------------------------------------------------------------------------------------
// 2. files::sysctl_content

#[test]
fn sysctl_new_file_has_header_and_every_wanted_key_in_dotted_form() {
    let got = sysctl_content(None, &wanted_with(&[], &[]));
    assert_eq!(
        got,
        format!(
            "{SYSCTL_HEADER}net.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\nnet.ipv4.ip_forward = 1\nvm.swappiness = 0\n"
        )
    );
    // byte for byte what the debian12-ready fixture holds
    assert_eq!(got, read_fixture("debian12-ready", SYSCTL_FILE));
}

#[test]
fn sysctl_existing_wrong_value_is_rewritten_in_place() {
    let existing = read_fixture("foreign", SYSCTL_FILE);
    assert_eq!(
        existing,
        "# from the wiki\nnet.bridge.bridge-nf-call-ip6tables = 1\nnet.bridge.bridge-nf-call-iptables = 1\nnet.ipv4.ip_forward=0\nnet.core.somaxconn = 32768\n; keep this comment\n"
    );
    let got = sysctl_content(Some(&existing), &wanted_with(&[], &[]));
    assert_eq!(
        got,
        "# from the wiki\nnet.bridge.bridge-nf-call-ip6tables = 1\nnet.bridge.bridge-nf-call-iptables = 1\nnet.ipv4.ip_forward = 1\nnet.core.somaxconn = 32768\n; keep this comment\nvm.swappiness = 0\n"
    );
    // same line position (line 4) as before
    assert_eq!(got.lines().nth(3), Some("net.ipv4.ip_forward = 1"));
}

#[test]
fn sysctl_slash_form_key_is_the_same_key() {
    let got = sysctl_content(
        Some("net/ipv4/ip_forward = 0\n# x\n"),
        &wanted_with(&[], &[]),
    );
    assert_eq!(
        got,
        "net/ipv4/ip_forward = 1\n# x\nnet.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\nvm.swappiness = 0\n"
    );
    // a slash-form line already right is kept verbatim and not added again
    let got = sysctl_content(Some("net/ipv4/ip_forward=1\n"), &wanted_with(&[], &[]));
    assert_eq!(got.lines().next(), Some("net/ipv4/ip_forward=1"));
    assert!(!got.contains("net.ipv4.ip_forward"), "{got}");
}

#[test]
fn sysctl_ignore_failure_prefix_is_kept_when_rewriting() {
    let got = sysctl_content(Some("-net.ipv4.ip_forward=0\n"), &wanted_with(&[], &[]));
    assert_eq!(got.lines().next(), Some("-net.ipv4.ip_forward = 1"));
    assert_eq!(got.matches("ip_forward").count(), 1, "{got}");
}

#[test]
fn sysctl_values_compare_by_whitespace_separated_fields() {
    let w = wanted_with(&[], &[("net/ipv4/tcp_rmem", "4096 87380 6291456")]);
    let existing = "net.ipv4.ip_forward =  1  \nnet.ipv4.tcp_rmem = 4096\t87380   6291456\n";
    let got = sysctl_content(Some(existing), &w);
    // both lines already right: kept byte for byte, not appended again
    assert_eq!(
        got,
        "net.ipv4.ip_forward =  1  \nnet.ipv4.tcp_rmem = 4096\t87380   6291456\nnet.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\nvm.swappiness = 0\n"
    );
    // a multi-value sysctl with a different field is rewritten with the wanted value
    let got = sysctl_content(Some("net.ipv4.tcp_rmem = 4096 87380 4194304\n"), &w);
    assert_eq!(
        got.lines().next(),
        Some("net.ipv4.tcp_rmem = 4096 87380 6291456")
    );
}

#[test]
fn sysctl_foreign_keys_and_comments_are_kept() {
    let existing =
        "; header\nnet.core.somaxconn = 32768\n\n# note\nkernel.pid_max=4194304\nnot a setting\n";
    let got = sysctl_content(Some(existing), &wanted_with(&[], &[]));
    assert!(got.starts_with(existing), "{got}");
    assert_eq!(
        &got[existing.len()..],
        "net.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\nnet.ipv4.ip_forward = 1\nvm.swappiness = 0\n"
    );
}

#[test]
fn sysctl_content_is_idempotent_and_sets_each_key_once() {
    let w = wanted_with(&[], &[("net/ipv4/conf/eth0.100/forwarding", "1")]);
    for existing in [
        None,
        Some(read_fixture("foreign", SYSCTL_FILE)),
        Some("net/ipv4/ip_forward = 0\n-vm.swappiness=60\n".to_string()),
    ] {
        let first = sysctl_content(existing.as_deref(), &w);
        let second = sysctl_content(Some(&first), &w);
        assert_eq!(second, first, "not idempotent from {existing:?}");
        let parsed = parse_sysctl("", &first);
        for (key, want) in &w.sysctls {
            let setting: Vec<_> = parsed.entries.iter().filter(|e| &e.key == key).collect();
            assert_eq!(setting.len(), 1, "{key} in:\n{first}");
            assert_eq!(&setting[0].value, want, "{key} in:\n{first}");
        }
    }
}

#[test]
fn sysctl_key_set_twice_in_the_file_gets_the_wanted_value_on_every_line() {
    // nodeprep does not remove a duplicate someone else wrote, but none of the lines may
    // keep a wrong value (the later one wins at boot)
    let got = sysctl_content(
        Some("net.ipv4.ip_forward = 1\nnet.ipv4.ip_forward = 0\n"),
        &wanted_with(&[], &[]),
    );
    let parsed = parse_sysctl("", &got);
    let values: Vec<&str> = parsed
        .entries
        .iter()
        .filter(|e| e.key == "net/ipv4/ip_forward")
        .map(|e| e.value.as_str())
        .collect();
    assert_eq!(values, vec!["1", "1"], "{got}");
}

// ---------------------------------------------------------------------------------------
// 3. files::changes and files::diff

#[test]
fn changes_are_empty_when_the_files_already_hold_the_content() {
    let k = kernel(DEBIAN_RELEASE, &DEFAULT_MODULES, &[], &DEFAULT_MODULES);
    let w = wanted_with(&DEFAULT_MODULES, &[]);
    let n = node(&fixture("debian12-fresh"), &[]);
    let mut facts = n.facts.clone();
    facts.kernel = k.clone();
    facts.modules_file = None;
    facts.sysctl_file = None;

    let first = changes(&facts, &w);
    assert_eq!(
        first.iter().map(|c| c.path).collect::<Vec<_>>(),
        vec![MODULES_FILE, SYSCTL_FILE]
    );
    assert!(first.iter().all(|c| c.before.is_none()));
    assert_eq!(
        first[0].after,
        format!("{MODULES_HEADER}{}\n", DEFAULT_MODULES.join("\n"))
    );

    facts.modules_file = Some(Document::modules(&first[0].after));
    facts.sysctl_file = Some(Document::sysctls(&first[1].after));
    assert_eq!(changes(&facts, &w), vec![]);

    // only the sysctl file differs: only it is changed, with its old content as `before`
    facts.sysctl_file = Some(Document::sysctls("net.ipv4.ip_forward = 0\n"));
    let c = changes(&facts, &w);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].path, SYSCTL_FILE);
    assert_eq!(c[0].before.as_deref(), Some("net.ipv4.ip_forward = 0\n"));
    assert!(c[0].after.starts_with("net.ipv4.ip_forward = 1\n"));
}

#[test]
fn changes_on_a_ready_fixture_are_empty() {
    let n = node(&fixture("debian12-ready"), &[]);
    assert_eq!(changes(&n.facts, &n.wanted), vec![]);
}

#[test]
fn changes_skip_the_modules_file_when_nothing_is_loaded() {
    // debian12-fresh: nothing loaded yet, so (before the loads) only k8s.conf is due
    let n = node(&fixture("debian12-fresh"), &[]);
    let c = changes(&n.facts, &n.wanted);
    assert_eq!(
        c.iter().map(|c| c.path).collect::<Vec<_>>(),
        vec![SYSCTL_FILE]
    );
}

#[test]
fn diff_prints_unified_hunks_with_context() {
    assert_eq!(diff("a\nb\n", "a\nb\n"), "");
    assert_eq!(diff("", "x\ny\n"), "@@ -0,0 +1,2 @@\n+x\n+y\n");
    assert_eq!(diff("x\ny\n", ""), "@@ -1,2 +0,0 @@\n-x\n-y\n");
    assert_eq!(diff("a\nb\nc\n", "a\nc\n"), "@@ -1,3 +1,2 @@\n a\n-b\n c\n");
    // far apart changes are separate hunks with three lines of context each
    let before: String = (1..=20).map(|i| format!("l{i}\n")).collect();
    let after = before.replace("l2\n", "L2\n").replace("l19\n", "L19\n");
    let d = diff(&before, &after);
    assert_eq!(d.matches("@@ ").count(), 2, "{d}");
    assert!(
        d.starts_with("@@ -1,5 +1,5 @@\n l1\n-l2\n+L2\n l3\n"),
        "{d}"
    );
    assert!(d.contains("@@ -16,5 +16,5 @@\n"), "{d}");
    assert!(
        !d.contains(" l10\n"),
        "unchanged middle is not printed: {d}"
    );
    // removals before additions, as diff(1) prints them
    let d = diff(
        "# from the wiki\nnet.ipv4.ip_forward=0\n; keep\n",
        "# from the wiki\nnet.ipv4.ip_forward = 1\n; keep\nvm.swappiness = 0\n",
    );
    assert_eq!(
        d,
        "@@ -1,3 +1,4 @@\n # from the wiki\n-net.ipv4.ip_forward=0\n+net.ipv4.ip_forward = 1\n ; keep\n+vm.swappiness = 0\n"
    );
    // a byte that is not UTF-8 is shown, not mangled
    let odd = nodeprep::text::decode(b"caf\xe9 = 1\n");
    assert_eq!(diff(&odd, ""), "@@ -1 +0,0 @@\n-caf\\xe9 = 1\n");
}

#[test]
fn diff_of_a_long_file_is_fast_and_small() {
    // the old LCS table was quadratic: 20 000 × 20 000 cells
    let before: String = (0..20_000).map(|i| format!("k{i} = {i}\n")).collect();
    let after = format!("{before}new = 1\n");
    let d = diff(&before, &after);
    assert_eq!(d.lines().count(), 5, "{d}");
}

// ---------------------------------------------------------------------------------------
// 4. boot_value: replaying sysctl.d as systemd-sysctl does

#[test]
fn boot_replays_file_names_in_lexical_order_across_all_directories() {
    let root = temp_node(
        &[],
        &[
            ("/etc/sysctl.d/10-b.conf", "net.ipv4.ip_forward = 0\n"),
            ("/run/sysctl.d/30-c.conf", "vm.swappiness = 5\n"),
            (
                "/usr/local/lib/sysctl.d/40-d.conf",
                "# d\nvm.swappiness = 7\n",
            ),
            ("/usr/lib/sysctl.d/50-a.conf", "net.ipv4.ip_forward = 1\n"),
        ],
    );
    let n = node(root.path(), &[]);
    assert_eq!(
        n.survey
            .facts
            .sysctls
            .files
            .iter()
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>(),
        vec![
            "/etc/sysctl.d/10-b.conf",
            "/run/sysctl.d/30-c.conf",
            "/usr/local/lib/sysctl.d/40-d.conf",
            "/usr/lib/sysctl.d/50-a.conf",
        ]
    );
    // the directory does not matter, the file name does: /usr/lib's 50-a.conf is last
    assert_eq!(
        boot(&n.facts, "net.ipv4.ip_forward"),
        some("1", "/usr/lib/sysctl.d/50-a.conf:1")
    );
    assert_eq!(
        boot(&n.facts, "vm.swappiness"),
        some("7", "/usr/local/lib/sysctl.d/40-d.conf:2")
    );
}

#[test]
fn boot_same_name_file_in_etc_overrides_the_others() {
    let root = temp_node(
        &[],
        &[
            ("/usr/lib/sysctl.d/k8s.conf", "net.ipv4.ip_forward = 0\n"),
            (
                "/etc/sysctl.d/k8s.conf",
                "# mine\nnet.ipv4.ip_forward = 1\n",
            ),
            ("/usr/lib/sysctl.d/60-v.conf", "vm.swappiness = 1\n"),
            ("/run/sysctl.d/60-v.conf", "vm.swappiness = 2\n"),
            // masked: /etc/sysctl.d/70-m.conf -> /dev/null hides /usr/lib's
            ("/usr/lib/sysctl.d/70-m.conf", "vm.swappiness = 3\n"),
            ("/etc/sysctl.d/70-m.conf", "->/dev/null"),
        ],
    );
    let n = node(root.path(), &[]);
    let paths: Vec<&str> = n
        .facts
        .sysctls
        .files
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(
        paths,
        vec!["/run/sysctl.d/60-v.conf", "/etc/sysctl.d/k8s.conf"]
    );
    assert_eq!(
        boot(&n.facts, "net.ipv4.ip_forward"),
        some("1", "/etc/sysctl.d/k8s.conf:2")
    );
    assert_eq!(
        boot(&n.facts, "vm.swappiness"),
        some("2", "/run/sysctl.d/60-v.conf:1")
    );
}

#[test]
fn boot_later_line_and_later_file_win() {
    let root = temp_node(
        &[],
        &[
            (
                "/etc/sysctl.d/10-a.conf",
                "net.ipv4.ip_forward = 1\nnet.ipv4.ip_forward = 0\nvm.swappiness = 10\n",
            ),
            ("/etc/sysctl.d/20-b.conf", "vm.swappiness=20\n"),
        ],
    );
    let n = node(root.path(), &[]);
    assert_eq!(
        boot(&n.facts, "net.ipv4.ip_forward"),
        some("0", "/etc/sysctl.d/10-a.conf:2")
    );
    assert_eq!(
        boot(&n.facts, "vm.swappiness"),
        some("20", "/etc/sysctl.d/20-b.conf:1")
    );
}

#[test]
fn boot_99_local_sorts_before_k8s_and_security_after() {
    // byte order of file names: '9' (0x39) < 'k' (0x6b) < 's' (0x73)
    assert!("99-local.conf" < "k8s.conf" && "k8s.conf" < "security.conf");
    let root = temp_node(
        &[],
        &[
            (
                "/etc/sysctl.d/99-local.conf",
                "net.ipv4.ip_forward = 0\nvm.swappiness = 30\n",
            ),
            (
                "/etc/sysctl.d/k8s.conf",
                "net.ipv4.ip_forward = 1\nvm.swappiness = 0\n",
            ),
        ],
    );
    let n = node(root.path(), &[]);
    // k8s.conf is applied after 99-local.conf and wins
    assert_eq!(
        boot(&n.facts, "net.ipv4.ip_forward"),
        some("1", "/etc/sysctl.d/k8s.conf:1")
    );
    assert_eq!(
        boot(&n.facts, "vm.swappiness"),
        some("0", "/etc/sysctl.d/k8s.conf:2")
    );

    let root = temp_node(
        &[],
        &[
            ("/etc/sysctl.d/k8s.conf", "net.ipv4.ip_forward = 1\n"),
            (
                "/etc/sysctl.d/security.conf",
                "# site hardening\nnet.ipv4.ip_forward = 0\n",
            ),
        ],
    );
    let n = node(root.path(), &[]);
    // security.conf is applied after k8s.conf and wins
    assert_eq!(
        boot(&n.facts, "net.ipv4.ip_forward"),
        some("0", "/etc/sysctl.d/security.conf:2")
    );
}

#[test]
fn boot_bridge_keys_need_br_netfilter_persisted() {
    let k8s = (
        "/etc/sysctl.d/k8s.conf",
        "net.bridge.bridge-nf-call-iptables = 1\n",
    );
    let gone = (
        None,
        "the key will not exist at boot: br_netfilter is not loaded by then".to_string(),
    );

    // loaded now, set by a file, but no modules-load.d file lists it
    let root = temp_node(&["bridge", "br_netfilter"], &[k8s]);
    let n = node(root.path(), &[]);
    assert_eq!(boot(&n.facts, "net.bridge.bridge-nf-call-iptables"), gone);
    assert_eq!(boot(&n.facts, "net.bridge.bridge-nf-call-ip6tables"), gone);

    // listed (with a dash) in a modules-load.d file: the file's value, else the default
    let root = temp_node(
        &["bridge", "br_netfilter"],
        &[k8s, ("/usr/lib/modules-load.d/br.conf", "br-netfilter\n")],
    );
    let n = node(root.path(), &[]);
    assert_eq!(
        boot(&n.facts, "net.bridge.bridge-nf-call-iptables"),
        some("1", "/etc/sysctl.d/k8s.conf:1")
    );
    assert_eq!(
        boot(&n.facts, "net.bridge.bridge-nf-call-ip6tables"),
        some("1", "kernel default; no sysctl.d file sets it")
    );

    // listed but blacklisted: systemd-modules-load skips it
    let root = temp_node(
        &["bridge", "br_netfilter"],
        &[
            k8s,
            ("/etc/modules-load.d/br.conf", "br_netfilter\n"),
            ("/etc/modprobe.d/bl.conf", "blacklist br_netfilter\n"),
        ],
    );
    let n = node(root.path(), &[]);
    assert_eq!(boot(&n.facts, "net.bridge.bridge-nf-call-iptables"), gone);

    // built in: always there
    let root = temp_node(
        &[],
        &[
            k8s,
            (
                "/lib/modules/6.1.0-13-amd64/modules.builtin",
                "kernel/net/bridge/br_netfilter.ko\n",
            ),
        ],
    );
    let n = node(root.path(), &[]);
    assert_eq!(
        boot(&n.facts, "net.bridge.bridge-nf-call-iptables"),
        some("1", "/etc/sysctl.d/k8s.conf:1")
    );
}

#[test]
fn boot_kernel_defaults_when_no_file_sets_the_key() {
    let root = temp_node(
        &[],
        &[("/etc/sysctl.d/10-x.conf", "kernel.pid_max = 4194304\n")],
    );
    let n = node(root.path(), &[]);
    let default = "kernel default; no sysctl.d file sets it";
    assert_eq!(boot(&n.facts, "net.ipv4.ip_forward"), some("0", default));
    assert_eq!(boot(&n.facts, "vm.swappiness"), some("60", default));
    assert_eq!(
        boot(&n.facts, "net.core.somaxconn"),
        (None, "no sysctl.d file sets it".to_string())
    );
    assert_eq!(
        boot(&n.facts, "kernel.pid_max"),
        some("4194304", "/etc/sysctl.d/10-x.conf:1")
    );
}

#[test]
fn boot_glob_keys_match_within_one_level() {
    let root = temp_node(
        &[],
        &[
            (
                "/usr/lib/sysctl.d/50-default.conf",
                "net.ipv4.conf.*.rp_filter = 2\nnet.ipv4.* = 9\n",
            ),
            ("/etc/sysctl.d/60-fwd.conf", "net/ipv4/ip_forwar? = 1\n"),
        ],
    );
    let n = node(root.path(), &[]);
    assert_eq!(
        boot(&n.facts, "net.ipv4.conf.all.rp_filter"),
        some("2", "/usr/lib/sysctl.d/50-default.conf:1")
    );
    assert_eq!(
        boot(&n.facts, "net.ipv4.conf.eth0.rp_filter"),
        some("2", "/usr/lib/sysctl.d/50-default.conf:1")
    );
    // `net.ipv4.*` (line 2) does not reach one level down…
    assert_eq!(
        boot(&n.facts, "net.ipv4.conf.all.forwarding"),
        (None, "no sysctl.d file sets it".to_string())
    );
    // …but does set net.ipv4.ip_forward, until the later file's `ip_forwar?` does
    assert_eq!(
        boot(&n.facts, "net.ipv4.ip_forward"),
        some("1", "/etc/sysctl.d/60-fwd.conf:1")
    );
}

#[test]
fn boot_explicit_key_beats_a_glob_whatever_the_order() {
    let root = temp_node(
        &[],
        &[
            ("/etc/sysctl.d/k8s.conf", "net.ipv4.ip_forward = 1\n"),
            (
                "/etc/sysctl.d/zz-hardening.conf",
                "net.ipv4.*_forward = 0\n",
            ),
        ],
    );
    let n = node(root.path(), &[]);
    assert_eq!(
        boot(&n.facts, "net.ipv4.ip_forward"),
        some("1", "/etc/sysctl.d/k8s.conf:1")
    );
    // and so no SysctlBoot error may blame zz-hardening.conf
    let a = n.assess();
    assert!(
        !a.findings
            .iter()
            .any(|f| f.id == "SysctlBoot-net.ipv4.ip_forward"),
        "{:?}",
        a.findings
    );
}

// ---------------------------------------------------------------------------------------
// 5. assess: findings on the fixture roots (read only)

#[test]
fn assess_modprobe_d_install_and_blacklist() {
    let a = node(&fixture("modprobe-d"), &[]).assess();
    // the install line is why ip_vs_wrr cannot be loaded: the module's finding says both
    let install = finding(&a, "ModprobeInstall-ip_vs_wrr");
    assert_eq!(install.severity, Severity::Error);
    assert_eq!(
        (install.id.as_str(), install.also.as_slice()),
        (
            "KernelModule-ip_vs_wrr",
            &["ModprobeInstall-ip_vs_wrr".to_string()][..]
        )
    );
    assert_eq!(
        install.message,
        "ip_vs_wrr is loadable but not loaded, and no modules-load.d file loads it at boot; `nodeprep apply` cannot load it (`install ip_vs_wrr /bin/false` in /etc/modprobe.d/local.conf: every load of it fails); remove that line"
    );
    let bl = finding(&a, "ModprobeBlacklist-ip_vs_sh");
    assert_eq!(bl.severity, Severity::Warning);
    assert!(
        bl.message.contains("/etc/modprobe.d/local.conf"),
        "{}",
        bl.message
    );
    // nothing about the modules the file does not name
    assert!(
        !a.findings.iter().any(|f| f.id == "ModprobeInstall-ip_vs_sh"
            || f.id == "ModprobeBlacklist-ip_vs_wrr"
            || f.id == "ModprobeInstall-ip_vs")
    );
    assert!(!a.ready());
}

#[test]
fn assess_rhel8_legacy_script_names_nf_conntrack_ipv4() {
    let n = node(&fixture("rhel8"), &[]);
    let a = n.assess();
    let legacy = finding(&a, "LegacyModulesScript");
    assert_eq!(legacy.severity, Severity::Warning);
    assert!(
        legacy
            .message
            .starts_with("/etc/sysconfig/modules/ipvs.modules (a legacy RHEL/CentOS boot script) names nf_conntrack_ipv4, which does not exist for kernel 4.18.0-348.el8.x86_64"),
        "{}",
        legacy.message
    );
    // the modules of the script that exist are not named
    assert!(!legacy.message.contains("ip_vs_rr"), "{}", legacy.message);
    assert_eq!(
        a.findings
            .iter()
            .filter(|f| f.id == "LegacyModulesScript")
            .count(),
        1
    );
}

#[test]
fn assess_debian12_ready_is_ready() {
    let n = node(&fixture("debian12-ready"), &[]);
    let a = n.assess();
    let errors: Vec<&Finding> = a
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(a.ready());
    assert_eq!(a.kube_proxy.outcome, verdict::Outcome::Ipvs);
    assert_eq!(a.kube_proxy.version, Version::new(1, 30));
    assert_eq!(a.kube_proxy.version_source, "/usr/bin/kubeadm");
    assert!(
        a.modules.iter().all(
            |m| m.state == ModState::Loaded && m.persisted_by == vec![MODULES_FILE.to_string()]
        ),
        "{:#?}",
        a.modules
    );
    for row in &a.sysctls {
        assert_eq!(row.live.as_deref(), Some(row.want.as_str()), "{row:?}");
        assert_eq!(row.boot.as_deref(), Some(row.want.as_str()), "{row:?}");
        assert!(
            row.boot_source.starts_with("/etc/sysctl.d/k8s.conf:"),
            "{row:?}"
        );
    }
}

#[test]
fn assess_sysctl_override_blames_security_conf() {
    let n = node(&fixture("sysctl-override"), &[]);
    let a = n.assess();
    // wrong now and after a reboot: one finding that says both
    let f = finding(&a, "Sysctl-net.ipv4.ip_forward");
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(
        f.message,
        "net.ipv4.ip_forward is 0, and after a reboot it will be 0 (/etc/sysctl.d/security.conf:2); want 1; `nodeprep apply` sets it, but /etc/sysctl.d/security.conf is applied after /etc/sysctl.d/k8s.conf and wins: change or remove that line"
    );
    assert!(!a.findings.iter().any(|f| f.id.starts_with("SysctlBoot-")));
    // even once apply has written k8s.conf, security.conf still wins
    assert_eq!(
        boot(&n.projected, "net.ipv4.ip_forward"),
        some("0", "/etc/sysctl.d/security.conf:2")
    );
    // swappiness: 99-local.conf and 99-sysctl.conf (-> ../sysctl.conf) both sort before
    // k8s.conf, so apply's k8s.conf fixes it
    assert_eq!(
        boot(&n.facts, "vm.swappiness"),
        some("10", "/etc/sysctl.d/99-sysctl.conf:9")
    );
    assert_eq!(
        boot(&n.projected, "vm.swappiness"),
        some("0", "/etc/sysctl.d/k8s.conf:6")
    );
    // kube-proxy does not need vm.swappiness: a warning
    let f = finding(&a, "Sysctl-vm.swappiness");
    assert_eq!(f.severity, Severity::Warning);
    assert!(
        f.message
            .ends_with("; `nodeprep apply` sets it and writes /etc/sysctl.d/k8s.conf"),
        "{}",
        f.message
    );
    let conf = finding(&a, "SysctlConf-vm.swappiness");
    assert_eq!(conf.severity, Severity::Warning);
    assert!(
        conf.message
            .starts_with("/etc/sysctl.conf:9 sets vm.swappiness = 10"),
        "{}",
        conf.message
    );
}

#[test]
fn project_on_debian12_fresh_writes_what_debian12_ready_holds() {
    let n = node(&fixture("debian12-fresh"), &[]);
    assert_eq!(
        n.projected.modules_file.as_ref().map(|d| d.text.as_str()),
        Some(read_fixture("debian12-ready", MODULES_FILE).as_str())
    );
    assert_eq!(
        n.projected.sysctl_file.as_ref().map(|d| d.text.as_str()),
        Some(read_fixture("debian12-ready", SYSCTL_FILE).as_str())
    );
    // and the node apply would leave behind has no error findings
    let after = assess(&n.cfg.ask(), &n.projected, &n.wanted, &n.projected);
    let errors: Vec<&Finding> = after
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn project_on_ipvs_builtin_writes_no_modules_file() {
    let n = node(&fixture("ipvs-builtin"), &[]);
    assert_eq!(n.facts.modules_file, None);
    assert_eq!(n.projected.modules_file, None);
    let c = changes(&n.facts, &n.wanted);
    assert_eq!(
        c.iter().map(|c| c.path).collect::<Vec<_>>(),
        vec![SYSCTL_FILE]
    );
}

// ---------------------------------------------------------------------------------------
// 6. wanted()

#[test]
fn wanted_conntrack_module_is_the_one_this_kernel_has() {
    let centos = node(&fixture("centos7"), &[]);
    assert_eq!(centos.facts.kernel.release, "3.10.0-1160.el7.x86_64");
    assert_eq!(
        centos.wanted.modules,
        strings(&[
            "ip_vs",
            "ip_vs_rr",
            "ip_vs_wrr",
            "ip_vs_sh",
            "nf_conntrack_ipv4",
            "br_netfilter"
        ])
    );
    for fx in ["rhel8", "debian12-fresh"] {
        let n = node(&fixture(fx), &[]);
        assert_eq!(n.wanted.modules, strings(&DEFAULT_MODULES), "{fx}");
        assert_eq!(n.wanted.scheduler.as_str(), "rr");
        assert_eq!(n.wanted.mode, "ipvs");
    }
}

#[test]
fn wanted_scheduler_adds_its_module() {
    let n = node(&fixture("debian12-fresh"), &["--scheduler", "lc"]);
    assert_eq!(n.wanted.scheduler.as_str(), "lc");
    let mut expected = strings(&DEFAULT_MODULES);
    expected.push("ip_vs_lc".into());
    assert_eq!(n.wanted.modules, expected);
    // a scheduler whose module is already wanted adds nothing
    let n = node(&fixture("debian12-fresh"), &["--scheduler", "sh"]);
    assert_eq!(n.wanted.modules, strings(&DEFAULT_MODULES));
}

#[test]
fn wanted_extra_modules_are_added_once() {
    let n = node(
        &fixture("debian12-fresh"),
        &[
            "--scheduler",
            "lc",
            "--module",
            "ip_vs_lc",
            "--module",
            "ip-vs-rr",
            "--module",
            "overlay",
            "--module",
            "overlay",
        ],
    );
    let mut expected = strings(&DEFAULT_MODULES);
    expected.extend(strings(&["ip_vs_lc", "overlay"]));
    assert_eq!(n.wanted.modules, expected);
}

#[test]
fn wanted_sysctls_override_in_place_and_add_in_path_form() {
    let root = fixture("debian12-fresh");
    let cfg = config(
        &root,
        &[
            "--sysctl",
            "net.ipv4.ip_forward=1",
            "--sysctl",
            "vm/swappiness=10",
            "--sysctl",
            "net/ipv4/conf/eth0.100/forwarding=1",
        ],
    );
    assert_eq!(
        wanted_sysctls(&cfg.ask()),
        vec![
            (
                "net/bridge/bridge-nf-call-iptables".to_string(),
                "1".to_string()
            ),
            ("net/bridge/bridge-nf-call-ip6tables".into(), "1".into()),
            ("net/ipv4/ip_forward".into(), "1".into()),
            ("vm/swappiness".into(), "10".into()),
            ("net/ipv4/conf/eth0.100/forwarding".into(), "1".into()),
        ]
    );
}
