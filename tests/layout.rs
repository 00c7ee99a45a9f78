//! The source's layout rules, read from the files: the words below the CLI do not come from
//! it, and no function grows into a wall.

use std::fs;
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn src(under: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src")
            .join(under),
        &mut out,
    );
    assert!(!out.is_empty(), "no sources under src/{under}");
    out
}

#[test]
fn plan_and_probe_do_not_import_the_cli() {
    for p in src("plan").into_iter().chain(src("probe")) {
        let text = fs::read_to_string(&p).unwrap();
        for (n, line) in text.lines().enumerate() {
            assert!(
                !line.contains("crate::cli") && !line.contains("use clap"),
                "{}:{}: {line}",
                p.display(),
                n + 1
            );
        }
    }
}

/// Functions longer than `limit` lines: (file:line name, length). A function starts at a line
/// whose first word is `fn` (after `pub`, `const`...) and ends at the first line that closes
/// it at the same indentation, as rustfmt lays code out.
fn long_functions(limit: usize) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for p in src("") {
        let text = fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let body = line.trim_start();
            let indent = line.len() - body.len();
            let words: Vec<&str> = body.split_whitespace().take(4).collect();
            let Some(at) = words.iter().position(|w| *w == "fn") else {
                continue;
            };
            let qualifiers = ["pub", "pub(crate)", "const", "async", "unsafe"];
            if !words[..at].iter().all(|w| qualifiers.contains(w)) || body.ends_with(';') {
                continue;
            }
            let close = " ".repeat(indent) + "}";
            if let Some(len) = lines[i..].iter().position(|l| *l == close)
                && len + 1 > limit
            {
                let name = words.get(at + 1).and_then(|w| w.split(['(', '<']).next());
                let name = name.unwrap_or_default();
                out.push((format!("{}:{} {name}", p.display(), i + 1), len + 1));
            }
        }
    }
    out
}

#[test]
fn the_length_check_sees_functions() {
    // this file's own helpers are not under src/; src/plan/mod.rs has functions of 30+ lines
    assert!(!long_functions(30).is_empty());
}

#[test]
fn no_function_in_src_is_over_100_lines() {
    let long = long_functions(100);
    assert!(long.is_empty(), "split these by section: {long:#?}");
}

#[test]
fn sources_and_docs_cite_nothing_outside_the_repository() {
    let top = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = src("");
    sources(&top.join("tests"), &mut files);
    files.extend(["README.md", "docs/kube-proxy.md"].map(|f| top.join(f)));
    for p in files {
        let text = fs::read_to_string(&p).unwrap();
        for bad in ["../shared/", "shared/reference", "/work/"] {
            // this test names them, so it is the one exception
            if p.ends_with("tests/layout.rs") {
                continue;
            }
            assert!(!text.contains(bad), "{} cites {bad}", p.display());
        }
    }
}
