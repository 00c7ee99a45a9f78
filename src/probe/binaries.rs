//! Helper programs under the root: ipset, ipvsadm, iptables, nft, and the Kubernetes
//! binaries whose version tells which kube-proxy to judge for.
//!
//! Asking a helper must not change the kernel, and two of them do when asked the usual way:
//! `ipset --version` also asks the kernel for its protocol version, which makes the kernel
//! load `ip_set` (and `nfnetlink`), and every `ipvsadm` run, `--version` too, opens IPVS
//! first and runs `modprobe ip_vs` when that fails (measured on Debian 12's 6.1 kernel, see
//! tests/vm). So ipset is asked `--help`, whose first line is the same `ipset vX.Y`, and
//! ipvsadm is never run: its version is read from its file, where it is a string.

use std::time::Duration;

use serde::Serialize;

use std::collections::BTreeMap;

use crate::domain::Version;
use crate::probe::packages::{self, DPKG_STATUS, package_of};
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

/// How each helper's version is asked: the arguments it runs with, or None for ipvsadm,
/// whose version is read from its file (see the module's notes).
fn asked_with(name: &str) -> Option<&'static [&'static str]> {
    match name {
        "ipvsadm" => None,
        "ipset" => Some(&["--help"]),
        _ => Some(&["--version"]),
    }
}

/// The banner in what a helper printed when asked [`asked_with`]: ipset's help has it on
/// its first line; the others print nothing else.
fn banner_of(name: &str, printed: String) -> String {
    match name {
        "ipset" => printed
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string(),
        _ => printed,
    }
}

/// The largest helper file whose version is read from its bytes (ipvsadm is 80 KB).
const SCANNED_LIMIT: u64 = 8 << 20;

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
    /// None for an image, which runs nothing: its versions come from [`Asked::packages`].
    running: Option<Running>,
    /// An image's installed packages and their versions (see `packages`), or why unread.
    packages: Result<BTreeMap<String, String>, String>,
}

/// Starts `ipset --help`, `iptables --version`, `nft --version` and, when `kube_version`,
/// the first of kube-proxy, kubelet and kubeadm found, all at once; the caller reads the
/// node's files meanwhile.
pub fn start(root: &Root, kube_version: bool) -> Asked {
    // one lookup for all: the Kubernetes binaries only when their version is asked
    let kube_names = KUBE_ASKS.iter().map(|(n, _)| *n).filter(|_| kube_version);
    let names: Vec<&str> = BINARIES.iter().copied().chain(kube_names).collect();
    let mut found = root.find_programs(&names);
    let kube_found = found.split_off(BINARIES.len());
    // (none looked up, none asked, without `kube_version`)
    let kube: Vec<(String, &'static [&'static str])> = KUBE_ASKS
        .iter()
        .zip(kube_found)
        .filter_map(|((_, args), path)| Some((path?, *args)))
        .collect();
    if root.is_image() {
        let names: Vec<&str> = BINARIES
            .iter()
            .chain(KUBE_ASKS.iter().map(|(n, _)| n))
            .filter_map(|n| package_of(n))
            .collect();
        return Asked {
            root: root.clone(),
            found,
            kube,
            running: None,
            packages: packages::installed(root, &names).map_err(|e| format!("{e:#}")),
        };
    }
    let jobs = jobs(&found, &kube);
    Asked {
        root: root.clone(),
        found,
        kube,
        running: Some(system::start(
            root,
            &jobs,
            system::Privilege::Nothing,
            TIMEOUT,
        )),
        packages: Ok(BTreeMap::new()),
    }
}

/// What [`start`] runs, in order: the helpers found among [`BINARIES`] that are asked (not
/// ipvsadm), then the first Kubernetes binary found ([`Asked::finish`] takes the results in
/// that order).
fn jobs<'a>(
    found: &[Option<String>],
    kube: &[(String, &'a [&'a str])],
) -> Vec<(String, Vec<&'a str>)> {
    let mut jobs: Vec<(String, Vec<&str>)> = BINARIES
        .iter()
        .zip(found)
        .filter_map(|(name, path)| Some((path.clone()?, asked_with(name)?.to_vec())))
        .collect();
    if let Some((path, args)) = kube.first() {
        jobs.push((path.clone(), args.to_vec()));
    }
    jobs
}

