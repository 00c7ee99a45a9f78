//! IPVS mode: what each kube-proxy version checks before it runs the IPVS proxier, and what
//! it does when a check fails.

use crate::domain::Runtime;
use crate::domain::Version;
use crate::probe::kernel::ModState;
use crate::probe::persist::{InstallEffect, install_effect};

use super::verdict::*;

/// Schedulers kube-proxy's config validation accepts.
pub const VALID_SCHEDULERS: [&str; 10] = [
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "sh", "dh", "sed", "nq",
];

/// The IPVS modules kube-proxy 1.8–1.26 require besides the conntrack module.
pub const BASE_IPVS_MODULES: [&str; 4] = ["ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh"];

/// The line kube-proxy ≥ 1.35 logs (error level) once the IPVS proxier is in use (PR #134539).
pub const IPVS_DEPRECATED: &str = "The ipvs proxier is now deprecated and may be removed in a future release. Please use 'nftables' instead.";

/// IPVS mode, once config validation has passed (see `modes::judge`).
pub fn judge_ipvs(s: &Situation) -> Judgement {
    if let Some(j) = ipvs_gate_off(s) {
        return j;
    }
    if s.version < v(1, 9) {
        return judge_ipvs_1_8(s);
    }
    // config validation rejected unknown schedulers from 1.9 until PR #114878 (1.27), which
    // left it to the functional probe (1.9–1.10 validate it in every mode: modes::judge)
    if let Some(j) = scheduler_invalid(s) {
        return j;
    }
    let problem = if s.version <= v(1, 26) {
        module_list_check(s).or_else(|| ipset_problem(s))
    } else {
        functional_probe(s)
    };
    let Some(problem) = problem else {
        // RHEL 7's 3.10 kernels carry conn_reuse_mode (backported); other kernels < 4.1 do not
        if (v(1, 13)..=v(1, 18)).contains(&s.version)
            && s.kernel.version.is_some_and(|kv| kv < (4, 1))
            && !s.kernel.release.contains(".el7")
        {
            // NewProxier sets conn_reuse_mode unconditionally; kernels < 4.1 lack it (PR #88541
            // fixed this in 1.19)
            return done(
                Outcome::Fail,
                vec!["unable to create proxier: can't set sysctl net/ipv4/vs/conn_reuse_mode to 0: open /proc/sys/net/ipv4/vs/conn_reuse_mode: no such file or directory".into(),
                     format!("(kernel {} is older than 4.1 and has no conn_reuse_mode; kube-proxy 1.19 and later skip it)", s.kernel.release)],
            );
        }
        let mut reasons = vec![];
        if s.version >= v(1, 35) {
            reasons.push(IPVS_DEPRECATED.to_string());
        }
        return done(Outcome::Ipvs, reasons);
    };
    ipvs_fallback(s, problem)
}

/// Without the SupportIPVSProxyMode gate (before 1.8, or off in 1.8–1.10) `ipvs` is an
/// unknown mode and kube-proxy runs iptables.
pub(super) fn ipvs_gate_off(s: &Situation) -> Option<Judgement> {
    // SupportIPVSProxyMode: alpha in 1.8, beta but still off by default in 1.9, on by default
    // from 1.10 (PR #60540), GA in 1.11. Without it `ipvs` is an unknown mode to getProxyMode.
    let gate_default = s.version >= v(1, 10);
    let gate_off = s.version < v(1, 8)
        || (s.version <= v(1, 10)
            && !s
                .feature_gates
                .get("SupportIPVSProxyMode")
                .copied()
                .unwrap_or(gate_default));
    if !gate_off {
        return None;
    }
    let why = if s.version < v(1, 8) {
        format!("kube-proxy {} has no IPVS mode", s.version)
    } else {
        "the feature gate SupportIPVSProxyMode is not enabled; set featureGates: SupportIPVSProxyMode=true".into()
    };
    Some(then_iptables(
        s,
        vec![
            format!(
                "Flag proxy-mode=\"{}\" unknown, assuming iptables proxy",
                s.mode
            ),
            format!("({why})"),
        ],
        None,
    ))
}

