//! The running kernel: release, which modules are loaded, built in or loadable, and
//! whether modules can be loaded at all.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::BufReader;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use procfs_core::{ConfigSetting, FromBufRead, KernelModules};
use serde::Serialize;

use super::FILE_LIMIT;
use crate::root::Root;

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
    pub builtin_listed: ModuleIndex,
    /// Names listed in `modules.dep`.
    pub dep: ModuleIndex,
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
    /// The root is not the running node's (an image being built): nothing is loaded, and the node is
    /// judged as it will be at boot.
    pub image: bool,
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
        // netfilter modules nftables and iptables mode need
        "nft_chain_nat" => "NFT_NAT".to_string(),
        "nf_tables" | "nf_nat" | "nft_compat" => module.to_ascii_uppercase(),
        m if m.starts_with("nft_") => m.to_ascii_uppercase(),
        "ip_tables" => "IP_NF_IPTABLES".to_string(),
        "iptable_nat" => "IP_NF_NAT".to_string(),
        _ => return None,
    };
    Some(format!("CONFIG_{sym}"))
}

/// Whether `CONFIG_…` can be a [`config_symbol`]: the only lines of a kernel config nodeprep
/// keeps (a distribution's config has 10,000; these are a few dozen).
pub fn symbol_matters(symbol: &str) -> bool {
    let Some(s) = symbol.strip_prefix("CONFIG_") else {
        return false;
    };
    matches!(
        s,
        "BRIDGE_NETFILTER"
            | "NF_CONNTRACK"
            | "NF_CONNTRACK_IPV4"
            | "IP_VS"
            | "NFT_NAT"
            | "NF_TABLES"
            | "NF_NAT"
            | "NFT_COMPAT"
            | "IP_NF_IPTABLES"
            | "IP_NF_NAT"
    ) || s.starts_with("IP_VS_")
        || s.starts_with("NFT_")
}

/// Keeps a kernel config's line for the config parser when its symbol [`symbol_matters`].
fn keep_config_line(kept: &mut Vec<u8>, line: &[u8]) {
    // every kept symbol starts so: most of 10,000 lines stop at this test
    if !(line.starts_with(b"CONFIG_IP_")
        || line.starts_with(b"CONFIG_NF")
        || line.starts_with(b"CONFIG_BRIDGE_NETFILTER"))
    {
        return;
    }
    let symbol = line.split(|b| *b == b'=').next().unwrap_or_default();
    if line.len() > symbol.len()
        && std::str::from_utf8(symbol).is_ok_and(|s| symbol_matters(s.trim()))
    {
        kept.extend_from_slice(line);
        kept.push(b'\n');
    }
}

/// The lines of a whole kernel config that [`keep_config_line`] keeps.
#[cfg(test)]
fn relevant_config_lines(text: &[u8]) -> Vec<u8> {
    let mut kept = Vec::new();
    let _ = crate::root::for_each_line(text, u64::MAX, &mut |l| keep_config_line(&mut kept, l));
    kept
}

