//! systemd-style drop-in directories: `*.conf` files from several directories, where a file
//! in an earlier directory overrides one of the same name in a later one, a symlink to
//! /dev/null masks the name, and the survivors are read in lexical order of file name.

use std::collections::BTreeMap;

use anyhow::Result;

use super::FILE_LIMIT;
use crate::root::Root;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropIn {
    /// The file's path on the node, e.g. `/etc/sysctl.d/k8s.conf`.
    pub path: String,
    pub content: String,
}

pub const MODULES_LOAD_DIRS: [&str; 5] = [
    "/etc/modules-load.d",
    "/run/modules-load.d",
    "/usr/local/lib/modules-load.d",
    "/usr/lib/modules-load.d",
    "/lib/modules-load.d",
];

pub const SYSCTL_DIRS: [&str; 4] = [
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
];

pub const MODPROBE_DIRS: [&str; 5] = [
    "/etc/modprobe.d",
    "/run/modprobe.d",
    "/usr/local/lib/modprobe.d",
    "/usr/lib/modprobe.d",
    "/lib/modprobe.d",
];

/// The effective drop-ins, in the order their consumer applies them.
pub fn collect(root: &Root, dirs: &[&str]) -> Result<Vec<DropIn>> {
    let mut by_name: BTreeMap<String, Option<DropIn>> = BTreeMap::new();
    // /lib is a symlink to /usr/lib on merged-/usr systems: do not read it twice. Each
    // directory is looked up once; a missing one is skipped.
    let mut seen = Vec::new();
    for dir in dirs {
        let Some(st) = root.stat(dir)? else { continue };
        let id = (st.st_dev, st.st_ino);
        if seen.contains(&id) {
            continue;
        }
        seen.push(id);
        for name in root.list_dir(dir)? {
            if !name.ends_with(".conf") || by_name.contains_key(&name) {
                continue;
            }
            let node = format!("{dir}/{name}");
            if root.is_masked(&node) {
                by_name.insert(name, None);
                continue;
            }
            // byte for byte (see crate::text): nodeprep's own files are rewritten from this
            if let Some(content) = root
                .read(&node, FILE_LIMIT)?
                .map(|b| crate::text::decode(&b))
            {
                by_name.insert(
                    name,
                    Some(DropIn {
                        path: node,
                        content,
                    }),
                );
            }
        }
    }
    Ok(by_name.into_values().flatten().collect())
}

/// Lines that are neither blank nor comments (`#` or `;`), trimmed, with their line numbers.
/// A UTF-8 byte-order mark before the first line is not part of it, as in systemd.
pub fn config_lines(content: &str) -> impl Iterator<Item = (usize, &str)> {
    content
        .strip_prefix('\u{feff}')
        .unwrap_or(content)
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
}
