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
    root: Root,
    found: Vec<Option<String>>,
    /// kube-proxy, kubelet, kubeadm as found, in that order, with their arguments; the
    /// first is asked with the others, each next one only if the one before gave no version.
    kube: Vec<(String, &'static [&'static str])>,
    running: Running,
}

/// Starts ipset, ipvsadm, iptables, nft (`--version`) and, when `kube_version`, the first
/// of kube-proxy, kubelet and kubeadm found, all at once; the caller reads the node's files
/// meanwhile.
pub fn start(root: &Root, kube_version: bool) -> Asked {
    let mut jobs: Vec<(String, Vec<&str>)> = Vec::new();
    let found: Vec<Option<String>> = BINARIES.iter().map(|n| root.find_program(n)).collect();
    for path in found.iter().flatten() {
        jobs.push((path.clone(), vec!["--version"]));
    }
    let kube: Vec<(String, &'static [&'static str])> = if kube_version {
        KUBE_ASKS
            .iter()
            .filter_map(|(name, args)| Some((root.find_program(name)?, *args)))
            .collect()
    } else {
        Vec::new()
    };
    if let Some((path, args)) = kube.first() {
        jobs.push((path.clone(), args.to_vec()));
    }
    Asked {
        root: root.clone(),
        found,
        kube,
        running: system::start(root, &jobs, TIMEOUT),
    }
}

/// The version a Kubernetes binary's answer gives: its first word that starts with `v`.
fn kube_answer(out: anyhow::Result<system::Output>, path: &str) -> Option<FoundVersion> {
    let out = out.ok().filter(|o| o.success)?;
    let word = out.text.split_whitespace().find(|w| w.starts_with('v'))?;
    Some(FoundVersion {
        version: Version::parse(word)?,
        path: path.to_string(),
    })
}

impl Asked {
    /// ipset, ipvsadm, iptables and nft as found and asked, and the version of the first of
    /// kube-proxy, kubelet, kubeadm that answers (a Go binary's start is tens of
    /// milliseconds of CPU: the next is asked only when the one before gave no version).
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
        let mut kube = self.kube.iter();
        let mut kube_version = match (kube.next(), results.next()) {
            (Some((path, _)), Some(out)) => kube_answer(out, path),
            _ => None,
        };
        for (path, args) in kube {
            if kube_version.is_some() {
                break;
            }
            kube_version = kube_answer(system::run(&self.root, path, args, TIMEOUT), path);
        }
        (binaries, kube_version)
    }
}