/// `4.18.0-240.el8.x86_64` → (4, 18).
pub fn parse_release(release: &str) -> Option<(u32, u32)> {
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// The kernel of an image: the one asked for, or the only one with a module index.
fn image_release(root: &Root, asked: Option<&str>) -> Result<String> {
    let mut found = BTreeSet::new();
    for base in ["/lib/modules", "/usr/lib/modules"] {
        for name in root.list_dir(base)? {
            if root.exists(format!("{base}/{name}/modules.dep")) {
                found.insert(name);
            }
        }
    }
    if let Some(r) = asked {
        if found.contains(r) {
            return Ok(r.to_string());
        }
        bail!(
            "--kernel-release {r}: {} has no /lib/modules/{r}/modules.dep (kernels there: {})",
            root,
            if found.is_empty() {
                "none".to_string()
            } else {
                found.into_iter().collect::<Vec<_>>().join(", ")
            }
        );
    }
    match found.len() {
        1 => Ok(found.into_iter().next().unwrap_or_default()),
        0 => bail!(
            "{} is not the running node's (its /proc is not the running kernel's) and has no kernel under /lib/modules: is it the root of a node or an image? (an image needs its kernel's modules.dep; run depmod)",
            root
        ),
        _ => bail!(
            "{} is an image with several kernels ({}): pick one with --kernel-release",
            root,
            found.into_iter().collect::<Vec<_>>().join(", ")
        ),
    }
}

/// A kernel release names one directory under /lib/modules: it must be one path component.
pub fn is_release(release: &str) -> bool {
    !release.is_empty()
        && release != "."
        && release != ".."
        && release.len() <= 255
        && release.bytes().all(|b| b.is_ascii_graphic() && b != b'/')
}

/// A module file name or path from modules.dep / modules.builtin → its module name.
pub fn module_name_of(path: &str) -> Option<String> {
    let base = path.rsplit('/').next()?;
    let stem = [".ko.xz", ".ko.zst", ".ko.gz", ".ko"]
        .iter()
        .find_map(|ext| base.strip_suffix(ext))?;
    Some(if stem.contains('-') {
        stem.replace('-', "_")
    } else {
        stem.to_string()
    })
}

/// The module names of a kernel's index (`modules.dep`, `modules.builtin`): thousands of
/// names, read once, asked by name, shared (not copied) by the facts projected from them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ModuleIndex(Arc<HashSet<String>>);

/// The longest module name a kernel takes: `MODULE_NAME_LEN` is 64 − sizeof(long) with its
/// NUL, so 55 bytes on 64-bit kernels and 59 on 32-bit ones. A longer name in an index
/// cannot be a module, and is not kept.
const NAME_MAX: usize = 59;

impl ModuleIndex {
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains(name)
    }
    pub fn insert(&mut self, name: String) -> bool {
        name.len() <= NAME_MAX && Arc::make_mut(&mut self.0).insert(name)
    }
    pub fn remove(&mut self, name: &str) -> bool {
        Arc::make_mut(&mut self.0).remove(name)
    }
    pub fn clear(&mut self) {
        Arc::make_mut(&mut self.0).clear();
    }
    /// The names, in order (for tests and `Debug`).
    pub fn sorted(&self) -> Vec<String> {
        let mut names: Vec<String> = self.0.iter().cloned().collect();
        names.sort();
        names
    }
    /// The module named by one index line: the path before its `:` (`modules.dep`) or the
    /// whole line (`modules.builtin`).
    fn add_line(&mut self, line: &[u8]) {
        // only the path is decoded: most of a modules.dep line is its dependency list
        let path = line.split(|b| *b == b':').next().unwrap_or_default();
        let path = String::from_utf8_lossy(path);
        if let Some(name) = module_name_of(path.trim()) {
            self.insert(name);
        }
    }
}

impl FromIterator<String> for ModuleIndex {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
        let mut names = ModuleIndex::default();
        for n in iter {
            names.insert(n);
        }
        names
    }
}

impl From<BTreeSet<String>> for ModuleIndex {
    fn from(names: BTreeSet<String>) -> Self {
        names.into_iter().collect()
    }
}

impl std::fmt::Debug for ModuleIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.sorted()).finish()
    }
}

/// The module names of a whole `modules.dep` or `modules.builtin`.
#[cfg(test)]
fn module_names(index: &[u8]) -> ModuleIndex {
    let mut names = ModuleIndex::default();
    // a slice reads without error
    let _ = crate::root::for_each_line(index, u64::MAX, &mut |l| names.add_line(l));
    names
}

/// The module names of the index file `node` under the root; None when it does not exist.
fn read_index(root: &Root, node: &str) -> Result<Option<ModuleIndex>> {
    let Some(lines) = root.open_lines(node, FILE_LIMIT)? else {
        return Ok(None);
    };
    // room for a distribution's index (Debian 6.1 has 4,000 modules) without a rebuild
    let mut names = ModuleIndex(Arc::new(HashSet::with_capacity(4096)));
    lines.each(&mut |l| names.add_line(l))?;
    Ok(Some(names))
}

