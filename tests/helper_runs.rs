//! Which helper programs a run asks, and how often (issue 11: no work done twice, none that
//! the run does not need). The fixture's helpers are replaced by ones that log each call.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::support::{Node, binary};

/// Replaces `node_path` by a helper that logs `NAME ARGS` to /tmp/helpers.log under the
/// root (the one place it may write: it runs as nobody), then prints `banner`.
fn logging_helper(node: &Node, node_path: &str, banner: &str) {
    let name = node_path.rsplit('/').next().unwrap();
    let depth = node_path.trim_start_matches('/').matches('/').count();
    let up = vec![".."; depth].join("/");
    node.write(
        node_path,
        &format!(
            "#!/bin/sh\nroot=$(cd \"$(dirname \"$0\")/{up}\" && pwd -P)\n\
             echo \"{name} $*\" >> \"$root/tmp/helpers.log\"\necho '{banner}'\n"
        ),
    );
    fs::set_permissions(node.path(node_path), fs::Permissions::from_mode(0o755)).unwrap();
}

fn with_logging_helpers(fixture: &str) -> Node {
    let node = Node::new(fixture);
    logging_helper(&node, "/usr/sbin/ipset", "ipset v7.17, protocol version: 7");
    logging_helper(&node, "/usr/sbin/ipvsadm", "ipvsadm v1.31 2019/12/24");
    logging_helper(&node, "/usr/sbin/iptables", "iptables v1.8.9 (nf_tables)");
    logging_helper(&node, "/usr/bin/kube-proxy", "Kubernetes v1.30.2");
    node
}

fn calls(node: &Node) -> Vec<String> {
    match fs::read_to_string(node.path("/tmp/helpers.log")) {
        Ok(s) => {
            let mut v: Vec<String> = s.lines().map(str::to_string).collect();
            v.sort();
            v
        }
        Err(_) => Vec::new(),
    }
}

/// ipset is asked `--help` (its `--version` makes the kernel load ip_set), ipvsadm is never
/// run (every run of it loads ip_vs): see src/probe/binaries.rs.
const ONCE_EACH: [&str; 3] = ["ipset --help", "iptables --version", "kube-proxy --version"];

