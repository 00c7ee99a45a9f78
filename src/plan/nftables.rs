//! nftables mode (kube-proxy ≥ 1.29): the startup checks knftables and kube-proxy make, by
//! version, and the kernel features the rules need. A startup failure makes kube-proxy exit
//! ("unable to create proxier: …"); there is never a fallback. A missing rule feature is only
//! seen when the rules are first written: kube-proxy runs, but Services do not work.

use crate::domain::Runtime;

use super::verdict::{Judgement, Outcome, Situation, available, done, v};

/// Expressions kube-proxy's nftables rules use, by the module that implements them (Linux ≥ 5.2
/// names), for each IP family it writes rules for.
pub const RULE_FEATURES_IPV4: [(&str, &str); 9] = [
    ("nf_conntrack", "conntrack"),
    ("nf_nat", "NAT"),
    ("nft_chain_nat", "nat chains"),
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
    if s.version <= v(1, 33) && !s.ipv6 {
        return fail(
            "unable to create proxier: could not run nftables command: Error: Could not process rule: Address family not supported by protocol".into(),
            format!("(no /proc/net/if_inet6: IPv6 is disabled, and kube-proxy {} always starts an IPv6 proxier beside the IPv4 one; 1.34 and later run single-stack)", s.version),
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
    if missing.is_empty() {
        return done(Outcome::Nftables, vec![]);
    }
    done(
        Outcome::Broken,
        vec![
            "\"nftables sync failed\" err=\"Error: Could not process rule: No such file or directory\"".into(),
            format!(
                "(the kernel cannot load what kube-proxy's rules use: {})",
                missing.join(", ")
            ),
        ],
    )
}
