//! `check -o prometheus` under Prometheus' own tools: `promtool check metrics` finds no
//! problem, and node_exporter's textfile collector serves the file (on 127.0.0.1, stopped
//! by the test). Where the tools are not installed (CI installs them), each test says so
//! in one line and skips.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// A tool's path, or None after one line saying why the test skips.
fn tool(name: &str, package: &str) -> Option<String> {
    let found = ["/usr/bin", "/usr/sbin", "/bin"]
        .iter()
        .map(|d| format!("{d}/{name}"))
        .find(|p| std::path::Path::new(p).exists());
    if found.is_none() {
        skip(&format!(
            "a Prometheus test: {name} is not installed (apt-get install {package})"
        ));
    }
    found
}

#[test]
fn the_metrics_pass_promtool_for_every_fixture() {
    let Some(promtool) = tool("promtool", "prometheus") else {
        return;
    };
    for name in [
        "debian12-fresh",
        "debian12-ready",
        "no-modules",
        "modprobe-d",
    ] {
        let node = Node::new(name);
        let before = node.outside_snapshot();
        let r = node.run(&["--output", "prometheus", "check"]);
        assert!(r.code == 0 || r.code == 1, "{name}: {}", r.stderr);
        assert!(r.stdout.contains("\nnodeprep_ready "), "{}", r.stdout);
        let out = output_with_input(
            Command::new(&promtool).args(["check", "metrics"]),
            r.stdout.as_bytes(),
        );
        assert!(
            out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
            "{name}: promtool: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            r.stdout
        );
        assert_eq!(node.outside_snapshot(), before);
    }
}

#[test]
fn the_metrics_say_what_the_report_says() {
    let node = Node::new("no-modules");
    let outside = node.outside_snapshot();
    let r = node.run(&["--output", "prometheus", "check"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(node.outside_snapshot(), outside);
    for line in [
        "nodeprep_ready 0",
        "nodeprep_findings{severity=\"error\"} 2",
        "nodeprep_finding{id=\"KernelModule-ip_vs\",severity=\"error\"} 1",
        "nodeprep_module_state{module=\"ip_vs\",state=\"missing\"} 1",
        "nodeprep_module_state{module=\"ip_vs\",state=\"loaded\"} 0",
        "nodeprep_sysctl_ok{key=\"net.ipv4.ip_forward\",when=\"boot\"} 0",
        "nodeprep_kube_proxy_outcome{mode=\"ipvs\",outcome=\"fail\",version=\"1.37\"} 1",
        "nodeprep_kube_proxy_outcome{mode=\"iptables\",outcome=\"iptables\",version=\"1.37\"} 1",
    ] {
        assert!(
            r.stdout.lines().any(|l| l == line),
            "{line} not in\n{}",
            r.stdout
        );
    }
    let stamp: u64 = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("nodeprep_last_check_timestamp_seconds "))
        .and_then(|t| t.parse().ok())
        .expect("a timestamp");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(stamp <= now && now - stamp < 600, "{stamp} vs {now}");
}

/// node_exporter, stopped when dropped.
struct Exporter(Child);

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.0 GET of `/metrics` on 127.0.0.1:`port`.
fn scrape(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

#[test]
fn node_exporter_serves_the_metrics_from_its_textfile_directory() {
    let Some(exporter) = tool("prometheus-node-exporter", "prometheus-node-exporter") else {
        return;
    };
    let node = Node::new("debian12-ready");
    let dir = tempfile::tempdir().unwrap();
    let r = node.run(&["--output", "prometheus", "check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    std::fs::write(dir.path().join("nodeprep.prom"), &r.stdout).unwrap();
    // a free port on the loopback, given to node_exporter
    let port = TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _running = Exporter(
        Command::new(exporter)
            .arg("--collector.disable-defaults")
            .arg("--collector.textfile")
            .arg(format!(
                "--collector.textfile.directory={}",
                dir.path().display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("node_exporter starts"),
    );
    let started = Instant::now();
    let body = loop {
        if let Some(b) = scrape(port).filter(|b| b.contains("nodeprep_ready")) {
            break b;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "node_exporter on 127.0.0.1:{port} never served nodeprep's metrics"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(body.contains("\nnodeprep_ready 1\n"), "{body}");
    assert!(
        body.contains(
            "nodeprep_kube_proxy_outcome{mode=\"ipvs\",outcome=\"ipvs\",version=\"1.30\"} 1"
        ),
        "{body}"
    );
    // the collector read the file without error
    assert!(
        body.contains("node_textfile_scrape_error 0"),
        "{}",
        body.lines()
            .filter(|l| l.contains("textfile"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
