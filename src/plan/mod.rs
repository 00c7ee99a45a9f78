//! Decisions: from the facts and the wanted state to rows, findings, the kube-proxy verdict,
//! and the actions `apply` carries out (`actions.rs`). Nothing here reads or writes the node;
//! everything it knows comes in `Facts`.

pub mod actions;
mod conntrack;
pub mod files;
mod findings;
pub mod iptables;
pub mod ipvs;
mod kube_proxy;
pub mod modes;
mod modules;
pub mod nftables;
mod project;
mod sysctls;
mod types;
pub mod verdict;
mod wanted;

pub use modules::load_blocker;
pub use project::{at_boot, predicted_loads, project};
pub use sysctls::{Boot, boot_value};
pub use types::*;
pub use wanted::*;

use crate::probe::Facts;

use findings::*;
use kube_proxy::*;
use modules::*;
use sysctls::*;

pub fn assess(ask: &Ask, facts: &Facts, wanted: &Wanted, after_apply: &Facts) -> Assessment {
    let mut f = Findings::default();
    node_findings(ask, facts, wanted, &mut f);
    let modules = wanted
        .modules
        .iter()
        .map(|m| module_row(facts, m, &mut f))
        .collect();
    persistence_findings(facts, &mut f);
    let sysctls = wanted
        .sysctls
        .iter()
        .map(|(key, want)| sysctl_row(facts, after_apply, key, want, &mut f))
        .collect();
    binary_findings(ask, facts, wanted, &mut f);
    let kube_proxy = kube_proxy_verdict(ask, facts, wanted, after_apply);
    verdict_findings(&mut f, facts, &kube_proxy, wanted);
    strict_arp_finding(facts, wanted, &mut f);
    let mut findings = f.done();
    // --ignore: the named errors are reported, as warnings, and no longer block "ready"; a
    // finding that stands for several is ignored by any of their ids
    for finding in findings.iter_mut() {
        let named = ask.ignores(&finding.id) || finding.also.iter().any(|a| ask.ignores(a));
        if finding.severity == Severity::Error && named {
            finding.severity = Severity::Warning;
            finding.message.push_str(" (ignored: --ignore)");
        }
    }
    Assessment {
        modules,
        sysctls,
        findings,
        kube_proxy,
    }
}

#[cfg(test)]
mod modes_tests;
