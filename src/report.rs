//! Text and JSON reports. Text follows kubeadm's preflight conventions.

mod modes;
mod prometheus;

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use serde::Serialize;

use crate::plan::actions::Action;
use crate::plan::files::FileChange;
use crate::plan::{Assessment, Finding, ModuleRow, Severity};
use crate::probe::Facts;
use crate::probe::binaries::Binary;
use crate::probe::live::LiveProbe;

/// Everything a report shows beyond the assessment.
#[derive(Default)]
pub struct Extras<'a> {
    /// Present for apply: what was done (or, with dry_run, would be done).
    pub actions: Option<&'a [Action]>,
    pub dry_run: bool,
    pub diffs: &'a [(FileChange, String)],
    pub ready_after_apply: Option<bool>,
    pub probe: Option<&'a LiveProbe>,
    /// apply --dry-run: the node as apply would leave it, and its assessment; the text
    /// report shows these (the JSON report keeps the current state and `ready_after_apply`).
    pub predicted: Option<(&'a Facts, &'a Assessment)>,
}

#[derive(Serialize)]
struct KernelJson<'a> {
    release: &'a str,
    modules_supported: bool,
    modules_disabled: bool,
    config: Option<&'a str>,
}

#[derive(Serialize)]
struct OsJson<'a> {
    id: &'a str,
    version_id: &'a str,
    pretty_name: &'a str,
}

#[derive(Serialize)]
struct Json<'a> {
    nodeprep_version: &'a str,
    command: &'a str,
    root: String,
    ready: bool,
    kernel: KernelJson<'a>,
    os: OsJson<'a>,
    modules: &'a [ModuleRow],
    sysctls: &'a [crate::plan::SysctlRow],
    binaries: &'a [Binary],
    kube_proxy: &'a crate::plan::KubeProxyVerdict,
    findings: &'a [crate::plan::Finding],
    #[serde(skip_serializing_if = "Option::is_none")]
    probe: Option<&'a LiveProbe>,
    /// `check --probe` in nftables mode: the scratch tables' answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    nft_probe: Option<&'a crate::probe::nftprobe::NftProbe>,
    #[serde(skip_serializing_if = "Option::is_none")]
    changed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dry_run: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ready_after_apply: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actions: Option<&'a [Action]>,
    /// --dry-run: each file that would be written, as a unified diff.
    #[serde(skip_serializing_if = "Option::is_none")]
    diffs: Option<Vec<DiffJson<'a>>>,
}

#[derive(Serialize)]
struct DiffJson<'a> {
    path: &'a str,
    diff: &'a str,
}

/// How the report is written (`Config::report_options` builds it once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub output: Output,
    pub quiet: bool,
    pub color: bool,
    /// The root as the report shows it.
    pub root: String,
}

/// The report's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
    Prometheus,
}

/// The assessment as Prometheus metrics (`-o prometheus`, `watch --textfile`); `now`: the
/// Unix time of the check.
pub fn metrics(a: &Assessment, now: u64) -> String {
    prometheus::render(a, now)
}

/// A verdict's reasons as the text report shows them: IPVS's deprecation is said once, as
/// its finding, not under every verdict and in the modes table (JSON keeps them all).
fn shown_reasons(reasons: &[String]) -> impl Iterator<Item = &String> {
    reasons
        .iter()
        .filter(|r| *r != crate::plan::ipvs::IPVS_DEPRECATED)
}

pub fn render(cfg: &Options, facts: &Facts, a: &Assessment, x: &Extras) -> String {
    match cfg.output {
        Output::Json => json(cfg, facts, a, x),
        Output::Text => text(cfg, facts, a, x),
        Output::Prometheus => {
            // what apply --dry-run predicts, as the other formats report it
            let (_, a) = x.predicted.unwrap_or((facts, a));
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            prometheus::render(a, now)
        }
    }
}

fn changed(x: &Extras) -> Option<bool> {
    x.actions.map(|acts| acts.iter().any(|act| act.ok))
}