/// The modules in `/proc/modules`; None when it does not exist (no module support).
pub fn loaded(root: &Root) -> Result<Option<BTreeSet<String>>> {
    let proc_modules = "/proc/modules";
    let Some(text) = root.read_text(proc_modules, FILE_LIMIT)? else {
        return Ok(None);
    };
    let mods = KernelModules::from_buf_read(text.as_bytes())
        .with_context(|| format!("cannot parse {}", root.show(proc_modules)))?;
    Ok(Some(mods.0.keys().map(|n| n.replace('-', "_")).collect()))
}

/// The kernel's config, from the first of its usual places that can be read, and where
/// it was found: only the symbols a module's state can depend on.
fn read_config(
    root: &Root,
    release: &str,
) -> Result<
    Option<(
        String,
        std::collections::HashMap<String, procfs_core::ConfigSetting>,
    )>,
> {
    let candidates = [
        "/proc/config.gz".to_string(),
        format!("/boot/config-{release}"),
        format!("/lib/modules/{release}/config"),
        format!("/usr/lib/modules/{release}/config"),
    ];
    for node_path in candidates {
        // only the symbols a module state can depend on are kept, line by line: the whole
        // config (10,000 lines) is never held
        let mut text = Vec::new();
        let keep = &mut |line: &[u8]| keep_config_line(&mut text, line);
        if node_path.ends_with(".gz") {
            // an unreadable candidate (0600 for a user) is skipped like a missing one
            let Ok(Some(bytes)) = root.read(&node_path, FILE_LIMIT) else {
                continue;
            };
            // a gzip bomb stops at the same limit as any other file
            let whole = crate::root::for_each_line(
                flate2::read::GzDecoder::new(&bytes[..]),
                FILE_LIMIT,
                keep,
            )
            .with_context(|| format!("cannot read kernel config {}", root.show(&node_path)))?;
            if !whole {
                bail!(
                    "{} unpacks to more than {FILE_LIMIT} bytes; that is not a kernel config",
                    root.show(&node_path)
                );
            }
        } else {
            let Ok(Some(lines)) = root.open_lines(&node_path, FILE_LIMIT) else {
                continue;
            };
            if lines.each(keep).is_err() {
                continue;
            }
        }
        let cfg = procfs_core::KernelConfig::from_buf_read(BufReader::new(&text[..]))
            .with_context(|| format!("cannot read kernel config {}", root.show(&node_path)))?;
        return Ok(Some((node_path, cfg.0)));
    }
    Ok(None)
}

