//! What kube-proxy itself will do on this node in IPVS mode, version by version.
//! The model follows kube-proxy's own code (see ../shared/reference/kube-proxy-ipvs.md §1–§4),
//! quirks included; the reasons quote what kube-proxy logs.

use serde::Serialize;

use crate::cli::Runtime;
use crate::config::Version;
use crate::probe::binaries::Binary;
use crate::probe::kernel::{Kernel, ModState};
use crate::probe::persist::{InstallEffect, Persistence, install_effect};

/// Schedulers kube-proxy's config validation accepts.
pub const VALID_SCHEDULERS: [&str; 10] = [
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "sh", "dh", "sed", "nq",
];

/// The IPVS modules kube-proxy 1.8–1.26 require besides the conntrack module.
pub const BASE_IPVS_MODULES: [&str; 4] = ["ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh"];

/// The newest behaviour nodeprep models; used when no version is given or found.
pub const NEWEST: Version = Version::new(1, 35);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It will run the IPVS proxier.
    Ipvs,
    /// It will silently run the iptables proxier instead.
    Iptables,
    /// It will exit with an error and crash-loop.
    Fail,
    /// It will run the userspace proxier (1.8 and older).
    Userspace,
    /// Configured for nftables: IPVS does not matter.
    Nftables,
}

impl Outcome {
    pub fn sentence(self) -> &'static str {
        match self {
            Outcome::Ipvs => "will run in IPVS mode",
            Outcome::Iptables => "will NOT use IPVS: it falls back to iptables",
            Outcome::Fail => "will NOT start: it exits with an error and crash-loops",
            Outcome::Userspace => "will NOT use IPVS: it runs the userspace proxier",
            Outcome::Nftables => "runs the nftables proxier",
        }
    }
}

/// Everything the verdict depends on. `kernel` may be the projected state after apply.
pub struct Situation<'a> {
    pub version: Version,
    /// The proxy mode kube-proxy is configured with (`ipvs` unless a config says otherwise).
    pub mode: &'a str,
    /// Never empty: `plan::wanted` resolves a blank scheduler to `rr`, as kube-proxy does.
    pub scheduler: &'a str,
    pub runtime: Runtime,
    pub kernel: &'a Kernel,
    pub persist: &'a Persistence,
    /// The host's ipset.
    pub ipset: Option<&'a Binary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Judgement {
    pub outcome: Outcome,
    pub reasons: Vec<String>,
}

fn v(major: u32, minor: u32) -> Version {
    Version::new(major, minor)
}

pub fn judge(s: &Situation) -> Judgement {
    let done = |outcome, reasons: Vec<String>| Judgement { outcome, reasons };
    match s.mode {
        "ipvs" => {}
        "" | "iptables" => {
            return done(
                Outcome::Iptables,
                vec![format!(
                    "proxy mode is {:?}: kube-proxy does not try IPVS, so IPVS preparation does not matter for it",
                    s.mode
                )],
            );
        }
        "nftables" => {
            return done(
                Outcome::Nftables,
                vec!["proxy mode is \"nftables\": kube-proxy does not try IPVS, so IPVS preparation does not matter for it".into()],
            );
        }
        other => {
            return done(
                Outcome::Fail,
                vec![format!(
                    "invalid proxy mode {other:?}: kube-proxy's config validation rejects it"
                )],
            );
        }
    }
    if s.version < v(1, 9) {
        // 1.8 (alpha, feature gate SupportIPVSProxyMode=true): no modprobe, no ipset check;
        // it reads /proc/modules and, on any error, uses the userspace proxier
        let k = s.kernel;
        let problem = if !k.modules_supported {
            Some("exit status 1".to_string())
        } else {
            let missing: Vec<&str> = BASE_IPVS_MODULES
                .into_iter()
                .chain(["nf_conntrack_ipv4"])
                .filter(|m| !k.loaded.contains(*m))
                .collect();
            (!missing.is_empty())
                .then(|| format!("Failed to load kernel modules: [{}]", missing.join(" ")))
        };
        return match problem {
            None => done(Outcome::Ipvs, vec![]),
            Some(p) => done(
                Outcome::Userspace,
                vec![format!(
                    "can't determine whether to use ipvs proxy, using userspace proxier: {p}"
                )],
            ),
        };
    }
    // config validation rejected unknown schedulers from 1.9 until PR #114878 (1.27), which
    // left it to the functional probe
    if s.version <= v(1, 26) && !VALID_SCHEDULERS.contains(&s.scheduler) {
        return done(
            Outcome::Fail,
            vec![format!(
                "KubeProxyConfiguration.IPVS.Scheduler: Invalid value: {:?}: must be in [{} ], blank means the default algorithm method (currently rr)",
                s.scheduler,
                VALID_SCHEDULERS.join(" ")
            )],
        );
    }
    let problem = if s.version <= v(1, 26) {
        module_list_check(s)
    } else {
        functional_probe(s)
    }
    .or_else(|| ipset_problem(s));
    let Some(problem) = problem else {
        return done(Outcome::Ipvs, vec![]);
    };
    let fallback = "Using iptables Proxier.".to_string();
    if s.version <= v(1, 18) {
        done(
            Outcome::Iptables,
            vec![
                format!("can't determine whether to use ipvs proxy, error: {problem}"),
                "Can't use ipvs proxier, trying iptables proxier".into(),
                fallback,
            ],
        )
    } else if s.version <= v(1, 20) {
        done(
            Outcome::Iptables,
            vec![format!("Can't use the IPVS proxier: {problem}"), fallback],
        )
    } else if s.version <= v(1, 25) {
        done(
            Outcome::Iptables,
            vec![
                format!("\"Can't use the IPVS proxier\" err=\"{problem}\""),
                fallback,
            ],
        )
    } else {
        done(
            Outcome::Fail,
            vec![format!("can't use the IPVS proxier: {problem}")],
        )
    }
}

