//! examples/kubernetes/daemonset.yaml: the fields that make it work, and its command line.

use std::path::Path;

use clap::Parser;
use yaml_serde::Value;

use nodeprep::cli::{Cli, Command};

use crate::support::*;

fn daemonset() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/kubernetes/daemonset.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .unwrap_or_else(|| panic!("not a list: {v:?}"))
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

#[test]
fn daemonset_has_what_makes_it_work() {
    let ds = daemonset();
    assert_eq!(ds["apiVersion"].as_str(), Some("apps/v1"));
    assert_eq!(ds["kind"].as_str(), Some("DaemonSet"));
    let labels = &ds["spec"]["selector"]["matchLabels"];
    let pod = &ds["spec"]["template"];
    assert_eq!(
        &pod["metadata"]["labels"], labels,
        "the selector must match the pod"
    );
    let spec = &pod["spec"];
    assert_eq!(
        spec["hostNetwork"].as_bool(),
        Some(true),
        "sysctls under net. are per network namespace"
    );
    let tolerations = spec["tolerations"].as_sequence().unwrap();
    assert!(
        tolerations
            .iter()
            .any(|t| t["operator"].as_str() == Some("Exists") && t.get("key").is_none()),
        "must run on every node, tainted control-plane nodes included"
    );

    let volumes = spec["volumes"].as_sequence().unwrap();
    let host = volumes
        .iter()
        .find(|v| v["hostPath"]["path"].as_str() == Some("/"))
        .expect("a hostPath volume of the host's /");
    let host_volume = host["name"].as_str().unwrap();

    let inits = spec["initContainers"].as_sequence().unwrap();
    assert_eq!(inits.len(), 1);
    let init = &inits[0];
    assert_eq!(init["securityContext"]["privileged"].as_bool(), Some(true));
    let mount = init["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|m| m["name"].as_str() == Some(host_volume))
        .expect("the init container mounts the host's /");
    assert_eq!(mount["mountPath"].as_str(), Some("/host"));
    assert_ne!(
        mount["readOnly"].as_bool(),
        Some(true),
        "apply writes /host/etc"
    );

    // the command is one nodeprep accepts: apply (not a dry run) with --root /host
    let command = strings(&init["command"]);
    assert_eq!(command[0], "nodeprep");
    assert_eq!(command[1..], ["apply", "--root", "/host"]);
    let cli = Cli::try_parse_from(&command).expect("nodeprep parses the init container's command");
    assert_eq!(cli.global.root, Path::new("/host"));
    match cli.command {
        Command::Apply(a) => assert!(!a.dry_run),
        other => panic!("the init container must apply, not {other:?}"),
    }

    let containers = spec["containers"].as_sequence().unwrap();
    assert_eq!(containers.len(), 1);
    let image = containers[0]["image"].as_str().unwrap();
    assert!(image.starts_with("registry.k8s.io/pause:"), "{image}");
    assert!(
        containers[0].get("securityContext").is_none(),
        "the pause container needs no privilege"
    );
}

#[test]
fn the_init_containers_command_prepares_a_node_mounted_elsewhere() {
    // the same arguments with /host replaced by a fixture root standing in for the host's /
    let ds = daemonset();
    let command = strings(&ds["spec"]["template"]["spec"]["initContainers"][0]["command"]);
    let node = Node::new("debian12-fresh");
    let args: Vec<String> = command[1..]
        .iter()
        .map(|a| {
            if a == "/host" {
                node.root.to_str().unwrap().to_string()
            } else {
                a.clone()
            }
        })
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = nodeprep(&args);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(node.read("/proc/modules").contains("ip_vs "));
    assert!(
        node.read("/etc/sysctl.d/k8s.conf")
            .contains("net.ipv4.ip_forward = 1")
    );
    let again = nodeprep(&args);
    assert_eq!(again.code, 0);
}
