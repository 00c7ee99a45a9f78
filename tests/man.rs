//! The committed man pages, rendered by man-db as a reader sees them (`man -l`).

use std::path::Path;
use std::process::Command;

struct Rendered {
    text: String,
    warnings: String,
}

fn render(page: &str) -> Rendered {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("man").join(page);
    assert!(path.is_file(), "{} is missing", path.display());
    let out = Command::new("man")
        .args(["--warnings", "-l"])
        .arg(&path)
        .env("MANWIDTH", "80")
        .env("LC_ALL", "C.UTF-8")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .output()
        .unwrap_or_else(|e| panic!("cannot run man ({e}): install man-db to run this test"));
    assert!(out.status.success(), "man -l {page}: {out:?}");
    Rendered {
        text: String::from_utf8_lossy(&out.stdout).into_owned(),
        warnings: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The text of one section: from its heading to the next heading (a line starting with a capital).
fn section<'a>(text: &'a str, heading: &str) -> &'a str {
    let start = text
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("no {heading} section in:\n{text}"))
        + heading.len()
        + 2;
    let rest = &text[start..];
    let end = rest
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .find(|&i| rest[i..].starts_with(|c: char| c.is_ascii_uppercase()))
        .unwrap_or(rest.len());
    &rest[..end]
}

const PAGES: [&str; 3] = ["nodeprep.8", "nodeprep-check.8", "nodeprep-apply.8"];

#[test]
fn pages_render_cleanly_in_section_8() {
    for page in PAGES {
        let r = render(page);
        assert!(
            r.warnings.is_empty(),
            "{page}: groff warns:\n{}",
            r.warnings
        );
        let title = page.trim_end_matches(".8").to_uppercase();
        let first = r.text.lines().find(|l| !l.trim().is_empty()).unwrap();
        assert!(first.starts_with(&format!("{title}(8)")), "{page}: {first}");
        for heading in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "GLOBAL OPTIONS",
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
            "EXAMPLES",
            "SEE ALSO",
        ] {
            section(&r.text, heading);
        }
        for (n, line) in r.text.lines().enumerate() {
            assert!(
                line.chars().count() <= 80,
                "{page}:{}: wider than 80 columns: {line}",
                n + 1
            );
        }
        // nothing of Markdown or of clap's <VALUE> spelling is left
        for bad in [
            "`",
            "**",
            "<DIR>",
            "<FILE>",
            "<NAME>",
            "](",
            "nodeprep(1)",
            "-check(1)",
        ] {
            assert!(!r.text.contains(bad), "{page}: {bad:?} in:\n{}", r.text);
        }
        let see_also = section(&r.text, "SEE ALSO");
        for other in PAGES.iter().filter(|p| **p != page) {
            let name = format!("{}(8)", other.trim_end_matches(".8"));
            assert!(see_also.contains(&name), "{page}: SEE ALSO lacks {name}");
        }
        for p in ["modprobe(8)", "sysctl(8)", "ipvsadm(8)", "sysctl.d(5)"] {
            assert!(see_also.contains(p), "{page}: SEE ALSO lacks {p}");
        }
        let exit = section(&r.text, "EXIT STATUS");
        for code in ["0", "1", "2", "3", "64", "130"] {
            assert!(
                exit.lines()
                    .any(|l| l.trim_start().starts_with(&format!("{code} "))),
                "{page}: exit {code} not listed:\n{exit}"
            );
        }
        let env = section(&r.text, "ENVIRONMENT");
        for v in ["NODEPREP_ROOT", "NO_COLOR", "TERM"] {
            assert!(env.contains(v), "{page}: ENVIRONMENT lacks {v}");
        }
        let files = section(&r.text, "FILES");
        for f in [
            "/etc/modules-load.d/ipvs.conf",
            "/etc/sysctl.d/k8s.conf",
            "/run/nodeprep.lock",
        ] {
            assert!(files.contains(f), "{page}: FILES lacks {f}");
        }
    }
}

#[test]
fn synopsis_names_each_options_argument() {
    for (page, sub, own) in [
        ("nodeprep-check.8", "check", "[--probe]"),
        (
            "nodeprep-apply.8",
            "apply",
            "[--dry-run] [--detailed-exitcode]",
        ),
    ] {
        let r = render(page);
        // joined into one line, as the reader reads it
        let syn = section(&r.text, "SYNOPSIS")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for words in [
            "[--root DIR]",
            "[-o|--output FORMAT]",
            "[-q|--quiet]",
            "[--module NAME]...",
            "[--sysctl KEY=VALUE]...",
            "[--scheduler NAME]",
            "[--kube-proxy-version X.Y[.Z]]",
            "[--kube-proxy-runtime RUNTIME]",
            "[--kube-proxy-config FILE]",
        ] {
            assert!(
                syn.contains(words),
                "{page}: {words} not in SYNOPSIS: {syn}"
            );
        }
        assert!(syn.contains(&format!("{sub} {own}")), "{page}: {syn}");
        let opts = section(&r.text, "GLOBAL OPTIONS");
        assert!(opts.contains("--root DIR"), "{page}");
        assert!(opts.contains("-o, --output FORMAT"), "{page}");
    }
    let top = render("nodeprep.8");
    let syn = section(&top.text, "SYNOPSIS");
    assert!(syn.contains("nodeprep completion bash|zsh|fish"), "{syn}");
    let cmds = section(&top.text, "COMMANDS");
    for c in ["check", "apply", "completion SHELL", "nodeprep-check(8)"] {
        assert!(cmds.contains(c), "COMMANDS lacks {c}:\n{cmds}");
    }
}

#[test]
fn subcommand_pages_describe_and_show_their_command() {
    for (page, sub, says) in [
        ("nodeprep-check.8", "check", "changes nothing"),
        ("nodeprep-apply.8", "apply", "/run/nodeprep.lock"),
    ] {
        let r = render(page);
        let desc = section(&r.text, "DESCRIPTION");
        // more than the one-line summary of --help
        assert!(desc.matches("\n\n").count() >= 2, "{page}: {desc}");
        assert!(desc.contains(says), "{page}: {desc}");
        let ex = section(&r.text, "EXAMPLES");
        let commands: Vec<&str> = ex
            .lines()
            .filter(|l| l.starts_with("       nodeprep") || l.starts_with("       sudo"))
            .collect();
        assert!(commands.len() >= 2, "{page}: {ex}");
        for c in commands {
            assert!(c.contains(sub), "{page}: example {c} does not use {sub}");
        }
        let opts = section(&r.text, "OPTIONS");
        assert!(opts.contains(if sub == "check" {
            "--probe"
        } else {
            "--dry-run"
        }));
    }
}
