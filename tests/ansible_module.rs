//! nodeprep run as Ansible runs a binary module: one argument, the path of a JSON file of
//! parameters; the answer is one JSON object on stdout.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::*;

/// Runs the binary with a parameter file, as Ansible does, and parses its one JSON object.
fn module(node: &Node, mut params: Value) -> (i32, Value) {
    let dir = tempfile::tempdir().unwrap();
    let args = dir.path().join("args");
    let p = params.as_object_mut().unwrap();
    p.entry("root")
        .or_insert_with(|| json!(node.root.to_str().unwrap()));
    for (k, v) in [
        ("_ansible_check_mode", false),
        ("_ansible_diff", false),
        ("_ansible_no_log", false),
    ] {
        p.entry(k).or_insert(json!(v));
    }
    p.insert("_ansible_module_name".into(), json!("nodeprep"));
    std::fs::write(&args, params.to_string()).unwrap();
    let r = nodeprep(&[args.to_str().unwrap()]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}):\n{}\nstderr: {}",
            r.stdout, r.stderr
        )
    });
    assert!(v.is_object(), "{v}");
    assert!(r.stderr.is_empty(), "stderr: {}", r.stderr);
    (r.code, v)
}

#[test]
fn apply_changes_then_changes_nothing() {
    let node = Node::new("debian12-fresh");
    let (code, v) = module(&node, json!({"action": "apply"}));
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["changed"], true, "{v}");
    assert_eq!(v["failed"], false, "{v}");
    assert_eq!(v["ready"], true, "{v}");
    // the report's fields at the top level
    for field in ["modules", "sysctls", "kube_proxy", "findings", "actions"] {
        assert!(v.get(field).is_some(), "{field} missing: {v}");
    }
    assert_eq!(v["kube_proxy"]["outcome"], "ipvs");
    assert!(
        node.read("/etc/sysctl.d/k8s.conf")
            .contains("net.ipv4.ip_forward = 1")
    );
    assert!(v.get("diff").is_none(), "no diff unless asked: {v}");

    let before = node.snapshot();
    let (code, v) = module(&node, json!({"action": "apply"}));
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["changed"], false, "{v}");
    assert_eq!(v["msg"], "nothing to change; the node is ready");
    assert_eq!(node.snapshot(), before);
}

#[test]
fn check_mode_changes_nothing_and_reports_changed_with_the_diff() {
    let node = Node::new("debian12-fresh");
    let before = node.snapshot();
    let (code, v) = module(
        &node,
        json!({"action": "apply", "_ansible_check_mode": true, "_ansible_diff": true}),
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["changed"], true, "{v}");
    assert_eq!(v["failed"], false, "{v}");
    assert_eq!(v["dry_run"], true, "{v}");
    // the warnings of the node as apply would leave it, as `apply --dry-run` counts them: not
    // vm.swappiness, which apply sets (there are none left)
    assert_eq!(
        v["msg"],
        "would change the node (check mode), which would then be ready"
    );
    assert!(v.get("warnings").is_none(), "{v}");
    assert_eq!(node.snapshot(), before, "check mode wrote something");
    let diff = v["diff"].as_array().expect("diff[]");
    let k8s = diff
        .iter()
        .find(|d| d["after_header"] == "/etc/sysctl.d/k8s.conf")
        .unwrap_or_else(|| panic!("no k8s.conf in diff: {v}"));
    assert_eq!(k8s["before"], "");
    assert!(
        k8s["after"]
            .as_str()
            .unwrap()
            .contains("net.ipv4.ip_forward = 1\n")
    );
    assert!(k8s["before_header"].as_str().unwrap().contains("k8s.conf"));
    assert!(
        diff.iter()
            .any(|d| d["after_header"] == "/etc/modules-load.d/ipvs.conf")
    );
}

