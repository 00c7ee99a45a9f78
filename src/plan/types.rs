//! What the plan hands the report: rows, findings, the kube-proxy verdict.

use serde::Serialize;

use super::modes::Migration;
use super::verdict::{Judgement, Outcome};
use crate::domain::Runtime;
use crate::domain::Version;
use crate::probe::kernel::ModState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// A stable check name, kubeadm style (`KernelModule-ip_vs`, `FileExisting-ipset`).
    pub id: String,
    pub severity: Severity,
    pub message: String,
    /// The ids of the problems of the same cause this finding also stands for (the other
    /// modules, the verdict they decide): `--ignore` of any of them ignores it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleRow {
    pub name: String,
    pub state: ModState,
    /// Present after the next boot: built in, or listed by a modules-load.d file and not blacklisted.
    pub persisted: bool,
    /// The modules-load.d files that list it.
    pub persisted_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SysctlRow {
    pub key: String,
    pub want: String,
    /// Live value; null when the key does not exist now.
    pub live: Option<String>,
    /// Value after the next boot; null when the key will not exist then.
    pub boot: Option<String>,
    /// Which file (and line) sets the boot value, or why there is none.
    pub boot_source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KubeProxyVerdict {
    /// The version judged for (the newest nodeprep knows when a newer one was given or found).
    pub version: Version,
    pub version_source: String,
    /// Set when the version is newer than nodeprep knows.
    #[serde(skip)]
    pub version_note: Option<String>,
    /// No version was given or found: the newest behaviour is judged.
    #[serde(skip)]
    pub guessed: bool,
    /// The patch level, when known.
    pub patch: Option<u32>,
    pub mode: String,
    pub scheduler: String,
    pub runtime: Runtime,
    pub outcome: Outcome,
    pub reasons: Vec<String>,
    /// The verdict once `nodeprep apply` has run.
    pub after_apply: Judgement,
    /// The migration table: what each mode would do on this node now, with this version.
    pub modes: Migration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub modules: Vec<ModuleRow>,
    pub sysctls: Vec<SysctlRow>,
    pub findings: Vec<Finding>,
    pub kube_proxy: KubeProxyVerdict,
}

impl Assessment {
    pub fn ready(&self) -> bool {
        !self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

/// The findings as the plan makes them. One about a module, sysctl or program may be made
/// from a template ([`Findings::about`]); those of one template and severity become one
/// finding naming them all ([`Findings::done`]).
#[derive(Default)]
pub(super) struct Findings(Vec<(Finding, Option<About>)>);

/// A finding's subject and its message with `{S}` for the subject and `{is}`, `{it}`,
/// `{does}` for the words that follow its number.
struct About {
    prefix: &'static str,
    subjects: Vec<String>,
    template: String,
}

impl About {
    fn message(&self) -> String {
        let one = self.subjects.len() == 1;
        let subject = match self.subjects.as_slice() {
            [only] => only.clone(),
            [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
            [] => String::new(),
        };
        self.template
            .replace("{S}", &subject)
            .replace("{is}", if one { "is" } else { "are" })
            .replace("{it}", if one { "it" } else { "them" })
            .replace("{does}", if one { "does" } else { "do" })
    }
}

impl Findings {
    pub(super) fn add(
        &mut self,
        severity: Severity,
        id: impl Into<String>,
        message: impl Into<String>,
    ) {
        let id = id.into();
        debug_assert!(
            crate::domain::is_finding_id(&id),
            "{id} is not in domain::FINDING_IDS or FINDING_PREFIXES"
        );
        let finding = Finding {
            id,
            severity,
            message: message.into(),
            also: Vec::new(),
        };
        self.0.push((finding, None));
    }

    /// A finding about `subject` (its id `prefix` + subject), from a template shared with the
    /// others of its kind: those of one template and severity become one finding.
    pub(super) fn about(
        &mut self,
        severity: Severity,
        prefix: &'static str,
        subject: &str,
        template: String,
    ) {
        let same = self.0.iter_mut().find_map(|(f, about)| match about {
            Some(a) if f.severity == severity && a.prefix == prefix && a.template == template => {
                Some((f, a))
            }
            _ => None,
        });
        if let Some((f, a)) = same {
            f.also.push(format!("{prefix}{subject}"));
            a.subjects.push(subject.to_string());
            return;
        }
        self.add(severity, format!("{prefix}{subject}"), String::new());
        if let Some(last) = self.0.last_mut() {
            last.1 = Some(About {
                prefix,
                subjects: vec![subject.to_string()],
                template,
            });
        }
    }

    /// Folds the finding `id` into the one that stands for `into` (its id or one of its
    /// `also`), with `more` added to that one's message; false when there is no such one.
    pub(super) fn fold(&mut self, id: &str, into: &str, more: Option<String>) -> bool {
        let Some(at) = self.0.iter().position(|(f, _)| f.id == id) else {
            return false;
        };
        let Some(host) = self
            .0
            .iter()
            .position(|(f, _)| f.id == into || f.also.iter().any(|a| a == into))
            .filter(|h| *h != at)
        else {
            return false;
        };
        let (gone, _) = self.0.remove(at);
        let host = if host > at { host - 1 } else { host };
        let (f, about) = &mut self.0[host];
        f.also.push(gone.id);
        f.also.extend(gone.also);
        f.severity = f.severity.min(gone.severity);
        if let Some(more) = more {
            match about {
                Some(a) => a.template.push_str(&more),
                None => f.message.push_str(&more),
            }
        }
        true
    }

    /// The last finding made also stands for these ids.
    pub(super) fn also(&mut self, ids: impl IntoIterator<Item = String>) {
        if let Some((f, _)) = self.0.last_mut() {
            f.also.extend(ids);
        }
    }

    /// The findings, each group's message written for all its subjects.
    pub(super) fn done(self) -> Vec<Finding> {
        self.0
            .into_iter()
            .map(|(mut f, about)| {
                if let Some(a) = about {
                    f.message = a.message();
                }
                f
            })
            .collect()
    }
}
