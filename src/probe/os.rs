//! The distribution, from os-release: it decides the install command we suggest.

use anyhow::Result;

use crate::root::Root;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsRelease {
    pub id: String,
    pub id_like: Vec<String>,
    pub version_id: String,
    pub pretty_name: String,
}

impl OsRelease {
    pub fn parse(text: &str) -> OsRelease {
        let mut os = OsRelease::default();
        for line in text.lines() {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let v = v.trim().trim_matches('"').trim_matches('\'').to_string();
            match k.trim() {
                "ID" => os.id = v,
                "ID_LIKE" => os.id_like = v.split_whitespace().map(String::from).collect(),
                "VERSION_ID" => os.version_id = v,
                "PRETTY_NAME" => os.pretty_name = v,
                _ => {}
            }
        }
        os
    }

    fn is(&self, family: &str) -> bool {
        self.id == family || self.id_like.iter().any(|l| l == family)
    }

    /// The command that installs `packages` here, when the package manager is known.
    pub fn install_command(&self, packages: &[&str]) -> Option<String> {
        let major: u32 = self
            .version_id
            .split('.')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let tool = if self.is("debian") || self.is("ubuntu") {
            "apt-get install -y"
        } else if self.is("suse") || self.is("sles") || self.is("opensuse") {
            "zypper install -y"
        } else if self.id == "fedora"
            || ((self.is("rhel") || self.is("centos") || self.is("fedora")) && major >= 8)
        {
            "dnf install -y"
        } else if self.is("rhel") || self.is("centos") || self.is("fedora") {
            "yum install -y"
        } else {
            return None;
        };
        Some(format!("{tool} {}", packages.join(" ")))
    }
}

pub fn probe(root: &Root) -> Result<OsRelease> {
    for p in ["/etc/os-release", "/usr/lib/os-release"] {
        if let Some(text) = root.read_text(p, super::FILE_LIMIT)? {
            return Ok(OsRelease::parse(&text));
        }
    }
    Ok(OsRelease::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(text: &str) -> OsRelease {
        OsRelease::parse(text)
    }

    #[test]
    fn install_commands_follow_the_distribution() {
        let p = ["ipset"];
        assert_eq!(
            os("ID=debian\nVERSION_ID=\"12\"")
                .install_command(&p)
                .unwrap(),
            "apt-get install -y ipset"
        );
        assert_eq!(
            os("ID=ubuntu\nID_LIKE=debian").install_command(&p).unwrap(),
            "apt-get install -y ipset"
        );
        assert_eq!(
            os("ID=\"centos\"\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"7\"")
                .install_command(&p)
                .unwrap(),
            "yum install -y ipset"
        );
        assert_eq!(
            os("ID=\"rhel\"\nVERSION_ID=\"8.3\"")
                .install_command(&p)
                .unwrap(),
            "dnf install -y ipset"
        );
        assert_eq!(
            os("ID=rocky\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.2\"")
                .install_command(&p)
                .unwrap(),
            "dnf install -y ipset"
        );
        assert_eq!(
            os("ID=fedora\nVERSION_ID=39").install_command(&p).unwrap(),
            "dnf install -y ipset"
        );
        assert_eq!(
            os("ID=\"sles\"\nVERSION_ID=\"15.5\"")
                .install_command(&p)
                .unwrap(),
            "zypper install -y ipset"
        );
        assert_eq!(os("ID=alpine").install_command(&p), None);
    }
}
