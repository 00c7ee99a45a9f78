//! What kube-proxy itself will do on this node in IPVS mode, version by version.
//! The model follows kube-proxy's own code (docs/kube-proxy.md, Part 1 §1–§4),
//! quirks included; the reasons quote what kube-proxy logs.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::Runtime;
use crate::domain::Version;
use crate::probe::binaries::Binary;
use crate::probe::kernel::{Kernel, ModState};
use crate::probe::nftprobe::NftProbe;
use crate::probe::persist::{InstallEffect, Persistence, install_effect};

/// The newest behaviour nodeprep models; used when no version is given or found.
pub const NEWEST: Version = Version::new(1, 37);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It will run the IPVS proxier.
    Ipvs,
    /// It will run the nftables proxier.
    Nftables,
    /// It will run the iptables proxier (configured, or as IPVS mode's silent fallback).
    Iptables,
    /// It will run the userspace proxier (until 1.25).
    Userspace,
    /// It will exit with an error and crash-loop.
    Fail,
    /// It starts, but the rules it writes fail to load: Services do not work.
    Broken,
}

impl Outcome {
    /// What kube-proxy does, said for the mode it was configured with.
    pub fn sentence(self, mode: &str) -> String {
        let wanted = effective_mode(mode);
        let run = |m: &str| {
            if m == wanted {
                format!("will run in {} mode", display_name(m))
            } else if wanted == "ipvs" && m == "iptables" {
                "will NOT use IPVS: it falls back to iptables".to_string()
            } else {
                format!(
                    "will NOT use {}: it runs the {m} proxier",
                    display_name(wanted)
                )
            }
        };
        match self {
            Outcome::Ipvs => run("ipvs"),
            Outcome::Nftables => run("nftables"),
            Outcome::Iptables => run("iptables"),
            Outcome::Userspace => run("userspace"),
            Outcome::Fail => "will NOT start: it exits with an error and crash-loops".into(),
            Outcome::Broken => "starts, but its rules fail to load: Services will NOT work".into(),
        }
    }
}

/// Everything the verdict depends on. `kernel` may be the projected state after apply.
#[derive(Clone, Copy)]
pub struct Situation<'a> {
    pub version: Version,
    /// The patch level, when known (`--kube-proxy-version 1.12.7`, or the binary's).
    pub patch: Option<u32>,
    /// The proxy mode as configured: `ipvs`, `nftables`, `iptables`, blank, or anything a
    /// config says (kube-proxy's validation decides).
    pub mode: &'a str,
    /// Never empty: `plan::wanted` resolves a blank scheduler to `rr`, as kube-proxy does.
    pub scheduler: &'a str,
    pub runtime: Runtime,
    pub kernel: &'a Kernel,
    pub persist: &'a Persistence,
    /// The host's ipset, iptables and nft.
    pub ipset: Option<&'a Binary>,
    pub iptables: Option<&'a Binary>,
    pub nft: Option<&'a Binary>,
    /// `/proc/net/if_inet6` exists.
    pub ipv6: bool,
    /// `featureGates` of the KubeProxyConfiguration.
    pub feature_gates: &'a BTreeMap<String, bool>,
    /// What the kernel said to kube-proxy's nftables statement shapes (`check --probe`).
    pub nft_probe: Option<&'a NftProbe>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Judgement {
    pub outcome: Outcome,
    pub reasons: Vec<String>,
}

pub(crate) fn v(major: u32, minor: u32) -> Version {
    Version::new(major, minor)
}

pub(crate) fn done(outcome: Outcome, reasons: Vec<String>) -> Judgement {
    Judgement { outcome, reasons }
}

/// A kernel autoload (`request_module`) always runs the host's modprobe helper.
pub(crate) fn autoload_works(s: &Situation, module: &str) -> bool {
    s.kernel.state(module) == ModState::Loadable
        && s.kernel.autoload_works()
        && !blocked_by_install(s.persist, module)
}

pub(super) fn blocked_by_install(p: &Persistence, module: &str) -> bool {
    p.install
        .get(module)
        .is_some_and(|line| install_effect(&line.command) != InstallEffect::Custom)
}

/// What kube-proxy runs for a configured mode: blank means iptables on Linux.
pub fn effective_mode(mode: &str) -> &str {
    if mode.is_empty() { "iptables" } else { mode }
}

/// How a mode is named in sentences.
pub fn display_name(mode: &str) -> &str {
    match mode {
        "ipvs" => "IPVS",
        "nftables" => "nftables",
        "iptables" => "iptables",
        "userspace" => "userspace",
        other => other,
    }
}

/// A kernel feature kube-proxy's rules need: present, or loadable by the kernel's own
/// autoload (the host's modprobe helper and modprobe.d, whoever runs kube-proxy). Without a
/// module index nodeprep cannot tell, and assumes it is there.
pub fn available(s: &Situation, module: &str) -> bool {
    let k = s.kernel;
    k.state(module).is_present()
        || autoload_works(s, module)
        || (k.modules_supported && k.modules_dir.is_none() && k.state(module) == ModState::Missing)
}