/// Reads the running kernel under the root. A root other than `/` that does not show the
/// running kernel (`Root::is_image`) is an image: its kernel is `release`
/// (`--kernel-release`) or the only one under /lib/modules, and its /proc is not read.
pub fn probe(root: &Root, release: Option<&str>) -> Result<Kernel> {
    let osrelease = "/proc/sys/kernel/osrelease";
    let image = root.is_image();
    let release = match root.read_text(osrelease, FILE_LIMIT)? {
        _ if image => image_release(root, release)?,
        Some(r) => r.trim().to_string(),
        None => bail!("cannot read {}: is /proc mounted?", root.show(osrelease)),
    };
    if !is_release(&release) {
        bail!(
            "{} holds {release:?}, which is not a kernel release (one path component, like 6.1.0-13-amd64)",
            root.show(osrelease)
        );
    }
    let mut k = Kernel {
        version: parse_release(&release),
        release,
        image,
        ..Kernel::default()
    };

    if image {
        // whatever this kernel is built with, an image cannot tell what is loaded
        k.modules_supported = true;
    } else if let Some(loaded) = loaded(root)? {
        k.modules_supported = true;
        k.loaded = loaded;
    }

    for base in ["/lib/modules", "/usr/lib/modules"] {
        let dir = format!("{base}/{}", k.release);
        let dep = read_index(root, &format!("{dir}/modules.dep"))?;
        let builtin = read_index(root, &format!("{dir}/modules.builtin"))?;
        if dep.is_none() && builtin.is_none() {
            continue;
        }
        k.modules_dir = Some(dir);
        k.dep = dep.unwrap_or_default();
        k.builtin_listed = builtin.unwrap_or_default();
        break;
    }

    if let Some((path, config)) = read_config(root, &k.release)? {
        k.config = config;
        k.config_path = Some(path);
    }

    if image {
        // the kernel's default helper, as it will be at boot
        k.modprobe_helper = Some("/sbin/modprobe".into());
        k.modprobe_helper_exists = root.is_executable("/sbin/modprobe");
        return Ok(k);
    }
    k.modules_disabled = root
        .read_text("/proc/sys/kernel/modules_disabled", FILE_LIMIT)?
        .is_some_and(|v| v.trim() == "1");
    if let Some(helper) = root.read_text("/proc/sys/kernel/modprobe", FILE_LIMIT)? {
        let helper = helper.trim().to_string();
        k.modprobe_helper_exists = helper.starts_with('/') && root.is_executable(&helper);
        k.modprobe_helper = Some(helper);
    }
    Ok(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The straightforward reading `module_names` must agree with: text, line by line.
    fn module_names_as_text(index: &[u8]) -> BTreeSet<String> {
        let text = String::from_utf8_lossy(index);
        text.lines()
            .filter_map(|line| {
                let path = line.split_once(':').map_or(line, |(p, _)| p);
                module_name_of(path.trim())
            })
            // longer than any kernel takes: not a module
            .filter(|n| n.len() <= NAME_MAX)
            .collect()
    }

    #[test]
    fn module_index_reads_every_name_as_a_line_by_line_reading_would() {
        let mut cases: Vec<Vec<u8>> = vec![
            b"kernel/net/netfilter/ipvs/ip_vs.ko.xz: kernel/net/netfilter/nf_conntrack.ko.xz kernel/lib/libcrc32c.ko.xz\n\
kernel/net/netfilter/ipvs/ip_vs_rr.ko.xz: kernel/net/netfilter/ipvs/ip_vs.ko.xz\n\
kernel/net/bridge/br_netfilter.ko:\n"
                .to_vec(),
            // no newline at the end, CRLF, blank and odd lines, a dash, other suffixes
            b"kernel/a/nf-conntrack.ko.zst: x.ko\r\n\r\n\n  kernel/b/sp.ko.gz  :\nnot a module\nkernel/c/d.o: e.ko\nlast.ko".to_vec(),
            // modules.builtin: a path per line, no colon
            b"kernel/net/ipv4/ip_forward.ko\nkernel/net/netfilter/ipvs/ip_vs.ko\n".to_vec(),
            // a colon in the dependency list only, a path with no directory, unicode space
            b"ip_vs_sh.ko: a:b.ko\nkernel/x/\xe2\x80\x83y.ko\xe2\x80\x83: z.ko\n:\n::\nkernel/z.ko:".to_vec(),
            // not UTF-8, a vertical tab, a name too long for a kernel (60 bytes) and one
            // just short enough (59)
            b"kernel/\xff\xfe/bad\xff-x.ko: good.ko\nkernel/ok.ko\n\x0bvt.ko\x0b\nx/vt2.ko\x0b: y\n\xe2\x80\x83sp.ko\n".to_vec(),
            format!("k/{}.ko\nk/{}.ko\n", "a".repeat(60), "b".repeat(59)).into_bytes(),
            // either side of the 23 bytes kept inline, each with a dash read as `_`
            format!(
                "k/{a}-x.ko: d.ko\nk/{a}-xy.ko\nk/{b}-{b}.ko.xz:\n",
                a = "c".repeat(21),
                b = "d-e".repeat(7)
            )
            .into_bytes(),
            Vec::new(),
            b"\n".to_vec(),
        ];
        // distribution-sized: 4,000 lines with long dependency lists
        let mut big = Vec::new();
        for i in 0..4000 {
            big.extend_from_slice(
                format!("kernel/drivers/m{i}/mod-{i}.ko.xz: kernel/lib/dep{i}.ko.xz kernel/lib/other.ko.xz\n").as_bytes(),
            );
        }
        cases.push(big);
        for case in &cases {
            let want = module_names_as_text(case);
            let got = module_names(case);
            for name in &want {
                assert!(got.contains(name), "{name} missing from {got:?}");
            }
            assert_eq!(
                got.sorted(),
                want.into_iter().collect::<Vec<_>>(),
                "{}",
                String::from_utf8_lossy(case)
            );
        }
        let names = module_names(&cases[0]);
        assert!(
            names.contains("ip_vs") && names.contains("ip_vs_rr") && names.contains("br_netfilter")
        );
        assert!(
            !names.contains("nf_conntrack"),
            "a dependency is not an entry"
        );
        assert!(module_names(&cases[1]).contains("nf_conntrack"));
    }

    #[test]
    fn only_the_config_lines_a_module_state_needs_are_kept_and_they_parse_the_same() {
        let config = "\
# Automatically generated file; DO NOT EDIT.
CONFIG_CC_VERSION_TEXT=\"gcc (Debian 12.2.0-14) 12.2.0\"
CONFIG_IP_VS=m
CONFIG_IP_VS_IPV6=y
CONFIG_IP_VS_TAB_BITS=12
CONFIG_IP_VS_RR=m
# CONFIG_IP_VS_MH is not set
CONFIG_NF_CONNTRACK=y
CONFIG_NF_CONNTRACK_IPV4=m
CONFIG_BRIDGE_NETFILTER=y
CONFIG_NF_TABLES=m
CONFIG_NFT_NAT=m
CONFIG_NFT_COMPAT=m
CONFIG_IP_NF_IPTABLES=m
CONFIG_IP_NF_NAT=m
CONFIG_NF_NAT=m
CONFIG_EXT4_FS=y
CONFIG_IP_VSX=y
CONFIG_SECURITY_NFT_=y
";
        let full = procfs_core::KernelConfig::from_buf_read(config.as_bytes())
            .unwrap()
            .0;
        let kept = relevant_config_lines(config.as_bytes());
        let small = procfs_core::KernelConfig::from_buf_read(&kept[..])
            .unwrap()
            .0;
        let want: HashMap<String, ConfigSetting> = full
            .into_iter()
            .filter(|(k, _)| symbol_matters(k))
            .collect();
        assert_eq!(small, want);
        assert!(
            small.contains_key("CONFIG_IP_VS_TAB_BITS") && !small.contains_key("CONFIG_EXT4_FS")
        );
        assert!(
            !small.contains_key("CONFIG_IP_VSX") && !small.contains_key("CONFIG_SECURITY_NFT_")
        );
        // every symbol a module's state is judged by is among those kept
        let modules = [
            "ip_vs",
            "ip_vs_rr",
            "ip_vs_wrr",
            "ip_vs_sh",
            "ip_vs_lc",
            "ip_vs_mh",
            "nf_conntrack",
            "nf_conntrack_ipv4",
            "br_netfilter",
            "nf_tables",
            "nft_chain_nat",
            "nft_ct",
            "nft_compat",
            "nf_nat",
            "ip_tables",
            "iptable_nat",
        ];
        for m in modules {
            let sym = config_symbol(m).unwrap_or_else(|| panic!("{m} has no config symbol"));
            assert!(symbol_matters(&sym), "{m}: {sym} would be dropped");
            let line = format!("{sym}=y\n");
            assert_eq!(
                relevant_config_lines(line.as_bytes()),
                line.as_bytes(),
                "{m}: the line of {sym} is not kept"
            );
        }
        assert!(config_symbol("ext4").is_none());
    }

    #[test]
    fn releases_and_module_files_parse() {
        assert_eq!(parse_release("4.18.0-240.el8.x86_64"), Some((4, 18)));
        assert_eq!(parse_release("6.1.0-13-amd64"), Some((6, 1)));
        assert_eq!(parse_release("3.10.0-1160.el7.x86_64"), Some((3, 10)));
        assert_eq!(parse_release("garbage"), None);
        assert!(is_release("6.1.0-13-amd64"));
        for bad in ["", ".", "..", "../../etc", "6.1/x", "6.1\n", "6 1"] {
            assert!(!is_release(bad), "{bad:?}");
        }
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
