//! Each wanted sysctl: its value now and after the next boot, its row and findings.

use crate::probe::Facts;
use crate::probe::sysctl::{dotted, key_matches, same_value};

use super::{modules::*, types::*, wanted::*};

/// The module a sysctl key belongs to: the key exists only once it is loaded.
pub(super) fn module_of_key(key: &str) -> Option<&'static str> {
    if key.starts_with("net/bridge/") {
        Some("br_netfilter")
    } else if key.starts_with("net/ipv4/vs/") {
        Some("ip_vs")
    } else {
        None
    }
}

pub(super) fn kernel_default(key: &str) -> Option<&'static str> {
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

/// A wanted sysctl's row and its findings: live, at boot, and what apply fixes.
pub(super) fn sysctl_row(
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
                None => format!("`nodeprep apply` loads {m}, sets {{it}} and {w}"),
                Some(why) => format!("`nodeprep apply` cannot load {m} ({why})"),
            };
            // the keys of one module are one finding
            f.about(
                severity,
                "Sysctl-",
                &name,
                format!("{{S}} {{does}} not exist now or after a reboot: {m} is not loaded, nor loaded at boot; want {want}; {fix}"),
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
pub(super) fn boot_fix(after_apply: &Facts, key: &str, want: &str) -> Result<String, String> {
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
pub(super) fn sysctl_conf_findings(
    facts: &Facts,
    key: &str,
    name: &str,
    want: &str,
    f: &mut Findings,
) {
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
