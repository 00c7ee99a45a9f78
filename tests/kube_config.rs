//! --kube-proxy-config: the three shapes users have at hand, and errors that name file and line.

use std::path::PathBuf;

use crate::support::*;

fn config_file(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn plain_config_sets_scheduler_and_strict_arp() {
    let dir = tempfile::tempdir().unwrap();
    let f = config_file(
        &dir,
        "config.conf",
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nipvs:\n  scheduler: lc\n  strictARP: false\n",
    );
    let node = Node::new("debian12-ready");
    let (code, v) = node.json(&[
        "--kube-proxy-config",
        f.to_str().unwrap(),
        "--kube-proxy-version",
        "1.22",
        "check",
    ]);
    assert_eq!(code, 1, "ip_vs_lc is not loaded");
    assert_eq!(v["kube_proxy"]["scheduler"], "lc");
    assert_eq!(v["kube_proxy"]["outcome"], "iptables");
    assert_eq!(module(&v, "ip_vs_lc")["state"], "loadable");
    let arp = finding(&v, "StrictARP").expect("MetalLB hint");
    assert_eq!(arp["severity"], "info");
    let msg = arp["message"].as_str().unwrap();
    assert!(
        msg.contains("strictARP: true") && msg.contains("MetalLB"),
        "{msg}"
    );
    // the command line wins over the file
    let (_, v) = node.json(&[
        "--kube-proxy-config",
        f.to_str().unwrap(),
        "--scheduler",
        "rr",
        "check",
    ]);
    assert_eq!(v["kube_proxy"]["scheduler"], "rr");
}

#[test]
fn kubeadm_config_with_iptables_mode_wants_no_ipvs() {
    let dir = tempfile::tempdir().unwrap();
    let f = config_file(
        &dir,
        "kubeadm.yaml",
        "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\n---\napiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\n---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: iptables\n",
    );
    let node = Node::new("debian12-ready");
    let (code, v) = node.json(&["--kube-proxy-config", f.to_str().unwrap(), "check"]);
    assert_eq!(code, 0, "{}", v["findings"]);
    assert_eq!(v["kube_proxy"]["mode"], "iptables");
    assert_eq!(v["kube_proxy"]["outcome"], "iptables");
    assert_eq!(module_names(&v), ["nf_conntrack", "br_netfilter"]);
    assert!(finding(&v, "KubeProxyIPVS").is_none());
    assert!(finding(&v, "KubeProxyIPTables").is_none());
    assert!(finding(&v, "KubeProxyDeprecated").is_none());
    // a kernel without module support and without nf_conntrack built in cannot run it: from
    // 1.28 kube-proxy sets nf_conntrack_max before it asks iptables
    let bare = Node::new("no-modules");
    std::fs::remove_file(bare.path("/proc/config.gz")).unwrap();
    let (code, v) = bare.json(&["--kube-proxy-config", f.to_str().unwrap(), "check"]);
    assert_eq!(code, 1);
    assert_eq!(v["kube_proxy"]["outcome"], "fail");
    let e = finding(&v, "KubeProxyIPTables").expect("iptables mode finding");
    assert_eq!(e["severity"], "error");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("open /proc/sys/net/netfilter/nf_conntrack_max: no such file or directory"),
        "{e}"
    );
}

#[test]
fn the_kube_proxy_configmap_from_kubectl_is_understood() {
    let dir = tempfile::tempdir().unwrap();
    let f = config_file(
        &dir,
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kube-proxy\n  namespace: kube-system\ndata:\n  config.conf: |-\n    apiVersion: kubeproxy.config.k8s.io/v1alpha1\n    kind: KubeProxyConfiguration\n    mode: nftables\n  kubeconfig.conf: |-\n    apiVersion: v1\n    kind: Config\n",
    );
    let node = Node::new("debian12-ready");
    let (code, v) = node.json(&[
        "--kube-proxy-config",
        f.to_str().unwrap(),
        "--kube-proxy-version",
        "1.31",
        "check",
    ]);
    assert_eq!(code, 0, "{}", v["findings"]);
    assert_eq!(v["kube_proxy"]["mode"], "nftables");
    assert_eq!(v["kube_proxy"]["outcome"], "nftables");
}

