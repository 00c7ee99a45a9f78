//! The findings about the node as a whole, its helper programs and the verdict.

use super::verdict::Outcome;
use crate::domain::Runtime;
use crate::domain::{ProxyMode, Version};
use crate::probe::Facts;
use crate::probe::kernel::ModState;

use super::modes;
use super::{types::*, wanted::*};

/// The node as a whole: an image, a kernel that loads no more modules.
pub(super) fn node_findings(ask: &Ask, facts: &Facts, wanted: &Wanted, f: &mut Findings) {
    let k = &facts.kernel;
    let release = &k.release;
    if k.image {
        f.add(
            Severity::Info,
            "ImageRoot",
            format!(
                "{} is an image, not the running node (its /proc is not the running kernel's procfs with that kernel's modules): judged as the node will be at boot with kernel {release} (modules from modules-load.d, sysctls from sysctl.d, versions from the package database); none of its programs is run, and apply writes only the persistent files",
                ask.root
            ),
        );
    }
    if k.modules_disabled && wanted.modules.iter().any(|m| !k.state(m).is_present()) {
        f.add(
            Severity::Error,
            "ModulesDisabled",
            "/proc/sys/kernel/modules_disabled is 1: no module can be loaded until the next boot",
        );
    }
}

/// The helper programs the mode needs, and ipset's version.
pub(super) fn binary_findings(ask: &Ask, facts: &Facts, wanted: &Wanted, f: &mut Findings) {
    // the helpers not found, of one severity, are one finding: the search path said once
    let mut missing: Vec<(Severity, &str, &str)> = Vec::new();
    for b in &facts.binaries {
        if b.path.is_some() || !wanted.binaries.contains(&b.name.as_str()) {
            continue;
        }
        let needed_by_kube_proxy = b.name != "ipvsadm" && ask.runtime == Runtime::Host;
        let why = match b.name.as_str() {
            "ipvsadm" => {
                "kube-proxy does not need it, but it is the tool to look at IPVS rules (ipvsadm -Ln)"
            }
            _ if needed_by_kube_proxy => "kube-proxy on the host runs it",
            _ => {
                "a containerised kube-proxy brings its own, but the host's is the one you debug with"
            }
        };
        let severity = if needed_by_kube_proxy {
            Severity::Error
        } else {
            Severity::Warning
        };
        missing.push((severity, b.name.as_str(), why));
    }
    for severity in [Severity::Error, Severity::Warning] {
        let these: Vec<&(Severity, &str, &str)> =
            missing.iter().filter(|(s, _, _)| *s == severity).collect();
        let Some((_, first, _)) = these.first() else {
            continue;
        };
        // the package is named after the binary, except nft's
        let packages: Vec<&str> = these
            .iter()
            .map(|(_, name, _)| if *name == "nft" { "nftables" } else { name })
            .collect();
        let install = facts
            .os
            .install_command(&packages)
            .map(|c| {
                format!(
                    "; install {}: {c}",
                    if these.len() == 1 { "it" } else { "them" }
                )
            })
            .unwrap_or_default();
        let names: Vec<&str> = these.iter().map(|(_, name, _)| *name).collect();
        let searched = crate::probe::binaries::SEARCHED;
        let message = match these.as_slice() {
            [(_, name, why)] => format!("{name} not found in {searched} ({why}){install}"),
            _ => {
                let what: Vec<String> = these
                    .iter()
                    .map(|(_, name, why)| format!("{name}: {why}"))
                    .collect();
                let (rest, last) = names.split_at(names.len() - 1);
                format!(
                    "{} and {} not found in {searched} ({}){install}",
                    rest.join(", "),
                    last[0],
                    what.join("; ")
                )
            }
        };
        f.add(severity, format!("FileExisting-{first}"), message);
        f.also(names[1..].iter().map(|n| format!("FileExisting-{n}")));
    }
    if let Some(ipset) = facts
        .binary("ipset")
        .filter(|b| b.path.is_some() && wanted.binaries.contains(&"ipset"))
        && !ipset.version.is_some_and(super::ipvs::ipset_version_ok)
    {
        f.add(
            if ask.runtime == Runtime::Host {
                Severity::Error
            } else {
                Severity::Warning
            },
            "IpsetVersion",
            format!(
                "ipset version {} is not at least 6.0, which kube-proxy requires ({})",
                ipset.version.map_or("unknown".into(), |v| v.to_string()),
                ipset.banner.as_deref().unwrap_or("")
            ),
        );
    }
}