fn json(cfg: &Options, facts: &Facts, a: &Assessment, x: &Extras) -> String {
    let k = &facts.kernel;
    let doc = Json {
        nodeprep_version: env!("CARGO_PKG_VERSION"),
        command: if x.actions.is_some() {
            "apply"
        } else {
            "check"
        },
        root: cfg.root.clone(),
        ready: a.ready(),
        kernel: KernelJson {
            release: &k.release,
            modules_supported: k.modules_supported,
            modules_disabled: k.modules_disabled,
            config: k.config_path.as_deref(),
        },
        os: OsJson {
            id: &facts.os.id,
            version_id: &facts.os.version_id,
            pretty_name: &facts.os.pretty_name,
        },
        modules: &a.modules,
        sysctls: &a.sysctls,
        binaries: &facts.binaries,
        kube_proxy: &a.kube_proxy,
        findings: &a.findings,
        probe: x.probe,
        nft_probe: facts.nft_probe.as_ref(),
        changed: changed(x),
        dry_run: x.actions.map(|_| x.dry_run),
        ready_after_apply: x.ready_after_apply,
        actions: x.actions,
        diffs: x.dry_run.then(|| {
            x.diffs
                .iter()
                .map(|(change, diff)| DiffJson {
                    path: change.path,
                    diff,
                })
                .collect()
        }),
    };
    let mut s =
        serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

// ---------------------------------------------------------------------------------------
// Text report. One function per section, in the order they are printed; the layout helpers
// (wrapping at WIDTH, tables, cleaning values) are at the end.

/// Every line of the text report fits this many columns (a tab counts as 8).
pub const WIDTH: usize = 80;

/// Colours the report's marks when `Options::color` says so (anstyle renders the SGR codes).
struct Paint(bool);

const GREEN: Style = AnsiColor::Green.on_default();
const RED: Style = AnsiColor::Red.on_default();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const CYAN: Style = AnsiColor::Cyan.on_default();

impl Paint {
    fn sev(&self, s: Severity, text: &str) -> String {
        let style = match s {
            Severity::Error => RED,
            Severity::Warning => YELLOW,
            Severity::Info => CYAN,
        };
        self.wrap(style, text)
    }
    fn wrap(&self, style: Style, text: &str) -> String {
        if self.0 {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }
}

fn label(s: Severity) -> &'static str {
    match s {
        Severity::Error => "ERROR",
        Severity::Warning => "WARNING",
        Severity::Info => "INFO",
    }
}

fn text(cfg: &Options, facts: &Facts, a: &Assessment, x: &Extras) -> String {
    let p = Paint(cfg.color);
    // apply --dry-run shows the node as apply would leave it, not as it is
    let (facts, a) = x.predicted.unwrap_or((facts, a));
    let mut o = String::new();
    if cfg.quiet {
        quiet_section(&mut o, &p, a, x);
        return o;
    }
    header_section(&mut o, cfg, facts, x);
    actions_section(&mut o, &p, x);
    diffs_section(&mut o, x);
    modules_section(&mut o, a);
    sysctls_section(&mut o, a);
    binaries_section(&mut o, facts);
    kube_proxy_section(&mut o, facts, a, x);
    findings_section(&mut o, &p, a);
    summary_section(&mut o, &p, a, x);
    o
}

/// `--quiet`: what matters for the command. check: the warnings and errors; apply: the
/// actions that failed and what is still wrong; apply --dry-run: what it would do and what
/// would still be wrong after it.
fn quiet_section(o: &mut String, p: &Paint, a: &Assessment, x: &Extras) {
    if let Some(actions) = x.actions {
        let shown: Vec<&Action> = actions.iter().filter(|act| x.dry_run || !act.ok).collect();
        action_rows(o, p, &shown);
    }
    // the deprecation only where nothing else is left to say
    let said: Vec<&Finding> = a
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .collect();
    let others = said.iter().any(|f| f.id != "KubeProxyDeprecated");
    for f in said
        .into_iter()
        .filter(|f| !others || f.id != "KubeProxyDeprecated")
    {
        finding_line(o, p, f);
    }
    if x.dry_run {
        summary_section(o, p, a, x);
    }
}

fn header_section(o: &mut String, cfg: &Options, facts: &Facts, x: &Extras) {
    let k = &facts.kernel;
    let os = if facts.os.pretty_name.is_empty() {
        "unknown distribution"
    } else {
        &facts.os.pretty_name
    };
    let command = match (x.actions.is_some(), x.dry_run) {
        (false, _) => "check",
        (true, false) => "apply",
        (true, true) => "apply --dry-run",
    };
    wrap_into(
        o,
        "",
        "  ",
        &format!(
            "nodeprep {command}: kernel {}, {}, root {}",
            clean(&k.release),
            clean(os),
            clean(&cfg.root)
        ),
    );
    if !k.modules_supported {
        wrap_into(
            o,
            "",
            "",
            "This kernel has no loadable-module support (no /proc/modules): only built-in features exist.",
        );
    }
}

fn actions_section(o: &mut String, p: &Paint, x: &Extras) {
    let Some(actions) = x.actions else { return };
    o.push_str(if x.dry_run {
        "\nWould do (dry run, nothing changed):\n"
    } else {
        "\nActions:\n"
    });
    if actions.is_empty() {
        o.push_str(if x.dry_run {
            "  nothing to do: the node already matches\n"
        } else {
            "  nothing changed: the node already matched\n"
        });
    }
    action_rows(o, p, &actions.iter().collect::<Vec<_>>());
}

fn action_rows(o: &mut String, p: &Paint, actions: &[&Action]) {
    let rows: Vec<Vec<String>> = actions
        .iter()
        .map(|act| {
            vec![
                // both marks 4 wide, so the columns do not move with them
                if act.ok { "ok  " } else { "FAIL" }.to_string(),
                act.kind.to_string(),
                clean(&act.target),
                // "would set net.ipv4.ip_forward = 1" in the row of net.ipv4.ip_forward
                clean(&act.detail.replace(&format!("{} = ", act.target), "to ")),
            ]
        })
        .collect();
    let mut t = String::new();
    table(&mut t, None, &rows);
    // colour the marks once the columns are laid out
    for line in t.lines() {
        let painted = if let Some(rest) = line.strip_prefix("  ok  ") {
            format!("  {}  {rest}", p.wrap(GREEN, "ok"))
        } else if let Some(rest) = line.strip_prefix("  FAIL") {
            format!("  {}{rest}", p.wrap(RED, "FAIL"))
        } else {
            line.to_string()
        };
        o.push_str(&painted);
        o.push('\n');
    }
}

fn diffs_section(o: &mut String, x: &Extras) {
    for (change, d) in x.diffs {
        let _ = writeln!(
            o,
            "\n--- {}{}\n+++ {}",
            change.path,
            if change.before.is_none() {
                " (new file)"
            } else {
                ""
            },
            change.path
        );
        for line in d.lines() {
            // file content is shown as it is, only made safe for a terminal
            o.push_str(line.trim_end());
            o.push('\n');
        }
    }
}

fn modules_section(o: &mut String, a: &Assessment) {
    let rows: Vec<Vec<String>> = a
        .modules
        .iter()
        .map(|m| {
            let boot = match (m.persisted, m.persisted_by.first()) {
                (true, Some(f)) => format!("yes ({})", clean(f)),
                (true, None) => "yes (built in)".into(),
                (false, _) => "no".into(),
            };
            vec![clean(&m.name), m.state.as_str().to_string(), boot]
        })
        .collect();
    o.push('\n');
    table(o, Some(&["Modules", "state", "at boot"]), &rows);
}

fn sysctls_section(o: &mut String, a: &Assessment) {
    let rows: Vec<Vec<String>> = a
        .sysctls
        .iter()
        .map(|s| {
            vec![
                clean(&s.key),
                clean(&s.want),
                clean(s.live.as_deref().unwrap_or("-")),
                format!(
                    "{} ({})",
                    clean(s.boot.as_deref().unwrap_or("-")),
                    clean(&s.boot_source)
                ),
            ]
        })
        .collect();
    o.push('\n');
    table(o, Some(&["Sysctls", "want", "live", "after reboot"]), &rows);
}

fn binaries_section(o: &mut String, facts: &Facts) {
    let rows: Vec<Vec<String>> = facts
        .binaries
        .iter()
        .map(|b| {
            vec![
                clean(&b.name),
                clean(b.path.as_deref().unwrap_or("not found")),
                clean(&version_text(b)),
            ]
        })
        .collect();
    o.push('\n');
    table(o, Some(&["Binaries", "path", "version"]), &rows);
}

/// The version as the program states it, with what follows in parentheses:
/// `v1.8.9 (nf_tables)` for iptables, `v7.17` for ipset.
pub fn version_text(b: &Binary) -> String {
    let from_banner = b.banner.as_deref().and_then(|banner| {
        let words: Vec<&str> = banner.split_whitespace().collect();
        let i = words.iter().position(|w| {
            w.strip_prefix('v')
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()) && r.contains('.'))
        })?;
        let mut v = words[i].trim_end_matches([',', ':', ';']).to_string();
        if let Some(next) = words
            .get(i + 1)
            .filter(|n| n.starts_with('(') && n.ends_with(')'))
        {
            v.push(' ');
            v.push_str(next);
        }
        Some(v)
    });
    from_banner
        .or_else(|| b.version.map(|v| format!("v{v}")))
        .unwrap_or_default()
}

