//! The kube-proxy verdict: which version is judged, and what it does now and after apply.

use super::verdict::{NEWEST, Situation};
use crate::domain::Version;
use crate::probe::Facts;

use super::modes;
use super::{types::*, wanted::*};

pub(super) fn kube_proxy_verdict(
    ask: &Ask,
    facts: &Facts,
    wanted: &Wanted,
    after: &Facts,
) -> KubeProxyVerdict {
    let (given, mut version_source, guessed) = match (ask.kube_proxy_version, &facts.kube_version) {
        (Some(v), _) => (v, "--kube-proxy-version".to_string(), false),
        (None, Some(found)) => (found.version, found.path.clone(), false),
        // a kubeadm config names the version it will install
        (None, None) => match facts.kube_config.as_ref().and_then(|c| {
            let v = c.kubernetes_version.as_deref()?;
            Some((
                Version::parse(v)?,
                format!("kubernetesVersion {v} in {}", c.path),
                false,
            ))
        }) {
            Some(found) => found,
            None => (
                NEWEST,
                "newest behaviour; no kube-proxy, kubelet or kubeadm found".to_string(),
                true,
            ),
        },
    };
    // the verdict is judged at the minor level; the patch matters for one conntrack rule
    let (patch, given) = (given.patch, given.minor_only());
    let (version, version_note) = if given > NEWEST {
        let note = format!(
            "kube-proxy {given} ({version_source}) is newer than the newest version nodeprep knows; judging as {NEWEST}"
        );
        version_source = format!("{version_source} said {given}; judged as {NEWEST}");
        (NEWEST, Some(note))
    } else {
        (given, None)
    };
    let no_gates = Default::default();
    let gates = facts
        .kube_config
        .as_ref()
        .map_or(&no_gates, |c| &c.feature_gates);
    let situation = |fx| situation(ask, wanted, fx, gates, version, patch);
    let now_s = situation(facts);
    let now = modes::judge(&now_s);
    KubeProxyVerdict {
        version,
        version_source,
        version_note,
        guessed,
        patch,
        mode: wanted.mode.clone(),
        scheduler: wanted.scheduler.to_string(),
        runtime: ask.runtime,
        outcome: now.outcome,
        reasons: now.reasons,
        after_apply: modes::judge(&situation(after)),
        modes: modes::migration(&now_s),
    }
}

pub(super) fn situation<'a>(
    ask: &Ask,
    wanted: &'a Wanted,
    fx: &'a Facts,
    gates: &'a std::collections::BTreeMap<String, bool>,
    version: Version,
    patch: Option<u32>,
) -> Situation<'a> {
    Situation {
        version,
        patch,
        mode: &wanted.mode,
        scheduler: &wanted.scheduler,
        runtime: ask.runtime,
        kernel: &fx.kernel,
        persist: &fx.persist,
        ipset: fx.binary("ipset"),
        iptables: fx.binary("iptables"),
        nft: fx.binary("nft"),
        ipv6: fx.ipv6,
        feature_gates: gates,
        nft_probe: fx.nft_probe.as_ref(),
    }
}
