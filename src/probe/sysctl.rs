//! Sysctls: live values under /proc/sys, and the sysctl.d files that set them at boot.

use std::collections::BTreeMap;

use anyhow::Result;

use super::FILE_LIMIT;
use super::dropins::{self, config_lines};
use crate::root::Root;

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

pub use crate::domain::{dotted, is_valid_key, normalize_key};

/// The /proc/sys path of a key in path form; `None` when the key is not a valid name.
pub fn live_path(path_key: &str) -> Option<String> {
    is_valid_key(path_key).then(|| format!("/proc/sys/{path_key}"))
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
/// Matched level by level with one backtrack point per level (the classic wildcard
/// algorithm): O(pattern × key) at worst, never the exponential blow-up of naive recursion.
pub fn key_matches(pattern: &str, key: &str) -> bool {
    let (mut p, mut k) = (pattern.split('/'), key.split('/'));
    loop {
        match (p.next(), k.next()) {
            (None, None) => return true,
            (Some(ps), Some(ks)) if level_matches(ps.as_bytes(), ks.as_bytes()) => {}
            _ => return false,
        }
    }
}

fn level_matches(p: &[u8], k: &[u8]) -> bool {
    let (mut pi, mut ki) = (0, 0);
    // after the last `*`: where in the pattern, and how much of the key it has taken
    let mut star: Option<(usize, usize)> = None;
    while ki < k.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ki));
                pi += 1;
            }
            Some(c) if *c == b'?' || *c == k[ki] => {
                pi += 1;
                ki += 1;
            }
            _ => match star {
                Some((sp, sk)) => {
                    pi = sp + 1;
                    ki = sk + 1;
                    star = Some((sp, sk + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

pub fn probe(root: &Root, keys: &[String]) -> Result<Sysctls> {
    let files = dropins::collect(root, &dropins::SYSCTL_DIRS)?
        .into_iter()
        .map(|d| parse(&d.path, &d.content))
        .collect();
    let sysctl_conf = root
        .read_text("/etc/sysctl.conf", FILE_LIMIT)?
        .map(|c| parse("/etc/sysctl.conf", &c));
    let mut live = BTreeMap::new();
    for key in keys {
        // an image's /proc is not the running kernel's: nothing in it is read
        let value = match live_path(key) {
            Some(path) if !root.is_image() => root.read_text(path, FILE_LIMIT)?,
            _ => None,
        };
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
        assert!(key_matches("net/*/conf/*", "net/ipv4/conf/all"));
        assert!(key_matches(
            "net/ipv4/conf/e*0/rp_filter",
            "net/ipv4/conf/eth0/rp_filter"
        ));
        assert!(!key_matches(
            "net/ipv4/conf/e*1/rp_filter",
            "net/ipv4/conf/eth0/rp_filter"
        ));
        assert!(key_matches("a*b*c", "axxbyyc") && !key_matches("a*b*c", "axxbyy"));
        assert!(key_matches("**", "") && !key_matches("?", ""));
    }

    #[test]
    fn many_stars_do_not_take_exponential_time() {
        // naive recursion needs about 2^40 steps for this; the matcher a few thousand
        let pattern = format!("{}b", "*a".repeat(40));
        let key = "a".repeat(200);
        assert!(!key_matches(&pattern, &key));
        assert!(key_matches(&pattern, &format!("{key}b")));
    }
}