fn kube_proxy_section(o: &mut String, facts: &Facts, a: &Assessment, x: &Extras) {
    let kp = &a.kube_proxy;
    o.push('\n');
    wrap_into(
        o,
        "",
        "  ",
        &format!(
            "kube-proxy {} ({}; mode {}, scheduler {}, runtime {})",
            kp.version,
            clean(&kp.version_source),
            clean(&modes::mode_label(&kp.mode)),
            clean(&kp.scheduler),
            if kp.runtime == crate::domain::Runtime::Host {
                "host"
            } else {
                "container"
            }
        ),
    );
    let verdict =
        |o: &mut String, when: &str, outcome: crate::plan::verdict::Outcome, reasons: &[String]| {
            wrap_into(
                o,
                "  ",
                "       ",
                &format!(
                    "{when}: kube-proxy {} {}",
                    kp.version,
                    outcome.sentence(&kp.mode)
                ),
            );
            for r in shown_reasons(reasons) {
                wrap_into(o, "       ", "         ", &clean(r));
            }
        };
    if x.predicted.is_some() {
        verdict(o, "after apply", kp.outcome, &kp.reasons);
    } else {
        verdict(o, "now", kp.outcome, &kp.reasons);
        if kp.after_apply.outcome != kp.outcome || x.actions.is_none() {
            verdict(
                o,
                "after `nodeprep apply`",
                kp.after_apply.outcome,
                &kp.after_apply.reasons,
            );
        }
    }
    if let Some(pr) = x.probe {
        wrap_into(
            o,
            "  ",
            "    ",
            &format!("live probe (as kube-proxy >= 1.27): {}", clean(&pr.detail)),
        );
    }
    // a probe that did not run says why in its LiveProbe finding
    if let Some(pr) = facts.nft_probe.as_ref().filter(|p| p.ran) {
        wrap_into(
            o,
            "  ",
            "    ",
            &format!("live probe (nftables): {}", clean(&pr.detail)),
        );
        for f in &pr.families {
            for r in &f.refused {
                wrap_into(
                    o,
                    "    ",
                    "      ",
                    &format!(
                        "{}: {} <- {}",
                        f.family,
                        clean(&r.error),
                        clean(&r.statement)
                    ),
                );
            }
        }
    }
    modes::render(o, kp);
}

