//! Which proxy mode kube-proxy X.Y runs with a given configuration, and what each mode would
//! do on this node: config validation by version, then the mode's own startup checks
//! (`ipvs.rs`, `nftables.rs`, `iptables.rs`). Facts in
//! docs/kube-proxy.md (Part 2), checked against kube-proxy's source.

use serde::Serialize;

use super::nftables;
use super::verdict::{Judgement, Outcome, Situation, done, v};
pub use super::verdict::{available, display_name, effective_mode};
use crate::domain::Version;

use super::iptables::{iptables_problem, judge_iptables};
use super::ipvs;

/// The three modes of the migration table, in the order they are shown.
pub const MODES: [&str; 3] = ["ipvs", "nftables", "iptables"];

/// The outcome that means "kube-proxy runs the mode it was configured with".
pub fn expected_outcome(mode: &str) -> Option<Outcome> {
    match effective_mode(mode) {
        "ipvs" => Some(Outcome::Ipvs),
        "nftables" => Some(Outcome::Nftables),
        "iptables" => Some(Outcome::Iptables),
        "userspace" => Some(Outcome::Userspace),
        _ => None,
    }
}

/// The modes kube-proxy's config validation accepts on Linux for this version and gates.
pub fn valid_modes(s: &Situation) -> Vec<&'static str> {
    let mut modes = vec!["iptables"];
    if s.version >= v(1, 9) && kube_proxy_ipvs_gate(s) {
        modes.push("ipvs");
    }
    if nftables_gate(s) == Some(true) {
        modes.push("nftables");
    }
    if s.version <= v(1, 25) {
        modes.push("userspace");
    }
    modes.sort_unstable();
    modes
}

/// NFTablesProxyMode: None before 1.29 (no such gate); alpha (off) 1.29–1.30, beta (on)
/// 1.31–1.32, GA and locked on from 1.33.
fn nftables_gate(s: &Situation) -> Option<bool> {
    if s.version < v(1, 29) {
        return None;
    }
    let default = s.version >= v(1, 31);
    Some(
        s.feature_gates
            .get("NFTablesProxyMode")
            .copied()
            .unwrap_or(default),
    )
}

/// KubeProxyIPVS (KEP-5495): from 1.37, GA and on by default; off, ipvs is not a valid mode.
fn kube_proxy_ipvs_gate(s: &Situation) -> bool {
    s.version < v(1, 37) || s.feature_gates.get("KubeProxyIPVS") != Some(&false)
}

/// The feature gates the verdict depends on, and the kube-proxy versions that know each
/// (first, last). A gate a version does not know stops it in `Complete()`.
const GATES: [(&str, Version, Option<Version>); 3] = [
    // alpha 1.8, beta 1.9, on by default 1.10 (PR #60540), GA 1.11, gone after 1.20
    (
        "SupportIPVSProxyMode",
        Version::new(1, 8),
        Some(Version::new(1, 20)),
    ),
    // alpha 1.29, beta 1.31, GA (locked on) 1.33
    ("NFTablesProxyMode", Version::new(1, 29), None),
    // KEP-5495 stage 2 (1.37): GA, on by default
    ("KubeProxyIPVS", Version::new(1, 37), None),
];

/// `Options.Complete()` applies `featureGates` (`SetFromMap`) before anything is validated;
/// its error stops kube-proxy as `failed complete: …`.
fn gate_problem(s: &Situation) -> Option<Judgement> {
    if s.version < v(1, 8) {
        return None;
    }
    for (name, on) in s.feature_gates {
        let Some((_, first, last)) = GATES.iter().find(|g| g.0 == name) else {
            continue;
        };
        if s.version < *first || last.is_some_and(|l| s.version > l) {
            let known = match last {
                Some(l) => format!("kube-proxy {first}–{l} know it"),
                None => format!("kube-proxy {first} and later know it"),
            };
            return Some(done(
                Outcome::Fail,
                vec![
                    format!("failed complete: unrecognized feature gate: {name}"),
                    format!(
                        "(kube-proxy {} does not know the gate, {known}: delete it from featureGates)",
                        s.version
                    ),
                ],
            ));
        }
        if name == "NFTablesProxyMode" && s.version >= v(1, 33) && !on {
            return Some(done(
                Outcome::Fail,
                vec![format!(
                    "failed complete: cannot set feature gate {name} to false, feature is locked to true"
                )],
            ));
        }
    }
    None
}