#[test]
fn bad_configs_are_usage_errors_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::new("debian12-ready");
    let cases = [
        (
            "broken.yaml",
            "kind: KubeProxyConfiguration\nmode: ipvs\nipvs: [\n",
            "line",
        ),
        (
            "deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\n",
            "line 2:",
        ),
        (
            "mode.yaml",
            "kind: KubeProxyConfiguration\nmode: 7\n",
            "mode",
        ),
        (
            "sched.yaml",
            "kind: KubeProxyConfiguration\nipvs:\n  scheduler: \"rr\\n; rm -rf /\"\n",
            "line 3: scheduler must be an IPVS scheduler name",
        ),
        (
            "binary.yaml",
            "kind: KubeProxyConfiguration\nmode: \u{0}\u{1}\n",
            "binary.yaml",
        ),
    ];
    for (name, text, expect) in cases {
        let f = config_file(&dir, name, text);
        let r = node.run(&["--kube-proxy-config", f.to_str().unwrap(), "check"]);
        assert_eq!(r.code, 64, "{name}: {}", r.stderr);
        assert!(r.stderr.contains(name), "{name}: {}", r.stderr);
        assert!(r.stderr.contains(expect), "{name}: {}", r.stderr);
        assert!(
            r.stderr.starts_with("error: --kube-proxy-config"),
            "{name}: {}",
            r.stderr
        );
    }
    // a directory, a FIFO (must not hang), a device and a huge file are not configs
    let fifo = dir.path().join("fifo.yaml");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let big = config_file(&dir, "big.yaml", &"# padding\n".repeat(200_000));
    let dir_path = dir.path().to_str().unwrap().to_string();
    for (path, expect) in [
        (dir_path.as_str(), "not a regular file"),
        (fifo.to_str().unwrap(), "not a regular file"),
        ("/dev/zero", "not a regular file"),
        (big.to_str().unwrap(), "larger than"),
    ] {
        let r = node.run(&["--kube-proxy-config", path, "check"]);
        assert_eq!(r.code, 64, "{path}: {}", r.stderr);
        assert!(
            r.stderr.contains(path) && r.stderr.contains(expect),
            "{path}: {}",
            r.stderr
        );
        assert!(
            r.stderr.starts_with("error: --kube-proxy-config"),
            "{path}: {}",
            r.stderr
        );
    }
}

/// nodeprep with `args` under the test harness's own limits: 10 s of CPU, 1 GiB of address
/// space (a parser that blows up is killed by them, and the test fails on the status).
fn bounded(args: &[&str], stdin: Option<Vec<u8>>) -> Run {
    let mut c = std::process::Command::new("prlimit");
    c.args(["--cpu=10", "--as=1073741824", "--", BIN])
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env(nodeprep::config::FAKE_PROC_ENV, "1");
    Run::from_output(output_with_input(&mut c, &stdin.unwrap_or_default()))
}

#[test]
fn anchors_aliases_and_deep_flow_nesting_are_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::new("debian12-ready");
    let root = node.root.to_str().unwrap();
    // an alias bomb: nine levels of ten references each
    let mut bomb =
        String::from("kind: KubeProxyConfiguration\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    let deep = format!(
        "kind: KubeProxyConfiguration\nmode: {}\n",
        "[".repeat(1 << 19)
    );
    for (name, text, want) in [
        ("bomb.yaml", bomb.as_str(), "line 2: a YAML anchor (&name)"),
        (
            "deep.yaml",
            deep.as_str(),
            "line 2: flow collections ([ or {) nested too deep",
        ),
        (
            "alias.yaml",
            "kind: KubeProxyConfiguration\nmode: *m\n",
            "line 2: a YAML alias (*name)",
        ),
    ] {
        let f = config_file(&dir, name, text);
        let args = [
            "--root",
            root,
            "--kube-proxy-config",
            f.to_str().unwrap(),
            "check",
        ];
        let r = bounded(&args, None);
        assert_eq!(r.code, 64, "{name}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{name}: {}", r.stderr);
        // the same through standard input
        let args = ["--root", root, "--kube-proxy-config", "-", "check"];
        let r = bounded(&args, Some(text.as_bytes().to_vec()));
        assert_eq!(r.code, 64, "{name} on stdin: {}", r.stderr);
        assert!(r.stderr.contains(want), "{name} on stdin: {}", r.stderr);
    }
}

#[test]
fn standard_input_is_capped_like_a_file() {
    let node = Node::new("debian12-ready");
    let args = [
        "--root",
        node.root.to_str().unwrap(),
        "--kube-proxy-config",
        "-",
        "check",
    ];
    let mut big = b"kind: KubeProxyConfiguration\n".to_vec();
    big.resize(3 << 20, b'#');
    let r = bounded(&args, Some(big));
    assert_eq!(r.code, 64, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("standard input holds more than 1048576 bytes"),
        "{}",
        r.stderr
    );
}

/// `root:PATH` reads the configuration under --root, resolved there like every node path:
/// a link that points outside the root does not reach it.
#[test]
fn a_config_under_the_root_is_read_there_and_only_there() {
    let node = Node::new("debian12-ready");
    let before = node.outside_snapshot();
    node.write(
        "/var/lib/kube-proxy/config.conf",
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: nftables\n",
    );
    let (_, v) = node.json(&[
        "--kube-proxy-config",
        "root:/var/lib/kube-proxy/config.conf",
        "check",
    ]);
    assert_eq!(v["kube_proxy"]["mode"], "nftables", "{v}");
    // the outside file, named by an absolute link in the root: resolved inside, absent there
    let outside = node.outside.join("kp.yaml");
    std::fs::write(&outside, "kind: KubeProxyConfiguration\nmode: iptables\n").unwrap();
    node.link("/etc/kp.yaml", &outside);
    let before = {
        let mut b = before;
        b.extend(node.outside_snapshot());
        b
    };
    for (arg, says) in [
        ("root:/etc/kp.yaml", "does not exist"),
        ("root:/nonexistent.yaml", "does not exist"),
    ] {
        let r = node.run(&["--kube-proxy-config", arg, "check"]);
        assert_eq!(r.code, 64, "{arg}: {}", r.stderr);
        assert!(
            r.stderr.contains(&format!("--kube-proxy-config {arg}: ")) && r.stderr.contains(says),
            "{arg}: {}",
            r.stderr
        );
    }
    assert_eq!(node.outside_snapshot(), before);
}
