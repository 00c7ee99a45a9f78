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
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(under), &mut out);
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
