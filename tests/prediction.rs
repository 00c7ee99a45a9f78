//! The dry run predicts apply: every fixture root twice — `apply --dry-run`, then `apply` on a
//! copy — and the prediction must hold for the exit code, the files' final content, the
//! readiness and the actions.

use std::fs;

use crate::support::*;

const MANAGED: [&str; 2] = ["/etc/modules-load.d/ipvs.conf", "/etc/sysctl.d/k8s.conf"];

/// `before` with the hunks of a unified diff applied (the `@@ -a,b +c,d @@` form `similar`
/// prints, with `\ No newline at end of file` markers).
fn patch(before: &str, hunks: &str) -> String {
    let old: Vec<&str> = before.split_inclusive('\n').collect();
    let mut out: Vec<String> = Vec::new();
    let mut next = 0; // index into `old` of the next line not yet copied
    for line in hunks.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("@@ -") {
            let start: usize = rest
                .split([',', ' '])
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("bad hunk header {line:?}"));
            // `-0,0` is an empty old file; otherwise lines are 1-based
            let at = start.saturating_sub(1).max(next);
            out.extend(old[next..at].iter().map(|l| l.to_string()));
            next = at;
        } else if line.starts_with("\\ ") {
            let last = out.last_mut().expect("a no-newline marker follows a line");
            if last.ends_with('\n') {
                last.pop();
            }
        } else if let Some(l) = line.strip_prefix('+') {
            out.push(l.to_string());
        } else if let Some(l) = line.strip_prefix('-') {
            assert_eq!(
                old.get(next).map(|o| o.trim_end_matches('\n')),
                Some(l.trim_end_matches('\n')),
                "a removed line is not in the file"
            );
            next += 1;
        } else if let Some(l) = line.strip_prefix(' ') {
            assert_eq!(
                old.get(next).map(|o| o.trim_end_matches('\n')),
                Some(l.trim_end_matches('\n')),
                "a context line is not in the file"
            );
            out.push(old[next].to_string());
            next += 1;
        }
    }
    out.extend(old[next..].iter().map(|l| l.to_string()));
    out.concat()
}

#[test]
fn the_patcher_applies_a_hunk() {
    let before = "a\nb\nc\nd\ne\nf\ng\nh\n";
    let hunks = "@@ -2,3 +2,3 @@\n b\n-c\n+C\n d\n";
    assert_eq!(patch(before, hunks), "a\nb\nC\nd\ne\nf\ng\nh\n");
    assert_eq!(patch("", "@@ -0,0 +1,2 @@\n+x\n+y\n"), "x\ny\n");
}

fn file(node: &Node, path: &str) -> Option<String> {
    fs::read_to_string(node.path(path)).ok()
}

/// Runs the dry run on one copy and apply on another, both prepared by `setup`, and checks
/// the prediction.
fn predicts(name: &str, fixture: &str, setup: impl Fn(&Node), args: &[&str]) {
    let (seen, done) = (Node::new(fixture), Node::new(fixture));
    setup(&seen);
    setup(&done);
    let dry_args: Vec<&str> = args
        .iter()
        .copied()
        .chain(["apply", "--dry-run", "--detailed-exitcode"])
        .collect();
    let real_args: Vec<&str> = args
        .iter()
        .copied()
        .chain(["apply", "--detailed-exitcode"])
        .collect();
    let (dry_code, dry) = seen.json(&dry_args);
    let (code, applied) = done.json(&real_args);
    assert_eq!(
        dry_code, code,
        "{name}: the dry run predicted exit {dry_code}, apply exited {code}\ndry run: {dry}\napply: {applied}"
    );
    assert_eq!(
        dry["ready_after_apply"], applied["ready"],
        "{name}: readiness after apply"
    );
    assert_eq!(dry["changed"], applied["changed"], "{name}: changed");
    assert_eq!(
        action_rows(&dry),
        action_rows(&applied),
        "{name}: the actions"
    );
    for path in MANAGED {
        let diff = dry["diffs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["path"] == path);
        let before = file(&seen, path);
        let predicted = match diff {
            Some(d) => Some(patch(
                before.as_deref().unwrap_or(""),
                d["diff"].as_str().unwrap(),
            )),
            None => before,
        };
        assert_eq!(predicted, file(&done, path), "{name}: {path} after apply");
    }
}

#[test]
fn every_fixture_root_is_predicted_by_its_dry_run() {
    let mut names: Vec<String> = fs::read_dir(fixture(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 9, "fixtures: {names:?}");
    for name in &names {
        predicts(name, name, |_| {}, &[]);
    }
}

#[test]
fn a_root_without_modprobe_is_predicted() {
    // the case: the dry run listed ok loads and exit 2 while apply exited 1
    let strip = |n: &Node| fs::remove_file(n.path("/usr/sbin/modprobe")).unwrap();
    predicts("no modprobe", "debian12-fresh", strip, &[]);
    let n = Node::new("debian12-fresh");
    strip(&n);
    let (code, v) = n.json(&["apply"]);
    assert_eq!(code, 1, "{v}");
    let ip_vs = finding(&v, "KernelModule-ip_vs").expect("ip_vs is still not loaded");
    let msg = ip_vs["message"].as_str().unwrap();
    assert!(!msg.contains("`nodeprep apply` loads them"), "{msg}");
    assert!(msg.contains("cannot load them (no modprobe in"), "{msg}");
}

#[test]
fn a_failing_modprobe_is_not_advertised_again() {
    // modprobe is there but fails: apply cannot know beforehand, but afterwards the findings
    // say what happened instead of promising that apply loads the module
    let n = Node::new("debian12-fresh");
    n.script(
        "/usr/sbin/modprobe",
        "echo \"modprobe: ERROR: $1 refused\" >&2; exit 1",
    );
    let (code, v) = n.json(&["apply"]);
    assert_eq!(code, 1, "{v}");
    let msg = finding(&v, "KernelModule-ip_vs").expect("ip_vs is not loaded")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!msg.contains("`nodeprep apply` loads it"), "{msg}");
    assert!(msg.contains("modprobe ip_vs failed (exit 1)"), "{msg}");
}

#[test]
fn variants_are_predicted() {
    let image = |n: &Node| fs::remove_dir_all(n.path("/proc")).unwrap();
    predicts("image", "debian12-fresh", image, &[]);
    let disabled = |n: &Node| n.write("/proc/sys/kernel/modules_disabled", "1\n");
    predicts("modules_disabled", "debian12-fresh", disabled, &[]);
    predicts(
        "nftables mode",
        "debian12-fresh",
        |_| {},
        &["--mode", "nftables"],
    );
    predicts(
        "missing scheduler",
        "debian12-fresh",
        |_| {},
        &["--scheduler", "twos"],
    );
}
