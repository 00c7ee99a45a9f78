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

pub(super) struct Findings(pub(super) Vec<Finding>);

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
        self.0.push(Finding {
            id,
            severity,
            message: message.into(),
        });
    }
}
