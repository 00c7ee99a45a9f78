//! examples/kubernetes/daemonset.yaml: the fields that make it deployable, and its three
//! command lines (apply, watch, the readiness probe) run against fixture roots.

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

/// The mount of volume `name` in a container.
fn mount<'a>(container: &'a Value, name: &str) -> &'a Value {
    container["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|m| m["name"].as_str() == Some(name))
        .unwrap_or_else(|| {
            panic!(
                "{} does not mount {name}",
                container["name"].as_str().unwrap()
            )
        })
}

#[test]
fn daemonset_has_what_makes_it_deployable() {
    let ds = daemonset();
    assert_eq!(ds["apiVersion"].as_str(), Some("apps/v1"));
    assert_eq!(ds["kind"].as_str(), Some("DaemonSet"));
    let pod = &ds["spec"]["template"];
    assert_eq!(
        &pod["metadata"]["labels"],
        &ds["spec"]["selector"]["matchLabels"]
    );
    let spec = &pod["spec"];
    assert_eq!(
        spec["hostNetwork"].as_bool(),
        Some(true),
        "sysctls under net. are per netns"
    );
    assert!(spec.get("hostPID").is_none(), "no hostPID");
    assert_eq!(spec["automountServiceAccountToken"].as_bool(), Some(false));
    let tolerations = spec["tolerations"].as_sequence().unwrap();
    assert!(
        tolerations
            .iter()
            .any(|t| t["operator"].as_str() == Some("Exists") && t.get("key").is_none())
    );
    let volumes = spec["volumes"].as_sequence().unwrap();
    let volume = |name: &str| {
        volumes
            .iter()
            .find(|v| v["name"].as_str() == Some(name))
            .unwrap()
    };
    assert_eq!(volume("host")["hostPath"]["path"].as_str(), Some("/"));
    assert_eq!(
        volume("kube-proxy")["configMap"]["name"].as_str(),
        Some("kube-proxy")
    );
    assert!(volume("textfile")["hostPath"]["path"].is_string());

    let init = &spec["initContainers"][0];
    assert_eq!(init["securityContext"]["privileged"].as_bool(), Some(true));
    assert_ne!(
        mount(init, "host")["readOnly"].as_bool(),
        Some(true),
        "apply writes /host/etc"
    );
    let watch = &spec["containers"][0];
    assert_eq!(
        mount(watch, "host")["readOnly"].as_bool(),
        Some(true),
        "watch only reads"
    );
    assert_ne!(watch["securityContext"]["privileged"].as_bool(), Some(true));
    for c in [init, watch] {
        assert!(c["resources"]["requests"]["memory"].is_string(), "{c:?}");
        assert!(c["resources"]["limits"]["memory"].is_string(), "{c:?}");
        assert_eq!(
            mount(c, "kube-proxy")["mountPath"].as_str(),
            Some("/etc/kube-proxy")
        );
        assert_eq!(c["image"], spec["initContainers"][0]["image"]);
    }

    // the image's entrypoint is /nodeprep: each container gives only its arguments
    let parse = |args: Vec<String>| {
        let line: Vec<String> = std::iter::once("nodeprep".to_string())
            .chain(args)
            .collect();
        Cli::try_parse_from(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
    };
    let apply = parse(strings(&init["args"]));
    assert_eq!(apply.global.root, Path::new("/host"));
    match apply.command {
        Command::Apply(a) => assert!(!a.dry_run && a.ok_if_not_ready),
        other => panic!("the init container must apply, not {other:?}"),
    }
    match parse(strings(&watch["args"])).command {
        Command::Watch(w) => assert!(w.textfile.is_some_and(|t| t.starts_with("/textfile"))),
        other => panic!("the main container must watch, not {other:?}"),
    }
    let probe = strings(&watch["readinessProbe"]["exec"]["command"]);
    assert_eq!(probe[0], "/nodeprep");
    let probe = parse(probe[1..].to_vec());
    assert!(probe.global.quiet && matches!(probe.command, Command::Check(_)));
}

/// A container's arguments with the node's paths replaced: /host by a fixture root, the
/// ConfigMap's file by `config`.
fn on_node(args: &[String], root: &Path, config: &Path) -> Vec<String> {
    args.iter()
        .map(|a| match a.as_str() {
            "/host" => root.to_str().unwrap().to_string(),
            "/etc/kube-proxy/config.conf" => config.to_str().unwrap().to_string(),
            _ => a.clone(),
        })
        .collect()
}

#[test]
fn the_three_command_lines_prepare_watch_and_probe_a_node() {
    let ds = daemonset();
    let spec = &ds["spec"]["template"]["spec"];
    let init = strings(&spec["initContainers"][0]["args"]);
    let watch = strings(&spec["containers"][0]["args"]);
    let probe = strings(&spec["containers"][0]["readinessProbe"]["exec"]["command"]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.conf");
    std::fs::write(
        &config,
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\n",
    )
    .unwrap();
    let run = |args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        nodeprep(&args)
    };

    // a node apply can prepare: ready, the probe says so, watch writes its metrics
    let node = Node::new("debian12-fresh");
    let outside = node.outside_snapshot();
    let r = run(&on_node(&init, &node.root, &config));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        node.read("/etc/sysctl.d/k8s.conf")
            .contains("net.ipv4.ip_forward = 1")
    );
    assert_eq!(run(&on_node(&probe[1..], &node.root, &config)).code, 0);
    let prom = dir.path().join("nodeprep.prom");
    let mut w = on_node(&watch, &node.root, &config);
    let at = w.iter().position(|a| a == "--textfile").unwrap();
    w[at + 1] = prom.to_str().unwrap().to_string();
    w.extend(["--count".into(), "1".into()]);
    assert_eq!(run(&w).code, 0);
    assert!(
        std::fs::read_to_string(&prom)
            .unwrap()
            .contains("\nnodeprep_ready 1\n")
    );
    assert_eq!(node.outside_snapshot(), outside);

    // a node apply cannot make ready: the init container still exits 0 (no crash loop),
    // and the probe fails, which is what shows the node
    let broken = Node::new("no-modules");
    let broken_outside = broken.outside_snapshot();
    let r = run(&on_node(&init, &broken.root, &config));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Not ready"), "{}", r.stdout);
    assert_eq!(run(&on_node(&probe[1..], &broken.root, &config)).code, 1);
    assert_eq!(broken.outside_snapshot(), broken_outside);
    // what apply could not even try still fails the pod
    let r = run(&on_node(&init, Path::new("/nonexistent/host"), &config));
    assert_eq!(r.code, 3, "{}", r.stderr);
}
