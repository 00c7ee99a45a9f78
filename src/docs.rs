//! Man pages and shell completions, rendered from the clap definition in [`crate::cli`].
//!
//! The rendered files are committed under `man/` and `completions/` (both directories hold
//! only generated files). The test `committed_docs_match_the_cli` fails when they drift from
//! the CLI; `NODEPREP_BLESS=1 cargo test committed_docs` rewrites them.
//!
//! Nothing here depends on the date or the machine, so the output is reproducible.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::{Generator, Shell};
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, italic, roman};

use crate::cli::Cli;
use crate::exit::Exit;
use crate::probe::{LOCK_FILE, MODULES_FILE, SYSCTL_FILE};

/// The binary's name, as installed.
pub const BIN: &str = "nodeprep";

/// The directories, relative to the crate root, that hold the generated files.
pub const MAN_DIR: &str = "man";
pub const COMPLETIONS_DIR: &str = "completions";

/// The shells completions are generated for.
pub const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// One example: the command line, what it does, and the subcommand it belongs to.
struct Example {
    line: &'static str,
    what: &'static str,
    subcommand: &'static str,
}

const EXAMPLES: [Example; 4] = [
    Example {
        line: "nodeprep check",
        what: "Report whether the node is ready for kube-proxy's IPVS mode. Reads only; needs no root.",
        subcommand: "check",
    },
    Example {
        line: "nodeprep check -o json",
        what: "The same report as JSON, for scripts and configuration management.",
        subcommand: "check",
    },
    Example {
        line: "sudo nodeprep apply --detailed-exitcode",
        what: "Make the node ready: load the modules, persist them and the sysctls, set the live sysctls. \
               Exits 2 when something was changed and the node is ready, 0 when there was nothing to do.",
        subcommand: "apply",
    },
    Example {
        line: "nodeprep --root /mnt/node apply --dry-run",
        what: "Show what apply would change in the node tree mounted at /mnt/node, with a diff of each file, \
               and change nothing.",
        subcommand: "apply",
    },
];

/// The clap command as the man pages see it: built (global options propagated to the
/// subcommands), and without clap's `help` subcommand, which has no page of its own.
fn man_command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// The subcommands with a page of their own: `completion` is described on nodeprep's page.
fn paged_subcommands(top: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    top.get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "completion")
}

/// The man pages: file name (`nodeprep.1`, `nodeprep-check.1`, …) and roff source.
pub fn man_pages() -> io::Result<Vec<(String, String)>> {
    let top = man_command();
    let mut pages = vec![(
        Man::new(top.clone()).get_filename(),
        man_page(&top, &top, None)?,
    )];
    for sub in paged_subcommands(&top) {
        let man = Man::new(sub.clone());
        pages.push((
            man.get_filename(),
            man_page(&top, sub, Some(sub.get_name()))?,
        ));
    }
    Ok(pages)
}

/// The man page for the top-level command `top` (`subcommand` None) or one of its subcommands.
fn man_page(
    top: &clap::Command,
    cmd: &clap::Command,
    subcommand: Option<&str>,
) -> io::Result<String> {
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
    // No date, for reproducible output. clap_mangen writes an empty date as nothing at all,
    // which shifts the source ("nodeprep 0.1.0") into the date's place; `""` keeps the slot.
    // Subcommands have no version of their own, so every page names the top-level one.
    let man = Man::new(cmd.clone())
        .title(name.to_uppercase())
        .date("\"\"")
        .source(format!("{BIN} {}", top.get_version().unwrap_or_default()));
    let mut out = Sections::default();
    out.push(|w| man.render_title(w))?;
    out.push(|w| man.render_name_section(w))?;
    out.push(|w| man.render_synopsis_section(w))?;
    out.push(|w| man.render_description_section(w))?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        out.push(|w| man.render_options_section(w))?;
    }
    if cmd.has_subcommands() {
        out.push(|w| man.render_subcommands_section(w))?;
    }
    // clap's after_help (the exit codes in `--help`) is replaced by EXIT STATUS below,
    // so render_extra_section is left out; VERSION too, the title line carries it.
    out.push_roff(&exit_status_section());
    out.push_roff(&environment_section());
    out.push_roff(&files_section());
    out.push_roff(&examples_section(subcommand));
    out.push_roff(&see_also_section(top, cmd));
    Ok(out.text)
}

