//! nftables mode (kube-proxy ≥ 1.29): the startup checks knftables and kube-proxy make, by
//! version, and the kernel features the rules need. A startup failure makes kube-proxy exit
//! ("unable to create proxier: …"); there is never a fallback. A missing rule feature is only
//! seen when the rules are first written: kube-proxy runs, but Services do not work.

use crate::domain::Runtime;
use crate::probe::nftprobe::{NftProbe, TABLE};

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
    // `check --probe`: the kernel's own answer stands for the module index's
    let probed = s.nft_probe.filter(|p| p.ran);
    if probed.is_none() && !available(s, "nf_tables") {
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
    if let Some(p) = probed {
        return by_probe(s, p);
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

/// The verdict from what the kernel said to the scratch tables (`check --probe`), for the
/// families kube-proxy writes rules for: a table refused is kube-proxy's start-up check
/// failing; a statement refused is its rules failing to load.
fn by_probe(s: &Situation, p: &NftProbe) -> Judgement {
    let families: &[&str] = if ipv6_rules(s) {
        &["ip", "ip6"]
    } else {
        &["ip"]
    };
    let probed: Vec<_> = families.iter().filter_map(|f| p.family(f)).collect();
    if let Some(f) = probed.iter().find(|f| !f.table) {
        let error = f
            .refused
            .first()
            .map_or("the kernel refused the table", |r| r.error.as_str());
        let mut reasons = vec![
            format!("unable to create proxier: could not run nftables command: {error}"),
            format!(
                "(--probe: the kernel refused an {} table: `add table {} {TABLE}` in a scratch network namespace)",
                f.family, f.family
            ),
        ];
        if f.family == "ip6" && !s.ipv6 {
            reasons.push(format!(
                "(no /proc/net/if_inet6, and kube-proxy {} starts an IPv6 proxier beside the IPv4 one; from 1.34 it runs IPv4 alone)",
                s.version
            ));
        }
        return done(Outcome::Fail, reasons);
    }
    let refused: Vec<(&str, &crate::probe::nftprobe::Refusal)> = probed
        .iter()
        .flat_map(|f| f.refused.iter().map(move |r| (f.family.as_str(), r)))
        .collect();
    let mut notes = Vec::new();
    if refused.iter().any(|(_, r)| r.harmless) {
        notes.push(
            "(--probe: the kernel refused object comments; knftables leaves them out: harmless)"
                .to_string(),
        );
    }
    if !ipv6_rules(s)
        && let Some(six) = p.family("ip6")
    {
        notes.push(format!(
            "(no /proc/net/if_inet6: kube-proxy {} writes IPv4 rules alone; the ip6 table {})",
            s.version,
            if six.loaded {
                "loaded all the same"
            } else {
                "was refused"
            }
        ));
    } else if !s.ipv6 {
        notes.push(format!(
            "(no /proc/net/if_inet6, yet kube-proxy {} starts an IPv6 proxier too: this kernel took the ip6 table (--probe))",
            s.version
        ));
    }
    let bad: Vec<_> = refused.iter().filter(|(_, r)| !r.harmless).collect();
    let Some((_, first)) = bad.first() else {
        let mut reasons = vec![format!(
            "(--probe: the kernel loaded kube-proxy's statement shapes for {} in a scratch table)",
            families.join(" and ")
        )];
        reasons.extend(notes);
        return done(Outcome::Nftables, reasons);
    };
    let mut reasons = vec![format!("\"nftables sync failed\" err=\"{}\"", first.error)];
    for (family, r) in &bad {
        reasons.push(format!(
            "(--probe, {family}: the kernel refused `{}`: {})",
            r.statement, r.error
        ));
    }
    reasons.extend(notes);
    done(Outcome::Broken, reasons)
}
