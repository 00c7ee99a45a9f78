//! Text and JSON reports. Text follows kubeadm's preflight conventions.

mod modes;

use std::fmt::Write as _;

use serde::Serialize;

use crate::apply::Action;
use crate::cli::OutputFormat;
use crate::config::Config;
use crate::live_probe::LiveProbe;
use crate::plan::files::FileChange;
use crate::plan::{Assessment, ModuleRow, Severity};
use crate::probe::Facts;
use crate::probe::binaries::Binary;

/// Everything a report shows beyond the assessment.
#[derive(Default)]
pub struct Extras<'a> {
    /// Present for apply: what was done (or, with dry_run, would be done).
    pub actions: Option<&'a [Action]>,
    pub dry_run: bool,
    pub diffs: &'a [(FileChange, String)],
    pub ready_after_apply: Option<bool>,
    pub probe: Option<&'a LiveProbe>,
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

pub fn render(cfg: &Config, facts: &Facts, a: &Assessment, x: &Extras) -> String {
    match cfg.output {
        OutputFormat::Json => json(cfg, facts, a, x),
        OutputFormat::Text => text(cfg, facts, a, x),
    }
}

fn changed(x: &Extras) -> Option<bool> {
    x.actions.map(|acts| acts.iter().any(|act| act.ok))
}

fn json(cfg: &Config, facts: &Facts, a: &Assessment, x: &Extras) -> String {
    let k = &facts.kernel;
    let doc = Json {
        nodeprep_version: env!("CARGO_PKG_VERSION"),
        command: if x.actions.is_some() {
            "apply"
        } else {
            "check"
        },
        root: cfg.root.to_string(),
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

struct Paint(bool);

impl Paint {
    fn sev(&self, s: Severity, text: &str) -> String {
        let code = match s {
            Severity::Error => "31",
            Severity::Warning => "33",
            Severity::Info => "36",
        };
        self.wrap(code, text)
    }
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
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

fn text(cfg: &Config, facts: &Facts, a: &Assessment, x: &Extras) -> String {
    let p = Paint(cfg.color);
    let mut o = String::new();
    if cfg.quiet {
        for f in a.findings.iter().filter(|f| f.severity != Severity::Info) {
            let _ = writeln!(
                o,
                "\t[{} {}]: {}",
                p.sev(f.severity, label(f.severity)),
                f.id,
                f.message
            );
        }
        return o;
    }
    let k = &facts.kernel;
    let os = if facts.os.pretty_name.is_empty() {
        "unknown distribution"
    } else {
        &facts.os.pretty_name
    };
    let _ = writeln!(
        o,
        "nodeprep {}: kernel {}, {os}, root {}",
        if x.actions.is_some() {
            "apply"
        } else {
            "check"
        },
        k.release,
        cfg.root
    );
    if !k.modules_supported {
        let _ = writeln!(
            o,
            "This kernel has no loadable-module support (no /proc/modules): only built-in features exist."
        );
    }

    if let Some(actions) = x.actions {
        let _ = writeln!(
            o,
            "\n{}",
            if x.dry_run {
                "Would do (dry run, nothing changed):"
            } else {
                "Actions:"
            }
        );
        if actions.is_empty() {
            let _ = writeln!(
                o,
                "  {}",
                if x.dry_run {
                    "nothing to do: the node already matches"
                } else {
                    "nothing changed: the node already matched"
                }
            );
        }
        for act in actions {
            let mark = if act.ok {
                p.wrap("32", "ok  ")
            } else {
                p.wrap("31", "FAIL")
            };
            let _ = writeln!(
                o,
                "  {mark}  {:<12} {:<40} {}",
                act.kind, act.target, act.detail
            );
        }
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
            o.push_str(d);
        }
    }

    let _ = writeln!(o, "\nModules                    state      at boot");
    for m in &a.modules {
        let boot = match (m.persisted, m.persisted_by.first()) {
            (true, Some(f)) => format!("yes ({f})"),
            (true, None) => "yes (built in)".into(),
            (false, _) => "no".into(),
        };
        let _ = writeln!(o, "  {:<24} {:<10} {boot}", m.name, m.state.as_str());
    }
    let _ = writeln!(
        o,
        "\nSysctls                                  want  live  after reboot"
    );
    for s in &a.sysctls {
        let live = s.live.as_deref().unwrap_or("-");
        let boot = s.boot.as_deref().unwrap_or("-");
        let _ = writeln!(
            o,
            "  {:<38} {:<5} {:<5} {boot} ({})",
            s.key, s.want, live, s.boot_source
        );
    }
    let _ = writeln!(o, "\nBinaries");
    for b in &facts.binaries {
        let _ = writeln!(
            o,
            "  {:<10} {:<26} {}",
            b.name,
            b.path.as_deref().unwrap_or("not found"),
            b.version
                .as_deref()
                .map(|v| format!("v{v}"))
                .unwrap_or_default()
        );
    }
    let kp = &a.kube_proxy;
    let _ = writeln!(
        o,
        "\nkube-proxy {} ({}; mode {}, scheduler {}, runtime {})",
        kp.version,
        kp.version_source,
        modes::mode_label(&kp.mode),
        kp.scheduler,
        if kp.runtime == crate::cli::Runtime::Host {
            "host"
        } else {
            "container"
        }
    );
    let _ = writeln!(
        o,
        "  now: kube-proxy {} {}",
        kp.version,
        kp.outcome.sentence(&kp.mode)
    );
    for r in &kp.reasons {
        let _ = writeln!(o, "       {r}");
    }
    if kp.after_apply.outcome != kp.outcome || x.actions.is_none() {
        let _ = writeln!(
            o,
            "  after `nodeprep apply`: kube-proxy {} {}",
            kp.version,
            kp.after_apply.outcome.sentence(&kp.mode)
        );
        for r in &kp.after_apply.reasons {
            let _ = writeln!(o, "       {r}");
        }
    }
    if let Some(pr) = x.probe {
        let _ = writeln!(o, "  live probe (as kube-proxy >= 1.27): {}", pr.detail);
    }
    modes::render(&mut o, kp);

    let _ = writeln!(o, "\n[preflight] Running pre-flight checks");
    for f in &a.findings {
        let _ = writeln!(
            o,
            "\t[{} {}]: {}",
            p.sev(f.severity, label(f.severity)),
            f.id,
            f.message
        );
    }
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
    let summary = if a.ready() {
        p.wrap(
            "32",
            &format!(
                "Ready for kube-proxy in {} mode ({}).",
                modes::mode_label(&kp.mode),
                count(warnings, "warning")
            ),
        )
    } else if x.actions.is_some() && !x.dry_run {
        p.wrap(
            "31",
            &format!(
                "Not ready: {}, {} remain that nodeprep cannot fix; see above.",
                count(errors, "error"),
                count(warnings, "warning")
            ),
        )
    } else {
        p.wrap(
            "31",
            &format!(
                "Not ready: {}, {}. `nodeprep apply` fixes what it can.",
                count(errors, "error"),
                count(warnings, "warning")
            ),
        )
    };
    let _ = writeln!(o, "\n{summary}");
    if let (true, Some(r)) = (x.dry_run, x.ready_after_apply) {
        let _ = writeln!(
            o,
            "After apply the node would {}be ready.",
            if r { "" } else { "still not " }
        );
    }
    o
}

/// "1 warning", "2 warnings".
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