/// IPVS mode's way to iptables up to 1.25 goes through `tryIPTablesProxy`, so it ends where
/// iptables mode would: iptables, the userspace proxier, or rules that do not load.
fn then_iptables(s: &Situation, mut reasons: Vec<String>, ok_line: Option<&str>) -> Judgement {
    let j = super::iptables::judge_iptables(&Situation {
        mode: "iptables",
        ..*s
    });
    if j.outcome == Outcome::Iptables {
        reasons.extend(ok_line.map(String::from));
    }
    reasons.extend(j.reasons);
    done(j.outcome, reasons)
}

/// kube-proxy 1.8 (alpha, feature gate SupportIPVSProxyMode=true): no modprobe, no ipset
/// check; it reads /proc/modules and, on any error, uses the userspace proxier.
pub(super) fn judge_ipvs_1_8(s: &Situation) -> Judgement {
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
    match problem {
        None => done(Outcome::Ipvs, vec![]),
        Some(p) => done(
            Outcome::Userspace,
            vec![format!(
                "can't determine whether to use ipvs proxy, using userspace proxier: {p}"
            )],
        ),
    }
}

/// What kube-proxy does when the IPVS proxier cannot be used: fall back to iptables (up to
/// 1.25, each version with its own words) or fail (1.26 on).
pub(super) fn ipvs_fallback(s: &Situation, problem: String) -> Judgement {
    let fallback = Some("Using iptables Proxier.");
    if s.version <= v(1, 18) {
        then_iptables(
            s,
            vec![
                format!("can't determine whether to use ipvs proxy, error: {problem}"),
                "Can't use ipvs proxier, trying iptables proxier".into(),
            ],
            fallback,
        )
    } else if s.version <= v(1, 20) {
        then_iptables(
            s,
            vec![format!("Can't use the IPVS proxier: {problem}")],
            fallback,
        )
    } else if s.version <= v(1, 25) {
        then_iptables(
            s,
            vec![format!("\"Can't use the IPVS proxier\" err=\"{problem}\"")],
            fallback,
        )
    } else {
        done(
            Outcome::Fail,
            vec![format!("can't use the IPVS proxier: {problem}")],
        )
    }
}

/// kube-proxy 1.9–1.26's validation of `ipvs.scheduler` (blank is `rr`, resolved before).
pub fn scheduler_invalid(s: &Situation) -> Option<Judgement> {
    ((v(1, 9)..=v(1, 26)).contains(&s.version) && !VALID_SCHEDULERS.contains(&s.scheduler)).then(
        || {
            done(
                Outcome::Fail,
                vec![format!(
                    "KubeProxyConfiguration.IPVS.Scheduler: Invalid value: {:?}: must be in [{} ], blank means the default algorithm method (currently rr)",
                    s.scheduler,
                    VALID_SCHEDULERS.join(" ")
                )],
            )
        },
    )
}

/// kube-proxy's own `modprobe` of a module: the image's modprobe in a container (host
/// modprobe.d does not apply), the host's on the host. Blacklists never stop it.
pub(super) fn explicit_load_works(s: &Situation, module: &str) -> bool {
    let k = s.kernel;
    if k.state(module) != ModState::Loadable || k.modules_disabled {
        return false;
    }
    s.runtime == Runtime::Container || !blocked_by_install(s.persist, module)
}

/// What kube-proxy 1.17–1.26 take from `modprobe M`: its exit status. The image's modprobe in a
/// container ignores the host's modprobe.d; on the host `install M /bin/true` exits 0.
pub(super) fn modprobe_exits_zero(s: &Situation, module: &str) -> bool {
    if s.runtime == Runtime::Host
        && let Some(line) = s.persist.install.get(module)
    {
        return match install_effect(&line.command) {
            InstallEffect::NoOp => true,
            InstallEffect::Fails => false,
            InstallEffect::Custom => s.kernel.state(module) == ModState::Loadable,
        };
    }
    s.kernel.state(module) == ModState::Loadable && !s.kernel.modules_disabled
}

