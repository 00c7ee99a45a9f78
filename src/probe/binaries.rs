//! Helper programs under the root: ipset, ipvsadm, iptables, and the Kubernetes binaries
//! whose version tells which kube-proxy to judge for.

use std::time::Duration;

use serde::Serialize;

use crate::domain::Version;
use crate::root::Root;
use crate::system::{self, Running, first_version};

/// The version a Kubernetes binary printed, and the binary's node path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundVersion {
    pub version: Version,
    pub path: String,
}

/// Where helpers are looked for, as messages name them (see `Root::find_program`).
pub const SEARCHED: &str = "/usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin, /bin";

const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Binary {
    pub name: String,
    /// Path on the node, or null when not found in the trusted directories.
    pub path: Option<String>,
    /// The first `v<major>.<minor>` in the banner, as kube-proxy reads ipset's.
    pub version: Option<Version>,
    /// What `--version` printed, or why it could not be asked.
    #[serde(skip)]
    pub banner: Option<String>,
}

pub const BINARIES: [&str; 4] = ["ipset", "ipvsadm", "iptables", "nft"];

const KUBE_ASKS: [(&str, &[&str]); 3] = [
    ("kube-proxy", &["--version"]),
    ("kubelet", &["--version"]),
    ("kubeadm", &["version", "-o", "short"]),
];

/// The helpers [`start`] set going, to be collected by [`Asked::finish`].
pub struct Asked {
    found: Vec<Option<String>>,
    kube: Vec<String>,
    running: Running,
}

/// Starts ipset, ipvsadm, iptables, nft (`--version`) and, when `kube_version`, kube-proxy,
/// kubelet and kubeadm, all at once; the caller reads the node's files meanwhile.
pub fn start(root: &Root, kube_version: bool) -> Asked {
    let mut jobs: Vec<(String, Vec<&str>)> = Vec::new();
    let found: Vec<Option<String>> = BINARIES.iter().map(|n| root.find_program(n)).collect();
    for path in found.iter().flatten() {
        jobs.push((path.clone(), vec!["--version"]));
    }
    let mut kube = Vec::new();
    if kube_version {
        for (name, args) in KUBE_ASKS {
            if let Some(path) = root.find_program(name) {
                jobs.push((path.clone(), args.to_vec()));
                kube.push(path);
            }
        }
    }
    Asked {
        found,
        kube,
        running: system::start(root, &jobs, TIMEOUT),
    }
}

impl Asked {
    /// ipset, ipvsadm, iptables and nft as found and asked, and the version of the first of
    /// kube-proxy, kubelet, kubeadm that answered.
    pub fn finish(self) -> (Vec<Binary>, Option<FoundVersion>) {
        let mut results = self.running.finish().into_iter();
        let binaries = BINARIES
            .iter()
            .zip(&self.found)
            .map(|(name, path)| {
                let Some(path) = path else {
                    return Binary {
                        name: name.to_string(),
                        path: None,
                        version: None,
                        banner: None,
                    };
                };
                let (version, banner) = match results.next() {
                    Some(Ok(out)) => (
                        first_version(&out.text).and_then(|v| Version::parse(&v)),
                        Some(out.text),
                    ),
                    Some(Err(e)) => (None, Some(format!("{e:#}"))),
                    None => (None, None),
                };
                Binary {
                    name: name.to_string(),
                    path: Some(path.clone()),
                    version,
                    banner,
                }
            })
            .collect();
        let kube_version = self.kube.iter().zip(results).find_map(|(path, out)| {
            let out = out.ok().filter(|o| o.success)?;
            let word = out.text.split_whitespace().find(|w| w.starts_with('v'))?;
            Some(FoundVersion {
                version: Version::parse(word)?,
                path: path.clone(),
            })
        });
        (binaries, kube_version)
    }
}

/// [`start`] and [`Asked::finish`] at once.
pub fn probe(root: &Root, kube_version: bool) -> (Vec<Binary>, Option<FoundVersion>) {
    start(root, kube_version).finish()
}
