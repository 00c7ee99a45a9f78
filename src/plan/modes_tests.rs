//! The verdict function itself, table-driven: node × mode × kube-proxy version × scheduler ×
//! runtime → outcome and a line of the reasons. Fast (no processes, no files): every row calls
//! `modes::judge` on a node built in memory. Each row names the kube-proxy behaviour it pins
//! (docs/kube-proxy.md, checked against the source);
//! every version boundary is covered from both sides.

use std::collections::{BTreeMap, BTreeSet};

use super::modes::{self, judge};
use super::verdict::{Outcome, Situation};
use crate::domain::Runtime;
use crate::domain::Version;
use crate::probe::binaries::Binary;
use crate::probe::kernel::Kernel;
use crate::probe::persist::Persistence;

use Outcome::*;
use Runtime::{Container as C, Host as H};

/// A node in memory.
#[derive(Clone)]
struct N {
    kernel: Kernel,
    persist: Persistence,
    ipset: Option<Binary>,
    iptables: Option<Binary>,
    nft: Option<Binary>,
    ipv6: bool,
    gates: BTreeMap<String, bool>,
}

fn names(xs: &[&str]) -> BTreeSet<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

fn binary(name: &str, version: Option<&str>, banner: &str) -> Option<Binary> {
    Some(Binary {
        name: name.into(),
        path: Some(format!("/usr/sbin/{name}")),
        version: version.and_then(Version::parse),
        banner: Some(banner.into()),
    })
}

const IPVS: [&str; 16] = [
    "ip_vs",
    "ip_vs_rr",
    "ip_vs_wrr",
    "ip_vs_sh",
    "ip_vs_lc",
    "ip_vs_wlc",
    "ip_vs_lblc",
    "ip_vs_lblcr",
    "ip_vs_dh",
    "ip_vs_sed",
    "ip_vs_nq",
    "ip_vs_mh",
    "ip_vs_fo",
    "ip_vs_ovf",
    "nf_conntrack",
    "br_netfilter",
];
const NETFILTER: [&str; 17] = [
    "x_tables",
    "ip_tables",
    "iptable_nat",
    "nf_nat",
    "nfnetlink",
    "nf_tables",
    "nft_compat",
    "nft_chain_nat",
    "nft_nat",
    "nft_masq",
    "nft_ct",
    "nft_numgen",
    "nft_fib",
    "nft_fib_ipv4",
    "nft_fib_ipv6",
    "nft_reject_ipv4",
    "nft_reject_ipv6",
];

/// Debian 12: Linux 6.1, every module loadable, only nf_conntrack loaded (by kubelet's rules),
/// IPv6, host tools installed.
fn debian() -> N {
    let dep: Vec<&str> = IPVS.iter().chain(&NETFILTER).copied().collect();
    N {
        kernel: Kernel {
            release: "6.1.0-13-amd64".into(),
            version: Some((6, 1)),
            modules_supported: true,
            dep: names(&dep).into(),
            modules_dir: Some("/lib/modules/6.1.0-13-amd64".into()),
            modprobe_helper: Some("/sbin/modprobe".into()),
            modprobe_helper_exists: true,
            loaded: names(&["nf_conntrack"]),
            ..Kernel::default()
        },
        persist: Persistence::default(),
        ipset: binary("ipset", Some("7.17"), "ipset v7.17, protocol version: 7"),
        iptables: binary("iptables", Some("1.8"), "iptables v1.8.9 (nf_tables)"),
        nft: binary("nft", Some("1.0"), "nftables v1.0.6 (Lester Gooch #5)"),
        ipv6: true,
        gates: BTreeMap::new(),
    }
}

