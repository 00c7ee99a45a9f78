//! The wanted state: what the operator asked for, and the modules, sysctls and helpers
//! that follow from it for the configured mode.

use crate::domain::Runtime;
use crate::domain::{ProxyMode, Scheduler, Version};
use crate::probe::Facts;
use crate::probe::kernel::ModState;
use crate::probe::sysctl::normalize_key;

/// The seeds' /etc/sysctl.d/k8s.conf.
pub const DEFAULT_SYSCTLS: [(&str, &str); 4] = [
    ("net.bridge.bridge-nf-call-iptables", "1"),
    ("net.bridge.bridge-nf-call-ip6tables", "1"),
    ("net.ipv4.ip_forward", "1"),
    ("vm.swappiness", "0"),
];

/// Wanted sysctls kube-proxy does not need: a wrong value is a warning, not an error
/// (vm.swappiness is the seeds' habit for the kubelet's old swap check).
pub const ADVISORY_SYSCTLS: [&str; 1] = ["vm/swappiness"];

/// What the operator asked for, as the plan needs it (`Config::ask` builds it once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    /// The root as messages show it.
    pub root: String,
    pub extra_modules: Vec<String>,
    /// `--sysctl` overrides and additions.
    pub sysctls: Vec<(String, String)>,
    /// None: from the kube-proxy config, else `rr`.
    pub scheduler: Option<Scheduler>,
    /// `--kube-proxy-version`.
    pub kube_proxy_version: Option<Version>,
    /// `--mode`: overrides the config's mode.
    pub proxy_mode: Option<ProxyMode>,
    pub runtime: Runtime,
    /// Finding ids (lowercase) whose errors are reported as warnings; `all` for every one.
    pub ignore: Vec<String>,
    /// Default modules (normalised) and sysctls (path form) dropped from the wanted set.
    pub without: Vec<String>,
}

impl Ask {
    pub fn ignores(&self, id: &str) -> bool {
        self.ignore
            .iter()
            .any(|i| i == "all" || i.eq_ignore_ascii_case(id))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub modules: Vec<String>,
    /// (path-form key, value)
    pub sysctls: Vec<(String, String)>,
    pub scheduler: Scheduler,
    /// The configured proxy mode as kube-proxy reads it (`--mode`, else the config's, which may
    /// be blank or invalid, else `ipvs`).
    pub mode: String,
    /// The helper programs that matter for this mode.
    pub binaries: Vec<&'static str>,
}

impl Wanted {
    /// The mode kube-proxy runs for the configured one (None: not one nodeprep prepares for).
    pub fn proxy_mode(&self) -> Option<ProxyMode> {
        ProxyMode::of_configured(&self.mode)
    }
}

/// The wanted sysctls: the defaults, then `--sysctl` overrides and additions.
pub fn wanted_sysctls(ask: &Ask) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = DEFAULT_SYSCTLS
        .iter()
        .map(|(k, v)| (normalize_key(k), v.to_string()))
        .filter(|(k, _)| !ask.without.contains(k))
        .collect();
    for (k, v) in &ask.sysctls {
        let k = normalize_key(k);
        match out.iter_mut().find(|(have, _)| *have == k) {
            Some(slot) => slot.1 = v.clone(),
            None => out.push((k, v.clone())),
        }
    }
    out
}

/// The wanted state for the configured mode. Every mode: the conntrack module (kube-proxy
/// writes `net/netfilter/nf_conntrack_max` at start, fatal when it fails), `br_netfilter` and
/// the k8s.conf sysctls. IPVS mode adds the IPVS modules, ipset and ipvsadm; nftables mode
/// needs `nft` (the host's, for a kube-proxy on the host) and kernel features the kernel
/// loads on demand, which the verdict judges; iptables mode needs `iptables`.
pub fn wanted(ask: &Ask, facts: &Facts) -> Wanted {
    let kc = facts.kube_config.as_ref();
    let scheduler = ask
        .scheduler
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| {
            kc.and_then(|c| c.scheduler.clone())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_default();
    let mode = match (ask.proxy_mode, kc) {
        (Some(m), _) => m.as_str().to_string(),
        (None, Some(c)) => c.mode.clone(),
        (None, None) => "ipvs".to_string(),
    };
    let conntrack = if facts.kernel.state("nf_conntrack_ipv4") != ModState::Missing {
        "nf_conntrack_ipv4"
    } else {
        "nf_conntrack"
    };
    let ipvs = ProxyMode::of_configured(&mode) == Some(ProxyMode::Ipvs);
    let mut modules: Vec<String> = if ipvs {
        super::ipvs::BASE_IPVS_MODULES.to_vec()
    } else {
        vec![]
    }
    .into_iter()
    .chain([conntrack, "br_netfilter"])
    .filter(|m| !ask.without.iter().any(|w| w == m))
    .map(String::from)
    .collect();
    let sched_module = scheduler.module();
    let extra = ask.extra_modules.iter();
    for m in ipvs.then_some(&sched_module).into_iter().chain(extra) {
        if !modules.contains(m) {
            modules.push(m.clone());
        }
    }
    let binaries = match ProxyMode::of_configured(&mode) {
        Some(ProxyMode::Ipvs) => vec!["ipset", "ipvsadm", "iptables"],
        Some(ProxyMode::Nftables) => vec!["nft"],
        Some(ProxyMode::Iptables) => vec!["iptables"],
        None => vec![],
    };
    Wanted {
        modules,
        sysctls: wanted_sysctls(ask),
        scheduler,
        mode,
        binaries,
    }
}