/// Concatenates rendered sections. Every roff render starts with the same preamble (a string
/// definition for the apostrophe); it is kept once, at the top.
#[derive(Default)]
struct Sections {
    text: String,
}

impl Sections {
    fn push(&mut self, render: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> io::Result<()> {
        let mut buf = Vec::new();
        render(&mut buf)?;
        let s =
            String::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        self.append(&s);
        Ok(())
    }

    fn push_roff(&mut self, roff: &Roff) {
        self.append(&roff.render());
    }

    fn append(&mut self, s: &str) {
        let preamble = Roff::new().render();
        match s.strip_prefix(&preamble) {
            Some(rest) if !self.text.is_empty() => self.text.push_str(rest),
            _ => self.text.push_str(s),
        }
    }
}

fn exit_status_section() -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["EXIT STATUS"]);
    for e in Exit::ALL {
        r.control("TP", []);
        r.text([bold(e.code().to_string())]);
        r.text([roman(e.meaning())]);
    }
    r
}

fn environment_section() -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["ENVIRONMENT"]);
    r.control("TP", []);
    r.text([bold("NODEPREP_ROOT")]);
    r.text([
        roman("The default for "),
        bold("--root"),
        roman(" "),
        italic("DIR"),
        roman("; the option wins."),
    ]);
    r.control("TP", []);
    r.text([bold("NO_COLOR")]);
    r.text([
        roman("When set and not empty, the text report is never coloured, as with "),
        bold("--no-color"),
        roman("."),
    ]);
    r
}

fn files_section() -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["FILES"]);
    r.text([
        roman("The paths are on the node: with "),
        bold("--root"),
        roman(" "),
        italic("DIR"),
        roman(" each is taken under "),
        italic("DIR"),
        roman("."),
    ]);
    r.control("TP", []);
    r.text([italic(MODULES_FILE)]);
    r.text([
        roman("The kernel modules to load at boot. "),
        bold("check"),
        roman(" reads it with the other modules-load.d files; "),
        bold("apply"),
        roman(" writes it."),
    ]);
    r.control("TP", []);
    r.text([italic(SYSCTL_FILE)]);
    r.text([
        roman("The sysctls to set at boot. "),
        bold("check"),
        roman(" reads it with the other sysctl.d files; "),
        bold("apply"),
        roman(" writes it, rewriting an existing line for a key in place."),
    ]);
    r.control("TP", []);
    r.text([italic(LOCK_FILE)]);
    r.text([
        roman("Held by "),
        bold("apply"),
        roman(" (not with "),
        bold("--dry-run"),
        roman(") so that one apply runs at a time per root; when another holds it, apply exits 3."),
    ]);
    r
}

/// All examples on the top-level page; on a subcommand's page, those that use it.
fn examples_section(subcommand: Option<&str>) -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["EXAMPLES"]);
    for ex in EXAMPLES
        .iter()
        .filter(|ex| subcommand.is_none_or(|s| s == ex.subcommand))
    {
        r.control("TP", []);
        r.text([bold(ex.line)]);
        r.text([roman(ex.what)]);
    }
    r
}