// Node tweaks, applied to `debian()`.
fn asis(_: &mut N) {}
/// `nodeprep apply` has run: the IPVS modules and conntrack are loaded.
fn ready(n: &mut N) {
    n.kernel.loaded = names(&[
        "ip_vs",
        "ip_vs_rr",
        "ip_vs_wrr",
        "ip_vs_sh",
        "nf_conntrack",
        "br_netfilter",
    ]);
}
fn release(n: &mut N, r: &str) {
    n.kernel.release = r.into();
    n.kernel.version = crate::probe::kernel::parse_release(r);
}
fn k5_12(n: &mut N) {
    release(n, "5.12.19");
}
fn k5_13(n: &mut N) {
    release(n, "5.13.0");
}
fn k5_2(n: &mut N) {
    release(n, "5.2.21");
}
fn k5_3(n: &mut N) {
    release(n, "5.3.18");
}
fn k3_16(n: &mut N) {
    ready(n);
    release(n, "3.16.0-11-amd64");
    n.kernel.loaded.insert("nf_conntrack_ipv4".into());
}
fn k4_1(n: &mut N) {
    k3_16(n);
    release(n, "4.1.52");
}
fn el7(n: &mut N) {
    k3_16(n);
    release(n, "3.10.0-1160.el7.x86_64");
}
/// 4.19 and later have no nf_conntrack_ipv4; 4.18 looks for it.
fn k4_18(n: &mut N) {
    ready(n);
    release(n, "4.18.20");
}
/// Linux 4.19: nat chains per family (`nft_chain_nat_ipv4`/`_ipv6`), merged in 5.2.
fn k4_19_old_nat(n: &mut N) {
    release(n, "4.19.0-27-amd64");
    remove(n, "nft_chain_nat");
    n.kernel.dep.insert("nft_chain_nat_ipv4".into());
    n.kernel.dep.insert("nft_chain_nat_ipv6".into());
}
fn k4_19_no_nat6(n: &mut N) {
    k4_19_old_nat(n);
    remove(n, "nft_chain_nat_ipv6");
}
fn k4_19_no_nat(n: &mut N) {
    k4_19_no_nat6(n);
    remove(n, "nft_chain_nat_ipv4");
}
fn no_ipv6(n: &mut N) {
    n.ipv6 = false;
}
fn no_nft(n: &mut N) {
    n.nft = None;
}
fn nft_0_9(n: &mut N) {
    n.nft = binary("nft", Some("0.9"), "nftables v0.9.8 (E.D.S.)");
}
fn nft_1_0_0(n: &mut N) {
    n.nft = binary("nft", Some("1.0"), "nftables v1.0.0 (Fearless Fosdick)");
}
fn nft_1_0_1(n: &mut N) {
    n.nft = binary("nft", Some("1.0"), "nftables v1.0.1 (Fearless Fosdick #3)");
}
fn remove(n: &mut N, m: &str) {
    n.kernel.dep.remove(m);
    n.kernel.loaded.remove(m);
}
fn no_numgen(n: &mut N) {
    remove(n, "nft_numgen");
}
fn no_fib6(n: &mut N) {
    remove(n, "nft_fib_ipv6");
}
fn no_fib6_no_ipv6(n: &mut N) {
    no_fib6(n);
    no_ipv6(n);
}
fn no_nf_tables(n: &mut N) {
    remove(n, "nf_tables");
}
fn no_ip_tables(n: &mut N) {
    remove(n, "ip_tables");
}
fn no_iptables_kernel(n: &mut N) {
    remove(n, "ip_tables");
    remove(n, "nf_tables");
}
fn modules_disabled(n: &mut N) {
    n.kernel.modules_disabled = true;
}
/// No more loads, but iptables' and conntrack's modules were loaded before (IPVS's were not).
fn modules_disabled_nf_loaded(n: &mut N) {
    n.kernel.modules_disabled = true;
    n.kernel.loaded = NETFILTER
        .iter()
        .chain(&["nf_conntrack"])
        .map(|s| s.to_string())
        .collect();
}
fn iptables_1_4_7(n: &mut N) {
    n.iptables = binary("iptables", Some("1.4"), "iptables v1.4.7");
}
fn iptables_1_4_11(n: &mut N) {
    n.iptables = binary("iptables", Some("1.4"), "iptables v1.4.11");
}
fn k3_2(n: &mut N) {
    release(n, "3.2.0-4-amd64");
}
fn ready_modules_disabled(n: &mut N) {
    ready(n);
    n.kernel.modules_disabled = true;
}
fn no_helper(n: &mut N) {
    n.kernel.modprobe_helper_exists = false;
}
fn nft_loaded_no_helper(n: &mut N) {
    n.kernel.loaded = NETFILTER
        .iter()
        .chain(&["nf_conntrack"])
        .map(|s| s.to_string())
        .collect();
    n.kernel.modprobe_helper_exists = false;
}
/// No loadable-module support, nothing built in.
fn no_modules(n: &mut N) {
    n.kernel.modules_supported = false;
    n.kernel.loaded.clear();
    n.kernel.dep.clear();
    n.kernel.modules_dir = None;
}
fn no_modules_ct_builtin(n: &mut N) {
    no_modules(n);
    n.kernel.builtin_listed.insert("nf_conntrack".into());
}
fn modules_disabled_no_ct(n: &mut N) {
    modules_disabled(n);
    ct_unloaded(n);
}
fn ct_unloaded(n: &mut N) {
    n.kernel.loaded.remove("nf_conntrack");
}
fn ready_ct_unloaded(n: &mut N) {
    ready(n);
    ct_unloaded(n);
}
fn no_ct(n: &mut N) {
    remove(n, "nf_conntrack");
}
/// Everything built in (modules.builtin); nothing loadable.
fn all_builtin(n: &mut N) {
    n.kernel.dep.clear();
    n.kernel.builtin_listed = IPVS
        .iter()
        .chain(&NETFILTER)
        .map(|s| s.to_string())
        .collect();
}
/// A kernel upgraded but not rebooted: no module index for the running kernel.
fn no_index(n: &mut N) {
    n.kernel.dep.clear();
    n.kernel.modules_dir = None;
}
fn install_line(cmd: &str) -> crate::probe::persist::InstallLine {
    crate::probe::persist::InstallLine {
        file: "/etc/modprobe.d/x.conf".into(),
        command: cmd.into(),
    }
}
fn install(n: &mut N, m: &str, cmd: &str) {
    ready(n);
    n.kernel.loaded.remove(m);
    n.persist.install.insert(m.into(), install_line(cmd));
}
fn install_true_sh(n: &mut N) {
    install(n, "ip_vs_sh", "/bin/true");
}
fn install_false_sh(n: &mut N) {
    install(n, "ip_vs_sh", "/bin/false");
}
fn install_false_numgen(n: &mut N) {
    n.persist
        .install
        .insert("nft_numgen".into(), install_line("/bin/false"));
}
fn old_ipset(n: &mut N) {
    ready(n);
    n.ipset = binary("ipset", Some("4.5"), "ipset v4.5, protocol version: 4");
}
fn no_ipset(n: &mut N) {
    ready(n);
    n.ipset = None;
}
fn ipset_no_version(n: &mut N) {
    ready(n);
    n.ipset = binary("ipset", None, "ipset: unknown option");
}
fn no_iptables_binary(n: &mut N) {
    n.iptables = None;
}
fn gate(n: &mut N, name: &str, on: bool) {
    n.gates.insert(name.into(), on);
}
fn nft_gate_on(n: &mut N) {
    gate(n, "NFTablesProxyMode", true);
}
fn nft_gate_off(n: &mut N) {
    gate(n, "NFTablesProxyMode", false);
}
fn kube_proxy_ipvs_on(n: &mut N) {
    ready(n);
    gate(n, "KubeProxyIPVS", true);
}
fn kube_proxy_ipvs_off(n: &mut N) {
    ready(n);
    gate(n, "KubeProxyIPVS", false);
}
fn ipvs_gate_on(n: &mut N) {
    ready(n);
    gate(n, "SupportIPVSProxyMode", true);
}
fn ipvs_gate_off(n: &mut N) {
    ready(n);
    gate(n, "SupportIPVSProxyMode", false);
}
/// 3.10 with everything 1.8 wants loaded, and the gate.
fn ipvs_gate_on_el7(n: &mut N) {
    el7(n);
    gate(n, "SupportIPVSProxyMode", true);
}
/// Only the lc scheduler module is extra, loadable; builtin lc for 1.20–1.26's quirk.
fn lc_builtin(n: &mut N) {
    ready(n);
    n.kernel.builtin_listed.insert("ip_vs_lc".into());
    n.kernel.dep.remove("ip_vs_lc");
}
fn lc_loaded(n: &mut N) {
    ready(n);
    n.kernel.loaded.insert("ip_vs_lc".into());
}
/// nf_conntrack loaded but no nf_conntrack_ipv4 anywhere (a 4.19+ kernel).
fn ct_new_name_only(n: &mut N) {
    ready(n);
}

struct Row {
    tweak: fn(&mut N),
    mode: &'static str,
    version: &'static str,
    scheduler: &'static str,
    runtime: Runtime,
    want: Outcome,
    /// A line of the reasons must contain this; "" means no reasons at all; "*" skips the check.
    reason: &'static str,
}

#[allow(clippy::too_many_arguments)]
const fn r(
    tweak: fn(&mut N),
    mode: &'static str,
    version: &'static str,
    scheduler: &'static str,
    runtime: Runtime,
    want: Outcome,
    reason: &'static str,
) -> Row {
    Row {
        tweak,
        mode,
        version,
        scheduler,
        runtime,
        want,
        reason,
    }
}

const NOT_LOADED: &str =
    "IPVS proxier will not be used because the following required kernel modules are not loaded:";
/// 1.29's source: sorted, joined by ", " (not "ipvs, iptables"; see docs/kube-proxy.md).
const NFT_INVALID: &str = "KubeProxyConfiguration.Mode.ProxyMode: Invalid value: \"nftables\": must be iptables, ipvs or blank (blank means the best-available proxy [currently iptables])";
const NO_NFT: &str = "unable to create proxier: could not find nftables binary: exec: \"nft\": executable file not found in $PATH";
const KERNEL_5_13: &str =
    "unable to create proxier: kube-proxy in nftables mode requires kernel 5.13 or later";
const SYNC_FAILED: &str = "\"nftables sync failed\"";

