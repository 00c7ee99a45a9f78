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
    pub kube_version: Option<(Version, Option<u32>, String)>,
    /// `/proc/net/if_inet6` exists: the kernel has IPv6 (kube-proxy ≥ 1.34 asks this).
    pub ipv6: bool,
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
    Ok(Facts {
        persist: persist::probe(root)?,
        sysctls: sysctl::probe(root, sysctl_keys)?,
        binaries: binaries::probe(root)?,
        os: os::probe(root)?,
        kube_version: if cfg.kube_proxy_version.is_some() {
            None
        } else {
            binaries::detect_kube_version(root)
        },
        kube_config,
        ipv6: root.path("/proc/net/if_inet6").exists(),
        modules_file: read_optional(&root.path(MODULES_FILE))?,
        sysctl_file: read_optional(&root.path(SYSCTL_FILE))?,
        kernel,
    })
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
