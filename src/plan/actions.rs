//! The one list of actions. It is computed from the survey; `apply --dry-run` renders it and
//! `apply` carries out exactly it: the module loads first, then — from the node as it is
//! after them (re-surveyed by apply, predicted by the dry run) — the file writes and the live
//! sysctls, both computed by [`settle`].

use std::fmt;

use serde::Serialize;

use super::files::{self, FileChange};
use super::{Wanted, load_blocker, predicted_loads};
use crate::probe::Facts;
use crate::probe::kernel::ModState;
use crate::probe::sysctl::{dotted, same_value};

/// What an action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    LoadModule,
    WriteFile,
    SetSysctl,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::LoadModule => "load_module",
            Kind::WriteFile => "write_file",
            Kind::SetSysctl => "set_sysctl",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the report's actions: what was done (apply) or would be (--dry-run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    pub kind: Kind,
    pub target: String,
    /// Whether it worked (for --dry-run: whether it is expected to).
    pub ok: bool,
    pub detail: String,
}

impl Action {
    pub fn new(kind: Kind, target: impl Into<String>, ok: bool, detail: impl Into<String>) -> Self {
        Action {
            kind,
            target: target.into(),
            ok,
            detail: detail.into(),
        }
    }
}

/// A wanted module that is not there yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Load {
    pub module: String,
    /// Why loading it cannot work (then apply does not try).
    pub blocked: Option<String>,
}

/// A live sysctl that differs from the wanted value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetSysctl {
    /// Path form (`net/ipv4/ip_forward`).
    pub key: String,
    pub value: String,
    /// Why it cannot be set (then apply does not try).
    pub blocked: Option<String>,
}

/// Everything `apply` does, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub loads: Vec<Load>,
    pub files: Vec<FileChange>,
    pub sysctls: Vec<SetSysctl>,
}

/// The module loads: every wanted module that is neither loaded nor built in. An image gets
/// none (it is not running: systemd-modules-load loads them at its boot).
pub fn loads(facts: &Facts, wanted: &Wanted) -> Vec<Load> {
    if facts.kernel.image {
        return Vec::new();
    }
    wanted
        .modules
        .iter()
        .filter(|m| {
            matches!(
                facts.kernel.state(m),
                ModState::Loadable | ModState::Missing
            )
        })
        .map(|m| Load {
            module: m.clone(),
            blocked: load_blocker(facts, m),
        })
        .collect()
}

/// The file writes and live sysctls for the node as `now` says it is (after the loads). An
/// image gets no live sysctls: only its files are written.
pub fn settle(now: &Facts, wanted: &Wanted) -> (Vec<FileChange>, Vec<SetSysctl>) {
    let files = files::changes(now, wanted);
    if now.kernel.image {
        return (files, Vec::new());
    }
    let sysctls = wanted
        .sysctls
        .iter()
        .filter_map(|(key, want)| {
            let live = now.sysctls.live.get(key).cloned().flatten();
            if live.as_deref().is_some_and(|v| same_value(v, want)) {
                return None;
            }
            Some(SetSysctl {
                key: key.clone(),
                value: want.clone(),
                blocked: live
                    .is_none()
                    .then(|| format!("/proc/sys/{key} does not exist")),
            })
        })
        .collect();
    (files, sysctls)
}

/// The plan from the survey: the loads, then what is settled on the node as the loads are
/// expected to leave it.
pub fn plan(facts: &Facts, wanted: &Wanted) -> Plan {
    let loads = loads(facts, wanted);
    let (files, sysctls) = settle(&predicted_loads(facts, wanted), wanted);
    Plan {
        loads,
        files,
        sysctls,
    }
}

impl Plan {
    /// The rows --dry-run shows, each as expected to turn out.
    pub fn rows(&self) -> Vec<Action> {
        let loads = self.loads.iter().map(|l| match &l.blocked {
            None => Action::new(
                Kind::LoadModule,
                &l.module,
                true,
                format!("modprobe {}", l.module),
            ),
            Some(why) => Action::new(Kind::LoadModule, &l.module, false, why),
        });
        let files = self
            .files
            .iter()
            .map(|c| Action::new(Kind::WriteFile, c.path, true, "would write"));
        let sysctls = self.sysctls.iter().map(|s| match &s.blocked {
            None => Action::new(
                Kind::SetSysctl,
                dotted(&s.key),
                true,
                format!("would set {} = {}", dotted(&s.key), s.value),
            ),
            Some(why) => Action::new(Kind::SetSysctl, dotted(&s.key), false, why),
        });
        loads.chain(files).chain(sysctls).collect()
    }

    /// Each file change with its unified diff.
    pub fn diffs(&self) -> Vec<(FileChange, String)> {
        self.files
            .iter()
            .map(|c| {
                let d = files::diff(c.before.as_deref().unwrap_or(""), &c.after);
                (c.clone(), d)
            })
            .collect()
    }
}
