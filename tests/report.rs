//! The text report a person reads: one finding per problem, 80 columns, clean tables, and
//! apply --dry-run showing the predicted result.

use crate::support::*;

const FIXTURES: [&str; 9] = [
    "centos7",
    "debian12-fresh",
    "debian12-ready",
    "foreign",
    "ipvs-builtin",
    "modprobe-d",
    "no-modules",
    "rhel8",
    "sysctl-override",
];

/// Display width with tabs at multiples of 8.
fn columns(line: &str) -> usize {
    line.chars()
        .fold(0, |c, ch| if ch == '\t' { (c / 8 + 1) * 8 } else { c + 1 })
}

/// Every line fits 80 columns, has no trailing space, and has a tab only as the first
/// character of a finding line. (Diffs show file content as it is; the fixtures' lines and
/// nodeprep's own headers fit.)
fn assert_readable(what: &str, text: &str) {
    for (n, line) in text.lines().enumerate() {
        assert!(
            !line.ends_with(' '),
            "{what}:{}: trailing space: {line:?}",
            n + 1
        );
        assert!(
            columns(line) <= 80,
            "{what}:{}: {} columns: {line}",
            n + 1,
            columns(line)
        );
        assert!(
            !line[1.min(line.len())..].contains('\t'),
            "{what}:{}: a tab inside {line:?}",
            n + 1
        );
    }
}

#[test]
fn every_report_fits_80_columns_without_trailing_spaces() {
    for name in FIXTURES {
        let node = Node::new(name);
        for args in [
            &["check"][..],
            &["apply", "--dry-run"],
            &["-q", "check"],
            &["apply"],
        ] {
            let r = node.run(args);
            assert!(r.code == 0 || r.code == 1, "{name} {args:?}: {}", r.stderr);
            assert_readable(&format!("{name} {args:?}"), &r.stdout);
        }
    }
}

#[test]
fn one_finding_per_problem() {
    let node = Node::new("debian12-fresh");
    let r = node.run(&["check"]);
    let text = unwrapped(&r.stdout);
    // the six modules not loaded nor loaded at boot: one finding naming them all
    let modules: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("[ERROR KernelModule-"))
        .collect();
    assert_eq!(
        modules,
        [
            "\t[ERROR KernelModule-ip_vs]: ip_vs, ip_vs_rr, ip_vs_wrr, ip_vs_sh, nf_conntrack and br_netfilter are loadable but not loaded, and no modules-load.d file loads them at boot; `nodeprep apply` loads them and writes /etc/modules-load.d/ipvs.conf"
        ]
    );
    // the two bridge keys br_netfilter would create: one finding
    let bridge: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("[ERROR Sysctl-net.bridge"))
        .collect();
    assert_eq!(bridge.len(), 1, "{bridge:?}");
    let fwd: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("net.ipv4.ip_forward]"))
        .collect();
    assert_eq!(
        fwd,
        [
            "\t[ERROR Sysctl-net.ipv4.ip_forward]: net.ipv4.ip_forward is 0, and after a reboot it will be 0 (kernel default; no sysctl.d file sets it); want 1; `nodeprep apply` sets it and writes /etc/sysctl.d/k8s.conf"
        ]
    );
    assert!(
        text.contains("\t[WARNING Sysctl-vm.swappiness]: "),
        "{text}"
    );
    assert_eq!(
        closing(&r.stdout),
        "Not ready: 3 errors, 1 warning. `nodeprep apply` fixes what it can."
    );
}

#[test]
fn binaries_show_the_full_version_and_backend() {
    let node = Node::new("debian12-fresh");
    let r = node.run(&["check"]);
    assert!(
        r.stdout
            .contains("\n  iptables /usr/sbin/iptables v1.8.9 (nf_tables)\n"),
        "{}",
        r.stdout
    );
    let old = Node::new("centos7");
    let r = old.run(&["check"]);
    assert!(r.stdout.contains(" v1.4.21\n"), "{}", r.stdout);
}

