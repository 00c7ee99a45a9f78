//! examples/kubernetes/node-problem-detector/nodeprep.json: a custom plugin monitor config
//! that node-problem-detector accepts (the fields and checks of its `CustomPluginConfig`),
//! and nodeprep's exit codes read through NPD's protocol: 0 OK, 1 NonOK, anything else
//! Unknown (so 3, could not run, and 64 are Unknown).

use std::path::Path;

use serde_json::Value;

use crate::support::*;

/// NPD's reading of a plugin's exit status (custompluginmonitor/plugin/plugin.go).
fn npd_status(code: i32) -> &'static str {
    match code {
        0 => "OK",
        1 => "NonOK",
        _ => "Unknown",
    }
}

/// A Go duration of the plain forms NPD's config uses (`30s`, `5m`, `1h`), in seconds.
fn seconds(d: &str) -> u64 {
    let (n, unit) = d.split_at(d.len() - 1);
    let n: u64 = n.parse().unwrap_or_else(|_| panic!("duration {d:?}"));
    n * match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => panic!("duration {d:?}: unit {unit:?}"),
    }
}

#[test]
fn the_monitor_config_is_one_npd_accepts() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/kubernetes/node-problem-detector/nodeprep.json");
    let c: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(c["plugin"], "custom");
    assert!(c["source"].as_str().is_some_and(|s| !s.is_empty()));
    let known = [
        "invoke_interval",
        "timeout",
        "max_output_length",
        "concurrency",
        "enable_message_change_based_condition_update",
        "skip_initial_status",
    ];
    let global = c["pluginConfig"].as_object().unwrap();
    assert!(
        global.keys().all(|k| known.contains(&k.as_str())),
        "{global:?}"
    );
    let timeout = seconds(global["timeout"].as_str().unwrap());
    assert!(seconds(global["invoke_interval"].as_str().unwrap()) >= timeout);
    let conditions: Vec<&str> = c["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert!(d["reason"].is_string() && d["message"].is_string(), "{d}");
            d["type"].as_str().unwrap()
        })
        .collect();
    assert_eq!(conditions, ["KubeProxyNodeNotReady"]);
    for rule in c["rules"].as_array().unwrap() {
        assert!(["permanent", "temporary"].contains(&rule["type"].as_str().unwrap()));
        // a permanent problem needs its default condition; no rule outlasts the global timeout
        if rule["type"] == "permanent" {
            assert!(
                conditions.contains(&rule["condition"].as_str().unwrap()),
                "{rule}"
            );
        }
        assert!(
            seconds(rule["timeout"].as_str().unwrap()) <= timeout,
            "{rule}"
        );
        assert!(rule["reason"].is_string(), "{rule}");
        assert!(rule["path"].as_str().unwrap().starts_with('/'), "{rule}");
        // the arguments are a command line nodeprep takes: run them against fixture roots
        let args: Vec<&str> = rule["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(&args[..2], ["--root", "/host"], "{rule}");
        for (fixture, want) in [("debian12-ready", "OK"), ("debian12-fresh", "NonOK")] {
            let node = Node::new(fixture);
            let (before, outside) = (node.snapshot(), node.outside_snapshot());
            let mut line = vec!["--root", node.root.to_str().unwrap()];
            line.extend_from_slice(&args[2..]);
            let r = nodeprep(&line);
            assert_eq!(
                npd_status(r.code),
                want,
                "{fixture}: {}{}",
                r.stdout,
                r.stderr
            );
            // a monitor: nothing written in the root or beside it
            assert_eq!(
                (node.snapshot(), node.outside_snapshot()),
                (before, outside)
            );
        }
        // a root nodeprep cannot read: exit 3, which NPD takes as Unknown
        let mut line = vec!["--root", "/nonexistent/root"];
        line.extend_from_slice(&args[2..]);
        let r = nodeprep(&line);
        assert_eq!((r.code, npd_status(r.code)), (3, "Unknown"), "{}", r.stderr);
    }
}
