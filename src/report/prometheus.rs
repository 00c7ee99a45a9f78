//! `-o prometheus`: the report as Prometheus text exposition, what node_exporter's textfile
//! collector reads (`nodeprep check -o prometheus > /var/lib/node_exporter/nodeprep.prom`).

use std::fmt::Write as _;

use crate::plan::{Assessment, Severity};
use crate::probe::kernel::ModState;
use crate::probe::sysctl::same_value;

/// A label value as the exposition format takes it: backslash, double quote and newline
/// escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One metric's `# HELP` and `# TYPE` lines, then its samples.
fn family(o: &mut String, name: &str, help: &str, samples: &[(String, String)]) {
    let _ = writeln!(o, "# HELP {name} {help}");
    let _ = writeln!(o, "# TYPE {name} gauge");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(o, "{name} {value}");
        } else {
            let _ = writeln!(o, "{name}{{{labels}}} {value}");
        }
    }
}

fn bit(b: bool) -> String {
    if b { "1" } else { "0" }.to_string()
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

/// The modules' states and the sysctls' values, now and at boot.
fn node_samples(o: &mut String, a: &Assessment) {
    let states = [
        ModState::Loaded,
        ModState::Builtin,
        ModState::Loadable,
        ModState::Missing,
    ];
    let modules: Vec<(String, String)> = a
        .modules
        .iter()
        .flat_map(|m| {
            states.iter().map(move |s| {
                (
                    format!("module=\"{}\",state=\"{}\"", label(&m.name), s.as_str()),
                    bit(m.state == *s),
                )
            })
        })
        .collect();
    family(
        o,
        "nodeprep_module_state",
        "1 for the state each wanted kernel module is in (loaded, builtin, loadable, missing).",
        &modules,
    );
    let sysctls: Vec<(String, String)> = a
        .sysctls
        .iter()
        .flat_map(|s| {
            [("live", &s.live), ("boot", &s.boot)].map(|(when, value)| {
                let ok = value.as_deref().is_some_and(|v| same_value(v, &s.want));
                (
                    format!("key=\"{}\",when=\"{when}\"", label(&s.key)),
                    bit(ok),
                )
            })
        })
        .collect();
    family(
        o,
        "nodeprep_sysctl_ok",
        "1 when the sysctl has the wanted value now (live) or after the next boot (boot).",
        &sysctls,
    );
}

/// The metrics of one assessment; `now`: the Unix time of the check.
pub fn render(a: &Assessment, now: u64) -> String {
    let mut o = String::new();
    family(
        &mut o,
        "nodeprep_ready",
        "1 when nodeprep found nothing of error severity on the node.",
        &[(String::new(), bit(a.ready()))],
    );
    let counts: Vec<(String, String)> = [Severity::Error, Severity::Warning, Severity::Info]
        .into_iter()
        .map(|s| {
            let n = a.findings.iter().filter(|f| f.severity == s).count();
            (format!("severity=\"{}\"", severity(s)), n.to_string())
        })
        .collect();
    family(
        &mut o,
        "nodeprep_findings",
        "Open findings by severity.",
        &counts,
    );
    let findings: Vec<(String, String)> = a
        .findings
        .iter()
        .map(|f| {
            (
                format!(
                    "id=\"{}\",severity=\"{}\"",
                    label(&f.id),
                    severity(f.severity)
                ),
                "1".into(),
            )
        })
        .collect();
    family(
        &mut o,
        "nodeprep_finding",
        "1 for each open finding, by id (kubeadm preflight style) and severity.",
        &findings,
    );
    node_samples(&mut o, a);
    let kp = &a.kube_proxy;
    let outcomes: Vec<(String, String)> = kp
        .modes
        .rows()
        .iter()
        .map(|(mode, j)| {
            let outcome = serde_json::to_value(j.outcome)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            (
                format!(
                    "mode=\"{mode}\",outcome=\"{}\",version=\"{}\"",
                    label(&outcome),
                    kp.version
                ),
                "1".into(),
            )
        })
        .collect();
    family(
        &mut o,
        "nodeprep_kube_proxy_outcome",
        "1 for what the judged kube-proxy version would do in each proxy mode on the node now.",
        &outcomes,
    );
    family(
        &mut o,
        "nodeprep_last_check_timestamp_seconds",
        "When nodeprep checked the node, in seconds since the Unix epoch.",
        &[(String::new(), now.to_string())],
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let mut o = String::new();
        family(&mut o, "x", "Help.", &[("k=\"v\"".into(), "1".into())]);
        assert_eq!(o, "# HELP x Help.\n# TYPE x gauge\nx{k=\"v\"} 1\n");
    }
}
