//! --ignore, --without, --kube-proxy-config -, kubeadm's kubernetesVersion, usage-error
//! style, subcommand --help, and colour and progress in a real pseudo-terminal.

use std::process::{Command, Stdio};

use crate::support::*;

#[test]
fn ignore_turns_named_errors_into_warnings_and_the_exit_code_follows() {
    let node = Node::new("ipvs-builtin");
    let (code, v) = node.json(&["check"]);
    assert_eq!(
        (code, error_ids(&v)),
        (1, vec!["Sysctl-net.ipv4.ip_forward".to_string()])
    );
    // kubeadm's habit: names are case-insensitive, comma-separated or repeated
    let (code, v) = node.json(&["--ignore", "sysctl-NET.ipv4.ip_forward,StrictARP", "check"]);
    assert_eq!(code, 0, "{v}");
    let msg = finding_message(&v, "Sysctl-net.ipv4.ip_forward", "warning");
    assert!(msg.ends_with("(ignored: --ignore)"), "{msg}");
    assert_eq!(v["ready"], true);
    let fresh = Node::new("debian12-fresh");
    assert_eq!(
        fresh.run(&["--ignore", "KernelModule-ip_vs", "check"]).code,
        1
    );
    let r = fresh.run(&["--ignore", "all", "check"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(!r.stdout.contains("[ERROR"), "{}", r.stdout);
    // a finding that stands for several problems of one cause is ignored by any of their ids
    let broken = Node::new("no-modules");
    let (_, v) = broken.json(&["--ignore", "KernelModule-ip_vs_wrr,KubeProxyIPVS", "check"]);
    let f = finding(&v, "KernelModule-ip_vs_rr").expect("the modules' finding");
    assert_eq!(
        (f["id"].as_str(), f["severity"].as_str()),
        (Some("KernelModule-ip_vs"), Some("warning")),
        "{f}"
    );
    assert_eq!(
        f["also"],
        serde_json::json!([
            "KernelModule-ip_vs_rr",
            "KernelModule-ip_vs_wrr",
            "KernelModule-ip_vs_sh",
            "KubeProxyIPVS"
        ])
    );
    // an id no finding has is refused, with the ids there are, before anything is read
    for bad in ["NoSuchFinding", "KernelModule-", "Sysctl"] {
        let r = fresh.run(&["--ignore", bad, "check"]);
        assert_eq!(r.code, 64, "{bad}: {}", r.stderr);
        assert!(
            r.stderr
                .contains(&format!("--ignore {bad}: no finding has this id"))
                && r.stderr.contains("KubeProxyDeprecated")
                && r.stderr.contains("KernelModule-"),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn without_drops_a_default_module_or_sysctl() {
    let node = Node::new("ipvs-builtin");
    let (_, v) = node.json(&[
        "--without",
        "net.ipv4.ip_forward",
        "--without",
        "br-netfilter",
        "check",
    ]);
    let keys = sysctl_keys(&v);
    assert!(!keys.iter().any(|k| k == "net.ipv4.ip_forward"), "{keys:?}");
    assert!(keys.iter().any(|k| k == "vm.swappiness"), "{keys:?}");
    assert_eq!(module_names(&v), DEFAULT_MODULES[..5]);
    assert_eq!(v["ready"], true, "{v}");
    let r = node.run(&["--without", "ip_vs_lc", "check"]);
    assert_eq!(r.code, 64);
    assert!(r.stderr.contains("not a default module"), "{}", r.stderr);
}

const KUBEADM_CONFIG: &str = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.24.3\n---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nipvs:\n  scheduler: lc\n";

#[test]
fn kube_proxy_config_from_standard_input() {
    let node = Node::new("debian12-fresh");
    let out = output_with_input(
        &mut command(&[
            "--root",
            node.root.to_str().unwrap(),
            "-o",
            "json",
            "--kube-proxy-config",
            "-",
            "check",
        ]),
        KUBEADM_CONFIG.as_bytes(),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(v["kube_proxy"]["scheduler"], "lc");
    // no kube-proxy, kubelet or kubeadm binary: the kubeadm config's kubernetesVersion is judged
    assert_eq!(v["kube_proxy"]["version"], "1.24");
    assert_eq!(
        v["kube_proxy"]["version_source"],
        "kubernetesVersion v1.24.3 in standard input"
    );
}

#[test]
fn a_binary_on_the_node_wins_over_kubernetes_version() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("kubeadm.yaml");
    std::fs::write(&f, KUBEADM_CONFIG).unwrap();
    let node = Node::new("debian12-ready");
    let (_, v) = node.json(&["--kube-proxy-config", f.to_str().unwrap(), "check"]);
    assert_eq!(v["kube_proxy"]["version"], "1.30");
    assert_eq!(v["kube_proxy"]["version_source"], "/usr/bin/kubeadm");
    let fresh = Node::new("debian12-fresh");
    let (_, v) = fresh.json(&["--kube-proxy-config", f.to_str().unwrap(), "check"]);
    assert_eq!(v["kube_proxy"]["version"], "1.24");
}

#[test]
fn usage_errors_have_one_style_and_exit_64() {
    let node = Node::new("debian12-fresh");
    let root = node.root.to_str().unwrap();
    for args in [
        &["--root", root, "--output", "yaml", "check"][..],
        &["--root", root, "--kube-proxy-version", "latest", "check"],
        &[
            "--root",
            root,
            "--kube-proxy-config",
            "/nonexistent/kp.yaml",
            "check",
        ],
        &["--root", root, "check", "--probe"],
        &["--root", root, "--without", "nothing", "check"],
    ] {
        let r = nodeprep(args);
        assert_eq!(r.code, 64, "{args:?}: {}", r.stderr);
        assert!(r.stderr.starts_with("error: "), "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.ends_with("For more information, try '--help'.\n"),
            "{args:?}: {}",
            r.stderr
        );
    }
}

#[test]
fn subcommand_help_lists_the_exit_codes() {
    for sub in ["check", "apply"] {
        let r = nodeprep(&[sub, "--help"]);
        assert_eq!(r.code, 0);
        for line in [
            "Exit codes:\n",
            "  0    ready",
            "  1    not ready",
            "  3    could not run",
            "  64   usage error",
        ] {
            assert!(
                r.stdout.contains(line),
                "{sub} --help lacks {line:?}:\n{}",
                r.stdout
            );
        }
    }
}

/// Runs `nodeprep ARGS` with stdout and stderr on a pseudo-terminal (util-linux `script`),
/// stdout's text redirected to a file when `stdout_to_file`; returns what the terminal showed.
fn in_pty(node: &Node, term: &str, args: &str, stdout_to_file: bool) -> String {
    let out = node.root.parent().unwrap().join("stdout.txt");
    let cmd = format!(
        "{BIN} --root {} {args}{}",
        node.root.display(),
        if stdout_to_file {
            format!(" >{}", out.display())
        } else {
            String::new()
        }
    );
    let r = Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("SHELL", "/bin/sh")
        .env("TERM", term)
        .env(nodeprep::config::FAKE_PROC_ENV, "1")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run script (util-linux) for a pseudo-terminal: {e}"));
    String::from_utf8_lossy(&r.stdout).into_owned()
}

#[test]
fn progress_is_shown_on_a_terminal_only() {
    // apply on a terminal: the bar and its step messages are drawn on stderr
    let node = Node::new("debian12-fresh");
    let tty = in_pty(&node, "xterm", "apply", true);
    assert!(tty.contains("/12 loading ip_vs"), "{tty:?}");
    assert!(tty.contains("\u{2588}"), "no bar drawn: {tty:?}");
    // not with --quiet, not with JSON, not on a dumb terminal
    for (term, args) in [
        ("xterm", "--quiet apply"),
        ("xterm", "-o json apply"),
        ("dumb", "apply"),
    ] {
        let node = Node::new("debian12-fresh");
        let shown = in_pty(&node, term, args, true);
        assert!(!shown.contains("loading ip_vs"), "{term} {args}: {shown:?}");
        assert!(
            node.read("/etc/sysctl.d/k8s.conf")
                .contains("ip_forward = 1"),
            "{args}: apply ran"
        );
    }
    // and not in a pipe: stderr is not a terminal
    let node = Node::new("debian12-fresh");
    let r = node.run(&["apply"]);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
}

#[test]
fn colour_only_on_a_terminal_that_takes_it() {
    let node = Node::new("debian12-fresh");
    let shown = in_pty(&node, "xterm", "check", false);
    assert!(shown.contains("\x1b[31mERROR\x1b[0m"), "{shown:?}");
    let dumb = in_pty(&node, "dumb", "check", false);
    assert!(dumb.contains("[ERROR KernelModule-ip_vs]"), "{dumb:?}");
    assert!(!dumb.contains('\x1b'), "{dumb:?}");
}