#[test]
fn no_empty_preflight_heading() {
    let node = Node::new("debian12-ready");
    let r = node.run(&["--kube-proxy-version", "1.30", "check"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(!r.stdout.contains("[preflight]"), "{}", r.stdout);
    assert_eq!(
        closing(&r.stdout),
        "Ready for kube-proxy in IPVS mode (0 warnings)."
    );
}

#[test]
fn tabs_and_control_characters_in_values_do_not_break_the_tables() {
    let node = Node::new("debian12-ready");
    node.write(
        "/etc/os-release",
        "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian\tTabbed\x1b[31m\"\n",
    );
    node.write("/etc/sysctl.d/zz-tab\there.conf", "vm.swappiness = 0\n");
    let r = node.run(&["--kube-proxy-version", "1.30", "check"]);
    assert!(!r.stdout.contains('\x1b'), "{}", r.stdout);
    assert!(r.stdout.contains("Debian Tabbed"), "{}", r.stdout);
    let words = r.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("0 (/etc/sysctl.d/zz-tab here.conf:1)"),
        "{}",
        r.stdout
    );
    assert_readable("tabs", &r.stdout);
}

#[test]
fn dry_run_prints_actions_diffs_and_the_predicted_result() {
    let node = Node::new("debian12-fresh");
    let r = node.run(&["apply", "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let out = &r.stdout;
    let would = out
        .find("Would do (dry run, nothing changed):\n")
        .expect("actions");
    let diff = out
        .find("\n+net.ipv4.ip_forward = 1\n")
        .expect("the k8s.conf diff");
    let modules = out.find("\nModules ").expect("modules table");
    assert!(would < diff && diff < modules, "{out}");
    assert!(out.contains("\n  ok   load_module ip_vs "), "{out}");
    let words = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("ok set_sysctl net.ipv4.ip_forward would set to 1 ok"),
        "{out}"
    );
    // the tables and findings are the node after apply; the current state's errors are not
    assert!(
        out.contains("\n  ip_vs        loaded yes (/etc/modules-load.d/ipvs.conf)\n"),
        "{out}"
    );
    assert!(
        out.contains("  after apply: kube-proxy 1.37 will run in IPVS mode\n"),
        "{out}"
    );
    assert!(
        !out.contains("[ERROR") && !out.contains("Not ready"),
        "{out}"
    );
    assert!(!out.contains("  now: "), "{out}");
    assert_eq!(
        closing(out),
        "After apply the node would be ready for kube-proxy in IPVS mode (0 warnings)."
    );
}

#[test]
fn quiet_keeps_what_matters_for_the_command() {
    let node = Node::new("debian12-fresh");
    // dry run: what it would do, what would remain, and the predicted result
    let r = node.run(&["-q", "apply", "--dry-run"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.starts_with("  ok   load_module ip_vs "),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("[ERROR"), "{}", r.stdout);
    assert!(!r.stdout.contains("Modules"), "{}", r.stdout);
    assert_eq!(
        closing(&r.stdout),
        "After apply the node would be ready for kube-proxy in IPVS mode (0 warnings)."
    );
    // apply: only what failed or is still wrong; a clean apply with nothing left prints
    // nothing
    let r = node.run(&["-q", "apply"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{}", r.stdout);
    // IPVS's deprecation (kube-proxy 1.35 known) only when it is all there is left to say
    let r = Node::new("debian12-fresh").run(&["-q", "--kube-proxy-version", "1.35", "apply"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout
            .starts_with("\t[WARNING KubeProxyDeprecated]: kube-proxy 1.35 deprecates IPVS mode"),
        "{}",
        r.stdout
    );
    let r = Node::new("debian12-fresh").run(&["-q", "--kube-proxy-version", "1.35", "check"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("[ERROR KernelModule-ip_vs]"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("KubeProxyDeprecated"), "{}", r.stdout);
    let broken = Node::new("no-modules");
    let r = broken.run(&["-q", "apply"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("  FAIL load_module ip_vs "),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("\t[ERROR KernelModule-ip_vs]"),
        "{}",
        r.stdout
    );
}
