//! The contents of the two files nodeprep owns, merged with what is already there: foreign
//! lines and comments stay, our keys are updated in place and never duplicated.

use std::collections::BTreeSet;

use super::Wanted;
use crate::probe::document::{Document, Entry};
use crate::probe::dropins::DropIn;
use crate::probe::kernel::{Kernel, ModState};
use crate::probe::persist::parse_modules_load;
use crate::probe::sysctl::{self, dotted, normalize_key, same_value};
use crate::probe::{Facts, MODULES_FILE, SYSCTL_FILE};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Path on the node.
    pub path: &'static str,
    pub before: Option<String>,
    pub after: String,
}

const MODULES_HEADER: &str = "# Kernel modules for kube-proxy, loaded at boot by systemd-modules-load.\n# Managed by nodeprep; lines it did not write are kept.\n";
const SYSCTL_HEADER: &str = "# Sysctls for Kubernetes nodes, applied at boot by systemd-sysctl.\n# Managed by nodeprep; lines it did not write are kept.\n";

/// The modules nodeprep manages in its modules-load.d file: the IPVS, conntrack and bridge
/// modules. An entry it did not write for anything else (`zfs`) is never touched.
pub fn is_managed_module(name: &str) -> bool {
    name == "ip_vs"
        || name.starts_with("ip_vs_")
        || name.starts_with("nf_conntrack")
        || name == "br_netfilter"
}

/// Both files' new contents, where they differ from what is there. A file the admin masked
/// is never written.
pub fn changes(facts: &Facts, wanted: &Wanted) -> Vec<FileChange> {
    let modules = modules_content(facts.modules_file.as_ref(), &facts.kernel, wanted);
    let sysctls = sysctl_content(facts.sysctl_file.as_ref(), wanted);
    [
        (MODULES_FILE, &facts.modules_file, modules),
        (SYSCTL_FILE, &facts.sysctl_file, Some(sysctls)),
    ]
    .into_iter()
    .filter_map(|(path, before, after)| Some((path, before, after?)))
    .filter(|(path, _, _)| !facts.masked.iter().any(|m| m.file == *path))
    .filter(|(_, before, after)| before.as_ref().map(|d| d.text.as_str()) != Some(after.as_str()))
    .map(|(path, before, after)| FileChange {
        path,
        before: before.as_ref().map(|d| d.text.clone()),
        after,
    })
    .collect()
}

/// modules-load.d: every wanted module loaded as a module is listed; an entry naming a
/// module nodeprep manages that this kernel does not have (the seeds' `nf_conntrack_ipv4`)
/// is commented out, since systemd-modules-load logs an error for it at every boot. Any other
/// line stays exactly as it is.
/// `None`: no file is needed (nothing to load at boot and no file yet).
pub fn modules_content(
    existing: Option<&Document>,
    kernel: &Kernel,
    wanted: &Wanted,
) -> Option<String> {
    let mut out = String::new();
    let mut listed = BTreeSet::new();
    match existing {
        None => out.push_str(MODULES_HEADER),
        Some(doc) => {
            for line in &doc.lines {
                if let Entry::Module(name) = &line.entry {
                    if kernel.known_missing(name) && is_managed_module(name) {
                        out.push_str(&format!(
                            "# {}  # nodeprep: no {name} in kernel {}\n",
                            line.text.trim(),
                            kernel.release
                        ));
                        continue;
                    }
                    listed.insert(name.clone());
                }
                out.push_str(&line.text);
                out.push('\n');
            }
        }
    }
    let mut added = false;
    for m in &wanted.modules {
        // a builtin module is there at every boot: there is nothing to load
        if kernel.state(m) == ModState::Loaded && listed.insert(m.clone()) {
            out.push_str(m);
            out.push('\n');
            added = true;
        }
    }
    if existing.is_none() && !added {
        // nothing to load at boot: do not create a file that only holds a header
        return None;
    }
    Some(out)
}

/// sysctl.d: each wanted key set once; an existing line for it is rewritten in place.
pub fn sysctl_content(existing: Option<&Document>, wanted: &Wanted) -> String {
    let mut out = String::new();
    let mut seen = BTreeSet::new();
    match existing {
        None => out.push_str(SYSCTL_HEADER),
        Some(doc) => {
            for line in &doc.lines {
                let Entry::Sysctl {
                    key,
                    value,
                    written_key,
                } = &line.entry
                else {
                    out.push_str(&line.text);
                    out.push('\n');
                    continue;
                };
                match wanted.sysctls.iter().find(|(k, _)| k == key) {
                    Some((k, want)) if !same_value(value, want) => {
                        out.push_str(&format!("{written_key} = {want}\n"));
                        seen.insert(k.clone());
                    }
                    Some((k, _)) => {
                        seen.insert(k.clone());
                        out.push_str(&line.text);
                        out.push('\n');
                    }
                    None => {
                        out.push_str(&line.text);
                        out.push('\n');
                    }
                }
            }
        }
    }
    for (k, want) in &wanted.sysctls {
        if !seen.contains(k) {
            out.push_str(&format!("{} = {want}\n", dotted(k)));
        }
    }
    out
}

/// Updates projected facts as if both files had been written.
pub fn project_files(p: &mut super::Facts, wanted: &Wanted) {
    for change in changes(p, wanted) {
        let name = change
            .path
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let dropin = DropIn {
            path: change.path.to_string(),
            content: change.after.clone(),
        };
        if change.path == MODULES_FILE {
            p.persist
                .modules_load
                .retain(|(d, _)| !d.path.ends_with(&format!("/{name}")));
            p.persist
                .modules_load
                .push((dropin, parse_modules_load(&change.after)));
            p.persist
                .modules_load
                .sort_by(|a, b| file_name(&a.0.path).cmp(file_name(&b.0.path)));
            p.modules_file = Some(Document::modules(&change.after));
        } else {
            p.sysctls
                .files
                .retain(|f| !f.path.ends_with(&format!("/{name}")));
            p.sysctls
                .files
                .push(sysctl::parse(change.path, &change.after));
            p.sysctls
                .files
                .sort_by(|a, b| file_name(&a.path).cmp(file_name(&b.path)));
            p.sysctl_file = Some(Document::sysctls(&change.after));
        }
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The hunks of a unified diff (`@@ -l,n +l,n @@`, three lines of context), as `diff -u`
/// prints them after its header. Myers' algorithm (the `similar` crate): linear memory, so a
/// long file cannot blow up a dry run. Bytes that are not UTF-8 are shown as `\xNN`.
pub fn diff(before: &str, after: &str) -> String {
    let (before, after) = (crate::text::display(before), crate::text::display(after));
    similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Myers)
        .diff_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .missing_newline_hint(true)
        .to_string()
}

/// Keys in path form as the probe wants them.
pub fn sysctl_keys(wanted: &[(String, String)]) -> Vec<String> {
    wanted.iter().map(|(k, _)| normalize_key(k)).collect()
}
