//! Reading the node. Nothing here writes; helper programs are only asked for their version.

pub mod binaries;
pub mod dropins;
pub mod kernel;
pub mod kubeconfig;
pub mod os;
pub mod persist;
pub mod sysctl;

use anyhow::Result;

use crate::config::{Config, Version};
use crate::root::Root;
use crate::system::read_optional;

/// The files nodeprep owns.
pub const MODULES_FILE: &str = "/etc/modules-load.d/ipvs.conf";
pub const SYSCTL_FILE: &str = "/etc/sysctl.d/k8s.conf";
/// Where `apply` takes its lock.
pub const LOCK_FILE: &str = "/run/nodeprep.lock";

#[derive(Debug, Clone)]
pub struct Facts {
    pub kernel: kernel::Kernel,
    pub persist: persist::Persistence,
    pub sysctls: sysctl::Sysctls,
    pub binaries: Vec<binaries::Binary>,
    pub os: os::OsRelease,
    /// A kube-proxy, kubelet or kubeadm found under the root: its version and path.
    pub kube_version: Option<(Version, String)>,
    pub kube_config: Option<kubeconfig::KubeProxyConfig>,
    /// Current contents of the files nodeprep writes (None: absent).
    pub modules_file: Option<String>,
    pub sysctl_file: Option<String>,
}

impl Facts {
    pub fn binary(&self, name: &str) -> Option<&binaries::Binary> {
        self.binaries.iter().find(|b| b.name == name)
    }
}

/// Reads everything `plan` needs. `sysctl_keys` are the wanted keys in path form.
pub fn probe(cfg: &Config, sysctl_keys: &[String]) -> Result<Facts> {
    let root = &cfg.root;
    check_root(root)?;
    let kernel = kernel::probe(root)?;
    let kube_config = match &cfg.kube_proxy_config {
        Some(path) => Some(kubeconfig::load(path)?),
        None => None,
    };
    let changeable = Changeable::probe(root, sysctl_keys)?;
    Ok(Facts {
        persist: changeable.persist,
        sysctls: changeable.sysctls,
        binaries: binaries::probe(root)?,
        os: os::probe(root)?,
        kube_version: if cfg.kube_proxy_version.is_some() {
            None
        } else {
            binaries::detect_kube_version(root)
        },
        kube_config,
        modules_file: changeable.modules_file,
        sysctl_file: changeable.sysctl_file,
        kernel,
    })
}

/// The node again after `apply`: what apply can change (the loaded modules, the drop-in
/// directories, the live sysctls, nodeprep's files) is read again; the rest (helper
/// versions, the kube version, os-release, the kube-proxy config, the kernel's module index
/// and config) is taken from `before`: no helper runs twice, nothing is parsed twice.
pub fn reprobe(cfg: &Config, sysctl_keys: &[String], before: &Facts) -> Result<Facts> {
    let root = &cfg.root;
    let mut kernel = before.kernel.clone();
    kernel.reread_loaded(root)?;
    let changeable = Changeable::probe(root, sysctl_keys)?;
    Ok(Facts {
        kernel,
        persist: changeable.persist,
        sysctls: changeable.sysctls,
        binaries: before.binaries.clone(),
        os: before.os.clone(),
        kube_version: before.kube_version.clone(),
        kube_config: before.kube_config.clone(),
        modules_file: changeable.modules_file,
        sysctl_file: changeable.sysctl_file,
    })
}

/// What `apply` writes: the drop-in directories with nodeprep's files, the live sysctls.
struct Changeable {
    persist: persist::Persistence,
    sysctls: sysctl::Sysctls,
    modules_file: Option<String>,
    sysctl_file: Option<String>,
}

impl Changeable {
    fn probe(root: &Root, sysctl_keys: &[String]) -> Result<Changeable> {
        let persist = persist::probe(root)?;
        let sysctls = sysctl::probe(root, sysctl_keys)?;
        // Our own files were read with their drop-in directories; read them again only
        // when they are not among the effective drop-ins there (masked by a /dev/null link).
        let modules_file = match persist
            .modules_load
            .iter()
            .find(|(f, _)| f.path == MODULES_FILE)
        {
            Some((f, _)) => Some(f.content.clone()),
            None => read_optional(&root.path(MODULES_FILE))?,
        };
        let sysctl_file = match sysctls.files.iter().find(|f| f.path == SYSCTL_FILE) {
            Some(f) => Some(f.content.clone()),
            None => read_optional(&root.path(SYSCTL_FILE))?,
        };
        Ok(Changeable {
            persist,
            sysctls,
            modules_file,
            sysctl_file,
        })
    }
}

fn check_root(root: &Root) -> Result<()> {
    match std::fs::read_dir(root.dir()) {
        Ok(_) => Ok(()),
        Err(e) => Err(anyhow::anyhow!(
            "cannot read the root directory {}: {e}; give --root the path of a node's /",
            root
        )),
    }
}