/// The other pages of nodeprep, then the system's pages for what it touches.
fn see_also_section(top: &clap::Command, cmd: &clap::Command) -> Roff {
    let this = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
    let pages = [BIN.to_string()]
        .into_iter()
        .chain(paged_subcommands(top).map(|s| format!("{BIN}-{}", s.get_name())))
        .filter(|p| p != this)
        .map(|p| (p, "1"))
        .chain([
            ("modules-load.d".to_string(), "5"),
            ("sysctl.d".to_string(), "5"),
            ("ipvsadm".to_string(), "8"),
        ]);
    let mut line = Vec::new();
    for (i, (page, section)) in pages.enumerate() {
        if i > 0 {
            line.push(roman(", "));
        }
        line.push(bold(page));
        line.push(roman(format!("({section})")));
    }
    let mut r = Roff::new();
    r.control("SH", ["SEE ALSO"]);
    r.text(line);
    r
}

/// The completion script for one shell, as `nodeprep completion SHELL` prints it.
pub fn completion(shell: Shell) -> String {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut buf);
    // clap_complete writes only what it was given: UTF-8 names and help text
    String::from_utf8_lossy(&buf).into_owned()
}

/// The shell completions: file name (`nodeprep.bash`, `_nodeprep`, `nodeprep.fish`) and script.
pub fn completions() -> Vec<(String, String)> {
    SHELLS
        .iter()
        .map(|&shell| (shell.file_name(BIN), completion(shell)))
        .collect()
}

/// Every generated file: its path relative to the crate root, and its content.
pub fn render_all() -> io::Result<Vec<(PathBuf, String)>> {
    let mut files: Vec<(PathBuf, String)> = man_pages()?
        .into_iter()
        .map(|(name, text)| (Path::new(MAN_DIR).join(name), text))
        .collect();
    files.extend(
        completions()
            .into_iter()
            .map(|(name, text)| (Path::new(COMPLETIONS_DIR).join(name), text)),
    );
    Ok(files)
}