#[rustfmt::skip]
const ROWS: &[Row] = &[
    // ---- which modes config validation accepts ----
    // blank means iptables from 1.2; 1.0 had only the userspace proxier, and 1.1 used it unless
    // the node's proxy-mode annotation said iptables (mayTryIptablesProxy)
    r(asis, "", "1.0", "rr", C, Userspace, "kube-proxy 1.0 has only the userspace proxier"),
    r(asis, "iptables", "1.0", "rr", C, Userspace, "only the userspace proxier"),
    r(asis, "", "1.1", "rr", C, Userspace, "unless the node's annotation net.beta.kubernetes.io/proxy-mode"),
    r(asis, "iptables", "1.1", "rr", C, Iptables, ""),
    r(no_iptables_binary, "iptables", "1.1", "rr", H, Userspace, "using userspace proxier"),
    r(asis, "ipvs", "1.1", "rr", C, Userspace, "Flag proxy-mode=\"ipvs\" forbids iptables proxy"),
    r(asis, "", "1.2", "rr", C, Iptables, "mode is blank: kube-proxy uses iptables on Linux"),
    r(asis, "", "1.8", "rr", C, Iptables, "mode is blank: kube-proxy uses iptables on Linux"),
    r(asis, "", "1.35", "rr", C, Iptables, "mode is blank"),
    // userspace until 1.25, removed in 1.26
    r(asis, "userspace", "1.25", "rr", C, Userspace, ""),
    r(asis, "userspace", "1.26", "rr", C, Fail, "Invalid value: \"userspace\": must be iptables,ipvs or blank"),
    r(asis, "userspace", "1.26", "rr", C, Fail, "removed in kube-proxy 1.26"),
    r(asis, "userspace", "1.20", "rr", C, Userspace, ""),
    // modes are case-sensitive: `IPVS` fails validation (from 1.9, when validation came)
    r(ready, "IPVS", "1.9", "rr", C, Fail, "Invalid value: \"IPVS\": must be iptables,ipvs,userspace or blank"),
    r(ready, "IPVS", "1.28", "rr", C, Fail, "Invalid value: \"IPVS\": must be iptables,ipvs or blank"),
    r(ready, "IPVS", "1.30", "rr", C, Fail, "Invalid value: \"IPVS\": must be iptables, ipvs or blank"),
    r(ready, "IPVS", "1.30", "rr", C, Fail, "(modes are lowercase: \"ipvs\")"),
    r(ready, "IPVS", "1.31", "rr", C, Fail, "must be iptables, ipvs, nftables or blank"),
    r(ready, "IPVS", "1.8", "rr", C, Iptables, "Flag proxy-mode=\"IPVS\" unknown, assuming iptables proxy"),
    r(ready, "ebpf", "1.30", "rr", C, Fail, "Invalid value: \"ebpf\""),
    // nftables: from 1.29, behind NFTablesProxyMode (alpha, off) in 1.29–1.30 …
    r(asis, "nftables", "1.28", "rr", C, Fail, "Invalid value: \"nftables\": must be iptables,ipvs or blank"),
    r(asis, "nftables", "1.29", "rr", C, Fail, "Invalid value: \"nftables\": must be iptables, ipvs or blank"),
    r(asis, "nftables", "1.28", "rr", C, Fail, "nftables mode exists from kube-proxy 1.29"),
    // a gate the version does not know stops kube-proxy in Complete(), before validation
    r(nft_gate_on, "nftables", "1.28", "rr", C, Fail, "failed complete: unrecognized feature gate: NFTablesProxyMode"),
    r(nft_gate_on, "iptables", "1.28", "rr", C, Fail, "failed complete: unrecognized feature gate: NFTablesProxyMode"),
    r(asis, "nftables", "1.29", "rr", C, Fail, NFT_INVALID),
    r(asis, "nftables", "1.29", "rr", C, Fail, "needs featureGates: {NFTablesProxyMode: true}"),
    r(asis, "nftables", "1.30", "rr", C, Fail, NFT_INVALID),
    r(nft_gate_on, "nftables", "1.29", "rr", C, Nftables, ""),
    r(nft_gate_on, "nftables", "1.30", "rr", C, Nftables, ""),
    // … beta, on by default in 1.31–1.32 (and can still be turned off) …
    r(asis, "nftables", "1.31", "rr", C, Nftables, ""),
    r(nft_gate_off, "nftables", "1.31", "rr", C, Fail, NFT_INVALID),
    r(nft_gate_off, "nftables", "1.32", "rr", C, Fail, NFT_INVALID),
    // … GA in 1.33: the gate is locked on, turning it off is itself an error, in any mode
    r(nft_gate_off, "nftables", "1.33", "rr", C, Fail, "failed complete: cannot set feature gate NFTablesProxyMode to false, feature is locked to true"),
    r(nft_gate_off, "nftables", "1.37", "rr", C, Fail, "failed complete: cannot set feature gate NFTablesProxyMode to false"),
    r(nft_gate_off, "iptables", "1.33", "rr", C, Fail, "feature is locked to true"),
    r(nft_gate_off, "iptables", "1.32", "rr", C, Iptables, ""),
    r(asis, "nftables", "1.33", "rr", C, Nftables, ""),
    // before 1.9 there was no validation: an unknown mode meant iptables
    r(asis, "nftables", "1.8", "rr", C, Iptables, "Flag proxy-mode=\"nftables\" unknown, assuming iptables proxy"),

    // ---- nftables mode's startup checks ----
    // nft in kube-proxy's PATH: the image's in a container, the host's on the host
    r(no_nft, "nftables", "1.31", "rr", C, Nftables, ""),
    r(no_nft, "nftables", "1.31", "rr", H, Fail, NO_NFT),
    r(|n| { no_nft(n); nft_gate_on(n) }, "nftables", "1.29", "rr", H, Fail, "could not find nftables binary"),
    r(asis, "nftables", "1.31", "rr", H, Nftables, ""),
    // nft ≥ 1.0.1 from knftables v0.0.16 (1.31): by the banner's prefix, as knftables does
    r(nft_0_9, "nftables", "1.30", "rr", H, Fail, NFT_INVALID),
    r(|n| { nft_0_9(n); nft_gate_on(n) }, "nftables", "1.30", "rr", H, Nftables, ""),
    r(nft_0_9, "nftables", "1.31", "rr", H, Fail, "unable to create proxier: nft version must be v1.0.1 or later (got nftables v0.9.8 (E.D.S.))"),
    r(nft_1_0_0, "nftables", "1.31", "rr", H, Fail, "nft version must be v1.0.1 or later (got nftables v1.0.0 (Fearless Fosdick))"),
    r(nft_1_0_1, "nftables", "1.31", "rr", H, Nftables, ""),
    r(nft_0_9, "nftables", "1.35", "rr", C, Nftables, ""),
    // kernel ≥ 5.13 only from 1.33 (PR #130401); 1.31–1.32's check was inverted (PR #124152)
    r(k5_12, "nftables", "1.32", "rr", C, Nftables, ""),
    r(k5_12, "nftables", "1.31", "rr", C, Nftables, ""),
    r(k5_12, "nftables", "1.33", "rr", C, Fail, KERNEL_5_13),
    r(k5_12, "nftables", "1.35", "rr", C, Fail, "KUBE_PROXY_NFTABLES_SKIP_KERNEL_VERSION_CHECK"),
    r(k5_13, "nftables", "1.33", "rr", C, Nftables, ""),
    // both IP families in 1.29–1.33; from 1.34 /proc/net/if_inet6 decides (PR #131265). IPv6
    // disabled at boot does not stop nf_tables' ip6 family (measured): no failure is asserted
    r(no_ipv6, "nftables", "1.33", "rr", C, Nftables, "no /proc/net/if_inet6"),
    r(no_ipv6, "nftables", "1.33", "rr", C, Nftables, "unverified"),
    r(|n| { no_ipv6(n); nft_gate_on(n) }, "nftables", "1.29", "rr", C, Nftables, "starts an IPv6 proxier beside the IPv4 one"),
    r(no_fib6_no_ipv6, "nftables", "1.33", "rr", C, Broken, "nft_fib_ipv6"),
    r(no_ipv6, "nftables", "1.34", "rr", C, Nftables, ""),
    r(no_ipv6, "nftables", "1.35", "rr", C, Nftables, ""),
    // nf_tables itself: `nft --check` of a table fails at start
    r(no_nf_tables, "nftables", "1.31", "rr", C, Fail, "nf_tables is not available on kernel 6.1.0-13-amd64"),
    r(modules_disabled, "nftables", "1.31", "rr", C, Fail, "nf_tables is not available"),
    r(no_helper, "nftables", "1.31", "rr", C, Fail, "nf_tables is not available"),
    r(no_modules, "nftables", "1.31", "rr", C, Fail, "nf_conntrack_max"),
    r(no_modules_ct_builtin, "nftables", "1.31", "rr", C, Fail, "nf_tables is not available"),
    r(all_builtin, "nftables", "1.31", "rr", C, Nftables, ""),
    r(nft_loaded_no_helper, "nftables", "1.31", "rr", C, Nftables, ""),
    // before Linux 5.2 the nat chain type is one module per family
    r(k4_19_old_nat, "nftables", "1.31", "rr", C, Nftables, ""),
    r(k4_19_no_nat6, "nftables", "1.31", "rr", C, Broken, "nft_chain_nat_ipv6 (IPv6 nat chains)"),
    r(k4_19_no_nat, "nftables", "1.31", "rr", C, Broken, "nft_chain_nat_ipv4 (nat chains)"),
    r(|n| { k4_19_no_nat6(n); no_ipv6(n) }, "nftables", "1.32", "rr", C, Broken, "nft_chain_nat_ipv6"),
    r(|n| { k4_19_old_nat(n); remove(n, "ip_tables") }, "iptables", "1.31", "rr", C, Iptables, ""),
    r(|n| { k4_19_no_nat(n); remove(n, "ip_tables") }, "iptables", "1.31", "rr", C, Fail, "nft_chain_nat"),
    // a 5.2+ kernel has only the merged module
    r(|n| { k5_2(n); remove(n, "nft_chain_nat") }, "nftables", "1.31", "rr", C, Broken, "nft_chain_nat (nat chains)"),
    // without a module index nodeprep cannot tell, and does not claim a failure
    r(no_index, "nftables", "1.31", "rr", C, Nftables, ""),

    // ---- the kernel features the rules need: kube-proxy runs, Services break ----
    r(no_numgen, "nftables", "1.31", "rr", C, Broken, SYNC_FAILED),
    r(no_numgen, "nftables", "1.31", "rr", C, Broken, "nft_numgen (numgen random (endpoint selection))"),
    r(install_false_numgen, "nftables", "1.31", "rr", C, Broken, "nft_numgen"),
    r(install_false_numgen, "nftables", "1.31", "rr", H, Broken, "nft_numgen"),
    // IPv6 rules: always written in 1.29–1.33, only with IPv6 from 1.34
    r(no_fib6, "nftables", "1.33", "rr", C, Broken, "nft_fib_ipv6"),
    r(no_fib6, "nftables", "1.34", "rr", C, Broken, "nft_fib_ipv6"),
    r(no_fib6_no_ipv6, "nftables", "1.34", "rr", C, Nftables, ""),
    // `th dport` is the payload match nf_tables always had: no kernel version for it (an
    // earlier reference said 5.3); 1.31–1.32 run on RHEL 8's 4.18, 1.33 refuses < 5.13
    r(k5_2, "nftables", "1.31", "rr", C, Nftables, ""),
    r(k5_3, "nftables", "1.31", "rr", C, Nftables, ""),
    r(k5_2, "nftables", "1.33", "rr", C, Fail, KERNEL_5_13),

    // ---- iptables mode ----
    r(asis, "iptables", "1.30", "rr", C, Iptables, ""),
    r(no_iptables_binary, "iptables", "1.30", "rr", C, Iptables, ""),
    // the startup check by version: 1.28+ asks iptables (both families) and exits …
    r(no_iptables_binary, "iptables", "1.30", "rr", H, Fail, "iptables is not available on this host"),
    r(no_iptables_binary, "iptables", "1.28", "rr", H, Fail, "iptables is not available on this host"),
    // … 1.26–1.27 check nothing (PR #111806): kube-proxy runs and its rules fail …
    r(no_iptables_binary, "iptables", "1.27", "rr", H, Broken, "iptables is not installed on the host"),
    r(no_iptables_binary, "iptables", "1.26", "rr", H, Broken, "without asking iptables whether it works"),
    // … 1.16–1.25 only test route_localnet, which every kernel ≥ 3.6 has: no fallback …
    r(no_iptables_binary, "iptables", "1.25", "rr", H, Broken, "iptables is not installed on the host"),
    r(no_iptables_binary, "iptables", "1.16", "rr", H, Broken, "iptables is not installed on the host"),
    // … up to 1.15 `iptables --version` (the host's, for a kube-proxy on the host) ≥ 1.4.11
    r(no_iptables_binary, "iptables", "1.15", "rr", H, Userspace, "can't determine whether to use iptables proxy, using userspace proxier: exec: \"iptables\": executable file not found in $PATH"),
    r(no_iptables_binary, "iptables", "1.15", "rr", C, Iptables, ""),
    r(no_iptables_binary, "iptables", "1.2", "rr", H, Userspace, "using userspace proxier"),
    r(iptables_1_4_7, "iptables", "1.15", "rr", H, Userspace, "Can't use iptables proxy, using userspace proxier"),
    r(iptables_1_4_7, "iptables", "1.15", "rr", H, Userspace, "iptables 1.4.7 is older than 1.4.11"),
    r(iptables_1_4_7, "iptables", "1.16", "rr", H, Iptables, ""),
    r(iptables_1_4_11, "iptables", "1.15", "rr", H, Iptables, ""),
    // route_localnet (Linux 3.6) up to 1.25
    r(k3_2, "iptables", "1.25", "rr", C, Userspace, "open /proc/sys/net/ipv4/conf/all/route_localnet: no such file or directory"),
    r(k3_2, "iptables", "1.26", "rr", C, Iptables, ""),
    r(k3_2, "", "1.10", "rr", C, Userspace, "older than 3.6"),
    // either backend will do: legacy (ip_tables) or nft (nf_tables + nft_compat)
    r(no_ip_tables, "iptables", "1.30", "rr", C, Iptables, ""),
    r(no_nf_tables, "iptables", "1.30", "rr", C, Iptables, ""),
    r(no_iptables_kernel, "iptables", "1.30", "rr", C, Fail, "neither iptables backend"),
    r(no_iptables_kernel, "iptables", "1.27", "rr", C, Broken, "neither iptables backend"),
    r(no_iptables_kernel, "iptables", "1.25", "rr", C, Broken, "neither iptables backend"),
    r(no_iptables_kernel, "iptables", "1.15", "rr", C, Broken, "neither iptables backend"),
    // kube-proxy never looks at modules for iptables mode: only the rules find out
    r(modules_disabled, "iptables", "1.24", "rr", C, Broken, "neither iptables backend"),
    r(no_modules_ct_builtin, "", "1.30", "rr", C, Fail, "iptables is not available on this host"),
    r(all_builtin, "iptables", "1.30", "rr", C, Iptables, ""),

    // ---- nf_conntrack, every mode: kube-proxy writes nf_conntrack_max at start and exits
    // without it (from 1.28 before any mode logic, 1.2–1.27 after the proxier is created)
    r(modules_disabled_no_ct, "iptables", "1.24", "rr", C, Fail, "open /proc/sys/net/netfilter/nf_conntrack_max: no such file or directory"),
    r(modules_disabled_no_ct, "iptables", "1.24", "rr", C, Fail, "modules_disabled is 1"),
    r(modules_disabled_no_ct, "ipvs", "1.24", "rr", C, Fail, "nf_conntrack_max"),
    r(modules_disabled_no_ct, "ipvs", "1.24", "rr", C, Fail, "Can't use the IPVS proxier"),
    r(modules_disabled_no_ct, "ipvs", "1.30", "rr", C, Fail, "nf_conntrack_max"),
    r(modules_disabled_no_ct, "nftables", "1.31", "rr", C, Fail, "nf_conntrack_max"),
    r(modules_disabled_no_ct, "", "1.10", "rr", C, Fail, "nf_conntrack_max"),
    r(modules_disabled_no_ct, "userspace", "1.20", "rr", C, Fail, "nf_conntrack_max"),
    r(modules_disabled_no_ct, "", "1.1", "rr", C, Userspace, "net.beta.kubernetes.io/proxy-mode"),
    r(no_ct, "iptables", "1.30", "rr", C, Fail, "nf_conntrack does not exist for kernel 6.1.0-13-amd64"),
    r(no_ct, "nftables", "1.35", "rr", C, Fail, "nf_conntrack_max"),
    r(el7, "iptables", "1.15", "rr", C, Iptables, ""),
    // on kernels before 4.19 a loaded nf_conntrack_ipv4 has nf_conntrack loaded beside it
    r(|n| { modules_disabled_nf_loaded(n); release(n, "3.10.0-1160.el7.x86_64"); n.kernel.loaded.remove("nf_conntrack"); n.kernel.loaded.insert("nf_conntrack_ipv4".into()); }, "iptables", "1.15", "rr", C, Iptables, ""),
    // loadable but not loaded: a condition, not a verdict either way
    r(ct_unloaded, "iptables", "1.30", "rr", C, Iptables, "only if something loads nf_conntrack first"),
    r(ct_unloaded, "nftables", "1.33", "rr", C, Nftables, "only if something loads nf_conntrack"),
    r(ready_ct_unloaded, "ipvs", "1.30", "rr", C, Ipvs, "only if something loads nf_conntrack"),
    r(ready_ct_unloaded, "ipvs", "1.27", "rr", C, Ipvs, "only if something loads nf_conntrack"),
    // IPVS mode 1.9–1.26 modprobes it itself first
    r(ready_ct_unloaded, "ipvs", "1.26", "rr", C, Ipvs, ""),
    r(ready_ct_unloaded, "ipvs", "1.13", "rr", C, Ipvs, ""),
    r(ready_ct_unloaded, "ipvs", "1.8", "rr", C, Iptables, "only if something loads nf_conntrack"),
    r(ct_unloaded, "nftables", "1.28", "rr", C, Fail, "Invalid value"),

    // ---- IPVS mode ----
    // from 1.28 platformCheckSupported asks iptables first for IPVS mode too
    // before 1.28 nothing checks iptables first, but the IPVS proxier's iptables rules fail
    r(|n| { ready(n); no_iptables_kernel(n) }, "ipvs", "1.27", "rr", C, Broken, "the IPVS proxier's iptables rules fail to load: kernel"),
    r(|n| { ready(n); no_iptables_kernel(n) }, "ipvs", "1.20", "rr", C, Broken, "the IPVS proxier's iptables rules fail to load"),
    r(|n| { ready(n); no_iptables_binary(n) }, "ipvs", "1.26", "rr", H, Broken, "iptables is not installed on the host"),
    r(|n| { ready(n); no_iptables_kernel(n) }, "ipvs", "1.28", "rr", C, Fail, "iptables is not available on this host"),
    r(|n| { ready(n); no_iptables_binary(n) }, "ipvs", "1.28", "rr", H, Fail, "iptables is not installed on the host"),
    r(|n| { ready(n); no_iptables_binary(n) }, "ipvs", "1.28", "rr", C, Ipvs, ""),
    // SupportIPVSProxyMode: needed in 1.8 and 1.9 (off by default), on by default from 1.10
    r(ready, "ipvs", "1.7", "rr", C, Iptables, "Flag proxy-mode=\"ipvs\" unknown, assuming iptables proxy"),
    r(ready, "ipvs", "1.7", "rr", C, Iptables, "kube-proxy 1.7 has no IPVS mode"),
    r(ipvs_gate_on, "ipvs", "1.7", "rr", C, Iptables, "has no IPVS mode"),
    r(ready, "ipvs", "1.8", "rr", C, Iptables, "SupportIPVSProxyMode is not enabled"),
    r(ipvs_gate_on, "ipvs", "1.8", "rr", C, Userspace, "using userspace proxier: Failed to load kernel modules: [nf_conntrack_ipv4]"),
    r(ipvs_gate_on_el7, "ipvs", "1.8", "rr", C, Ipvs, ""),
    r(ready, "ipvs", "1.9", "rr", C, Iptables, "Flag proxy-mode=\"ipvs\" unknown"),
    r(el7, "ipvs", "1.9", "rr", C, Iptables, "SupportIPVSProxyMode is not enabled"),
    r(ipvs_gate_on_el7, "ipvs", "1.9", "rr", C, Ipvs, ""),
    r(el7, "ipvs", "1.10", "rr", C, Ipvs, ""),
    r(|n| { el7(n); gate(n, "SupportIPVSProxyMode", false) }, "ipvs", "1.10", "rr", C, Iptables, "SupportIPVSProxyMode is not enabled"),
    r(ipvs_gate_off, "ipvs", "1.11", "rr", C, Iptables, "[nf_conntrack_ipv4]"),
    // the gate was removed after 1.20 (GA in 1.11): setting it at all stops kube-proxy 1.21
    r(ipvs_gate_on, "ipvs", "1.20", "rr", C, Ipvs, ""),
    r(ipvs_gate_on, "ipvs", "1.21", "rr", C, Fail, "failed complete: unrecognized feature gate: SupportIPVSProxyMode"),
    r(ipvs_gate_on, "nftables", "1.31", "rr", C, Fail, "unrecognized feature gate: SupportIPVSProxyMode"),
    // 1.9–1.12 want nf_conntrack_ipv4; late 1.11.x/1.12.x take either name (PRs #75241/#75242)
    r(ct_new_name_only, "ipvs", "1.10", "rr", C, Iptables, "[nf_conntrack_ipv4]"),
    r(ct_new_name_only, "ipvs", "1.11", "rr", C, Iptables, "[nf_conntrack_ipv4]"),
    r(ct_new_name_only, "ipvs", "1.11.8", "rr", C, Iptables, "[nf_conntrack_ipv4]"),
    r(ct_new_name_only, "ipvs", "1.11.9", "rr", C, Ipvs, ""),
    r(ct_new_name_only, "ipvs", "1.12", "rr", C, Iptables, "[nf_conntrack_ipv4]"),
    r(ct_new_name_only, "ipvs", "1.12.6", "rr", C, Iptables, "[nf_conntrack_ipv4]"),
    r(ct_new_name_only, "ipvs", "1.12.7", "rr", C, Ipvs, ""),
    r(ct_new_name_only, "ipvs", "1.12.10", "rr", C, Ipvs, ""),
    r(ct_new_name_only, "ipvs", "1.13", "rr", C, Ipvs, ""),
    // 1.13+: the version rule asks 4.18 for nf_conntrack_ipv4, but never reports conntrack
    r(k4_18, "ipvs", "1.13", "rr", C, Ipvs, ""),
    // 1.13–1.18 exit when conn_reuse_mode cannot be set (kernels < 4.1; PR #88541 in 1.19)
    r(k3_16, "ipvs", "1.12", "rr", C, Ipvs, ""),
    r(k3_16, "ipvs", "1.13", "rr", C, Fail, "unable to create proxier: can't set sysctl net/ipv4/vs/conn_reuse_mode to 0"),
    r(k3_16, "ipvs", "1.18", "rr", C, Fail, "conn_reuse_mode"),
    r(k3_16, "ipvs", "1.19", "rr", C, Ipvs, ""),
    r(k4_1, "ipvs", "1.15", "rr", C, Ipvs, ""),
    // RHEL 7's 3.10 has it backported
    r(el7, "ipvs", "1.15", "rr", C, Ipvs, ""),
    // from 1.17 modprobe's exit status counts: `install M /bin/true` passes on the host …
    r(install_true_sh, "ipvs", "1.16", "rr", H, Iptables, "[ip_vs_sh]"),
    r(install_true_sh, "ipvs", "1.17", "rr", H, Ipvs, ""),
    r(install_true_sh, "ipvs", "1.26", "rr", H, Ipvs, ""),
    // … `install M /bin/false` fails either way; a container's modprobe ignores both
    r(install_false_sh, "ipvs", "1.16", "rr", H, Iptables, "[ip_vs_sh]"),
    r(install_false_sh, "ipvs", "1.17", "rr", H, Iptables, "[ip_vs_sh]"),
    r(install_false_sh, "ipvs", "1.26", "rr", H, Fail, "[ip_vs_sh]"),
    r(install_true_sh, "ipvs", "1.16", "rr", C, Ipvs, ""),
    r(install_false_sh, "ipvs", "1.17", "rr", C, Ipvs, ""),
    // ≥ 1.27 the kernel's autoload of the scheduler runs the host's modprobe.d
    r(install_true_sh, "ipvs", "1.27", "sh", C, Fail, "can't use the IPVS proxier: no such file or directory"),
    r(install_true_sh, "ipvs", "1.27", "rr", H, Ipvs, ""),
    // modules_disabled: 1.17–1.26 modprobe fails for what is not loaded
    r(ready_modules_disabled, "ipvs", "1.17", "rr", C, Broken, "the IPVS proxier's iptables rules fail to load"),
    r(modules_disabled_nf_loaded, "ipvs", "1.17", "rr", C, Iptables, "[ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh]"),
    r(modules_disabled_nf_loaded, "ipvs", "1.16", "rr", C, Iptables, "[ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh]"),
    // the fallback is tryIPTablesProxy: it ends where iptables mode would (PR #111806 removed it)
    r(modules_disabled, "ipvs", "1.24", "rr", C, Broken, "neither iptables backend"),
    r(modules_disabled, "ipvs", "1.24", "rr", C, Broken, "Can't use the IPVS proxier"),
    r(|n| { modules_disabled_nf_loaded(n); no_iptables_binary(n) }, "ipvs", "1.15", "rr", H, Userspace, "Can't use ipvs proxier, trying iptables proxier"),
    r(|n| { modules_disabled_nf_loaded(n); no_iptables_binary(n) }, "ipvs", "1.15", "rr", H, Userspace, "using userspace proxier: exec: \"iptables\""),
    // 1.20–1.26 also require ip_vs_<scheduler>, which must be *loaded*
    r(ready, "ipvs", "1.19", "lc", C, Ipvs, ""),
    r(ready, "ipvs", "1.20", "lc", C, Iptables, "Can't use the IPVS proxier: IPVS proxier will not be used because the following required kernel modules are not loaded: [ip_vs_lc]"),
    r(lc_loaded, "ipvs", "1.20", "lc", C, Ipvs, ""),
    r(lc_builtin, "ipvs", "1.22", "lc", C, Iptables, "[ip_vs_lc]"),
    r(lc_builtin, "ipvs", "1.26", "lc", C, Fail, "[ip_vs_lc]"),
    r(lc_builtin, "ipvs", "1.27", "lc", C, Ipvs, ""),
    // the fallback's log lines by version
    r(ready, "ipvs", "1.18", "lc", C, Ipvs, ""),
    r(modules_disabled_nf_loaded, "ipvs", "1.18", "rr", C, Iptables, "Can't use ipvs proxier, trying iptables proxier"),
    r(modules_disabled_nf_loaded, "ipvs", "1.19", "rr", C, Iptables, "Can't use the IPVS proxier: IPVS proxier will not be used"),
    r(modules_disabled_nf_loaded, "ipvs", "1.20", "rr", C, Iptables, "Using iptables Proxier."),
    r(modules_disabled_nf_loaded, "ipvs", "1.21", "rr", C, Iptables, "\"Can't use the IPVS proxier\" err=\"IPVS proxier will not be used"),
    r(modules_disabled_nf_loaded, "ipvs", "1.25", "rr", C, Iptables, "\"Can't use the IPVS proxier\" err="),
    // 1.26: no fallback any more (PR #111806)
    r(modules_disabled_nf_loaded, "ipvs", "1.26", "rr", C, Fail, "can't use the IPVS proxier: IPVS proxier will not be used"),
    // a blank scheduler means rr (resolved before the verdict; rr is what is judged)
    r(ready, "ipvs", "1.22", "rr", C, Ipvs, ""),
    // scheduler validation 1.9–1.26 …
    r(ready, "ipvs", "1.26", "mh", C, Fail, "KubeProxyConfiguration.IPVS.Scheduler: Invalid value: \"mh\": must be in [rr wrr lc wlc lblc lblcr sh dh sed nq ], blank means the default algorithm method (currently rr)"),
    r(ready, "ipvs", "1.27", "mh", C, Ipvs, ""),
    r(ready, "ipvs", "1.27", "twos", C, Fail, "can't use the IPVS proxier: no such file or directory"),
    // … in every mode in the 1.9–1.10 era config, only in ipvs mode later
    r(ready, "iptables", "1.10", "mh", C, Fail, "KubeProxyConfiguration.IPVS.Scheduler: Invalid value: \"mh\""),
    r(ready, "iptables", "1.9", "mh", C, Fail, "IPVS.Scheduler: Invalid value"),
    r(ready, "iptables", "1.11", "mh", C, Iptables, ""),
    r(ready, "nftables", "1.31", "mh", C, Nftables, ""),
    // ipset: kube-proxy keeps the `v`; the host's only for a kube-proxy on the host
    r(old_ipset, "ipvs", "1.22", "rr", H, Iptables, "ipset version: v4.5 is less than min required version: 6.0"),
    r(old_ipset, "ipvs", "1.30", "rr", H, Fail, "can't use the IPVS proxier: ipset version: v4.5 is less than min required version: 6.0"),
    r(old_ipset, "ipvs", "1.30", "rr", C, Ipvs, ""),
    r(no_ipset, "ipvs", "1.30", "rr", H, Fail, "error getting ipset version, error: exec: \"ipset\": executable file not found in $PATH"),
    r(ipset_no_version, "ipvs", "1.30", "rr", H, Fail, "error getting ipset version, error: no ipset version found in string: ipset: unknown option"),
    r(ipset_no_version, "ipvs", "1.22", "rr", H, Iptables, "error getting ipset version, error: no ipset version found"),
    // ≥ 1.27 asks ipset before IPVS: without both, ipset is what it reports
    r(|n| { no_ipset(n); n.kernel.loaded.clear(); n.kernel.dep.clear() }, "ipvs", "1.27", "rr", H, Fail, "error getting ipset version"),
    r(|n| { n.kernel.dep.clear() }, "ipvs", "1.27", "rr", H, Fail, "can't use the IPVS proxier: Ipvs not supported"),
    r(|n| { n.kernel.dep.clear() }, "ipvs", "1.26", "rr", H, Fail, "[ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh]"),
    // ≤ 1.26: the module check comes before ipset
    r(|n| { no_ipset(n); n.kernel.loaded.clear(); n.kernel.dep.clear() }, "ipvs", "1.26", "rr", H, Fail, NOT_LOADED),
    // no module support: 1.9–1.26 cannot read /proc/modules; ≥ 1.27 finds no IPVS
    r(no_modules, "ipvs", "1.26", "rr", C, Fail, "error reading /proc/modules: open /proc/modules: no such file or directory"),
    r(no_modules, "ipvs", "1.27", "rr", C, Fail, "Ipvs not supported"),
    r(all_builtin, "ipvs", "1.26", "rr", C, Ipvs, ""),
    r(all_builtin, "ipvs", "1.10", "rr", C, Iptables, "[ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh nf_conntrack_ipv4]"),
    // 1.35 deprecates IPVS mode, logged only once the IPVS proxier is in use
    r(ready, "ipvs", "1.34", "rr", C, Ipvs, ""),
    r(ready, "ipvs", "1.35", "rr", C, Ipvs, "The ipvs proxier is now deprecated and may be removed in a future release. Please use 'nftables' instead."),
    r(no_ipset, "ipvs", "1.35", "rr", H, Fail, "can't use the IPVS proxier: error getting ipset version"),
    // 1.36 as 1.35; 1.37 adds the KubeProxyIPVS gate (KEP-5495: GA, on by default)
    r(ready, "ipvs", "1.36", "rr", C, Ipvs, "The ipvs proxier is now deprecated"),
    r(ready, "ipvs", "1.37", "rr", C, Ipvs, "The ipvs proxier is now deprecated"),
    r(kube_proxy_ipvs_on, "ipvs", "1.37", "rr", C, Ipvs, "The ipvs proxier is now deprecated"),
    r(kube_proxy_ipvs_off, "ipvs", "1.37", "rr", C, Fail, "Invalid value: \"ipvs\": must be iptables, nftables or blank"),
    r(kube_proxy_ipvs_off, "ipvs", "1.37", "rr", C, Fail, "unverified"),
    r(kube_proxy_ipvs_off, "nftables", "1.37", "rr", C, Nftables, ""),
    r(kube_proxy_ipvs_off, "ipvs", "1.36", "rr", C, Fail, "failed complete: unrecognized feature gate: KubeProxyIPVS"),
    r(kube_proxy_ipvs_on, "iptables", "1.35", "rr", C, Fail, "failed complete: unrecognized feature gate: KubeProxyIPVS"),
];

