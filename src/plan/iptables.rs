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

/// iptables mode's startup check: `iptables -w 5 -S POSTROUTING -t nat` for each family. Until
/// 1.25 a failure meant the userspace proxier; from 1.26 kube-proxy exits.
pub fn judge_iptables(s: &Situation) -> Judgement {
    let mut reasons = vec![];
    if s.mode.is_empty() {
        reasons.push("mode is blank: kube-proxy uses iptables on Linux".to_string());
    }
    match iptables_problem(s) {
        None => done(Outcome::Iptables, reasons),
        Some(p) if s.version <= v(1, 25) => {
            reasons.push("Can't use iptables proxy, using userspace proxier".into());
            reasons.push(format!("({p})"));
            done(Outcome::Userspace, reasons)
        }
        Some(p) => {
            reasons.push("iptables is not available on this host".into());
            reasons.push(format!("({p})"));
            done(Outcome::Fail, reasons)
        }
    }
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
