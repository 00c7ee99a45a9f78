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

/// Which of the crate's top-level modules each may import. Data flows one way, `cli →
/// config → probe → plan → apply → report`: `config` is built from the CLI and hands each
/// stage the narrow value it needs (`probe::Request`, `plan::Ask`, `report::Options`); each
/// stage reads what the stages before it produced and never the settings. The words they
/// share (`domain`, `exit`, `text`) import nothing of the crate, and the machine boundary
/// (`signals`, `root`, `system`) is below every stage. `run`, `ansible`, `docs` and
/// `entry` string the rest together.
const ALLOWED: [(&str, &[&str]); 21] = [
    ("domain", &[]),
    ("exit", &[]),
    ("text", &[]),
    ("signals", &["exit"]),
    ("root", &["signals"]),
    ("sandbox", &[]),
    ("system", &["root", "signals", "sandbox"]),
    ("cli", &["domain", "exit"]),
    (
        "probe",
        &["domain", "exit", "text", "root", "system", "signals"],
    ),
    ("plan", &["probe", "domain", "exit", "text"]),
    (
        "apply",
        &[
            "plan", "probe", "domain", "exit", "text", "root", "system", "signals",
        ],
    ),
    ("report", &["plan", "probe", "domain", "exit", "text"]),
    (
        "config",
        &[
            "cli", "probe", "plan", "report", "domain", "exit", "text", "root",
        ],
    ),
    (
        "run",
        &[
            "config", "probe", "plan", "apply", "report", "domain", "exit", "text", "root",
        ],
    ),
    ("docs", &["cli", "probe", "domain", "exit"]),
    (
        "ansible",
        &[
            "run", "config", "cli", "plan", "probe", "domain", "exit", "text", "root",
        ],
    ),
    (
        "entry",
        &[
            "ansible", "docs", "run", "watch", "config", "cli", "probe", "domain", "exit", "root",
            "signals", "system",
        ],
    ),
    (
        "watch",
        &["run", "config", "report", "plan", "exit", "signals"],
    ),
    ("lib", &[]),
    ("main", &[]),
    ("modes_tests", &[]),
];

/// The top-level modules a source file names as `crate::NAME` (in `use` lines and paths,
/// `crate::{a, b}` too), outside its `#[cfg(test)]` module.
fn imports(text: &str) -> std::collections::BTreeSet<String> {
    let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    let mut out = std::collections::BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(list) => list
                .split('}')
                .next()
                .unwrap_or("")
                .split(',')
                .map(|n| n.trim().split("::").next().unwrap_or(""))
                .collect(),
            None => vec![
                rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                    .next()
                    .unwrap_or(""),
            ],
        };
        out.extend(
            names
                .into_iter()
                .filter(|n| !n.is_empty())
                .map(String::from),
        );
    }
    out
}

/// The top-level module a file under src/ belongs to.
fn top_module(path: &Path) -> String {
    let rel = path
        .strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
        .unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

#[test]
fn each_module_imports_only_what_its_layer_may() {
    let mut wrong = Vec::new();
    for p in src("") {
        let module = top_module(&p);
        if p.ends_with("plan/modes_tests.rs") {
            continue;
        }
        let allowed = ALLOWED
            .iter()
            .find(|(m, _)| *m == module)
            .unwrap_or_else(|| panic!("{module} ({}) is not in ALLOWED", p.display()))
            .1;
        let text = fs::read_to_string(&p).unwrap();
        for import in imports(&text) {
            if import != module && !allowed.contains(&import.as_str()) {
                wrong.push(format!("{}: crate::{import}", p.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layers: {wrong:#?}");
}

/// The table itself has no cycle (so no import cycle can pass it).
#[test]
fn the_layers_have_no_cycle() {
    fn visit(m: &str, path: &mut Vec<String>) {
        assert!(!path.iter().any(|p| p == m), "cycle: {path:?} -> {m}");
        path.push(m.to_string());
        let allowed = ALLOWED
            .iter()
            .find(|(n, _)| *n == m)
            .map_or(&[][..], |e| e.1);
        for next in allowed {
            visit(next, path);
        }
        path.pop();
    }
    for (m, _) in ALLOWED {
        visit(m, &mut Vec::new());
    }
}

#[test]
fn the_import_reader_sees_lists_and_paths() {
    let seen = imports(
        "use crate::{plan::Ask, probe};\nlet x = crate::root::Root::new(\"/\");\n#[cfg(test)]\nmod tests { use crate::cli; }",
    );
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["plan", "probe", "root"]
    );
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