fn situation<'a>(
    n: &'a N,
    row_mode: &'a str,
    version: &str,
    scheduler: &'a str,
    runtime: Runtime,
) -> Situation<'a> {
    let given = Version::parse_given(version).expect("a row's version");
    let (version, patch) = (given.minor_only(), given.patch);
    Situation {
        version,
        patch,
        mode: row_mode,
        scheduler,
        runtime,
        kernel: &n.kernel,
        persist: &n.persist,
        ipset: n.ipset.as_ref(),
        iptables: n.iptables.as_ref(),
        nft: n.nft.as_ref(),
        ipv6: n.ipv6,
        feature_gates: &n.gates,
        nft_probe: None,
    }
}

fn check(
    wrong: &mut Vec<String>,
    what: &str,
    n: &N,
    (mode, version, scheduler, runtime): (&str, &str, &str, Runtime),
    want: Outcome,
    reason: &str,
) {
    let j = judge(&situation(n, mode, version, scheduler, runtime));
    let reason_ok = match reason {
        "*" => true,
        "" => j.reasons.is_empty(),
        _ => j.reasons.iter().any(|x| x.contains(reason)),
    };
    if j.outcome != want || !reason_ok {
        wrong.push(format!(
            "{what} {mode:?} {version} {scheduler} {runtime:?}: want {want:?} {reason:?}, got {:?} {:?}",
            j.outcome, j.reasons
        ));
    }
}