/// What kube-proxy `s.version` does with mode `s.mode` on this node.
pub fn judge(s: &Situation) -> Judgement {
    if s.version < v(1, 2) {
        return judge_1_0_1_1(s);
    }
    if let Some(j) = gate_problem(s) {
        return j;
    }
    // 1.9–1.10 validated the IPVS section whatever the mode; later only in ipvs mode
    if s.version <= v(1, 10)
        && let Some(j) = ipvs::scheduler_invalid(s)
    {
        return j;
    }
    let valid = valid_modes(s);
    if s.version >= v(1, 9) && !s.mode.is_empty() && !valid.contains(&s.mode) {
        // the sorted list of valid modes, joined by "," until 1.25 and by ", " in 1.29's
        // source (sets.List; not "ipvs, iptables", see docs/kube-proxy.md)
        let sep = if s.version >= v(1, 29) { ", " } else { "," };
        let mut reasons = vec![format!(
            "KubeProxyConfiguration.Mode.ProxyMode: Invalid value: {:?}: must be {} or blank (blank means the best-available proxy [currently iptables])",
            s.mode,
            valid.join(sep)
        )];
        let hint = match s.mode {
            "nftables" if s.version < v(1, 29) => Some(format!(
                "(nftables mode exists from kube-proxy 1.29; {} does not have it)",
                s.version
            )),
            "nftables" => Some(format!(
                "(kube-proxy {} needs featureGates: {{NFTablesProxyMode: true}} for nftables mode)",
                s.version
            )),
            "userspace" => Some("(the userspace proxier was removed in kube-proxy 1.26)".into()),
            m if MODES.contains(&m.to_ascii_lowercase().as_str()) => Some(format!(
                "(modes are lowercase: {:?})",
                m.to_ascii_lowercase()
            )),
            _ => None,
        };
        if s.mode == "ipvs" {
            reasons.push(format!(
                "(featureGates has KubeProxyIPVS: false, which turns IPVS mode off in kube-proxy {}; unverified against the source: this follows KEP-5495)",
                s.version
            ));
        }
        reasons.extend(hint);
        return done(Outcome::Fail, reasons);
    }
    super::conntrack::with_conntrack(s, judge_mode)
}

/// The mode's own startup checks, once the configuration is valid.
fn judge_mode(s: &Situation) -> Judgement {
    match s.mode {
        // from 1.28 platformCheckSupported asks iptables first for both iptables-based modes
        "ipvs" if s.version >= v(1, 28) && iptables_problem(s).is_some() => judge_iptables(s),
        "ipvs" => {
            let mut j = ipvs::judge_ipvs(s);
            // before 1.28 nothing asks iptables first, yet the IPVS proxier writes iptables
            // rules (masquerade, KUBE-* chains): without iptables they fail at every sync
            if j.outcome == Outcome::Ipvs
                && let Some(problem) = iptables_problem(s)
            {
                j.outcome = Outcome::Broken;
                j.reasons.push(format!(
                    "the IPVS proxier's iptables rules fail to load: {problem}"
                ));
            }
            j
        }
        "nftables" if s.version >= v(1, 29) => nftables::judge(s),
        "userspace" => done(Outcome::Userspace, vec![]),
        "" | "iptables" => judge_iptables(s),
        other => {
            // before 1.9 there was no validation: getProxyMode assumed iptables
            let mut j = judge_iptables(s);
            j.reasons.insert(
                0,
                format!("Flag proxy-mode={other:?} unknown, assuming iptables proxy"),
            );
            j
        }
    }
}

/// 1.0 has only the userspace proxier. 1.1 (`mayTryIptablesProxy`) tries iptables for
/// `iptables`, and for a blank mode only when the node's proxy-mode annotation says so;
/// anything else is userspace.
fn judge_1_0_1_1(s: &Situation) -> Judgement {
    if s.version < v(1, 1) {
        return done(
            Outcome::Userspace,
            vec![format!(
                "(kube-proxy {} has only the userspace proxier)",
                s.version
            )],
        );
    }
    match s.mode {
        "iptables" => judge_iptables(s),
        "" => done(
            Outcome::Userspace,
            vec!["(mode is blank: kube-proxy 1.1 runs the userspace proxier unless the node's annotation net.beta.kubernetes.io/proxy-mode or net.experimental.kubernetes.io/proxy-mode says iptables, which nodeprep cannot see)".into()],
        ),
        other => done(
            Outcome::Userspace,
            vec![format!("Flag proxy-mode={other:?} forbids iptables proxy")],
        ),
    }
}

/// `kube_proxy.modes`: what each mode would do here with this version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Migration {
    pub ipvs: Judgement,
    pub nftables: Judgement,
    pub iptables: Judgement,
}

impl Migration {
    pub fn rows(&self) -> [(&'static str, &Judgement); 3] {
        [
            ("ipvs", &self.ipvs),
            ("nftables", &self.nftables),
            ("iptables", &self.iptables),
        ]
    }
}

/// Judges each of the three modes for the same node, version and config otherwise.
pub fn migration(s: &Situation) -> Migration {
    let row = |mode: &str| judge(&Situation { mode, ..*s });
    Migration {
        ipvs: row("ipvs"),
        nftables: row("nftables"),
        iptables: row("iptables"),
    }
}