/// A helper's version read from its file rather than by running it: the first
/// `NAME v<digits>.<digits>` string in it (ipvsadm's is `ipvsadm v1.31 2019/12/24 (compiled
/// with popt and IPVS v%d.%d.%d)`), and that string as the banner — or why there is none.
fn scan_version(root: &Root, name: &str, path: &str) -> (Option<Version>, String) {
    let bytes = match root.read(path, SCANNED_LIMIT) {
        Ok(Some(b)) => b,
        Ok(None) => return (None, format!("{} vanished", root.show(path))),
        Err(e) => return (None, format!("{e:#}")),
    };
    match version_string(&bytes, name) {
        Some(banner) => (
            first_version(&banner).and_then(|v| Version::parse(&v)),
            banner,
        ),
        None => (
            None,
            format!(
                "no \"{name} v\" version string in {} (not run: it loads kernel modules)",
                root.show(path)
            ),
        ),
    }
}

/// The first `NAME v<digits>.<digits>…` in `bytes`, up to the end of its C string or line
/// (at most 160 bytes).
fn version_string(bytes: &[u8], name: &str) -> Option<String> {
    let needle = format!("{name} v");
    memchr::memmem::find_iter(bytes, needle.as_bytes()).find_map(|at| {
        let rest = &bytes[at..];
        let end = rest
            .iter()
            .take(160)
            .position(|&b| b == 0 || b == b'\n' || b == b'"')
            .unwrap_or(rest.len().min(160));
        let text = String::from_utf8_lossy(&rest[..end]).into_owned();
        // the version right after the name, as `ipvsadm v1.31`
        let after = &text[needle.len()..];
        first_version(&text[needle.len() - 1..])
            .is_some_and(|v| after.starts_with(&v))
            .then_some(text)
    })
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
    pub fn finish(mut self) -> (Vec<Binary>, Option<FoundVersion>) {
        // read while the others run
        let scanned: Vec<Option<(Option<Version>, String)>> = BINARIES
            .iter()
            .zip(&self.found)
            .map(|(name, path)| match (path, asked_with(name)) {
                (Some(path), None) => Some(scan_version(&self.root, name, path)),
                _ => None,
            })
            .collect();
        let mut scanned = scanned.into_iter();
        let image = self.running.is_none();
        let mut results = self
            .running
            .take()
            .map(Running::finish)
            .unwrap_or_default()
            .into_iter();
        let binaries = BINARIES
            .iter()
            .zip(&self.found)
            .map(|(name, path)| {
                let from_file = scanned.next().flatten();
                let Some(path) = path else {
                    return Binary {
                        name: name.to_string(),
                        path: None,
                        version: None,
                        banner: None,
                    };
                };
                let (version, banner) = match from_file {
                    Some((version, banner)) => (version, Some(banner)),
                    None if image => {
                        let (version, banner) = self.packaged(name);
                        (version, Some(banner))
                    }
                    None => match results.next() {
                        Some(Ok(out)) => {
                            let text = banner_of(name, out.text);
                            (
                                first_version(&text).and_then(|v| Version::parse(&v)),
                                Some(text),
                            )
                        }
                        Some(Err(e)) => (None, Some(format!("{e:#}"))),
                        None => (None, None),
                    },
                };
                Binary {
                    name: name.to_string(),
                    path: Some(path.clone()),
                    version,
                    banner,
                }
            })
            .collect();
        if image {
            // the first Kubernetes binary found whose package says its version
            let kube_version = self.kube.iter().find_map(|(path, _)| {
                let name = path.rsplit('/').next().unwrap_or(path);
                Some(FoundVersion {
                    version: self.packaged(name).0?,
                    path: path.clone(),
                })
            });
            return (binaries, kube_version);
        }
        let mut kube = self.kube.iter();
        let mut kube_version = match (kube.next(), results.next()) {
            (Some((path, _)), Some(out)) => kube_answer(out, path),
            _ => None,
        };
        for (path, args) in kube {
            if kube_version.is_some() {
                break;
            }
            kube_version = kube_answer(
                system::run(&self.root, path, args, system::Privilege::Nothing, TIMEOUT),
                path,
            );
        }
        (binaries, kube_version)
    }

    /// An image's `name` by its package: the version, and where it came from or why none.
    fn packaged(&self, name: &str) -> (Option<Version>, String) {
        let not_run = format!("not run: {} is an image", self.root);
        let package = package_of(name).unwrap_or(name);
        match &self.packages {
            Err(e) => (None, format!("{not_run}, and {e}")),
            Ok(p) => match p.get(package) {
                Some(v) => (
                    Version::parse(v),
                    format!("{v} (package {package} in {DPKG_STATUS}; {not_run})"),
                ),
                None => (
                    None,
                    format!(
                        "unknown ({not_run}, and {} lists no installed package {package})",
                        self.root.show(DPKG_STATUS)
                    ),
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ipset, iptables and nft are asked, then only the first Kubernetes binary found.
    #[test]
    fn the_kubernetes_helper_is_asked_last_and_only_the_first() {
        let found: Vec<Option<String>> = BINARIES.iter().map(|b| Some(format!("/x/{b}"))).collect();
        let kube: Vec<(String, &[&str])> = vec![
            ("/x/kubelet".into(), &["--version"]),
            ("/x/kubeadm".into(), &["version", "-o", "short"]),
        ];
        let programs = |run: &[(String, Vec<&str>)]| -> Vec<String> {
            run.iter().map(|(p, _)| p.clone()).collect()
        };
        let run = jobs(&found, &kube);
        assert_eq!(
            programs(&run),
            ["/x/ipset", "/x/iptables", "/x/nft", "/x/kubelet"],
            "ipvsadm is never run, and only the first Kubernetes binary is"
        );
        assert_eq!(
            (run[0].1.as_slice(), run[3].1.as_slice()),
            (&["--help"][..], &["--version"][..])
        );
        assert_eq!(jobs(&found, &[]).len(), 3);
        // without ipset: the Kubernetes binary still last
        let mut no_ipset = found.clone();
        no_ipset[0] = None;
        let run = jobs(&no_ipset, &kube);
        assert_eq!(programs(&run), ["/x/iptables", "/x/nft", "/x/kubelet"]);
    }

    #[test]
    fn ipvsadm_version_is_read_from_its_strings() {
        // the bytes around the two version strings of Debian 12's /sbin/ipvsadm (1.31-1+b1)
        let file: &[u8] = b"\x7fELF\x02\x01  Multicast TTL (default=1)\n\0\0\0\0\0ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v%d.%d.%d)\n\0/sbin/modprobe\0--\0ip_vs\0l compiled with IPVS version %d.%d.%d\n  ipvsadm v1.31  requires minimum IPVS version %d.%d.%d\n\n\0";
        assert_eq!(
            version_string(file, "ipvsadm").as_deref(),
            Some("ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v%d.%d.%d)")
        );
        // a fixture's shell script
        let script = b"#!/bin/sh\necho \"ipvsadm v1.26 2008/5/15 (compiled with getopt_long and with IPVS v1.2.1)\"\n";
        let found = version_string(script, "ipvsadm").unwrap();
        assert_eq!(first_version(&found).as_deref(), Some("1.26"));
        assert!(found.ends_with("IPVS v1.2.1)"), "{found}");
        // a name followed by anything but a version is passed over, not taken
        let odd = b"usage: ipvsadm v -x\0ipvsadm vX.1\0ipvsadm v2.0 (test)\0";
        assert_eq!(
            version_string(odd, "ipvsadm").as_deref(),
            Some("ipvsadm v2.0 (test)")
        );
        assert_eq!(version_string(b"ipvsadm version 1.31\0", "ipvsadm"), None);
        assert_eq!(version_string(b"", "ipvsadm"), None);
        // a string without an end is cut at 160 bytes
        let mut long = b"ipvsadm v1.31 ".to_vec();
        long.extend(std::iter::repeat_n(b'x', 400));
        assert_eq!(version_string(&long, "ipvsadm").map(|s| s.len()), Some(160));
    }
}
