//! Sysctls: live values under /proc/sys, and the sysctl.d files that set them at boot.

use std::collections::BTreeMap;

use anyhow::Result;

use super::dropins::{self, config_lines};
use crate::root::Root;
use crate::system::read_optional;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path form (`net/ipv4/ip_forward`), as systemd-sysctl normalises it; may be a glob.
    pub key: String,
    pub value: String,
    /// `-key = value`: a failure to set it is ignored.
    pub ignore_failure: bool,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysctlFile {
    pub path: String,
    pub entries: Vec<Entry>,
    /// The file as read, so that nothing reads it twice.
    pub content: String,
}

#[derive(Debug, Clone, Default)]
pub struct Sysctls {
    /// sysctl.d files in the order systemd-sysctl applies them.
    pub files: Vec<SysctlFile>,
    /// /etc/sysctl.conf, which procps's `sysctl --system` applies last and systemd ignores.
    pub sysctl_conf: Option<SysctlFile>,
    /// Live value per wanted key (path form); None when the key does not exist.
    pub live: BTreeMap<String, Option<String>>,
}

/// `net.ipv4.ip_forward` and `net/ipv4/ip_forward` → `net/ipv4/ip_forward`. When the first
/// separator is a slash, dots are literal (`net/ipv4/conf/eth0.100/forwarding`).
pub fn normalize_key(key: &str) -> String {
    let key = key.trim().trim_start_matches('/');
    match key.find(['.', '/']) {
        Some(i) if key.as_bytes()[i] == b'/' => key.to_string(),
        _ => swap_separators(key),
    }
}

/// Path form → the dotted form people write (`net/ipv4/ip_forward` → `net.ipv4.ip_forward`).
pub fn dotted(path_key: &str) -> String {
    swap_separators(path_key)
}

fn swap_separators(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '.' => '/',
            '/' => '.',
            c => c,
        })
        .collect()
}

/// Values compare as the kernel prints them: whitespace-separated fields.
pub fn same_value(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

pub fn parse(path: &str, content: &str) -> SysctlFile {
    let mut entries = Vec::new();
    for (line, text) in config_lines(content) {
        let Some((k, v)) = text.split_once('=') else {
            continue;
        };
        let (ignore_failure, k) = match k.trim().strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, k),
        };
        if k.trim().is_empty() {
            continue;
        }
        entries.push(Entry {
            key: normalize_key(k),
            value: v.trim().to_string(),
            ignore_failure,
            line,
        });
    }
    SysctlFile {
        path: path.to_string(),
        entries,
        content: content.to_string(),
    }
}

/// Whether a sysctl.d key (possibly a glob) sets `key`. `*` and `?` stay within one level.
pub fn key_matches(pattern: &str, key: &str) -> bool {
    fn m(p: &[u8], k: &[u8]) -> bool {
        match (p.first(), k.first()) {
            (None, None) => true,
            (Some(b'*'), _) => m(&p[1..], k) || (!k.is_empty() && k[0] != b'/' && m(p, &k[1..])),
            (Some(b'?'), Some(c)) if *c != b'/' => m(&p[1..], &k[1..]),
            (Some(a), Some(b)) if a == b => m(&p[1..], &k[1..]),
            _ => false,
        }
    }
    m(pattern.as_bytes(), key.as_bytes())
}

pub fn probe(root: &Root, keys: &[String]) -> Result<Sysctls> {
    let files = dropins::collect(root, &dropins::SYSCTL_DIRS)?
        .into_iter()
        .map(|d| parse(&d.path, &d.content))
        .collect();
    let sysctl_conf =
        read_optional(&root.path("/etc/sysctl.conf"))?.map(|c| parse("/etc/sysctl.conf", &c));
    let mut live = BTreeMap::new();
    for key in keys {
        let value = read_optional(&root.path(format!("/proc/sys/{key}")))?;
        live.insert(key.clone(), value.map(|v| v.trim().to_string()));
    }
    Ok(Sysctls {
        files,
        sysctl_conf,
        live,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_normalise_like_systemd() {
        assert_eq!(normalize_key("net.ipv4.ip_forward"), "net/ipv4/ip_forward");
        assert_eq!(normalize_key("net/ipv4/ip_forward"), "net/ipv4/ip_forward");
        assert_eq!(
            normalize_key("net/ipv4/conf/eth0.100/forwarding"),
            "net/ipv4/conf/eth0.100/forwarding"
        );
        assert_eq!(
            normalize_key("net.ipv4.conf.eth0/100.forwarding"),
            "net/ipv4/conf/eth0.100/forwarding"
        );
        assert_eq!(
            dotted("net/bridge/bridge-nf-call-iptables"),
            "net.bridge.bridge-nf-call-iptables"
        );
    }

    #[test]
    fn files_parse_with_comments_and_ignore_marks() {
        let f = parse(
            "/x",
            "# c\n; c\nnet.ipv4.ip_forward=1\n-net.bridge.bridge-nf-call-iptables = 1\nnot a setting\n",
        );
        assert_eq!(f.entries.len(), 2);
        assert_eq!(f.entries[0].key, "net/ipv4/ip_forward");
        assert_eq!(f.entries[0].line, 3);
        assert!(f.entries[1].ignore_failure);
        assert_eq!(f.entries[1].value, "1");
    }

    #[test]
    fn globs_match_within_a_level() {
        assert!(key_matches(
            "net/ipv4/conf/*/rp_filter",
            "net/ipv4/conf/all/rp_filter"
        ));
        assert!(!key_matches("net/ipv4/*", "net/ipv4/conf/all/rp_filter"));
        assert!(key_matches("net/ipv4/ip_forward", "net/ipv4/ip_forward"));
        assert!(key_matches("net/ipv4/ip_forwar?", "net/ipv4/ip_forward"));
        assert!(same_value("4096\t87380  6291456", "4096 87380 6291456"));
    }
}
