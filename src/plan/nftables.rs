//! nftables mode (kube-proxy ≥ 1.29): the startup checks knftables and kube-proxy make, by
//! version, and the kernel features the rules need. A startup failure makes kube-proxy exit
//! ("unable to create proxier: …"); there is never a fallback. A missing rule feature is only
//! seen when the rules are first written: kube-proxy runs, but Services do not work.

use crate::domain::Runtime;

use super::verdict::{Judgement, Outcome, Situation, available, done, v};

/// Expressions kube-proxy's nftables rules use, by the module that implements them, for each IP
/// family it writes rules for. The nat chain type is apart (`nat_chain_module`): its module's
/// name changed in Linux 5.2.
pub const RULE_FEATURES_IPV4: [(&str, &str); 8] = [
    ("nf_conntrack", "conntrack"),
    ("nf_nat", "NAT"),
    ("nft_nat", "dnat"),
    ("nft_masq", "masquerade"),
    ("nft_ct", "ct state / ct original"),
    ("nft_numgen", "numgen random (endpoint selection)"),
    ("nft_fib_ipv4", "fib daddr type local (NodePorts)"),
    ("nft_reject_ipv4", "reject (Services without endpoints)"),
];
pub const RULE_FEATURES_IPV6: [(&str, &str); 2] = [
    ("nft_fib_ipv6", "fib daddr type local (IPv6 NodePorts)"),
    (
        "nft_reject_ipv6",
        "reject (IPv6 Services without endpoints)",
    ),
];

/// The nat chain type's module from Linux 5.2; before, one per family
/// (`nft_chain_nat_ipv4`, `nft_chain_nat_ipv6`: "netfilter: nf_tables: merge ipv4 and ipv6 nat
/// chain types", Linux 5.2).
pub const NFT_CHAIN_NAT: &str = "nft_chain_nat";

/// The module that gives this kernel the nat chain type for `family` (`ipv4`, `ipv6`).
pub fn nat_chain_module(s: &Situation, family: &str) -> String {
    if s.kernel.version.is_some_and(|kv| kv < (5, 2)) {
        format!("{NFT_CHAIN_NAT}_{family}")
    } else {
        NFT_CHAIN_NAT.to_string()
    }
}

/// The nat chain type for `family`: the per-family module on kernels before 5.2, or the merged
/// one (a distribution kernel may carry the merge backported).
pub fn nat_chain_available(s: &Situation, family: &str) -> bool {
    available(s, NFT_CHAIN_NAT) || available(s, &nat_chain_module(s, family))
}

/// `nftables v1.0.6 (Lester Gooch #5)`: knftables v0.0.15 (kube-proxy ≥ 1.31) refuses a banner
/// starting `nftables v0.` or `nftables v1.0.0 `; any other banner passes.
pub fn nft_version_ok(banner: &str) -> bool {
    !(banner.starts_with("nftables v0.") || banner.starts_with("nftables v1.0.0 "))
}

/// Whether kube-proxy writes IPv6 rules: always in 1.29–1.33 (both proxiers must start), from
/// 1.34 only when the host has IPv6 (PR #131265).
fn ipv6_rules(s: &Situation) -> bool {
    s.version <= v(1, 33) || s.ipv6
}

pub fn judge(s: &Situation) -> Judgement {
    let k = s.kernel;
    let fail = |why: String, note: String| done(Outcome::Fail, vec![why, note]);
    // knftables.New: find nft in kube-proxy's PATH, ask its version, `nft --check` a table
    if s.runtime == Runtime::Host {
        let Some(nft) = s.nft.filter(|b| b.path.is_some()) else {
            return fail(
                "unable to create proxier: could not find nftables binary: exec: \"nft\": executable file not found in $PATH".into(),
                "(a kube-proxy on the host runs the host's nft: install the nftables package)".into(),
            );
        };
        let banner = nft.banner.as_deref().unwrap_or("").trim();
        if s.version >= v(1, 31) && !nft_version_ok(banner) {
            return fail(
                format!(
                    "unable to create proxier: nft version must be v1.0.1 or later (got {banner})"
                ),
                "(knftables v0.0.15 and later, first vendored by kube-proxy 1.31, refuse older nft)"
                    .into(),
            );
        }
    }
    if !available(s, "nf_tables") {
        return fail(
            "unable to create proxier: could not run nftables command: Error: Could not process rule: Operation not supported".into(),
            format!("(nf_tables is not available on kernel {}: not built in, and not loadable by the kernel)", k.release),
        );
    }
    // 1.33 (PR #130401): kernel ≥ 5.13; PR #124152's check in 1.31–1.32 had its condition
    // inverted and only ran when KUBE_PROXY_NFTABLES_SKIP_KERNEL_VERSION_CHECK was set
    if s.version >= v(1, 33) && k.version.is_some_and(|kv| kv < (5, 13)) {
        return fail(
            "unable to create proxier: kube-proxy in nftables mode requires kernel 5.13 or later"
                .into(),
            format!(
                "(kernel {}; KUBE_PROXY_NFTABLES_SKIP_KERNEL_VERSION_CHECK=1 in kube-proxy's environment skips the check)",
                k.release
            ),
        );
    }
    // the rules: only written after start, so a gap leaves kube-proxy running uselessly
    // (`th dport` is nft's spelling of the transport-header match the kernel has had since
    // nf_tables (3.13): no kernel version is needed for it; RHEL 8's 4.18 runs 1.31–1.32)
    let mut missing: Vec<String> = Vec::new();
    let six: &[(&str, &str)] = if ipv6_rules(s) {
        &RULE_FEATURES_IPV6
    } else {
        &[]
    };
    for (m, what) in RULE_FEATURES_IPV4.iter().chain(six) {
        if !available(s, m) {
            missing.push(format!("{m} ({what})"));
        }
    }
    if !nat_chain_available(s, "ipv4") {
        missing.push(format!("{} (nat chains)", nat_chain_module(s, "ipv4")));
    }
    if ipv6_rules(s) && !nat_chain_available(s, "ipv6") {
        missing.push(format!("{} (IPv6 nat chains)", nat_chain_module(s, "ipv6")));
    }
    let mut notes = vec![];
    if ipv6_rules(s) && !s.ipv6 {
        notes.push(format!(
            "(no /proc/net/if_inet6, yet kube-proxy {} starts an IPv6 proxier beside the IPv4 one: with IPv6 disabled at boot (ipv6.disable=1) nf_tables' ip6 family still works (measured on Linux 6.1), on a kernel built without IPv6 it fails with \"Address family not supported by protocol\"; which of the two this is, is unverified)",
            s.version
        ));
    }
    if missing.is_empty() {
        return done(Outcome::Nftables, notes);
    }
    let mut reasons = vec![
        "\"nftables sync failed\" err=\"Error: Could not process rule: No such file or directory\""
            .into(),
        format!(
            "(the kernel cannot load what kube-proxy's rules use: {})",
            missing.join(", ")
        ),
    ];
    reasons.extend(notes);
    done(Outcome::Broken, reasons)
}
