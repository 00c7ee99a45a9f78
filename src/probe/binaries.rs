//! Helper programs under the root: ipset, ipvsadm, iptables, and the Kubernetes binaries
//! whose version tells which kube-proxy to judge for.

use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use crate::config::Version;
use crate::root::Root;
use crate::system::{find_program, first_version, run};

const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Binary {
    pub name: String,
    /// Path on the node, or null when not found in the trusted directories.
    pub path: Option<String>,
    /// `major.minor` as kube-proxy reads it (ipset) or the first version in the banner.
    pub version: Option<String>,
    /// What `--version` printed, or why it could not be asked.
    #[serde(skip)]
    pub banner: Option<String>,
}

pub const BINARIES: [&str; 4] = ["ipset", "ipvsadm", "iptables", "nft"];

pub fn probe(root: &Root) -> Result<Vec<Binary>> {
    BINARIES.iter().map(|name| probe_one(root, name)).collect()
}

fn probe_one(root: &Root, name: &str) -> Result<Binary> {
    let Some(real) = find_program(root, name) else {
        return Ok(Binary {
            name: name.into(),
            path: None,
            version: None,
            banner: None,
        });
    };
    let (version, banner) = match run(root, &real, &["--version"], TIMEOUT) {
        Ok(out) => (first_version(&out.text), Some(out.text)),
        Err(e) => (None, Some(format!("{e:#}"))),
    };
    Ok(Binary {
        name: name.into(),
        path: Some(root.node_path(&real)),
        version,
        banner,
    })
}

/// The version (and patch level) of a kube-proxy, kubelet or kubeadm under the root, and
/// which one said it.
pub fn detect_kube_version(root: &Root) -> Option<(Version, Option<u32>, String)> {
    let asks: [(&str, &[&str]); 3] = [
        ("kube-proxy", &["--version"]),
        ("kubelet", &["--version"]),
        ("kubeadm", &["version", "-o", "short"]),
    ];
    for (name, args) in asks {
        let Some(real) = find_program(root, name) else {
            continue;
        };
        let Ok(out) = run(root, &real, args, TIMEOUT) else {
            continue;
        };
        let word = out.text.split_whitespace().find(|w| w.starts_with('v'));
        if let (true, Some(v)) = (out.success, word.and_then(Version::parse)) {
            let patch = word.and_then(Version::parse_patch);
            return Some((v, patch, root.node_path(&real)));
        }
    }
    None
}
