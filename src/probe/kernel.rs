//! The running kernel: release, which modules are loaded, built in or loadable, and
//! whether modules can be loaded at all.

use std::collections::{BTreeSet, HashMap};
use std::io::BufReader;

use anyhow::{Context, Result, bail};
use procfs_core::{ConfigSetting, FromBufRead, FromRead, KernelModules};
use serde::Serialize;

use crate::root::Root;
use crate::system::read_optional;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModState {
    Loaded,
    Builtin,
    Loadable,
    Missing,
}

impl ModState {
    pub fn as_str(self) -> &'static str {
        match self {
            ModState::Loaded => "loaded",
            ModState::Builtin => "builtin",
            ModState::Loadable => "loadable",
            ModState::Missing => "missing",
        }
    }

    /// Present in the kernel right now, no load needed.
    pub fn is_present(self) -> bool {
        matches!(self, ModState::Loaded | ModState::Builtin)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Kernel {
    pub release: String,
    /// (major, minor) read from the release, as kube-proxy reads it.
    pub version: Option<(u32, u32)>,
    /// `/proc/modules` exists: the kernel has loadable-module support.
    pub modules_supported: bool,
    pub loaded: BTreeSet<String>,
    /// Names listed in `modules.builtin` (what kube-proxy 1.11+ reads).
    pub builtin_listed: BTreeSet<String>,
    /// Names listed in `modules.dep`.
    pub dep: BTreeSet<String>,
    /// The node path of the modules directory, when one exists.
    pub modules_dir: Option<String>,
    /// The first kernel config found, and where.
    pub config_path: Option<String>,
    pub config: HashMap<String, ConfigSetting>,
    /// `/proc/sys/kernel/modules_disabled` is 1.
    pub modules_disabled: bool,
    /// `/proc/sys/kernel/modprobe`, and whether that program exists under the root.
    pub modprobe_helper: Option<String>,
    pub modprobe_helper_exists: bool,
}

impl Kernel {
    pub fn state(&self, name: &str) -> ModState {
        if self.loaded.contains(name) {
            ModState::Loaded
        } else if self.is_builtin(name) {
            ModState::Builtin
        } else if self.modules_supported && self.dep.contains(name) {
            ModState::Loadable
        } else {
            ModState::Missing
        }
    }

    /// Builtin by `modules.builtin` or by `CONFIG_…=y`.
    pub fn is_builtin(&self, name: &str) -> bool {
        self.builtin_listed.contains(name)
            || config_symbol(name)
                .is_some_and(|sym| self.config.get(&sym) == Some(&ConfigSetting::Yes))
    }

    /// Known not to exist for this kernel: missing, and there is a module index to say so.
    /// Without one (a kernel upgraded but not yet booted) nothing can be told about a module
    /// that is not loaded or built in.
    pub fn known_missing(&self, name: &str) -> bool {
        self.modules_dir.is_some() && self.state(name) == ModState::Missing
    }

    /// Reads `/proc/modules` again (after modprobe ran); the module index and the kernel
    /// config cannot have changed and are not read again.
    pub fn reread_loaded(&mut self, root: &Root) -> Result<()> {
        let loaded = loaded(root)?;
        self.modules_supported = loaded.is_some();
        self.loaded = loaded.unwrap_or_default();
        Ok(())
    }

    /// The kernel can load modules when asked (kernel autoload, `request_module`).
    pub fn autoload_works(&self) -> bool {
        self.modules_supported && !self.modules_disabled && self.modprobe_helper_exists
    }
}

/// The kernel config symbol that builds a module, for the modules nodeprep knows.
pub fn config_symbol(module: &str) -> Option<String> {
    let sym = match module {
        "br_netfilter" => "BRIDGE_NETFILTER".to_string(),
        "nf_conntrack" | "nf_conntrack_ipv4" | "ip_vs" => module.to_ascii_uppercase(),
        m if m.starts_with("ip_vs_") => m.to_ascii_uppercase(),
        _ => return None,
    };
    Some(format!("CONFIG_{sym}"))
}

/// `4.18.0-240.el8.x86_64` → (4, 18).
pub fn parse_release(release: &str) -> Option<(u32, u32)> {
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// A module file name or path from modules.dep / modules.builtin → its module name.
pub fn module_name_of(path: &str) -> Option<String> {
    let base = path.rsplit('/').next()?;
    let stem = [".ko.xz", ".ko.zst", ".ko.gz", ".ko"]
        .iter()
        .find_map(|ext| base.strip_suffix(ext))?;
    Some(stem.replace('-', "_"))
}

/// The modules in `/proc/modules`; None when it does not exist (no module support).
pub fn loaded(root: &Root) -> Result<Option<BTreeSet<String>>> {
    let proc_modules = root.path("/proc/modules");
    let Some(text) = read_optional(&proc_modules)? else {
        return Ok(None);
    };
    let mods = KernelModules::from_buf_read(text.as_bytes())
        .with_context(|| format!("cannot parse {}", proc_modules.display()))?;
    Ok(Some(mods.0.keys().map(|n| n.replace('-', "_")).collect()))
}

pub fn probe(root: &Root) -> Result<Kernel> {
    let osrelease = root.path("/proc/sys/kernel/osrelease");
    let Some(release) = read_optional(&osrelease)? else {
        bail!(
            "cannot read {}: is {} the root of a node, with /proc mounted?",
            osrelease.display(),
            root
        );
    };
    let release = release.trim().to_string();
    let mut k = Kernel {
        version: parse_release(&release),
        release,
        ..Kernel::default()
    };

    if let Some(loaded) = loaded(root)? {
        k.modules_supported = true;
        k.loaded = loaded;
    }

    for base in ["/lib/modules", "/usr/lib/modules"] {
        let dir = format!("{base}/{}", k.release);
        let dep = read_optional(&root.path(format!("{dir}/modules.dep")))?;
        let builtin = read_optional(&root.path(format!("{dir}/modules.builtin")))?;
        if dep.is_none() && builtin.is_none() {
            continue;
        }
        k.modules_dir = Some(dir);
        for line in dep.iter().flat_map(|t| t.lines()) {
            if let Some(name) = line.split(':').next().and_then(module_name_of) {
                k.dep.insert(name);
            }
        }
        for line in builtin.iter().flat_map(|t| t.lines()) {
            if let Some(name) = module_name_of(line.trim()) {
                k.builtin_listed.insert(name);
            }
        }
        break;
    }

    let candidates = [
        "/proc/config.gz".to_string(),
        format!("/boot/config-{}", k.release),
        format!("/lib/modules/{}/config", k.release),
        format!("/usr/lib/modules/{}/config", k.release),
    ];
    for node_path in candidates {
        let path = root.path(&node_path);
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(_) => continue,
        };
        let parsed = if node_path.ends_with(".gz") {
            procfs_core::KernelConfig::from_read(flate2::read::GzDecoder::new(file))
        } else {
            procfs_core::KernelConfig::from_buf_read(BufReader::new(file))
        };
        let cfg =
            parsed.with_context(|| format!("cannot read kernel config {}", path.display()))?;
        k.config = cfg.0;
        k.config_path = Some(node_path);
        break;
    }

    k.modules_disabled = read_optional(&root.path("/proc/sys/kernel/modules_disabled"))?
        .is_some_and(|v| v.trim() == "1");
    if let Some(helper) = read_optional(&root.path("/proc/sys/kernel/modprobe"))? {
        let helper = helper.trim().to_string();
        k.modprobe_helper_exists = !helper.is_empty() && root.path(&helper).exists();
        k.modprobe_helper = Some(helper);
    }
    Ok(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_and_module_files_parse() {
        assert_eq!(parse_release("4.18.0-240.el8.x86_64"), Some((4, 18)));
        assert_eq!(parse_release("6.1.0-13-amd64"), Some((6, 1)));
        assert_eq!(parse_release("3.10.0-1160.el7.x86_64"), Some((3, 10)));
        assert_eq!(parse_release("garbage"), None);
        assert_eq!(
            module_name_of("kernel/net/netfilter/ipvs/ip_vs_rr.ko.xz").as_deref(),
            Some("ip_vs_rr")
        );
        assert_eq!(
            module_name_of("kernel/net/x/nf-conntrack.ko.zst").as_deref(),
            Some("nf_conntrack")
        );
        assert_eq!(module_name_of("kernel/net/x/a.ko.gz").as_deref(), Some("a"));
        assert_eq!(module_name_of("kernel/net/x/a.o"), None);
    }

    #[test]
    fn state_precedence_and_config_builtins() {
        let mut k = Kernel {
            modules_supported: true,
            ..Kernel::default()
        };
        k.dep.insert("ip_vs".into());
        assert_eq!(k.state("ip_vs"), ModState::Loadable);
        k.config.insert("CONFIG_IP_VS".into(), ConfigSetting::Yes);
        assert_eq!(k.state("ip_vs"), ModState::Builtin);
        k.loaded.insert("ip_vs".into());
        assert_eq!(k.state("ip_vs"), ModState::Loaded);
        assert_eq!(k.state("nope"), ModState::Missing);
        k.config
            .insert("CONFIG_BRIDGE_NETFILTER".into(), ConfigSetting::Module);
        assert_eq!(k.state("br_netfilter"), ModState::Missing);
        // without module support a module file on disk cannot be loaded
        let k2 = Kernel {
            dep: k.dep.clone(),
            ..Kernel::default()
        };
        assert_eq!(k2.state("ip_vs"), ModState::Missing);
    }
}