#[test]
fn diff_of_a_real_apply_shows_the_change_to_an_existing_file() {
    let node = Node::new("debian12-fresh");
    node.write("/etc/sysctl.d/k8s.conf", "net.ipv4.ip_forward = 0\n");
    let (code, v) = module(&node, json!({"action": "apply", "_ansible_diff": true}));
    assert_eq!(code, 0, "{v}");
    let k8s = v["diff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["after_header"] == "/etc/sysctl.d/k8s.conf")
        .cloned()
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(k8s["before"], "net.ipv4.ip_forward = 0\n");
    assert!(
        k8s["after"]
            .as_str()
            .unwrap()
            .contains("net.ipv4.ip_forward = 1")
    );
    assert_eq!(
        node.read("/etc/sysctl.d/k8s.conf"),
        k8s["after"].as_str().unwrap()
    );
}

#[test]
fn check_on_a_node_that_is_not_ready_fails_naming_what_is_wrong() {
    let node = Node::new("no-modules");
    let (code, v) = module(&node, json!({"action": "check"}));
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["failed"], true);
    assert_eq!(v["changed"], false);
    assert_eq!(v["ready"], false);
    let msg = v["msg"].as_str().unwrap();
    assert!(msg.starts_with("not ready"), "{msg}");
    assert!(msg.contains("(KernelModule-ip_vs)"), "{msg}");
    assert!(!msg.contains('`'), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
    // and which mode would work there instead
    assert!(
        msg.ends_with(
            "; this node would run kube-proxy in iptables mode as it is (parameter mode)"
        ),
        "{msg}"
    );
}

#[test]
fn bad_parameters_fail_the_task_with_a_clear_msg() {
    let node = Node::new("debian12-fresh");
    let before = node.snapshot();
    for (params, expect) in [
        (
            json!({"action": "apply", "schedular": "lc"}),
            "Unsupported parameters for (nodeprep) module: schedular",
        ),
        (
            json!({"action": "reboot"}),
            "\"reboot\" is not one of: check, apply",
        ),
        (json!({"action": "apply", "scheduler": "l c"}), "l c"),
        (
            json!({"action": "apply", "kube_proxy_version": "latest"}),
            "latest",
        ),
        (
            json!({"action": "apply", "kube_proxy_config": "/nonexistent/kp.yaml"}),
            "/nonexistent/kp.yaml",
        ),
        (
            json!({"action": "apply", "sysctls": ["vm.swappiness"]}),
            "KEY=VALUE",
        ),
        // a NUL ends a line for systemd-sysctl: what follows would be a second setting
        (
            json!({"action": "apply", "sysctls": {"net.core.somaxconn": "4096\0kernel.domainname=x"}}),
            "control character",
        ),
        (
            json!({"action": "apply", "sysctls": {"net.ipv4.ip_forward": true}}),
            "use 1 or 0",
        ),
    ] {
        let (code, v) = module(&node, params.clone());
        assert_eq!(code, 1, "{params}: {v}");
        assert_eq!(v["failed"], true, "{params}: {v}");
        assert_eq!(v["changed"], false, "{params}: {v}");
        assert!(
            v["msg"].as_str().unwrap().contains(expect),
            "{params}: {}",
            v["msg"]
        );
    }
    assert_eq!(node.snapshot(), before);
}

#[test]
fn parameters_mirror_the_cli() {
    let node = Node::new("debian12-fresh");
    let (code, v) = module(
        &node,
        json!({
            "action": "check",
            "scheduler": "lc",
            "kube_proxy_version": "1.24",
            "kube_proxy_runtime": "host",
            "modules": ["ip_vs_wlc"],
            "sysctls": {"net.ipv4.conf.all.arp_ignore": 1},
        }),
    );
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["kube_proxy"]["version"], "1.24");
    assert_eq!(v["kube_proxy"]["scheduler"], "lc");
    assert_eq!(v["kube_proxy"]["runtime"], "host");
    let names = module_names(&v);
    assert!(
        names.iter().any(|n| n == "ip_vs_lc") && names.iter().any(|n| n == "ip_vs_wlc"),
        "{names:?}"
    );
    assert!(
        v["sysctls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["key"] == "net.ipv4.conf.all.arp_ignore" && s["want"] == "1"),
        "{v}"
    );
}

#[test]
fn a_command_line_is_never_taken_for_a_module_call() {
    // a file named like a subcommand, holding Ansible's JSON, in the working directory
    let node = Node::new("debian12-fresh");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("check"),
        json!({"_ansible_check_mode": false, "action": "apply"}).to_string(),
    )
    .unwrap();
    let r = std::process::Command::new(BIN)
        .arg("check")
        .current_dir(dir.path())
        .env("NODEPREP_ROOT", &node.root)
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert!(stdout.starts_with("nodeprep check"), "{stdout}");
    assert!(!Path::new(&node.root).join("etc/sysctl.d/k8s.conf").exists());
}

#[test]
fn the_mode_parameter_maps_to_mode() {
    let node = Node::new("no-modules");
    // a node with no IPVS at all: ipvs fails, nftables is judged on its own terms
    let (_, ipvs) = module(
        &node,
        json!({"action": "check", "kube_proxy_version": "1.33"}),
    );
    assert_eq!(ipvs["kube_proxy"]["mode"], "ipvs", "{}", ipvs["kube_proxy"]);
    let (_, nft) = module(
        &node,
        json!({"action": "check", "mode": "nftables", "kube_proxy_version": "1.33"}),
    );
    assert_eq!(
        nft["kube_proxy"]["mode"], "nftables",
        "{}",
        nft["kube_proxy"]
    );
    let (_, bad) = module(&node, json!({"action": "check", "mode": "IPVS"}));
    assert_eq!(bad["failed"], true, "{bad}");
    assert!(bad["msg"].as_str().unwrap().contains("IPVS"), "{bad}");
}

/// The module's documentation (the sidecar ansible-doc reads) names exactly the parameters the
/// module takes, with the choices it accepts.
#[test]
fn the_sidecar_documentation_lists_every_parameter() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/ansible/roles/nodeprep/library/nodeprep.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let doc: Value = yaml_serde::from_str(&text).unwrap();
    let options = doc["DOCUMENTATION"]["options"]
        .as_object()
        .unwrap_or_else(|| panic!("no DOCUMENTATION.options in {}", path.display()));
    let mut documented: Vec<&str> = options.keys().map(String::as_str).collect();
    let mut taken: Vec<&str> = nodeprep::ansible::PARAMETERS.to_vec();
    documented.sort();
    taken.sort();
    assert_eq!(documented, taken);
    assert_eq!(
        options["mode"]["choices"],
        json!(["ipvs", "nftables", "iptables"])
    );
    assert!(doc["EXAMPLES"].is_string() && doc["RETURN"]["msg"].is_object());
}