#[test]
fn check_asks_each_helper_once() {
    let node = with_logging_helpers("debian12-ready");
    let r = node.run(&["check"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(calls(&node), ONCE_EACH);
}

#[test]
fn a_given_kube_proxy_version_runs_no_kubernetes_binary() {
    let node = with_logging_helpers("debian12-ready");
    let r = node.run(&["--kube-proxy-version", "1.30", "check"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(calls(&node), ["ipset --help", "iptables --version"]);
}

#[test]
fn apply_that_acts_asks_each_helper_once() {
    let node = with_logging_helpers("debian12-fresh");
    let (code, v) = node.json(&["apply"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ready"], true);
    assert!(!node.modprobe_calls().is_empty(), "apply loaded nothing");
    // the report after apply still shows what the helpers said
    assert_eq!(v["kube_proxy"]["version"], "1.30");
    let ipset = binary(&v, "ipset");
    assert_eq!(ipset["version"], "7.17");
    assert_eq!(calls(&node), ONCE_EACH);
}

#[test]
fn apply_with_nothing_to_do_asks_each_helper_once() {
    let node = with_logging_helpers("debian12-ready");
    let r = node.run(&["apply", "--detailed-exitcode"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(calls(&node), ONCE_EACH);
}

#[test]
fn only_the_first_kubernetes_binary_that_answers_is_asked() {
    // a kubeadm node has kubelet and kubeadm: one answer is enough
    let node = with_logging_helpers("debian12-ready");
    fs::remove_file(node.path("/usr/bin/kube-proxy")).unwrap();
    logging_helper(&node, "/usr/bin/kubelet", "Kubernetes v1.29.3");
    logging_helper(&node, "/usr/bin/kubeadm", "v1.28.1");
    let before = node.outside_snapshot();
    let (code, v) = node.json(&["check"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["kube_proxy"]["version"], "1.29", "{}", v["kube_proxy"]);
    let asked = calls(&node);
    assert!(
        asked.contains(&"kubelet --version".to_string()),
        "{asked:?}"
    );
    assert!(!asked.iter().any(|c| c.starts_with("kubeadm")), "{asked:?}");

    // a kubelet that gives no version: kubeadm is asked next, and answers
    node.write(
        "/usr/bin/kubelet",
        "#!/bin/sh\nroot=$(cd \"$(dirname \"$0\")/../..\" && pwd -P)\n\
         echo \"kubelet $*\" >> \"$root/tmp/helpers.log\"\necho 'flag provided but not defined' >&2\nexit 1\n",
    );
    fs::remove_file(node.path("/tmp/helpers.log")).unwrap();
    let (code, v) = node.json(&["check"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["kube_proxy"]["version"], "1.28", "{}", v["kube_proxy"]);
    assert!(
        v["kube_proxy"]["version_source"]
            .as_str()
            .is_some_and(|s| s.contains("/usr/bin/kubeadm")),
        "{}",
        v["kube_proxy"]
    );
    let asked = calls(&node);
    assert_eq!(
        asked
            .iter()
            .filter(|c| c.starts_with("kube"))
            .collect::<Vec<_>>(),
        ["kubeadm version -o short", "kubelet --version"],
        "{asked:?}"
    );
    assert_eq!(
        node.outside_snapshot(),
        before,
        "a helper wrote beside the root"
    );
}

#[test]
fn ipvsadm_is_never_run_its_version_is_read_from_its_file() {
    let node = with_logging_helpers("debian12-ready");
    let before = node.outside_snapshot();
    let (code, v) = node.json(&["check"]);
    assert_eq!(code, 0, "{v}");
    let ipvsadm = binary(&v, "ipvsadm");
    assert_eq!(ipvsadm["path"], "/usr/sbin/ipvsadm");
    assert_eq!(ipvsadm["version"], "1.31");
    assert!(
        !calls(&node).iter().any(|c| c.starts_with("ipvsadm")),
        "{:?}",
        calls(&node)
    );
    let r = node.run(&["check"]);
    let row = r
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("ipvsadm "))
        .unwrap_or("");
    assert!(
        row.contains("/usr/sbin/ipvsadm") && row.trim_end().ends_with("v1.31"),
        "{}",
        r.stdout
    );

    // one without a version string: found, no version, and still not run; check passes
    node.write(
        "/usr/sbin/ipvsadm",
        "#!/bin/sh\nroot=$(cd \"$(dirname \"$0\")/../..\" && pwd -P)\n\
         echo \"ipvsadm $*\" >> \"$root/tmp/helpers.log\"\nexec /opt/ipvs/bin/tool \"$@\"\n",
    );
    let (code, v) = node.json(&["check"]);
    assert_eq!(code, 0, "{v}");
    let ipvsadm = binary(&v, "ipvsadm");
    assert_eq!(ipvsadm["path"], "/usr/sbin/ipvsadm");
    assert!(ipvsadm["version"].is_null(), "{ipvsadm}");
    assert!(!calls(&node).iter().any(|c| c.starts_with("ipvsadm")));
    assert_eq!(
        node.outside_snapshot(),
        before,
        "a helper wrote beside the root"
    );
}

#[test]
fn ipset_is_judged_by_the_first_line_of_its_help() {
    let node = with_logging_helpers("debian12-ready");
    // an old ipset: the finding quotes its banner line, not the help text after it
    node.write(
        "/usr/sbin/ipset",
        "#!/bin/sh\nprintf 'ipset v4.5\\n\\nUsage: ipset -N set type-specification [options]\\n  -h, --help  this text, v9.9\\n'\n",
    );
    let (code, v) = node.json(&[
        "--kube-proxy-version",
        "1.30",
        "--kube-proxy-runtime",
        "host",
        "check",
    ]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(binary(&v, "ipset")["version"], "4.5");
    let message = crate::support::finding_message(&v, "IpsetVersion", "error");
    assert!(
        message.ends_with("(ipset v4.5)") && !message.contains("Usage"),
        "{message}"
    );
}

#[test]
fn apply_starts_its_modprobe_while_the_helpers_still_run() {
    // the loads depend on no helper's answer: this ipset answers only once modprobe has
    // run, which it would never see if apply waited for the helpers first
    let node = with_logging_helpers("debian12-fresh");
    node.write(
        "/usr/sbin/ipset",
        "#!/bin/sh\nroot=$(cd \"$(dirname \"$0\")/../..\" && pwd -P)\ni=0\n\
         while [ ! -s \"$root/var/log/fake-modprobe.log\" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done\n\
         if [ -s \"$root/var/log/fake-modprobe.log\" ]; then echo 'ipset v7.17'; else echo 'ipset: no modprobe yet'; fi\n",
    );
    let before = node.outside_snapshot();
    let (code, v) = node.json(&["apply"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ready"], true);
    assert_eq!(binary(&v, "ipset")["version"], "7.17", "{}", v["binaries"]);
    let calls = node.modprobe_calls();
    assert!(
        calls.first().is_some_and(|c| c.starts_with("-a ")),
        "one modprobe -a first: {calls:?}"
    );
    assert_eq!(
        node.outside_snapshot(),
        before,
        "a helper wrote beside the root"
    );
}

#[test]
fn ipvsadms_version_is_read_through_links_inside_the_root() {
    // /usr/sbin/ipvsadm climbs out with ../: on this machine that is the directory beside
    // the root, which holds another ipvsadm; inside the root the climb stops at /
    let node = with_logging_helpers("debian12-ready");
    fs::remove_file(node.path("/usr/sbin/ipvsadm")).unwrap();
    node.link("/usr/sbin/ipvsadm", "../../../outside/ipvsadm");
    node.script(
        "/outside/ipvsadm",
        "echo 'ipvsadm v1.31 2019/12/24 (inside)'",
    );
    fs::write(
        node.outside.join("ipvsadm"),
        "#!/bin/sh\necho 'ipvsadm v6.66 2099/01/01 (outside)'\n",
    )
    .unwrap();
    fs::set_permissions(
        node.outside.join("ipvsadm"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let before = node.outside_snapshot();
    let (code, v) = node.json(&["check"]);
    assert_eq!(code, 0, "{v}");
    let ipvsadm = binary(&v, "ipvsadm");
    assert_eq!(ipvsadm["path"], "/usr/sbin/ipvsadm");
    assert_eq!(ipvsadm["version"], "1.31", "{ipvsadm}");
    assert_eq!(
        node.outside_snapshot(),
        before,
        "something beside the root changed"
    );
}

/// An ipset that writes its pid to /tmp/ipset.pid in the root, then sleeps for a minute.
fn sleeping_ipset(node: &Node) {
    node.script("/usr/sbin/ipset", "echo $$ > /tmp/ipset.pid\nexec sleep 60");
}

/// The state letter of process `pid` (`/proc/PID/stat`), None when there is none.
fn state(pid: &str) -> Option<char> {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").and_then(|(_, r)| r.chars().next()))
}

/// `pid` is gone, or a zombie not reaped yet: it was killed, where it would have slept
/// for a minute (a bounded wait for the kill to land).
fn assert_killed(pid: u32) {
    let state = || state(&pid.to_string());
    let since = std::time::Instant::now();
    while matches!(state(), Some('S' | 'R' | 'D')) {
        assert!(
            since.elapsed().as_secs() < 20,
            "the helper ({pid}) still runs"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(matches!(state(), None | Some('Z')), "{:?}", state());
}

/// A command line clap rejects exits 64 and has started no helper of the root.
#[test]
fn a_usage_error_after_the_helpers_started_leaves_none_running() {
    let node = with_logging_helpers("debian12-ready");
    sleeping_ipset(&node);
    let before = node.outside_snapshot();
    let r = node.run(&["--mode", "ipvsx", "check"]);
    assert_eq!(r.code, 64, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("invalid value 'ipvsx'"), "{}", r.stderr);
    // killed before it wrote its pid, or after: either way no process runs in the root
    // (a helper left running would have written it at once, and sleeps for a minute)
    std::thread::sleep(std::time::Duration::from_millis(300));
    // (killed between creating the file and writing to it, it is empty)
    let written = fs::read_to_string(node.path("/tmp/ipset.pid")).unwrap_or_default();
    if let Ok(pid) = written.trim().parse() {
        assert_killed(pid);
    }
    let root = fs::canonicalize(&node.root).unwrap();
    let rooted: Vec<String> = fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .filter(|e| fs::read_link(e.path().join("root")).is_ok_and(|r| r == root))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|pid| !matches!(state(pid), None | Some('Z')))
        .collect();
    assert!(rooted.is_empty(), "still running in the root: {rooted:?}");
    assert_eq!(
        node.outside_snapshot(),
        before,
        "a helper wrote beside the root"
    );
}

/// With the root from NODEPREP_ROOT, the helpers check asks are the root's, each asked
/// once, and nothing beside the root changes.
#[test]
fn a_root_from_the_environment_asks_each_helper_once() {
    let node = with_logging_helpers("debian12-ready");
    let before = node.outside_snapshot();
    let out = crate::support::command(&["check"])
        .env("NODEPREP_ROOT", &node.root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(calls(&node), ONCE_EACH);
    assert_eq!(
        node.outside_snapshot(),
        before,
        "a helper wrote beside the root"
    );
}

/// The helpers of a root other than `/` run in one trampoline chrooted there (one extra
/// process per batch, not per helper): every helper check asks has the same parent.
#[test]
fn a_root_s_helpers_share_one_trampoline() {
    let node = with_logging_helpers("debian12-ready");
    for name in [
        "/usr/sbin/ipset",
        "/usr/sbin/iptables",
        "/usr/bin/kube-proxy",
    ] {
        let banner = match name {
            "/usr/sbin/ipset" => "ipset v7.17, protocol version: 7",
            "/usr/sbin/iptables" => "iptables v1.8.9 (nf_tables)",
            _ => "Kubernetes v1.30.2",
        };
        node.script(
            name,
            &format!("echo $PPID >> /tmp/parents.log\necho '{banner}'"),
        );
    }
    let before = node.outside_snapshot();
    let child = crate::support::command(&["--root", node.root.to_str().unwrap(), "check"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let nodeprep = child.id().to_string();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let parents = fs::read_to_string(node.path("/tmp/parents.log")).unwrap_or_default();
    let parents: Vec<&str> = parents.lines().collect();
    assert_eq!(parents.len(), 3, "{parents:?}");
    assert!(parents.iter().all(|p| *p == parents[0]), "{parents:?}");
    assert_ne!(
        parents[0], nodeprep,
        "the helpers are nodeprep's own children"
    );
    assert_eq!(node.outside_snapshot(), before);
}

/// A KubeProxyConfiguration nodeprep refuses (exit 64) is refused before any program of the
/// root has started: strace sees no trampoline exec'd (a helper's own log could be cut short by
/// the kill that follows the refusal, and would pass whatever the order).
#[test]
fn a_refused_kube_proxy_config_runs_no_helper() {
    let node = with_logging_helpers("debian12-ready");
    node.write(
        "/etc/kube-proxy.yaml",
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: &m ipvs\nipvs: {scheduler: *m}\n",
    );
    let before = node.outside_snapshot();
    let args = ["--kube-proxy-config", "root:/etc/kube-proxy.yaml", "check"];
    let r = node.run(&args);
    assert_eq!(r.code, 64, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("anchor"), "{}", r.stderr);
    let trace = node.root.parent().unwrap().join("execs.trace");
    let root = node.root.to_str().unwrap();
    let out = std::process::Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=execve", "-o"])
        .arg(&trace)
        .arg(crate::support::BIN)
        .args(["--root", root])
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env(nodeprep::config::FAKE_PROC_ENV, "1")
        .output();
    match out {
        Err(e) => crate::support::skip(&format!("no strace ({e}): install strace")),
        Ok(out) => {
            assert_eq!(out.status.code(), Some(64), "{out:?}");
            let execs = fs::read_to_string(&trace).unwrap();
            assert_eq!(
                execs.matches("execve(").count(),
                1,
                "more than nodeprep itself was exec'd: {execs}"
            );
        }
    }
    assert_eq!(calls(&node), Vec::<String>::new());
    assert_eq!(node.outside_snapshot(), before);
}
