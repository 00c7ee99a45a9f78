//! Reading the node. Nothing here writes a file; helper programs are asked for their version,
//! and `check --probe` ([`live`]) asks the kernel itself whether it takes an IPVS virtual
//! server with the scheduler, adding one dummy server and deleting it again.

pub mod binaries;
pub mod document;
pub mod dropins;
pub mod kernel;
pub mod kubeconfig;
pub mod live;
pub mod nftprobe;
pub mod os;
pub mod packages;
pub mod persist;
pub mod sysctl;
pub mod yaml_screen;

use anyhow::Result;

use crate::root::{Root, Target};

/// The files nodeprep owns.
pub const MODULES_FILE: &str = "/etc/modules-load.d/ipvs.conf";
pub const SYSCTL_FILE: &str = "/etc/sysctl.d/k8s.conf";
/// The largest file nodeprep reads (Debian's modules.dep is under 1 MB); a bigger one, or a
/// FIFO or device where a file belongs, is an error rather than a hang or a flood.
pub const FILE_LIMIT: u64 = 16 << 20;
/// Where `apply` takes its lock.
pub const LOCK_FILE: &str = "/run/nodeprep.lock";

/// What to read (`Config::probe_request` builds it once).
#[derive(Debug, Clone)]
pub struct Request {
    pub root: Root,
    /// `--kernel-release`, for an image root.
    pub kernel_release: Option<String>,
    /// Ask kube-proxy, kubelet or kubeadm for their version (no `--kube-proxy-version`).
    pub ask_kube_version: bool,
    pub kube_proxy_config: Option<ConfigSource>,
}

/// Where the kube-proxy configuration comes from.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    /// A file of this machine.
    File(std::path::PathBuf),
    /// A file under the root (`root:PATH`).
    InRoot(String),
    /// Standard input, read by `main`.
    Text(String),
}

