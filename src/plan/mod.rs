//! Decisions: from the facts and the wanted state to rows, findings, the kube-proxy verdict,
//! and the actions `apply` carries out (`actions.rs`). Nothing here reads or writes the node;
//! everything it knows comes in `Facts`.

pub mod actions;
pub mod files;
pub mod modes;
pub mod nftables;
pub mod verdict;

use serde::Serialize;

use crate::config::Config;
use crate::domain::Runtime;
use crate::domain::{ProxyMode, Scheduler, Version};
use crate::probe::Facts;
use crate::probe::kernel::ModState;
use crate::probe::persist::{InstallEffect, InstallLine, install_effect};
use crate::probe::sysctl::{dotted, key_matches, normalize_key, same_value};
use modes::Migration;
use verdict::{Judgement, NEWEST, Outcome, Situation};

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
pub fn wanted_sysctls(cfg: &Config) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = DEFAULT_SYSCTLS
        .iter()
        .map(|(k, v)| (normalize_key(k), v.to_string()))
        .filter(|(k, _)| !cfg.without.contains(k))
        .collect();
    for (k, v) in &cfg.sysctls {
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
pub fn wanted(cfg: &Config, facts: &Facts) -> Wanted {
    let kc = facts.kube_config.as_ref();
    let scheduler = cfg
        .scheduler
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| {
            kc.and_then(|c| c.scheduler.clone())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_default();
    let mode = match (cfg.proxy_mode, kc) {
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
        verdict::BASE_IPVS_MODULES.to_vec()
    } else {
        vec![]
    }
    .into_iter()
    .chain([conntrack, "br_netfilter"])
    .filter(|m| !cfg.without.iter().any(|w| w == m))
    .map(String::from)
    .collect();
    let sched_module = scheduler.module();
    let extra = cfg.extra_modules.iter();
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
        sysctls: wanted_sysctls(cfg),
        scheduler,
        mode,
        binaries,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// A stable check name, kubeadm style (`KernelModule-ip_vs`, `FileExisting-ipset`).
    pub id: String,
    pub severity: Severity,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleRow {
    pub name: String,
    pub state: ModState,
    /// Present after the next boot: built in, or listed by a modules-load.d file and not blacklisted.
    pub persisted: bool,
    /// The modules-load.d files that list it.
    pub persisted_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SysctlRow {
    pub key: String,
    pub want: String,
    /// Live value; null when the key does not exist now.
    pub live: Option<String>,
    /// Value after the next boot; null when the key will not exist then.
    pub boot: Option<String>,
    /// Which file (and line) sets the boot value, or why there is none.
    pub boot_source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KubeProxyVerdict {
    /// The version judged for (the newest nodeprep knows when a newer one was given or found).
    pub version: Version,
    pub version_source: String,
    /// Set when the version is newer than nodeprep knows.
    #[serde(skip)]
    pub version_note: Option<String>,
    /// The patch level, when known.
    pub patch: Option<u32>,
    pub mode: String,
    pub scheduler: String,
    pub runtime: Runtime,
    pub outcome: Outcome,
    pub reasons: Vec<String>,
    /// The verdict once `nodeprep apply` has run.
    pub after_apply: Judgement,
    /// The migration table: what each mode would do on this node now, with this version.
    pub modes: Migration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub modules: Vec<ModuleRow>,
    pub sysctls: Vec<SysctlRow>,
    pub findings: Vec<Finding>,
    pub kube_proxy: KubeProxyVerdict,
}

impl Assessment {
    pub fn ready(&self) -> bool {
        !self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

struct Findings(Vec<Finding>);

impl Findings {
    fn add(&mut self, severity: Severity, id: impl Into<String>, message: impl Into<String>) {
        self.0.push(Finding {
            id: id.into(),
            severity,
            message: message.into(),
        });
    }
}

/// Persisted at boot: built in, or listed in an effective modules-load.d file and not blacklisted.
fn persisted(facts: &Facts, module: &str) -> bool {
    facts.kernel.is_builtin(module)
        || (!facts.persist.loaded_at_boot_by(module).is_empty()
            && !facts.persist.blacklist.contains_key(module))
}

/// The module a sysctl key belongs to: the key exists only once it is loaded.
fn module_of_key(key: &str) -> Option<&'static str> {
    if key.starts_with("net/bridge/") {
        Some("br_netfilter")
    } else if key.starts_with("net/ipv4/vs/") {
        Some("ip_vs")
    } else {
        None
    }
}

fn kernel_default(key: &str) -> Option<&'static str> {
    match key {
        "net/ipv4/ip_forward" => Some("0"),
        "net/bridge/bridge-nf-call-iptables" | "net/bridge/bridge-nf-call-ip6tables" => Some("1"),
        "vm/swappiness" => Some("60"),
        _ => None,
    }
}

/// What a sysctl will be after the next boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boot {
    /// None: the key will not exist, or nothing sets it and there is no known default.
    pub value: Option<String>,
    /// The node path of the file whose line wins, when a file sets it.
    pub file: Option<String>,
    /// `file:line`, or why there is no file.
    pub source: String,
}

/// The value `key` gets at boot by replaying sysctl.d in systemd's order.
pub fn boot_value(facts: &Facts, key: &str) -> Boot {
    if let Some(m) = module_of_key(key)
        && !persisted(facts, m)
    {
        return Boot {
            value: None,
            file: None,
            source: format!("the key will not exist at boot: {m} is not loaded by then"),
        };
    }
    // systemd-sysctl applies a glob only to keys no file sets explicitly, whatever the order
    let (mut explicit, mut glob) = (None, None);
    for f in &facts.sysctls.files {
        for e in f.entries.iter().filter(|e| key_matches(&e.key, key)) {
            let hit = Some(Boot {
                value: Some(e.value.clone()),
                file: Some(f.path.clone()),
                source: format!("{}:{}", f.path, e.line),
            });
            if e.key == key {
                explicit = hit;
            } else {
                glob = hit;
            }
        }
    }
    explicit
        .or(glob)
        .unwrap_or_else(|| match kernel_default(key) {
            Some(d) => Boot {
                value: Some(d.to_string()),
                file: None,
                source: "kernel default; no sysctl.d file sets it".into(),
            },
            None => Boot {
                value: None,
                file: None,
                source: "no sysctl.d file sets it".into(),
            },
        })
}

pub fn assess(cfg: &Config, facts: &Facts, wanted: &Wanted, after_apply: &Facts) -> Assessment {
    let mut f = Findings(Vec::new());
    node_findings(cfg, facts, wanted, &mut f);
    let modules = wanted
        .modules
        .iter()
        .map(|m| module_row(facts, m, &mut f))
        .collect();
    persistence_findings(facts, &mut f);
    let sysctls = wanted
        .sysctls
        .iter()
        .map(|(key, want)| sysctl_row(facts, after_apply, key, want, &mut f))
        .collect();
    binary_findings(cfg, facts, wanted, &mut f);
    let kube_proxy = kube_proxy_verdict(cfg, facts, wanted, after_apply);
    verdict_findings(&mut f, &kube_proxy, wanted);
    strict_arp_finding(facts, wanted, &mut f);
    // --ignore: the named errors are reported, as warnings, and no longer block "ready"
    for finding in f.0.iter_mut() {
        if finding.severity == Severity::Error && cfg.ignores(&finding.id) {
            finding.severity = Severity::Warning;
            finding.message.push_str(" (ignored: --ignore)");
        }
    }
    Assessment {
        modules,
        sysctls,
        findings: f.0,
        kube_proxy,
    }
}

/// The node as a whole: an image, a kernel that loads no more modules.
fn node_findings(cfg: &Config, facts: &Facts, wanted: &Wanted, f: &mut Findings) {
    let k = &facts.kernel;
    let release = &k.release;
    if k.image {
        f.add(
            Severity::Info,
            "ImageRoot",
            format!(
                "{} has no live /proc: judged as the node will be at boot with kernel {release} (modules from modules-load.d, sysctls from sysctl.d); apply writes only the persistent files",
                cfg.root
            ),
        );
    }
    if k.modules_disabled && wanted.modules.iter().any(|m| !k.state(m).is_present()) {
        f.add(
            Severity::Error,
            "ModulesDisabled",
            "/proc/sys/kernel/modules_disabled is 1: no module can be loaded until the next boot",
        );
    }
}

/// A wanted module's row and its findings: what is wrong now and at boot, together.
fn module_row(facts: &Facts, m: &String, f: &mut Findings) -> ModuleRow {
    let k = &facts.kernel;
    let release = &k.release;
    let state = k.state(m);
    let row = ModuleRow {
        name: m.clone(),
        state,
        persisted: persisted(facts, m),
        persisted_by: facts
            .persist
            .loaded_at_boot_by(m)
            .into_iter()
            .map(String::from)
            .collect(),
    };
    // one finding per module: what is wrong now and what is wrong at boot, together
    let now = match state {
        ModState::Missing if !k.modules_supported => Some(format!(
            "{m} is not built into kernel {release}, and this kernel has no loadable-module support (no /proc/modules): use a kernel with {m}"
        )),
        ModState::Missing => Some(format!(
            "{m} is missing: not loaded, not built in, and not in modules.dep for kernel {release}; install the kernel's extra modules package or use a kernel that has it"
        )),
        ModState::Loadable => Some(format!("{m} is loadable but not loaded")),
        _ => None,
    };
    let boot = (state != ModState::Missing && !row.persisted).then(|| {
        match facts.persist.blacklist.get(m) {
            Some(bl) if !row.persisted_by.is_empty() => format!(
                "listed in {} but blacklisted in {bl}: systemd-modules-load skips it at boot",
                row.persisted_by.join(", ")
            ),
            _ => "no modules-load.d file loads it at boot".to_string(),
        }
    });
    let writes = format!("`nodeprep apply` writes {}", crate::probe::MODULES_FILE);
    // a load nothing blocks: apply loads it; otherwise say why it cannot
    let blocker = (state == ModState::Loadable)
        .then(|| load_blocker(facts, m))
        .flatten();
    let loads = match &blocker {
        None => "`nodeprep apply` loads it".to_string(),
        Some(why) => format!("`nodeprep apply` cannot load it ({why})"),
    };
    match (now, boot) {
        (Some(now), Some(boot)) => {
            let fix = match (boot.starts_with("no modules-load.d"), &blocker) {
                (true, None) => format!("{loads} and writes {}", crate::probe::MODULES_FILE),
                (true, Some(_)) => loads,
                (false, _) => format!("{loads}; remove the blacklist line"),
            };
            f.add(
                Severity::Error,
                format!("KernelModule-{m}"),
                format!("{now}, and {boot}; {fix}"),
            );
        }
        (Some(now), None) if state == ModState::Loadable => f.add(
            Severity::Error,
            format!("KernelModule-{m}"),
            format!("{now}; {loads}"),
        ),
        (Some(now), None) => f.add(Severity::Error, format!("KernelModule-{m}"), now),
        (None, Some(boot)) => {
            let msg = if boot.starts_with("no modules-load.d") {
                format!("{m} will not be loaded at boot: {boot}; {writes}")
            } else {
                format!("{m} is {boot}")
            };
            f.add(Severity::Error, format!("ModulesLoad-{m}"), msg);
        }
        (None, None) => {}
    }
    modprobe_d_findings(facts, m, f);
    row
}

/// modprobe.d lines that get in a module's way.
fn modprobe_d_findings(facts: &Facts, m: &str, f: &mut Findings) {
    if let Some(bl) = facts.persist.blacklist.get(m) {
        f.add(
            Severity::Warning,
            format!("ModprobeBlacklist-{m}"),
            format!("`blacklist {m}` in {bl}: `modprobe {m}` still loads it, but systemd-modules-load skips it at boot"),
        );
    }
    if let Some(InstallLine { file, command: cmd }) = facts.persist.install.get(m) {
        let (sev, what) = match install_effect(cmd) {
            InstallEffect::NoOp => (Severity::Error, "every load of it does nothing"),
            InstallEffect::Fails => (Severity::Error, "every load of it fails"),
            InstallEffect::Custom => (
                Severity::Warning,
                "every load of it runs that command instead",
            ),
        };
        f.add(
            sev,
            format!("ModprobeInstall-{m}"),
            format!("`install {m} {cmd}` in {file}: {what}; remove the line to load {m}"),
        );
    }
}

/// Boot-time files that name modules this kernel does not have, and masked managed files.
fn persistence_findings(facts: &Facts, f: &mut Findings) {
    let k = &facts.kernel;
    let release = &k.release;
    for (file, mods) in &facts.persist.modules_load {
        for m in mods.iter().filter(|m| k.known_missing(m)) {
            f.add(
                Severity::Warning,
                format!("ModulesLoadUnknown-{m}"),
                format!("{} lists {m}, which does not exist for kernel {release}: systemd-modules-load logs \"Failed to find module '{m}'\" at every boot (older systemd marks the unit failed); {}", file.path, match (file.path == crate::probe::MODULES_FILE, files::is_managed_module(m)) { (true, true) => "`nodeprep apply` comments it out", (true, false) => "nodeprep keeps lines it did not write: remove that line", _ => "remove that line" }),
            );
        }
    }
    for mask in &facts.masked {
        f.add(
            Severity::Warning,
            "ManagedFileMasked",
            format!(
                "{}: the admin masked it ({} is a link to /dev/null); nodeprep never replaces a mask, so it does not write {}: remove the link to let it",
                mask.file, mask.link, mask.file
            ),
        );
    }
    for s in &facts.persist.legacy_scripts {
        let absent: Vec<&str> = s
            .modules
            .iter()
            .filter(|m| k.known_missing(m))
            .map(String::as_str)
            .collect();
        if !absent.is_empty() {
            f.add(
                Severity::Warning,
                "LegacyModulesScript",
                format!(
                    "{} (a legacy RHEL/CentOS boot script{}) names {}, which {} not exist for kernel {release}: `modprobe` fails there at every boot; remove the script, {} replaces it",
                    s.path,
                    if s.executable { "" } else { ", not executable" },
                    absent.join(", "),
                    if absent.len() == 1 { "does" } else { "do" },
                    crate::probe::MODULES_FILE
                ),
            );
        }
    }
}

/// A wanted sysctl's row and its findings: live, at boot, and what apply fixes.
fn sysctl_row(
    facts: &Facts,
    after_apply: &Facts,
    key: &String,
    want: &String,
    f: &mut Findings,
) -> SysctlRow {
    let name = dotted(key);
    let live = facts.sysctls.live.get(key).cloned().flatten();
    let Boot {
        value: boot,
        source: boot_source,
        ..
    } = boot_value(facts, key);
    // kube-proxy and kubeadm need forwarding and bridge netfilter; the rest is advice
    let severity = if ADVISORY_SYSCTLS.contains(&key.as_str()) {
        Severity::Warning
    } else {
        Severity::Error
    };
    let now = match &live {
        None => Some(match module_of_key(key) {
            Some(m) => format!("/proc/sys/{key} does not exist: {m} is not loaded"),
            None => format!("/proc/sys/{key} does not exist on this kernel"),
        }),
        Some(v) if !same_value(v, want) => Some(format!("{name} is {v}")),
        _ => None,
    };
    let boot_wrong = !boot.as_deref().is_some_and(|b| same_value(b, want));
    let after_boot = match &boot {
        Some(b) => format!("after a reboot it will be {b} ({boot_source})"),
        None => format!("after a reboot it will not be set ({boot_source})"),
    };
    let boot_fix = boot_wrong.then(|| boot_fix(after_apply, key, want));
    let sets = if live.is_some() {
        "sets it"
    } else {
        "sets it once the key exists"
    };
    let missing_module = module_of_key(key).filter(|_| live.is_none() && boot.is_none());
    match (now, boot_fix) {
        (Some(_), Some(Ok(w))) if missing_module.is_some() => {
            let m = missing_module.unwrap_or_default();
            let fix = match load_blocker(facts, m) {
                None => format!("`nodeprep apply` loads {m}, sets it and {w}"),
                Some(why) => format!("`nodeprep apply` cannot load {m} ({why})"),
            };
            f.add(
                severity,
                format!("Sysctl-{name}"),
                format!("{name} does not exist now or after a reboot: {m} is not loaded, nor loaded at boot; want {want}; {fix}"),
            );
        }
        (Some(now), Some(fix)) => {
            let fix = match fix {
                Ok(w) => format!("`nodeprep apply` {sets} and {w}"),
                Err(e) => format!("`nodeprep apply` {sets}, but {e}"),
            };
            f.add(
                severity,
                format!("Sysctl-{name}"),
                format!("{now}, and {after_boot}; want {want}; {fix}"),
            );
        }
        (Some(now), None) => f.add(
            severity,
            format!("Sysctl-{name}"),
            format!("{now}, want {want}; `nodeprep apply` {sets}"),
        ),
        (None, Some(fix)) => {
            let fix = match fix {
                Ok(w) => format!("`nodeprep apply` {w}"),
                Err(e) => e,
            };
            let after_boot = after_boot.replacen(" it ", &format!(" {name} "), 1);
            f.add(
                severity,
                format!("SysctlBoot-{name}"),
                format!("{after_boot}, want {want}; {fix}"),
            );
        }
        (None, None) => {}
    }
    sysctl_conf_findings(facts, key, &name, want, f);
    SysctlRow {
        key: name,
        want: want.clone(),
        live,
        boot,
        boot_source,
    }
}

/// Would the files apply writes fix a sysctl's boot value? Not when a file applied later sets
/// it. Ok: what apply writes; Err: why that is not enough.
fn boot_fix(after_apply: &Facts, key: &str, want: &str) -> Result<String, String> {
    let after = boot_value(after_apply, key);
    match after.file {
        _ if after.value.as_deref().is_some_and(|b| same_value(b, want)) => {
            Ok(format!("writes {}", crate::probe::SYSCTL_FILE))
        }
        Some(file) => Err(format!(
            "{file} is applied after {} and wins: change or remove that line",
            crate::probe::SYSCTL_FILE
        )),
        None => Err("nodeprep cannot fix this".to_string()),
    }
}

/// /etc/sysctl.conf lines that procps's `sysctl --system` applies last.
fn sysctl_conf_findings(facts: &Facts, key: &str, name: &str, want: &str, f: &mut Findings) {
    if let Some(conf) = &facts.sysctls.sysctl_conf {
        for e in conf
            .entries
            .iter()
            .filter(|e| key_matches(&e.key, key) && !same_value(&e.value, want))
        {
            f.add(
                Severity::Warning,
                format!("SysctlConf-{name}"),
                format!("/etc/sysctl.conf:{} sets {name} = {}: procps's `sysctl --system` applies it last and would undo {want} (systemd-sysctl reads it only through a sysctl.d symlink such as 99-sysctl.conf)", e.line, e.value),
            );
        }
    }
}

/// The helper programs the mode needs, and ipset's version.
fn binary_findings(cfg: &Config, facts: &Facts, wanted: &Wanted, f: &mut Findings) {
    for b in &facts.binaries {
        if b.path.is_some() || !wanted.binaries.contains(&b.name.as_str()) {
            continue;
        }
        let needed_by_kube_proxy = b.name != "ipvsadm" && cfg.runtime == Runtime::Host;
        let why = match b.name.as_str() {
            "ipvsadm" => {
                "kube-proxy does not need it, but it is the tool to look at IPVS rules (ipvsadm -Ln)"
            }
            _ if needed_by_kube_proxy => "kube-proxy on the host runs it",
            _ => {
                "a containerised kube-proxy brings its own, but the host's is the one you debug with"
            }
        };
        // the package is named after the binary, except nft's
        let package = if b.name == "nft" {
            "nftables"
        } else {
            b.name.as_str()
        };
        let install = facts
            .os
            .install_command(&[package])
            .map(|c| format!("; install it: {c}"))
            .unwrap_or_default();
        f.add(
            if needed_by_kube_proxy { Severity::Error } else { Severity::Warning },
            format!("FileExisting-{}", b.name),
            format!("{} not found in /usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin, /bin ({why}){install}", b.name),
        );
    }
    if let Some(ipset) = facts
        .binary("ipset")
        .filter(|b| b.path.is_some() && wanted.binaries.contains(&"ipset"))
        && !ipset.version.is_some_and(verdict::ipset_version_ok)
    {
        f.add(
            if cfg.runtime == Runtime::Host {
                Severity::Error
            } else {
                Severity::Warning
            },
            "IpsetVersion",
            format!(
                "ipset version {} is not at least 6.0, which kube-proxy requires ({})",
                ipset.version.map_or("unknown".into(), |v| v.to_string()),
                ipset.banner.as_deref().unwrap_or("")
            ),
        );
    }
}

/// MetalLB's strictARP advice, for IPVS mode.
fn strict_arp_finding(facts: &Facts, wanted: &Wanted, f: &mut Findings) {
    if let Some(kc) = facts
        .kube_config
        .as_ref()
        .filter(|c| c.strict_arp == Some(false) && wanted.proxy_mode() == Some(ProxyMode::Ipvs))
    {
        f.add(
            Severity::Info,
            "StrictARP",
            format!(
                "{} has ipvs.strictARP: false; MetalLB in L2 mode needs `strictARP: true` under `ipvs:` in the KubeProxyConfiguration (kubectl -n kube-system edit configmap kube-proxy)",
                kc.path
            ),
        );
    }
}

/// The findings the verdict makes: the configured mode does not run (error), a version newer
/// than nodeprep knows, and IPVS's deprecation with what nftables mode would do here.
fn verdict_findings(f: &mut Findings, kp: &KubeProxyVerdict, wanted: &Wanted) {
    if let Some(note) = &kp.version_note {
        f.add(Severity::Warning, "KubeProxyVersion", note.clone());
    }
    let id = match wanted.proxy_mode() {
        Some(ProxyMode::Ipvs) => "KubeProxyIPVS",
        Some(ProxyMode::Nftables) => "KubeProxyNFTables",
        Some(ProxyMode::Iptables) => "KubeProxyIPTables",
        None => "KubeProxyMode",
    };
    if modes::expected_outcome(&wanted.mode) != Some(kp.outcome) {
        f.add(
            Severity::Error,
            id,
            format!(
                "kube-proxy {} {}: {}",
                kp.version,
                kp.outcome.sentence(&wanted.mode),
                kp.reasons.join("; ")
            ),
        );
    } else if kp.outcome == Outcome::Userspace {
        f.add(
            Severity::Warning,
            id,
            format!("kube-proxy {} runs the userspace proxier, which kube-proxy 1.26 removed: choose iptables or nftables before upgrading", kp.version),
        );
    }
    if kp.outcome == Outcome::Ipvs && kp.version >= Version::new(1, 35) {
        let nft = &kp.modes.nftables;
        let today = if nft.outcome == Outcome::Nftables {
            "nftables mode would work on this node today (see `nodeprep --mode nftables check`)"
                .to_string()
        } else {
            format!(
                "nftables mode would NOT work on this node yet: kube-proxy {} {}: {}",
                kp.version,
                nft.outcome.sentence("nftables"),
                nft.reasons.join("; ")
            )
        };
        f.add(
            Severity::Warning,
            "KubeProxyDeprecated",
            format!(
                "kube-proxy {} logs \"{}\" (kubeadm warns from 1.37); {today}",
                kp.version,
                verdict::IPVS_DEPRECATED
            ),
        );
    }
}

fn kube_proxy_verdict(
    cfg: &Config,
    facts: &Facts,
    wanted: &Wanted,
    after: &Facts,
) -> KubeProxyVerdict {
    let (given, mut version_source) = match (cfg.kube_proxy_version, &facts.kube_version) {
        (Some(v), _) => (v, "--kube-proxy-version".to_string()),
        (None, Some(found)) => (found.version, found.path.clone()),
        // a kubeadm config names the version it will install
        (None, None) => match facts.kube_config.as_ref().and_then(|c| {
            let v = c.kubernetes_version.as_deref()?;
            Some((
                Version::parse(v)?,
                format!("kubernetesVersion {v} in {}", c.path),
            ))
        }) {
            Some(found) => found,
            None => (
                NEWEST,
                "newest behaviour; no kube-proxy, kubelet or kubeadm found".to_string(),
            ),
        },
    };
    // the verdict is judged at the minor level; the patch matters for one conntrack rule
    let (patch, given) = (given.patch, given.minor_only());
    let (version, version_note) = if given > NEWEST {
        let note = format!(
            "kube-proxy {given} ({version_source}) is newer than the newest version nodeprep knows; judging as {NEWEST}"
        );
        version_source = format!("{version_source} said {given}; judged as {NEWEST}");
        (NEWEST, Some(note))
    } else {
        (given, None)
    };
    let no_gates = Default::default();
    let gates = facts
        .kube_config
        .as_ref()
        .map_or(&no_gates, |c| &c.feature_gates);
    let situation = |fx| situation(cfg, wanted, fx, gates, version, patch);
    let now_s = situation(facts);
    let now = modes::judge(&now_s);
    KubeProxyVerdict {
        version,
        version_source,
        version_note,
        patch,
        mode: wanted.mode.clone(),
        scheduler: wanted.scheduler.to_string(),
        runtime: cfg.runtime,
        outcome: now.outcome,
        reasons: now.reasons,
        after_apply: modes::judge(&situation(after)),
        modes: modes::migration(&now_s),
    }
}

fn situation<'a>(
    cfg: &Config,
    wanted: &'a Wanted,
    fx: &'a Facts,
    gates: &'a std::collections::BTreeMap<String, bool>,
    version: Version,
    patch: Option<u32>,
) -> Situation<'a> {
    Situation {
        version,
        patch,
        mode: &wanted.mode,
        scheduler: &wanted.scheduler,
        runtime: cfg.runtime,
        kernel: &fx.kernel,
        persist: &fx.persist,
        ipset: fx.binary("ipset"),
        iptables: fx.binary("iptables"),
        nft: fx.binary("nft"),
        ipv6: fx.ipv6,
        feature_gates: gates,
    }
}

/// Why `nodeprep apply` cannot load `module` (None: it can, as far as anything tells). The
/// one place that says so: the dry run's rows, apply's skipped loads and the findings'
/// advice all ask here. An image is judged as at its boot, where its own modprobe runs.
pub fn load_blocker(facts: &Facts, module: &str) -> Option<String> {
    let k = &facts.kernel;
    if k.state(module) == ModState::Missing {
        return Some(format!(
            "{module} does not exist for kernel {}; not loaded, not persisted",
            k.release
        ));
    }
    if let Some(failed) = facts.load_failures.get(module) {
        return Some(failed.clone());
    }
    if k.modules_disabled {
        return Some("/proc/sys/kernel/modules_disabled is 1".to_string());
    }
    if let Some(InstallLine { file, command: cmd }) = facts.persist.install.get(module) {
        let what = match install_effect(cmd) {
            InstallEffect::NoOp => Some("does nothing"),
            InstallEffect::Fails => Some("fails"),
            InstallEffect::Custom => None,
        };
        if let Some(what) = what {
            return Some(format!(
                "`install {module} {cmd}` in {file}: every load of it {what}"
            ));
        }
    }
    if facts.modprobe.is_none() && !k.image {
        return Some(format!(
            "no modprobe in {}; install kmod",
            crate::probe::binaries::SEARCHED
        ));
    }
    None
}

/// An image as it will be at boot: what systemd-modules-load loads is loaded, and each
/// wanted sysctl (path form) has the value sysctl.d gives it then.
pub fn at_boot(facts: &Facts, keys: &[String]) -> Facts {
    let mut b = facts.clone();
    for (_, mods) in &facts.persist.modules_load {
        for m in mods {
            if facts.kernel.state(m) == ModState::Loadable {
                b.kernel.loaded.insert(m.clone());
            }
        }
    }
    for key in keys {
        let value = boot_value(&b, key).value;
        b.sysctls.live.insert(key.clone(), value);
    }
    b
}

/// The node once `apply` has loaded what it can: the loadable modules nothing blocks are
/// loaded, and the sysctl keys they bring exist (with the kernel's default, when known).
pub fn predicted_loads(facts: &Facts, wanted: &Wanted) -> Facts {
    let mut p = facts.clone();
    for m in &wanted.modules {
        if facts.kernel.state(m) == ModState::Loadable && load_blocker(facts, m).is_none() {
            p.kernel.loaded.insert(m.clone());
        }
    }
    if !facts.kernel.image {
        for (key, _) in &wanted.sysctls {
            let brought = module_of_key(key).is_some_and(|m| p.kernel.state(m).is_present());
            let live = p.sysctls.live.entry(key.clone()).or_default();
            if live.is_none() && brought {
                *live = Some(kernel_default(key).unwrap_or_default().to_string());
            }
        }
    }
    p
}

/// The node as `apply` would leave it: the plan's loads done, its files written, its live
/// sysctls set. An image's sysctls are what its files will give it at boot.
pub fn project(facts: &Facts, wanted: &Wanted) -> Facts {
    let mut p = predicted_loads(facts, wanted);
    let (_, sysctls) = actions::settle(&p, wanted);
    files::project_files(&mut p, wanted);
    if p.kernel.image {
        for (key, want) in &wanted.sysctls {
            let exists = p.sysctls.live.get(key).is_some_and(Option::is_some)
                || module_of_key(key).is_some_and(|m| p.kernel.state(m).is_present());
            if exists {
                p.sysctls.live.insert(key.clone(), Some(want.clone()));
            }
        }
    }
    for s in sysctls.into_iter().filter(|s| s.blocked.is_none()) {
        p.sysctls.live.insert(s.key, Some(s.value));
    }
    p
}

#[cfg(test)]
mod modes_tests;
