//! iptables mode: kube-proxy's startup check by version, and the kernel side it needs.

use crate::domain::Runtime;

use super::nftables::nat_chain_available;
use super::verdict::available;
use super::verdict::{Judgement, Outcome, Situation, done, v};

/// The kernel side of iptables: the legacy backend (`ip_tables`, `iptable_nat`) or the nft
/// backend (`nf_tables`, `nft_compat`, `nft_chain_nat`) that the image's iptables-wrapper picks.
pub fn iptables_kernel_support(s: &Situation) -> bool {
    let have = |m: &str| available(s, m);
    (have("ip_tables") && have("iptable_nat"))
        || (have("nf_tables") && have("nft_compat") && nat_chain_available(s, "ipv4"))
}

/// iptables mode by version (`tryIPTablesProxy`, `platformCheckSupported`): up to 1.25 a failed
/// startup check means the userspace proxier; 1.26–1.27 check nothing, so a node without
/// iptables runs kube-proxy with rules that fail to load; from 1.28 kube-proxy exits.
pub fn judge_iptables(s: &Situation) -> Judgement {
    let mut reasons = vec![];
    if s.mode.is_empty() {
        reasons.push("mode is blank: kube-proxy uses iptables on Linux".to_string());
    }
    if s.version <= v(1, 25)
        && let Some(why) = userspace_fallback(s)
    {
        reasons.extend(why);
        return done(Outcome::Userspace, reasons);
    }
    match iptables_problem(s) {
        None => done(Outcome::Iptables, reasons),
        Some(p) if s.version >= v(1, 28) => {
            reasons.push("iptables is not available on this host".into());
            reasons.push(format!("({p})"));
            done(Outcome::Fail, reasons)
        }
        Some(p) => {
            reasons.push(format!(
                "(kube-proxy {} starts the iptables proxier without asking iptables whether it works: its rules then fail to load)",
                s.version
            ));
            reasons.push(format!("({p})"));
            done(Outcome::Broken, reasons)
        }
    }
}

/// The least iptables kube-proxy's version check accepted (`iptablesMinVersion`).
const IPTABLES_MIN: (u32, u32, u32) = (1, 4, 11);

/// `CanUseIPTablesProxier` up to 1.25: `iptables --version` ≥ 1.4.11 (up to about 1.15, when
/// the version check was dropped), then the `route_localnet` sysctl must exist (Linux 3.6).
fn userspace_fallback(s: &Situation) -> Option<Vec<String>> {
    const USERSPACE: &str =
        "can't determine whether to use iptables proxy, using userspace proxier";
    if s.version <= v(1, 15) && s.runtime == Runtime::Host {
        let note = "(kube-proxy up to 1.15 checks the host's `iptables --version` first; the exact release that dropped the check is unverified)";
        match s.iptables.filter(|b| b.path.is_some()) {
            None => {
                return Some(vec![
                    format!("{USERSPACE}: exec: \"iptables\": executable file not found in $PATH"),
                    note.into(),
                ]);
            }
            Some(b) => {
                let banner = b.banner.as_deref().unwrap_or("");
                if let Some(found) = banner_version(banner).filter(|f| *f < IPTABLES_MIN) {
                    return Some(vec![
                        "Can't use iptables proxy, using userspace proxier".into(),
                        format!(
                            "(iptables {}.{}.{} is older than 1.4.11; {})",
                            found.0,
                            found.1,
                            found.2,
                            &note[1..note.len() - 1]
                        ),
                    ]);
                }
            }
        }
    }
    if s.kernel.version.is_some_and(|kv| kv < (3, 6)) {
        return Some(vec![
            format!(
                "{USERSPACE}: open /proc/sys/net/ipv4/conf/all/route_localnet: no such file or directory"
            ),
            format!(
                "(kernel {} is older than 3.6, which brought route_localnet)",
                s.kernel.release
            ),
        ]);
    }
    None
}

/// `iptables v1.4.7` → (1, 4, 7).
fn banner_version(banner: &str) -> Option<(u32, u32, u32)> {
    let rest = &banner[banner.find(" v")? + 2..];
    let digits: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = digits.split('.').map(|p| p.parse::<u32>().ok());
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

/// Why `iptables -w 5 -S POSTROUTING -t nat` would fail for kube-proxy, if it would.
pub(super) fn iptables_problem(s: &Situation) -> Option<String> {
    if s.runtime == Runtime::Host && s.iptables.is_none_or(|b| b.path.is_none()) {
        Some(
            "iptables is not installed on the host, and a kube-proxy on the host runs the host's"
                .into(),
        )
    } else if !iptables_kernel_support(s) {
        Some(format!(
            "kernel {} has neither iptables backend: ip_tables + iptable_nat (legacy) or nf_tables + nft_compat + nft_chain_nat (nft)",
            s.kernel.release
        ))
    } else {
        None
    }
}