/// Writes every generated file under `base` (normally the crate root), creating the directories.
pub fn write_all(base: &Path) -> io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (rel, text) in render_all()? {
        let path = base.join(&rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::write(&path, text)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLESS: &str = "NODEPREP_BLESS=1 cargo test committed_docs";

    /// Files in the generated directories that `render_all` no longer produces.
    fn leftovers(base: &Path, expected: &[PathBuf]) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for dir in [MAN_DIR, COMPLETIONS_DIR] {
            let Ok(entries) = fs::read_dir(base.join(dir)) else {
                continue;
            };
            for entry in entries.flatten() {
                let rel = Path::new(dir).join(entry.file_name());
                if entry.path().is_file() && !expected.contains(&rel) {
                    out.push(rel);
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn committed_docs_match_the_cli() {
        let base = Path::new(env!("CARGO_MANIFEST_DIR"));
        let files = render_all().unwrap();
        let expected: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();

        if std::env::var_os("NODEPREP_BLESS").is_some_and(|v| v == "1") {
            write_all(base).unwrap();
            for rel in leftovers(base, &expected) {
                fs::remove_file(base.join(&rel)).unwrap();
            }
            return;
        }

        let mut problems = Vec::new();
        for (rel, want) in &files {
            match fs::read_to_string(base.join(rel)) {
                Err(e) => problems.push(format!("{}: {e}", rel.display())),
                Ok(have) if have != *want => {
                    let line = have
                        .lines()
                        .zip(want.lines())
                        .position(|(h, w)| h != w)
                        .unwrap_or_else(|| have.lines().count().min(want.lines().count()))
                        + 1;
                    problems.push(format!(
                        "{}: differs from what src/cli.rs generates, from line {line}",
                        rel.display()
                    ));
                }
                Ok(_) => {}
            }
        }
        for rel in leftovers(base, &expected) {
            problems.push(format!("{}: no longer generated", rel.display()));
        }
        assert!(
            problems.is_empty(),
            "the committed man pages and completions are out of date:\n  {}\nrun `{BLESS}` and commit the result",
            problems.join("\n  ")
        );
    }

    /// Roff source to plain text, enough to read what a page says: headings kept, other
    /// control lines dropped, font changes and escapes undone.
    fn plain(roff: &str) -> String {
        roff.lines()
            .filter_map(|l| match l.strip_prefix(".SH ") {
                Some(heading) => Some(heading.trim_matches('"')),
                None => (!l.starts_with('.')).then_some(l),
            })
            .map(|l| {
                l.replace("\\fB", "")
                    .replace("\\fI", "")
                    .replace("\\fR", "")
                    .replace("\\fP", "")
                    .replace("\\*(Aq", "'")
                    .replace("\\-", "-")
                    .replace("\\&", "")
                    .replace("\\\\", "\\")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn page(name: &str) -> String {
        man_pages()
            .unwrap()
            .into_iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no man page {name}"))
            .1
    }

    #[test]
    fn top_level_man_page_states_every_exit_code() {
        let roff = page("nodeprep.1");
        let text = plain(&roff);
        let section = text
            .split_once("EXIT STATUS")
            .map(|(_, rest)| rest)
            .expect("an EXIT STATUS section");
        for (code, words) in [
            (0, "ready (nothing of error severity found)"),
            (
                1,
                "not ready (check found errors, or apply could not make the node ready)",
            ),
            (
                2,
                "only with apply --detailed-exitcode: changes were made and the node is ready",
            ),
            (
                3,
                "could not run (not root, unreadable root, I/O error, read-only or full filesystem, lock held)",
            ),
            (64, "usage error"),
            (130, "interrupted"),
        ] {
            assert!(
                section.contains(&format!("\n{code}\n{words}\n")),
                "exit {code} is not stated as {words:?} in:\n{text}"
            );
        }
        assert!(roff.contains(".SH \"EXIT STATUS\""));
        for heading in ["ENVIRONMENT", "FILES", "EXAMPLES"] {
            assert!(roff.contains(&format!(".SH {heading}\n")), "no {heading}");
        }
        for needle in [
            "NODEPREP_ROOT",
            "NO_COLOR",
            "/etc/modules-load.d/ipvs.conf",
            "/etc/sysctl.d/k8s.conf",
            "/run/nodeprep.lock",
            "\nnodeprep check\n",
            "\nnodeprep check -o json\n",
            "\nsudo nodeprep apply --detailed-exitcode\n",
            "\nnodeprep --root /mnt/node apply --dry-run\n",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
        }
    }

    #[test]
    fn subcommand_pages_carry_the_global_options_and_the_extra_sections() {
        for name in ["nodeprep-check.1", "nodeprep-apply.1"] {
            let text = plain(&page(name));
            for needle in [
                "--root",
                "--kube-proxy-runtime",
                "EXIT STATUS",
                "64",
                "NO_COLOR",
            ] {
                assert!(text.contains(needle), "{needle:?} missing from {name}");
            }
        }
        assert!(plain(&page("nodeprep-check.1")).contains("--probe"));
        assert!(plain(&page("nodeprep-apply.1")).contains("--detailed-exitcode"));
        assert!(!man_pages().unwrap().iter().any(|(n, _)| n.contains("help")));
    }

    #[test]
    fn output_has_no_date_and_one_preamble() {
        for (name, roff) in man_pages().unwrap() {
            // .TH title section date source manual: the date is left empty
            let th = roff.lines().find(|l| l.starts_with(".TH ")).unwrap();
            assert!(th.contains(" 1 \"\" \"nodeprep "), "{name}: {th}");
            assert_eq!(roff.matches(".ds Aq").count(), 2, "{name}"); // .ie and .el, once
        }
        assert_eq!(render_all().unwrap(), render_all().unwrap());
    }

    #[test]
    fn completions_know_every_option() {
        let all = completions();
        let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["nodeprep.bash", "_nodeprep", "nodeprep.fish"]);
        let bash = &all[0].1;
        assert!(bash.contains("--kube-proxy-runtime"));
        for script in all.iter().map(|(_, s)| s) {
            for needle in [
                "kube-proxy-runtime",
                "kube-proxy-config",
                "detailed-exitcode",
                "probe",
            ] {
                assert!(script.contains(needle), "{needle} missing");
            }
        }
    }
}