fn findings_section(o: &mut String, p: &Paint, a: &Assessment) {
    if a.findings.is_empty() {
        return;
    }
    o.push_str("\n[preflight] Running pre-flight checks\n");
    for f in &a.findings {
        finding_line(o, p, f);
    }
}

/// `\t[ERROR id]: message`, kubeadm's format, wrapped with the message continuing under itself.
fn finding_line(o: &mut String, p: &Paint, f: &crate::plan::Finding) {
    let tag = format!("[{} {}]", label(f.severity), clean(&f.id));
    let mut t = String::new();
    wrap_into(
        &mut t,
        "\t",
        "\t  ",
        &format!("{tag}: {}", clean(&f.message)),
    );
    let painted = format!(
        "[{} {}]",
        p.sev(f.severity, label(f.severity)),
        clean(&f.id)
    );
    o.push_str(&t.replacen(&tag, &painted, 1));
}

fn summary_section(o: &mut String, p: &Paint, a: &Assessment, x: &Extras) {
    let errors = a
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = a
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    let (colour, text) = match (a.ready(), x.actions.is_some(), x.dry_run) {
        (true, _, true) => (
            GREEN,
            format!(
                "After apply the node would be ready for kube-proxy in {} mode ({}).",
                modes::mode_label(&a.kube_proxy.mode),
                count(warnings, "warning")
            ),
        ),
        (false, _, true) => (
            RED,
            format!(
                "After apply the node would still not be ready: {}, {} that nodeprep cannot fix; see above.",
                count(errors, "error"),
                count(warnings, "warning")
            ),
        ),
        (true, _, false) => (
            GREEN,
            format!(
                "Ready for kube-proxy in {} mode ({}).",
                modes::mode_label(&a.kube_proxy.mode),
                count(warnings, "warning")
            ),
        ),
        (false, true, false) => (
            RED,
            format!(
                "Not ready: {}, {} remain that nodeprep cannot fix; see above.",
                count(errors, "error"),
                count(warnings, "warning")
            ),
        ),
        (false, false, false) => (
            RED,
            format!(
                "Not ready: {}, {}. `nodeprep apply` fixes what it can.",
                count(errors, "error"),
                count(warnings, "warning")
            ),
        ),
    };
    let mut t = String::new();
    wrap_into(&mut t, "", "", &text);
    o.push('\n');
    for line in t.lines() {
        o.push_str(&p.wrap(colour, line));
        o.push('\n');
    }
}

