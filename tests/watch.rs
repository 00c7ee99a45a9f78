//! `nodeprep watch`: drift reported (the metrics file and one log line per change), never
//! repaired, a clean stop on SIGTERM, and memory that does not grow over hundreds of checks.

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::*;

/// Waits (at most 20 s) until `path` holds a line `line`.
fn wait_for_line(path: &std::path::Path, line: &str) {
    let since = Instant::now();
    while !std::fs::read_to_string(path).is_ok_and(|t| t.lines().any(|l| l == line)) {
        assert!(
            since.elapsed() < Duration::from_secs(20),
            "{} never held {line:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn drift_is_reported_when_a_file_changes_and_sigterm_stops_it_with_0() {
    let node = Node::new("debian12-ready");
    let before = node.snapshot();
    let outside = node.outside_snapshot();
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("nodeprep.prom");
    let root = node.root.to_str().unwrap();
    let args = ["--root", root, "watch", "--interval", "10m", "--textfile"];
    let mut child = command(&args)
        .arg(&prom)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_line(&prom, "nodeprep_ready 1");
    // a package's file that wins over k8s.conf at boot: seen at once, not after 10 minutes
    node.write("/etc/sysctl.d/zz-local.conf", "net.ipv4.ip_forward = 0\n");
    wait_for_line(&prom, "nodeprep_ready 0");
    wait_for_line(
        &prom,
        "nodeprep_finding{id=\"SysctlBoot-net.ipv4.ip_forward\",severity=\"error\"} 1",
    );
    std::fs::remove_file(node.path("/etc/sysctl.d/zz-local.conf")).unwrap();
    wait_for_line(&prom, "nodeprep_ready 1");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{log}");
    assert_eq!(
        log,
        "nodeprep watch: ready\nnodeprep watch: not ready: SysctlBoot-net.ipv4.ip_forward\nnodeprep watch: ready\nnodeprep watch: stopped\n"
    );
    // drift is reported, never repaired: the root is as the test left it
    assert_eq!(node.snapshot(), before);
    assert_eq!(node.outside_snapshot(), outside);
    // the metrics file alone, no temp file beside it
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["nodeprep.prom"]);
}

/// VmRSS of a process, in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[test]
fn memory_does_not_grow_over_hundreds_of_checks() {
    let node = Node::new("debian12-ready");
    let (before, outside) = (node.snapshot(), node.outside_snapshot());
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("nodeprep.prom");
    let root = node.root.to_str().unwrap();
    let args = [
        "--root",
        root,
        "watch",
        "--interval",
        "1ms",
        "--count",
        "300",
        "--textfile",
    ];
    let mut child = command(&args)
        .arg(&prom)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut samples = Vec::new();
    let since = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            since.elapsed() < Duration::from_secs(300),
            "300 checks took 5 minutes"
        );
        if let Some(kib) = rss_kib(child.id()) {
            samples.push(kib);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(
        (node.snapshot(), node.outside_snapshot()),
        (before, outside)
    );
    assert!(samples.len() >= 20, "too few samples: {samples:?}");
    // the largest of the first fifth of the run against the largest of the last fifth
    let fifth = samples.len() / 5;
    let early = samples[..fifth].iter().max().unwrap();
    let late = samples[samples.len() - fifth..].iter().max().unwrap();
    assert!(
        *late <= early + 1024,
        "RSS grew from {early} KiB to {late} KiB over 300 checks"
    );
}

#[test]
fn a_bad_interval_is_a_usage_error() {
    for bad in ["5", "0s", "5 minutes", "-1m", "1d"] {
        let interval = format!("--interval={bad}");
        let r = nodeprep(&["watch", &interval, "--count", "1"]);
        assert_eq!(r.code, 64, "{bad}: {}", r.stderr);
        assert!(r.stderr.contains("--interval"), "{bad}: {}", r.stderr);
    }
}
