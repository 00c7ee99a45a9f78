//! What an image's package database says is installed: an image root runs nothing (its
//! programs may be anybody's), so the versions of its helpers come from here.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::root::Root;

/// dpkg's database of installed packages.
pub const DPKG_STATUS: &str = "/var/lib/dpkg/status";
/// A status file of a few thousand packages is a few MB.
const STATUS_LIMIT: u64 = 64 << 20;

/// The Debian package that installs each helper nodeprep asks about.
pub fn package_of(program: &str) -> Option<&'static str> {
    Some(match program {
        "ipset" => "ipset",
        "ipvsadm" => "ipvsadm",
        "iptables" => "iptables",
        "nft" => "nftables",
        "kubelet" => "kubelet",
        "kubeadm" => "kubeadm",
        "kube-proxy" => "kube-proxy",
        _ => return None,
    })
}

/// The installed version (upstream part: no epoch, no Debian revision) of each package in
/// `wanted` that dpkg lists as installed; empty where the root has no dpkg database.
pub fn installed(root: &Root, wanted: &[&str]) -> Result<BTreeMap<String, String>> {
    let mut found = BTreeMap::new();
    let Some(lines) = root.open_lines(DPKG_STATUS, STATUS_LIMIT)? else {
        return Ok(found);
    };
    let mut stanza: BTreeMap<String, String> = BTreeMap::new();
    let mut take = |stanza: &mut BTreeMap<String, String>| {
        let installed = stanza
            .get("Status")
            .is_some_and(|s| s.ends_with(" installed"));
        if let (Some(p), Some(v), true) = (stanza.get("Package"), stanza.get("Version"), installed)
            && wanted.contains(&p.as_str())
        {
            found.insert(p.clone(), upstream(v));
        }
        stanza.clear();
    };
    lines.each(&mut |line| {
        let line = String::from_utf8_lossy(line);
        let line = line.trim_end();
        if line.is_empty() {
            take(&mut stanza);
        } else if let Some((field, value)) = line.split_once(':')
            && !field.starts_with([' ', '\t'])
            && matches!(field, "Package" | "Status" | "Version")
        {
            stanza.insert(field.to_string(), value.trim().to_string());
        }
    })?;
    take(&mut stanza);
    Ok(found)
}

/// `1:1.8.9-2+b1` → `1.8.9`: the upstream version of a Debian version.
fn upstream(version: &str) -> String {
    let v = version.split_once(':').map_or(version, |(_, v)| v);
    v.rsplit_once('-').map_or(v, |(u, _)| u).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_versions_lose_their_epoch_and_revision() {
        assert_eq!(upstream("1.8.9-2"), "1.8.9");
        assert_eq!(upstream("1:1.0.6-2+deb12u2"), "1.0.6");
        assert_eq!(upstream("1.30.2-1.1"), "1.30.2");
        assert_eq!(upstream("7.17"), "7.17");
    }

    #[test]
    fn only_installed_packages_count() {
        let top = tempfile::tempdir().unwrap();
        let dir = top.path().join("root");
        let outside = top.path().join("status");
        // a link to a database beside the root is taken inside it: not read
        std::fs::write(
            &outside,
            "Package: kubelet\nStatus: install ok installed\nVersion: 1.9.0-0\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.join("var/lib/dpkg")).unwrap();
        std::fs::write(
            dir.join("var/lib/dpkg/status"),
            "Package: ipset\nStatus: install ok installed\nVersion: 7.17-1\nDescription: x\n y: z\n\n\
             Package: nftables\nStatus: deinstall ok config-files\nVersion: 1.0.6-2\n\n\
             Package: iptables\nStatus: install ok installed\nVersion: 1.8.9-2\n",
        )
        .unwrap();
        let got = installed(
            &Root::new(&dir),
            &["ipset", "nftables", "iptables", "kubelet"],
        )
        .unwrap();
        assert_eq!(
            got.into_iter().collect::<Vec<_>>(),
            [
                ("ipset".to_string(), "7.17".to_string()),
                ("iptables".to_string(), "1.8.9".to_string())
            ]
        );
        std::fs::remove_file(dir.join("var/lib/dpkg/status")).unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("var/lib/dpkg/status")).unwrap();
        let got = installed(&Root::new(&dir), &["kubelet"]).unwrap();
        assert!(
            got.is_empty(),
            "read through a link out of the root: {got:?}"
        );
        assert_eq!(
            std::fs::read_to_string(&outside).unwrap(),
            "Package: kubelet\nStatus: install ok installed\nVersion: 1.9.0-0\n"
        );
    }
}