/// MetalLB's strictARP advice, for IPVS mode.
pub(super) fn strict_arp_finding(facts: &Facts, wanted: &Wanted, f: &mut Findings) {
    if let Some(kc) = facts
        .kube_config
        .as_ref()
        .filter(|c| c.strict_arp == Some(false) && wanted.proxy_mode() == Some(ProxyMode::Ipvs))
    {
        f.add(
            Severity::Info,
            "StrictARP",
            format!(
                "{} has ipvs.strictARP: false; MetalLB in L2 mode needs `strictARP: true` under `ipvs:` in the KubeProxyConfiguration (kubectl -n kube-system edit configmap kube-proxy)",
                kc.path
            ),
        );
    }
}

/// The findings the verdict makes: the configured mode does not run (error), a version newer
/// than nodeprep knows, and IPVS's deprecation with what nftables mode would do here.
pub(super) fn verdict_findings(
    f: &mut Findings,
    facts: &Facts,
    kp: &KubeProxyVerdict,
    wanted: &Wanted,
) {
    if let Some(note) = &kp.version_note {
        f.add(Severity::Warning, "KubeProxyVersion", note.clone());
    }
    let id = match wanted.proxy_mode() {
        Some(ProxyMode::Ipvs) => "KubeProxyIPVS",
        Some(ProxyMode::Nftables) => "KubeProxyNFTables",
        Some(ProxyMode::Iptables) => "KubeProxyIPTables",
        None => "KubeProxyMode",
    };
    if modes::expected_outcome(&wanted.mode) != Some(kp.outcome) {
        f.add(
            Severity::Error,
            id,
            format!(
                "kube-proxy {} {}: {}",
                kp.version,
                kp.outcome.sentence(&wanted.mode),
                kp.reasons.join("; ")
            ),
        );
        // IPVS modules this kernel lacks are the one cause: said once, with what it means
        let lacking = super::ipvs::BASE_IPVS_MODULES.iter().find(|m| {
            wanted.modules.iter().any(|w| w == *m) && facts.kernel.state(m) == ModState::Missing
        });
        if let Some(m) = lacking
            && kp.after_apply.outcome == kp.outcome
        {
            let more = format!(
                "; so kube-proxy {} {}: {}",
                kp.version,
                kp.outcome.sentence(&wanted.mode),
                kp.reasons.join("; ")
            );
            let _ = f.fold(id, &format!("KernelModule-{m}"), Some(more));
        }
    } else if kp.outcome == Outcome::Userspace {
        f.add(
            Severity::Warning,
            id,
            format!("kube-proxy {} runs the userspace proxier, which kube-proxy 1.26 removed: choose iptables or nftables before upgrading", kp.version),
        );
    }
    // once, for a version given or found (not the newest one judged for lack of any), and
    // with what switching takes on this node
    if kp.outcome == Outcome::Ipvs && kp.version >= Version::new(1, 35) && !kp.guessed {
        let nft = &kp.modes.nftables;
        let today = if nft.outcome == Outcome::Nftables {
            "nftables mode works on this node today (nodeprep --mode nftables check)".to_string()
        } else {
            format!(
                "nftables mode would not work here yet: {}",
                nft.reasons.join("; ")
            )
        };
        f.add(
            Severity::Warning,
            "KubeProxyDeprecated",
            format!(
                "kube-proxy {} deprecates IPVS mode (kubeadm warns from 1.37); {today}",
                kp.version
            ),
        );
    }
}
