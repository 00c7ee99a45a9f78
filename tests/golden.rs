//! Golden outputs: what a user sees for each shipped fixture root, kept as files
//! (`tests/golden/NAME/`), so that a change in a report is a reviewed diff.
//! `NODEPREP_BLESS=1 cargo test golden` writes them anew from what the binary prints now.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{Node, nodeprep};

/// Every fixture root under tests/fixtures.
fn fixture_names() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .expect("tests/fixtures")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn expected_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// The root's temporary path shown as `$ROOT`, the exit code as the first line.
fn normalised(root: &Path, args: &[&str]) -> String {
    let mut all = vec!["--root", root.to_str().unwrap()];
    all.extend_from_slice(args);
    let r = nodeprep(&all);
    let shown = format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}",
        r.code, r.stdout, r.stderr
    );
    let shown = shown.replace(root.to_str().unwrap(), "$ROOT");
    // the check's time, the one value that changes from run to run
    shown
        .lines()
        .map(
            |l| match l.strip_prefix("nodeprep_last_check_timestamp_seconds ") {
                Some(_) => "nodeprep_last_check_timestamp_seconds $NOW".to_string(),
                None => l.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

const CASES: [(&str, &[&str]); 4] = [
    ("check.txt", &["check"]),
    ("check.json", &["--output", "json", "check"]),
    ("check.prom", &["--output", "prometheus", "check"]),
    ("apply-dry-run.txt", &["apply", "--dry-run"]),
];

#[test]
fn every_fixture_prints_what_its_golden_files_say() {
    let bless = std::env::var_os("NODEPREP_BLESS").is_some_and(|v| v == "1");
    let mut differ = Vec::new();
    for name in fixture_names() {
        let node = Node::new(&name);
        let before = node.outside_snapshot();
        for (file, args) in CASES {
            let got = normalised(&node.root, args);
            let path = expected_dir(&name).join(file);
            if bless {
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(&path, &got).unwrap();
                continue;
            }
            let want = fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}; run NODEPREP_BLESS=1 cargo test golden",
                    path.display()
                )
            });
            if got != want {
                let diff = similar::TextDiff::from_lines(&want, &got)
                    .unified_diff()
                    .header(&path.display().to_string(), "now")
                    .to_string();
                differ.push(diff);
            }
        }
        assert_eq!(node.outside_snapshot(), before, "{name}: outside changed");
    }
    assert!(
        differ.is_empty(),
        "reports differ from their golden files (NODEPREP_BLESS=1 cargo test golden \
         writes them anew; review the diff):\n{}",
        differ.join("\n")
    );
}