/// kube-proxy's own `modprobe` of a module: the image's modprobe in a container (host
/// modprobe.d does not apply), the host's on the host. Blacklists never stop it.
fn explicit_load_works(s: &Situation, module: &str) -> bool {
    let k = s.kernel;
    if k.state(module) != ModState::Loadable || k.modules_disabled {
        return false;
    }
    s.runtime == Runtime::Container || !blocked_by_install(s.persist, module)
}

/// A kernel autoload (`request_module`) always runs the host's modprobe helper.
fn autoload_works(s: &Situation, module: &str) -> bool {
    s.kernel.state(module) == ModState::Loadable
        && s.kernel.autoload_works()
        && !blocked_by_install(s.persist, module)
}

fn blocked_by_install(p: &Persistence, module: &str) -> bool {
    p.install
        .get(module)
        .is_some_and(|(_, cmd)| install_effect(cmd) != InstallEffect::Custom)
}

/// 1.9–1.26: modprobe the base modules, then read /proc/modules.
fn module_list_check(s: &Situation) -> Option<String> {
    let k = s.kernel;
    if !k.modules_supported {
        return Some(
            "error reading /proc/modules: open /proc/modules: no such file or directory".into(),
        );
    }
    // 1.9–1.12 always want nf_conntrack_ipv4; 1.13+ pick by kernel version (4.19 boundary)
    let conntrack = if s.version < v(1, 13) || k.version.is_some_and(|kv| kv < (4, 19)) {
        "nf_conntrack_ipv4"
    } else {
        "nf_conntrack"
    };
    let mut base = BASE_IPVS_MODULES.to_vec();
    base.push(conntrack);
    let after_modprobe = |m: &str| k.state(m) == ModState::Loaded || explicit_load_works(s, m);
    let builtin_counts = |m: &str| s.version >= v(1, 11) && k.builtin_listed.contains(m);
    let mut missing: Vec<String> = base
        .iter()
        .filter(|m| !after_modprobe(m) && !builtin_counts(m))
        .map(|m| m.to_string())
        .collect();
    if s.version >= v(1, 20) {
        let module = format!("ip_vs_{}", s.scheduler);
        // only the base modules are modprobed or looked up as builtin: others must be loaded
        if !base.contains(&module.as_str()) && k.state(&module) != ModState::Loaded {
            missing.push(module);
        }
    }
    if s.version >= v(1, 13) {
        // kube-proxy only reports conntrack when *both* conntrack names are missing, and it
        // only ever looks for one of them: a missing conntrack module is never reported
        missing.retain(|m| !m.starts_with("nf_conntrack"));
    }
    (!missing.is_empty()).then(|| {
        format!(
            "IPVS proxier will not be used because the following required kernel modules are not loaded: [{}]",
            missing.join(" ")
        )
    })
}

/// 1.27+: open the IPVS netlink handle, then add/list/delete a dummy virtual server.
fn functional_probe(s: &Situation) -> Option<String> {
    let k = s.kernel;
    let ip_vs = k.state("ip_vs").is_present() || explicit_load_works(s, "ip_vs");
    if !ip_vs {
        return Some("ipvs not supported by the kernel".into());
    }
    if let Some(p) = ipset_problem(s) {
        return Some(p);
    }
    let module = format!("ip_vs_{}", s.scheduler);
    if k.state(&module).is_present() || autoload_works(s, &module) {
        None
    } else {
        // the kernel refuses the dummy virtual server: no such scheduler
        Some("no such file or directory".into())
    }
}

/// kube-proxy's ipset version check; in a container the image's own ipset is used.
fn ipset_problem(s: &Situation) -> Option<String> {
    if s.runtime == Runtime::Container {
        return None;
    }
    let Some(b) = s.ipset.filter(|b| b.path.is_some()) else {
        return Some("error getting ipset version, error: exec: \"ipset\": executable file not found in $PATH".into());
    };
    match &b.version {
        None => Some(format!(
            "no ipset version found in string: {}",
            b.banner.as_deref().unwrap_or("")
        )),
        Some(ver) if !ipset_version_ok(ver) => Some(format!(
            "ipset version: {ver} is less than min required version: 6.0"
        )),
        Some(_) => None,
    }
}

pub fn ipset_version_ok(ver: &str) -> bool {
    let mut it = ver.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0)) >= (6, 0)
}