/// "1 warning", "2 warnings".
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

// --- layout helpers -------------------------------------------------------------------------

/// A value made safe for one table cell or line: tabs, newlines and other control
/// characters become spaces.
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Display width of a line: a tab advances to the next multiple of 8.
fn columns(s: &str) -> usize {
    s.chars().fold(0, |col, c| {
        if c == '\t' {
            (col / 8 + 1) * 8
        } else {
            col + 1
        }
    })
}

/// Appends `text` wrapped at [`WIDTH`]: the first line after `first`, the others after `cont`.
/// A word longer than a line (a long path) gets a line of its own; nothing is cut.
fn wrap_into(o: &mut String, first: &str, cont: &str, text: &str) {
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !empty && columns(&line) + 1 + word.chars().count() > WIDTH {
            o.push_str(&line);
            o.push('\n');
            line = cont.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    o.push_str(line.trim_end());
    o.push('\n');
}

/// A table indented by two spaces: every column as wide as its widest cell, the last one
/// wrapped under itself (or, when fewer than 20 columns would be left for it, on the next
/// lines).
fn table(o: &mut String, header: Option<&[&str]>, rows: &[Vec<String>]) {
    let n = header
        .map(<[&str]>::len)
        .or_else(|| rows.first().map(Vec::len))
        .unwrap_or(0);
    if n == 0 {
        return;
    }
    let mut widths = vec![0; n - 1];
    let head: Option<Vec<String>> = header.map(|h| h.iter().map(|c| c.to_string()).collect());
    for (j, w) in widths.iter_mut().enumerate() {
        // the header's first cell is the section title, at column 0; the rows are indented by 2
        let title = head.as_ref().map_or(0, |h| {
            let c = h[j].chars().count();
            if j == 0 { c.saturating_sub(2) } else { c }
        });
        *w = rows
            .iter()
            .map(|r| r[j].chars().count())
            .chain([title])
            .max()
            .unwrap_or(0);
    }
    let last_col = 2 + widths.iter().map(|w| w + 1).sum::<usize>();
    let render = |o: &mut String, indent: &str, cells: &[String], first_pad: usize| {
        let mut line = indent.to_string();
        for (j, w) in widths.iter().enumerate() {
            let pad = if j == 0 { w + first_pad } else { *w };
            line.push_str(&format!("{:<pad$} ", clean(&cells[j])));
        }
        let last = &clean(&cells[n - 1]);
        let longest = last
            .split(' ')
            .map(|w| w.chars().count())
            .max()
            .unwrap_or(0);
        if last_col + 20.max(longest) <= WIDTH {
            wrap_into(o, &line, &" ".repeat(last_col), last);
        } else {
            o.push_str(line.trim_end());
            o.push('\n');
            wrap_into(o, "      ", "      ", last);
        }
    };
    if let Some(h) = &head {
        render(o, "", h, 2);
    }
    for r in rows {
        render(o, "  ", r, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_word_and_the_width() {
        let mut o = String::new();
        let long = "word ".repeat(40);
        wrap_into(&mut o, "\t[ERROR X]: ", "\t  ", &long);
        assert!(o.lines().all(|l| columns(l) <= WIDTH), "{o}");
        assert_eq!(o.split_whitespace().filter(|w| *w == "word").count(), 40);
        assert!(o.lines().skip(1).all(|l| l.starts_with("\t  word")), "{o}");
        let mut o = String::new();
        let path = format!("/{}", "p".repeat(100));
        wrap_into(&mut o, "", "  ", &format!("see {path} now"));
        assert_eq!(o, format!("see\n  {path}\n  now\n"));
    }

    #[test]
    fn tables_align_clean_and_wrap_the_last_column() {
        let rows = vec![
            vec!["a\tb".to_string(), "1".into(), "short".into()],
            vec!["longer_name".to_string(), "22".into(), "x ".repeat(60)],
        ];
        let mut o = String::new();
        table(&mut o, Some(&["Things", "n", "note"]), &rows);
        assert!(!o.contains('\t'), "{o}");
        assert!(
            o.lines().all(|l| columns(l) <= WIDTH && !l.ends_with(' ')),
            "{o}"
        );
        let lines: Vec<&str> = o.lines().collect();
        assert_eq!(lines[0], "Things        n  note");
        assert_eq!(lines[1], "  a b         1  short");
        assert!(lines[2].starts_with("  longer_name 22 x x"), "{o}");
        assert!(lines[3].starts_with("                 x"), "{o}");
    }

    #[test]
    fn versions_show_the_backend() {
        let b = |banner: &str, version: &str| Binary {
            name: "x".into(),
            path: Some("/usr/sbin/x".into()),
            version: crate::domain::Version::parse(version),
            banner: Some(banner.into()),
        };
        assert_eq!(
            version_text(&b("iptables v1.8.9 (nf_tables)", "1.8")),
            "v1.8.9 (nf_tables)"
        );
        assert_eq!(
            version_text(&b("iptables v1.8.7 (legacy)\n", "1.8")),
            "v1.8.7 (legacy)"
        );
        assert_eq!(version_text(&b("iptables v1.4.21", "1.4")), "v1.4.21");
        assert_eq!(
            version_text(&b(
                "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)",
                "1.31"
            )),
            "v1.31"
        );
        assert_eq!(
            version_text(&b("ipset v7.17, protocol version: 7", "7.17")),
            "v7.17"
        );
    }
}