#[test]
fn verdict_table() {
    let mut wrong = Vec::new();
    for (i, row) in ROWS.iter().enumerate() {
        let mut n = debian();
        (row.tweak)(&mut n);
        check(
            &mut wrong,
            &format!("row {i}"),
            &n,
            (row.mode, row.version, row.scheduler, row.runtime),
            row.want,
            row.reason,
        );
    }
    assert!(
        wrong.is_empty(),
        "{} of {} rows wrong:\n{}",
        wrong.len(),
        ROWS.len(),
        wrong.join("\n")
    );
    assert!(ROWS.len() > 150, "{} rows", ROWS.len());
}

/// Every version from 1.0 to 1.40 × the modes a config can name, on a prepared Debian 12 node
/// (IPVS modules loaded, host tools installed, IPv6, no feature gates), against the ranges the
/// reference and kube-proxy's source give.
#[test]
fn every_version_and_mode_on_a_prepared_node() {
    let mut wrong = Vec::new();
    let mut n = debian();
    ready(&mut n);
    let mut rows = 0;
    for minor in 0..=40u32 {
        let version = format!("1.{minor}");
        for mode in [
            "ipvs",
            "nftables",
            "iptables",
            "",
            "userspace",
            "IPVS",
            "nft",
        ] {
            let want = match mode {
                // 1.0: only userspace; 1.1: iptables only when asked for (or annotated)
                _ if minor == 0 => Userspace,
                "iptables" => Iptables,
                _ if minor == 1 => Userspace,
                "" => Iptables,
                "userspace" if minor <= 25 => Userspace,
                "userspace" => Fail,
                // no validation before 1.9: an unknown mode is iptables
                _ if minor < 9 && mode != "ipvs" => Iptables,
                "IPVS" | "nft" => Fail,
                "nftables" if minor <= 30 => Fail,
                "nftables" => Nftables,
                // ipvs: the gate is off before 1.10; 1.10–1.12 want nf_conntrack_ipv4 (6.1 has none)
                _ if minor <= 12 => Iptables,
                _ => Ipvs,
            };
            for runtime in [C, H] {
                check(
                    &mut wrong,
                    "sweep",
                    &n,
                    (mode, &version, "rr", runtime),
                    want,
                    "*",
                );
                rows += 1;
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {rows} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// nftables' startup checks by version on nodes that each lack one thing, 1.29–1.40, with the
/// gate on so 1.29–1.30 reach the checks.
#[test]
fn nftables_checks_by_version() {
    let mut wrong = Vec::new();
    type Case = (&'static str, fn(&mut N), Runtime, fn(u32) -> Outcome);
    let cases: [Case; 8] = [
        ("prepared", asis, H, |_| Nftables),
        ("no host nft", no_nft, H, |_| Fail),
        ("no host nft, container", no_nft, C, |_| Nftables),
        ("nft 0.9.8", nft_0_9, H, |m| {
            if m >= 31 { Fail } else { Nftables }
        }),
        ("kernel 5.12", k5_12, C, |m| {
            if m >= 33 { Fail } else { Nftables }
        }),
        ("no IPv6", no_ipv6, C, |_| Nftables),
        ("no nft_numgen", no_numgen, C, |_| Broken),
        (
            "kernel 5.2",
            k5_2,
            C,
            |m| if m >= 33 { Fail } else { Nftables },
        ),
    ];
    for (what, tweak, runtime, want) in cases {
        let mut n = debian();
        tweak(&mut n);
        nft_gate_on(&mut n);
        for minor in 29..=40 {
            check(
                &mut wrong,
                what,
                &n,
                ("nftables", &format!("1.{minor}"), "rr", runtime),
                want(minor),
                "*",
            );
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_migration_table_judges_each_mode_on_the_same_node() {
    let mut n = debian();
    ready(&mut n);
    no_numgen(&mut n);
    let s = situation(&n, "ipvs", "1.35", "rr", C);
    let m = modes::migration(&s);
    assert_eq!(m.ipvs.outcome, Ipvs);
    assert_eq!(m.nftables.outcome, Broken);
    assert!(m.nftables.reasons.iter().any(|r| r.contains("nft_numgen")));
    assert_eq!(m.iptables.outcome, Iptables);
    let names: Vec<&str> = m.rows().iter().map(|(name, _)| *name).collect();
    assert_eq!(names, modes::MODES);
}

#[test]
fn sentences_name_the_configured_mode() {
    assert_eq!(Ipvs.sentence("ipvs"), "will run in IPVS mode");
    assert_eq!(
        Iptables.sentence("ipvs"),
        "will NOT use IPVS: it falls back to iptables"
    );
    assert_eq!(Iptables.sentence(""), "will run in iptables mode");
    assert_eq!(Nftables.sentence("nftables"), "will run in nftables mode");
    assert_eq!(
        Userspace.sentence("iptables"),
        "will NOT use iptables: it runs the userspace proxier"
    );
    assert!(
        Broken
            .sentence("nftables")
            .contains("Services will NOT work")
    );
    assert!(Fail.sentence("nftables").contains("crash-loops"));
}

#[test]
fn nft_banner_check_is_knftables_prefix_check() {
    use super::nftables::nft_version_ok;
    assert!(!nft_version_ok("nftables v0.9.3 (Topsy)"));
    assert!(!nft_version_ok("nftables v1.0.0 (Fearless Fosdick)"));
    assert!(nft_version_ok("nftables v1.0.1 (Fearless Fosdick #3)"));
    assert!(nft_version_ok("nftables v1.0.10 (Lester Gooch #7)"));
    // "v1.0.0" without the space after it is not what knftables refuses
    assert!(nft_version_ok("nftables v1.0.0"));
    assert!(nft_version_ok("nftables v1.1.1 (Commodore Bullmoose #2)"));
}

mod probed {
    //! `check --probe` in nftables mode: the kernel's answer to the scratch tables decides.
    use super::*;
    use crate::probe::nftprobe::{FamilyProbe, NftProbe, Refusal};

    fn family(name: &str, table: bool, refused: Vec<Refusal>) -> FamilyProbe {
        FamilyProbe {
            family: name.into(),
            table,
            loaded: table && refused.is_empty(),
            refused,
            deleted: true,
        }
    }
    fn refusal(statement: &str, error: &str, harmless: bool) -> Refusal {
        Refusal {
            statement: statement.into(),
            error: error.into(),
            harmless,
        }
    }
    fn probe(families: Vec<FamilyProbe>) -> NftProbe {
        NftProbe {
            ran: true,
            detail: "d".into(),
            families,
        }
    }
    fn loads() -> NftProbe {
        probe(vec![
            family("ip", true, vec![]),
            family("ip6", true, vec![]),
        ])
    }
    const NO_SUCH: &str = "Error: Could not process rule: No such file or directory";
    const NO_AF: &str = "Error: Could not process rule: Address family not supported by protocol";
    fn numgen_refused() -> NftProbe {
        let r = refusal(
            "add rule ip nodeprep-probe service-a numgen random mod 2 vmap { 0 : goto endpoint-a , 1 : goto endpoint-b }",
            NO_SUCH,
            false,
        );
        probe(vec![
            family("ip", true, vec![r]),
            family("ip6", true, vec![]),
        ])
    }
    fn ip6_refused() -> NftProbe {
        let r = refusal("add table ip6 nodeprep-probe", NO_AF, false);
        probe(vec![
            family("ip", true, vec![]),
            family("ip6", false, vec![r]),
        ])
    }

    fn judged(n: &N, version: &str, p: &NftProbe) -> crate::plan::verdict::Judgement {
        let mut s = situation(n, "nftables", version, "rr", H);
        s.nft_probe = Some(p);
        judge(&s)
    }
    fn has(j: &crate::plan::verdict::Judgement, part: &str) -> bool {
        j.reasons.iter().any(|r| r.contains(part))
    }

    #[test]
    fn the_kernels_yes_stands_for_the_module_index() {
        let mut n = debian();
        no_numgen(&mut n);
        let j = judged(&n, "1.33", &loads());
        assert_eq!(j.outcome, Nftables, "{:?}", j.reasons);
        assert!(
            has(
                &j,
                "the kernel loaded kube-proxy's statement shapes for ip and ip6"
            ),
            "{:?}",
            j.reasons
        );
    }

    #[test]
    fn a_refused_statement_is_broken_with_nfts_words() {
        let j = judged(&debian(), "1.33", &numgen_refused());
        assert_eq!(j.outcome, Broken, "{:?}", j.reasons);
        assert!(
            has(&j, &format!("\"nftables sync failed\" err=\"{NO_SUCH}\"")),
            "{:?}",
            j.reasons
        );
        assert!(
            has(
                &j,
                "(--probe, ip: the kernel refused `add rule ip nodeprep-probe service-a numgen random"
            ),
            "{:?}",
            j.reasons
        );
    }

    #[test]
    fn a_refused_ip6_table_fails_until_1_34_drops_ipv6_on_a_host_without_it() {
        let mut n = debian();
        no_ipv6(&mut n);
        for version in ["1.31", "1.32", "1.33"] {
            let j = judged(&n, version, &ip6_refused());
            assert_eq!(j.outcome, Fail, "{version}: {:?}", j.reasons);
            assert!(
                has(&j, &format!("could not run nftables command: {NO_AF}")),
                "{:?}",
                j.reasons
            );
            assert!(has(&j, "no /proc/net/if_inet6"), "{:?}", j.reasons);
        }
        for version in ["1.34", "1.37"] {
            let j = judged(&n, version, &ip6_refused());
            assert_eq!(j.outcome, Nftables, "{version}: {:?}", j.reasons);
            assert!(
                has(&j, "writes IPv4 rules alone; the ip6 table was refused"),
                "{:?}",
                j.reasons
            );
        }
        // with IPv6 present, 1.34 still starts both proxiers
        let j = judged(&debian(), "1.34", &ip6_refused());
        assert_eq!(j.outcome, Fail, "{:?}", j.reasons);
    }

    #[test]
    fn ipv6_disabled_with_a_working_ip6_family_is_settled() {
        let mut n = debian();
        no_ipv6(&mut n);
        let j = judged(&n, "1.33", &loads());
        assert_eq!(j.outcome, Nftables, "{:?}", j.reasons);
        assert!(
            has(&j, "this kernel took the ip6 table (--probe)"),
            "{:?}",
            j.reasons
        );
        assert!(!has(&j, "unverified"), "{:?}", j.reasons);
        let j = judged(&n, "1.34", &loads());
        assert!(
            has(&j, "the ip6 table loaded all the same"),
            "{:?}",
            j.reasons
        );
    }

    #[test]
    fn a_refused_comment_is_harmless() {
        let r = refusal(
            "add table ip nodeprep-probe { comment \"x\" ; }",
            NO_SUCH,
            true,
        );
        let p = probe(vec![
            family("ip", true, vec![r]),
            family("ip6", true, vec![]),
        ]);
        let j = judged(&debian(), "1.33", &p);
        assert_eq!(j.outcome, Nftables, "{:?}", j.reasons);
        assert!(has(&j, "knftables leaves them out"), "{:?}", j.reasons);
    }

    #[test]
    fn what_comes_before_the_kernel_still_decides() {
        // the kernel-version check (1.33), nf_conntrack (every mode), and the host's nft
        let mut n = debian();
        k5_12(&mut n);
        assert_eq!(judged(&n, "1.33", &loads()).outcome, Fail);
        let mut n = debian();
        no_ct(&mut n);
        assert_eq!(judged(&n, "1.33", &loads()).outcome, Fail);
        let mut n = debian();
        no_nft(&mut n);
        assert_eq!(judged(&n, "1.33", &loads()).outcome, Fail);
    }

    #[test]
    fn a_probe_that_did_not_run_leaves_the_module_index_to_judge() {
        let mut n = debian();
        no_numgen(&mut n);
        let p = NftProbe {
            ran: false,
            detail: "cannot run".into(),
            families: vec![],
        };
        let j = judged(&n, "1.33", &p);
        assert_eq!(j.outcome, Broken, "{:?}", j.reasons);
        assert!(has(&j, "nft_numgen"), "{:?}", j.reasons);
    }

    #[test]
    fn the_migration_table_s_nftables_row_hears_the_probe_too() {
        let p = numgen_refused();
        let n = debian();
        let mut s = situation(&n, "ipvs", "1.33", "rr", H);
        s.nft_probe = Some(&p);
        assert_eq!(modes::migration(&s).nftables.outcome, Broken);
    }
}
