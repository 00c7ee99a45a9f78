//! What happens at boot and on every load: modules-load.d, modprobe.d, and RHEL's legacy
//! /etc/sysconfig/modules scripts.

use anyhow::Result;
use std::collections::BTreeMap;

use super::FILE_LIMIT;
use super::dropins::{self, DropIn, config_lines};
use crate::root::Root;

#[derive(Debug, Clone, Default)]
pub struct Persistence {
    /// Effective modules-load.d files and the module names each lists.
    pub modules_load: Vec<(DropIn, Vec<String>)>,
    /// modprobe.d `blacklist NAME`: module → file.
    pub blacklist: BTreeMap<String, String>,
    /// modprobe.d `install NAME COMMAND`: module → the first such line.
    pub install: BTreeMap<String, InstallLine>,
    pub legacy_scripts: Vec<LegacyScript>,
}

/// A modprobe.d `install NAME COMMAND` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallLine {
    /// The node path of the file that holds it.
    pub file: String,
    /// What modprobe runs instead of loading the module.
    pub command: String,
}

#[derive(Debug, Clone)]
pub struct LegacyScript {
    pub path: String,
    pub executable: bool,
    /// Words in the script that look like netfilter/IPVS module names.
    pub modules: Vec<String>,
}

/// What an `install` override does to a load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallEffect {
    /// `/bin/true`: every load "succeeds" and loads nothing.
    NoOp,
    /// `/bin/false`: every load fails.
    Fails,
    /// Something else runs instead of the load.
    Custom,
}

pub fn install_effect(command: &str) -> InstallEffect {
    match command
        .split_whitespace()
        .next()
        .map(|p| p.rsplit('/').next().unwrap_or(p))
    {
        Some("true") => InstallEffect::NoOp,
        Some("false") => InstallEffect::Fails,
        _ => InstallEffect::Custom,
    }
}

impl Persistence {
    /// Files that will make systemd-modules-load load `module` at boot.
    pub fn loaded_at_boot_by(&self, module: &str) -> Vec<&str> {
        self.modules_load
            .iter()
            .filter(|(_, mods)| mods.iter().any(|m| m == module))
            .map(|(f, _)| f.path.as_str())
            .collect()
    }
}

pub fn parse_modules_load(content: &str) -> Vec<String> {
    config_lines(content)
        .map(|(_, l)| l.replace('-', "_"))
        .collect()
}

/// The modprobe.d lines that matter to loading a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModprobeLine {
    Blacklist(String),
    /// Module and the command that replaces its load.
    Install(String, String),
}

pub fn parse_modprobe_d(content: &str) -> Vec<ModprobeLine> {
    config_lines(content)
        .filter_map(|(_, line)| {
            let mut words = line.split_whitespace();
            match (words.next(), words.next()) {
                (Some("blacklist"), Some(m)) => Some(ModprobeLine::Blacklist(m.replace('-', "_"))),
                (Some("install"), Some(m)) => Some(ModprobeLine::Install(
                    m.replace('-', "_"),
                    words.collect::<Vec<_>>().join(" "),
                )),
                _ => None,
            }
        })
        .collect()
}

pub fn probe(root: &Root) -> Result<Persistence> {
    let mut p = Persistence::default();
    for f in dropins::collect(root, &dropins::MODULES_LOAD_DIRS)? {
        let mods = parse_modules_load(&f.content);
        p.modules_load.push((f, mods));
    }
    for f in dropins::collect(root, &dropins::MODPROBE_DIRS)? {
        for line in parse_modprobe_d(&f.content) {
            match line {
                ModprobeLine::Blacklist(m) => {
                    p.blacklist.entry(m).or_insert_with(|| f.path.clone());
                }
                ModprobeLine::Install(m, cmd) => {
                    p.install.entry(m).or_insert_with(|| InstallLine {
                        file: f.path.clone(),
                        command: cmd,
                    });
                }
            }
        }
    }
    let legacy_dir = "/etc/sysconfig/modules";
    for name in root.list_dir(legacy_dir)? {
        if !name.ends_with(".modules") {
            continue;
        }
        let path = format!("{legacy_dir}/{name}");
        let Some(content) = root.read_text(&path, FILE_LIMIT)? else {
            continue;
        };
        let executable = root.is_executable(&path);
        p.legacy_scripts.push(LegacyScript {
            path,
            executable,
            modules: module_words(&content),
        });
    }
    Ok(p)
}

/// Words that name netfilter, IPVS or bridge modules, in order of first appearance.
fn module_words(script: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in script.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')) {
        let w = w.replace('-', "_");
        let interesting = w == "ip_vs"
            || w.starts_with("ip_vs_")
            || w.starts_with("nf_conntrack")
            || w == "br_netfilter";
        if interesting && !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_overrides_are_classified() {
        assert_eq!(install_effect("/bin/true"), InstallEffect::NoOp);
        assert_eq!(install_effect("/usr/bin/false"), InstallEffect::Fails);
        assert_eq!(
            install_effect("/sbin/modprobe --ignore-install x"),
            InstallEffect::Custom
        );
    }

    #[test]
    fn modules_load_files_parse_like_systemd() {
        let mods = parse_modules_load("# c\n; c\n\nip_vs\n  nf-conntrack  \n");
        assert_eq!(mods, vec!["ip_vs", "nf_conntrack"]);
    }

    #[test]
    fn module_words_find_the_seeds_list() {
        let w = module_words(
            "ipvs_modules=\"ip_vs ip_vs_lc nf_conntrack_ipv4\"\nfor kernel_module in ${ipvs_modules}",
        );
        assert_eq!(w, vec!["ip_vs", "ip_vs_lc", "nf_conntrack_ipv4"]);
    }
}