/// The late 1.11.x/1.12.x patch releases that accept either conntrack module name (the 4.19
/// fix backported by PRs #75241/#75242). nodeprep takes v1.11.9 and v1.12.7 as the first.
pub(super) fn either_conntrack(s: &Situation) -> bool {
    let first = match (s.version.major, s.version.minor) {
        (1, 11) => 9,
        (1, 12) => 7,
        _ => return false,
    };
    s.patch.is_some_and(|p| p >= first)
}

/// 1.9–1.26: modprobe the base modules, then decide from /proc/modules (1.9–1.16) or from
/// modprobe's exit status (1.17–1.26, PRs #82223/#83553).
pub(super) fn module_list_check(s: &Situation) -> Option<String> {
    let k = s.kernel;
    if !k.modules_supported {
        return Some(
            "error reading /proc/modules: open /proc/modules: no such file or directory".into(),
        );
    }
    // 1.9–1.12 want nf_conntrack_ipv4 (late 1.11.x/1.12.x either name); 1.13+ pick by kernel
    // version (4.19 boundary)
    let conntrack = if s.version < v(1, 13) || k.version.is_some_and(|kv| kv < (4, 19)) {
        "nf_conntrack_ipv4"
    } else {
        "nf_conntrack"
    };
    let mut base = BASE_IPVS_MODULES.to_vec();
    base.push(conntrack);
    let counts = |m: &str| {
        k.state(m) == ModState::Loaded
            || (s.version >= v(1, 11) && k.builtin_listed.contains(m))
            || if s.version >= v(1, 17) {
                modprobe_exits_zero(s, m)
            } else {
                explicit_load_works(s, m)
            }
    };
    let mut missing: Vec<String> = base
        .iter()
        .filter(|m| !counts(m))
        .map(|m| m.to_string())
        .collect();
    if either_conntrack(s) && counts("nf_conntrack") {
        missing.retain(|m| m != "nf_conntrack_ipv4");
    }
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

/// 1.27+ (`CanUseIPVSProxier`, PR #114669): the ipset version first — opening the IPVS
/// netlink handle does not fail without IPVS — then add/list/delete a dummy virtual server.
pub(super) fn functional_probe(s: &Situation) -> Option<String> {
    if let Some(p) = ipset_problem(s) {
        return Some(p);
    }
    let k = s.kernel;
    // the IPVS library runs `modprobe -va ip_vs` itself when it opens the handle
    let ip_vs = k.state("ip_vs").is_present() || explicit_load_works(s, "ip_vs");
    if !ip_vs {
        // adding the dummy virtual server "succeeds" on the nil handle; listing finds none
        return Some("Ipvs not supported".into());
    }
    let module = format!("ip_vs_{}", s.scheduler);
    if k.state(&module).is_present() || autoload_works(s, &module) {
        None
    } else {
        // the kernel refuses the dummy virtual server: no such scheduler
        Some("no such file or directory".into())
    }
}

/// kube-proxy's ipset version check; in a container the image's own ipset is used. kube-proxy
/// keeps the `v` of `ipset v4.5` in its messages.
pub(super) fn ipset_problem(s: &Situation) -> Option<String> {
    if s.runtime == Runtime::Container {
        return None;
    }
    let Some(b) = s.ipset.filter(|b| b.path.is_some()) else {
        return Some("error getting ipset version, error: exec: \"ipset\": executable file not found in $PATH".into());
    };
    match &b.version {
        None => Some(format!(
            "error getting ipset version, error: no ipset version found in string: {}",
            b.banner.as_deref().unwrap_or("")
        )),
        Some(ver) if !ipset_version_ok(*ver) => Some(format!(
            "ipset version: v{ver} is less than min required version: 6.0"
        )),
        Some(_) => None,
    }
}

/// kube-proxy's minimum ipset version.
pub fn ipset_version_ok(ver: Version) -> bool {
    ver >= Version::new(6, 0)
}