#[derive(Debug, Clone)]
pub struct Facts {
    pub kernel: kernel::Kernel,
    pub persist: persist::Persistence,
    pub sysctls: sysctl::Sysctls,
    pub binaries: Vec<binaries::Binary>,
    pub os: os::OsRelease,
    /// A kube-proxy, kubelet or kubeadm found under the root: its version and path.
    pub kube_version: Option<binaries::FoundVersion>,
    /// `/proc/net/if_inet6` exists: the kernel has IPv6 (kube-proxy ≥ 1.34 asks this).
    pub ipv6: bool,
    pub kube_config: Option<kubeconfig::KubeProxyConfig>,
    /// The files nodeprep writes as they are now, parsed (None: absent or masked).
    pub modules_file: Option<document::Document>,
    pub sysctl_file: Option<document::Document>,
    /// Files nodeprep owns that the admin masked (a link to /dev/null on the way).
    pub masked: Vec<Mask>,
    /// The root's modprobe (node path), which `apply` loads modules with.
    pub modprobe: Option<String>,
    /// Modules `apply` tried to load and could not, with why: a fact about the node once
    /// apply has run (empty before).
    pub load_failures: std::collections::BTreeMap<String, String>,
    /// `check --probe` in nftables mode: what the kernel said to kube-proxy's statement
    /// shapes (None: not asked).
    pub nft_probe: Option<nftprobe::NftProbe>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mask {
    /// The file nodeprep would write.
    pub file: String,
    /// The link to /dev/null.
    pub link: String,
}

impl Facts {
    pub fn binary(&self, name: &str) -> Option<&binaries::Binary> {
        self.binaries.iter().find(|b| b.name == name)
    }
}

/// Reads everything `plan` needs. `sysctl_keys` are the wanted keys in path form.
pub fn probe(req: &Request, sysctl_keys: &[String]) -> Result<Facts> {
    Ok(start(req, sysctl_keys)?.finish())
}

/// The node read, but for the helpers' answers: they are still running.
pub struct Pending {
    facts: Facts,
    asked: binaries::Asked,
}

impl Pending {
    /// Every fact but the helpers' (`binaries` empty, `kube_version` None).
    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    /// Waits for the helpers and adds their answers.
    pub fn finish(self) -> Facts {
        let (binaries, kube_version) = self.asked.finish();
        Facts {
            binaries,
            kube_version,
            ..self.facts
        }
    }
}

/// Starts the helpers, then reads the files while they run (on an error they are killed
/// and reaped: see `system::Running`). The KubeProxyConfiguration given comes first: a
/// usage error in it ends the run before any program of the root has run.
pub fn start(req: &Request, sysctl_keys: &[String]) -> Result<Pending> {
    let root = &req.root;
    root.open()?;
    let kube_config = match &req.kube_proxy_config {
        Some(ConfigSource::Text(text)) => Some(
            kubeconfig::parse("standard input", text)
                .map_err(|e| crate::exit::UsageError(format!("--kube-proxy-config -: {e:#}")))?,
        ),
        Some(ConfigSource::File(path)) => Some(kubeconfig::load(path)?),
        Some(ConfigSource::InRoot(node)) => Some(kubeconfig::load_in_root(root, node)?),
        None => None,
    };
    let asked = binaries::start(root, req.ask_kube_version);
    let kernel = kernel::probe(root, req.kernel_release.as_deref())?;
    let facts = read_files(root, sysctl_keys, kernel, kube_config)?;
    Ok(Pending { facts, asked })
}

fn read_files(
    root: &Root,
    sysctl_keys: &[String],
    kernel: kernel::Kernel,
    kube_config: Option<kubeconfig::KubeProxyConfig>,
) -> Result<Facts> {
    let changeable = Changeable::probe(root, sysctl_keys)?;
    Ok(Facts {
        persist: changeable.persist,
        sysctls: changeable.sysctls,
        binaries: Vec::new(),
        os: os::probe(root)?,
        kube_version: None,
        kube_config,
        ipv6: !root.is_image() && root.exists("/proc/net/if_inet6"),
        modules_file: changeable.modules_file,
        sysctl_file: changeable.sysctl_file,
        masked: changeable.masked,
        modprobe: root.find_program("modprobe"),
        load_failures: Default::default(),
        nft_probe: None,
        kernel,
    })
}

/// The node again after `apply`: what apply can change (the loaded modules, the drop-in
/// directories, the live sysctls, nodeprep's files) is read again; the rest (helper
/// versions, the kube version, os-release, the kube-proxy config, the kernel's module index
/// and config) is taken from `before`: no helper runs twice, nothing is parsed twice.
pub fn reprobe(root: &Root, sysctl_keys: &[String], before: &Facts) -> Result<Facts> {
    let mut kernel = before.kernel.clone();
    if kernel.image {
        // what "is loaded" in an image is what the files load at boot: judged afresh
        kernel.loaded.clear();
    } else {
        kernel.reread_loaded(root)?;
    }
    let changeable = Changeable::probe(root, sysctl_keys)?;
    Ok(Facts {
        kernel,
        persist: changeable.persist,
        sysctls: changeable.sysctls,
        binaries: before.binaries.clone(),
        os: before.os.clone(),
        kube_version: before.kube_version.clone(),
        kube_config: before.kube_config.clone(),
        ipv6: before.ipv6,
        modules_file: changeable.modules_file,
        sysctl_file: changeable.sysctl_file,
        masked: changeable.masked,
        modprobe: before.modprobe.clone(),
        load_failures: before.load_failures.clone(),
        nft_probe: before.nft_probe.clone(),
    })
}

/// What `apply` writes: the drop-in directories with nodeprep's files, the live sysctls.
struct Changeable {
    persist: persist::Persistence,
    sysctls: sysctl::Sysctls,
    modules_file: Option<document::Document>,
    sysctl_file: Option<document::Document>,
    masked: Vec<Mask>,
}

impl Changeable {
    fn probe(root: &Root, sysctl_keys: &[String]) -> Result<Changeable> {
        let persist = persist::probe(root)?;
        let sysctls = sysctl::probe(root, sysctl_keys)?;
        // Our own files were read, byte for byte, with their drop-in directories; read them
        // again only when they are not among the effective drop-ins there.
        let modules_file = match persist
            .modules_load
            .iter()
            .find(|(f, _)| f.path == MODULES_FILE)
        {
            Some((f, _)) => Some(f.content.clone()),
            None => managed_file(root, MODULES_FILE)?,
        }
        .map(|t| document::Document::modules(&t));
        let sysctl_file = match sysctls.files.iter().find(|f| f.path == SYSCTL_FILE) {
            Some(f) => Some(f.content.clone()),
            None => managed_file(root, SYSCTL_FILE)?,
        }
        .map(|t| document::Document::sysctls(&t));
        let masked = [MODULES_FILE, SYSCTL_FILE]
            .into_iter()
            .filter_map(|f| match root.write_target(f) {
                Ok(Target::Masked(link)) => Some(Mask {
                    file: f.to_string(),
                    link: link.display().to_string(),
                }),
                _ => None,
            })
            .collect();
        Ok(Changeable {
            persist,
            sysctls,
            modules_file,
            sysctl_file,
            masked,
        })
    }
}

/// A file nodeprep rewrites, byte for byte (see [`crate::text`]); a mask reads as absent.
pub fn managed_file(root: &Root, node: &str) -> Result<Option<String>> {
    if let Target::Masked(_) = root.write_target(node)? {
        return Ok(None);
    }
    Ok(root
        .read(node, FILE_LIMIT)?
        .map(|b| crate::text::decode(&b)))
}
