//! Each wanted module: its state, whether it loads at boot, its row and findings.

use crate::probe::Facts;
use crate::probe::kernel::ModState;
use crate::probe::persist::{InstallEffect, InstallLine, install_effect};

use super::files;
use super::types::*;

/// Persisted at boot: built in, or listed in an effective modules-load.d file and not blacklisted.
pub(super) fn persisted(facts: &Facts, module: &str) -> bool {
    facts.kernel.is_builtin(module)
        || (!facts.persist.loaded_at_boot_by(module).is_empty()
            && !facts.persist.blacklist.contains_key(module))
}

/// A wanted module's row and its findings: what is wrong now and at boot, together.
pub(super) fn module_row(facts: &Facts, m: &String, f: &mut Findings) -> ModuleRow {
    let k = &facts.kernel;
    let release = &k.release;
    let state = k.state(m);
    let row = ModuleRow {
        name: m.clone(),
        state,
        persisted: persisted(facts, m),
        persisted_by: facts
            .persist
            .loaded_at_boot_by(m)
            .into_iter()
            .map(String::from)
            .collect(),
    };
    // one finding per module: what is wrong now and what is wrong at boot, together; the
    // modules of one cause are one finding ({S}: the modules, see `Findings::about`)
    let now = match state {
        ModState::Missing if !k.modules_supported => Some(format!(
            "{{S}} {{is}} not built into kernel {release}, and this kernel has no loadable-module support (no /proc/modules): use a kernel with {{it}}"
        )),
        ModState::Missing => Some(format!(
            "{{S}} {{is}} missing: not loaded, not built in, and not in modules.dep for kernel {release}; install the kernel's extra modules package or use a kernel that has {{it}}"
        )),
        ModState::Loadable => Some("{S} {is} loadable but not loaded".to_string()),
        _ => None,
    };
    let blacklisted = facts
        .persist
        .blacklist
        .get(m)
        .filter(|_| !row.persisted_by.is_empty());
    let boot = (state != ModState::Missing && !row.persisted).then(|| match blacklisted {
        Some(bl) => format!(
            "listed in {} but blacklisted in {bl}: systemd-modules-load skips {{it}} at boot",
            row.persisted_by.join(", ")
        ),
        None => "no modules-load.d file loads {it} at boot".to_string(),
    });
    let writes = format!("`nodeprep apply` writes {}", crate::probe::MODULES_FILE);
    // a load nothing blocks: apply loads it; otherwise say why it cannot
    let blocker = (state == ModState::Loadable)
        .then(|| load_blocker(facts, m))
        .flatten();
    let loads = match &blocker {
        None => "`nodeprep apply` loads {it}".to_string(),
        Some(why) => format!("`nodeprep apply` cannot load {{it}} ({why})"),
    };
    let kernel_module = |f: &mut Findings, template: String| {
        f.about(Severity::Error, "KernelModule-", m, template);
    };
    match (now, boot) {
        (Some(now), Some(boot)) => {
            let fix = match (blacklisted.is_none(), &blocker) {
                (true, None) => format!("{loads} and writes {}", crate::probe::MODULES_FILE),
                (true, Some(_)) => loads,
                (false, _) => format!("{loads}; remove the blacklist line"),
            };
            kernel_module(f, format!("{now}, and {boot}; {fix}"));
        }
        (Some(now), None) if state == ModState::Loadable => {
            kernel_module(f, format!("{now}; {loads}"));
        }
        (Some(now), None) => kernel_module(f, now),
        (None, Some(boot)) => {
            let template = if blacklisted.is_none() {
                format!("{{S}} will not be loaded at boot: {boot}; {writes}")
            } else {
                format!("{{S}} {{is}} {boot}")
            };
            f.about(Severity::Error, "ModulesLoad-", m, template);
        }
        (None, None) => {}
    }
    modprobe_d_findings(facts, m, f);
    row
}

/// modprobe.d lines that get in a module's way; one that is already the cause a module's
/// finding names is folded into it.
pub(super) fn modprobe_d_findings(facts: &Facts, m: &str, f: &mut Findings) {
    if let Some(bl) = facts.persist.blacklist.get(m) {
        f.add(
            Severity::Warning,
            format!("ModprobeBlacklist-{m}"),
            format!("`blacklist {m}` in {bl}: `modprobe {m}` still loads it, but systemd-modules-load skips it at boot"),
        );
        let id = format!("ModprobeBlacklist-{m}");
        let _ = f.fold(&id, &format!("ModulesLoad-{m}"), None);
    }
    if let Some(InstallLine { file, command: cmd }) = facts.persist.install.get(m) {
        let (sev, what) = match install_effect(cmd) {
            InstallEffect::NoOp => (Severity::Error, "every load of it does nothing"),
            InstallEffect::Fails => (Severity::Error, "every load of it fails"),
            InstallEffect::Custom => (
                Severity::Warning,
                "every load of it runs that command instead",
            ),
        };
        f.add(
            sev,
            format!("ModprobeInstall-{m}"),
            format!("`install {m} {cmd}` in {file}: {what}; remove the line to load {m}"),
        );
        // the module's finding already says the line is why apply cannot load it
        if sev == Severity::Error {
            let id = format!("ModprobeInstall-{m}");
            let _ = f.fold(
                &id,
                &format!("KernelModule-{m}"),
                Some("; remove that line".into()),
            );
        }
    }
}

/// Boot-time files that name modules this kernel does not have, and masked managed files.
pub(super) fn persistence_findings(facts: &Facts, f: &mut Findings) {
    let k = &facts.kernel;
    let release = &k.release;
    for (file, mods) in &facts.persist.modules_load {
        for m in mods.iter().filter(|m| k.known_missing(m)) {
            f.add(
                Severity::Warning,
                format!("ModulesLoadUnknown-{m}"),
                format!("{} lists {m}, which does not exist for kernel {release}: systemd-modules-load logs \"Failed to find module '{m}'\" at every boot (older systemd marks the unit failed); {}", file.path, match (file.path == crate::probe::MODULES_FILE, files::is_managed_module(m)) { (true, true) => "`nodeprep apply` comments it out", (true, false) => "nodeprep keeps lines it did not write: remove that line", _ => "remove that line" }),
            );
        }
    }
    for mask in &facts.masked {
        f.add(
            Severity::Warning,
            "ManagedFileMasked",
            format!(
                "{}: the admin masked it ({} is a link to /dev/null); nodeprep never replaces a mask, so it does not write {}: remove the link to let it",
                mask.file, mask.link, mask.file
            ),
        );
    }
    for s in &facts.persist.legacy_scripts {
        let absent: Vec<&str> = s
            .modules
            .iter()
            .filter(|m| k.known_missing(m))
            .map(String::as_str)
            .collect();
        if !absent.is_empty() {
            f.add(
                Severity::Warning,
                "LegacyModulesScript",
                format!(
                    "{} (a legacy RHEL/CentOS boot script{}) names {}, which {} not exist for kernel {release}: `modprobe` fails there at every boot; remove the script, {} replaces it",
                    s.path,
                    if s.executable { "" } else { ", not executable" },
                    absent.join(", "),
                    if absent.len() == 1 { "does" } else { "do" },
                    crate::probe::MODULES_FILE
                ),
            );
        }
    }
}

/// Why `nodeprep apply` cannot load `module` (None: it can, as far as anything tells). The
/// one place that says so: the dry run's rows, apply's skipped loads and the findings'
/// advice all ask here. An image is judged as at its boot, where its own modprobe runs.
pub fn load_blocker(facts: &Facts, module: &str) -> Option<String> {
    let k = &facts.kernel;
    if k.state(module) == ModState::Missing {
        return Some(format!(
            "{module} does not exist for kernel {}; not loaded, not persisted",
            k.release
        ));
    }
    if let Some(failed) = facts.load_failures.get(module) {
        return Some(failed.clone());
    }
    if k.modules_disabled {
        return Some("/proc/sys/kernel/modules_disabled is 1".to_string());
    }
    if let Some(InstallLine { file, command: cmd }) = facts.persist.install.get(module) {
        let what = match install_effect(cmd) {
            InstallEffect::NoOp => Some("does nothing"),
            InstallEffect::Fails => Some("fails"),
            InstallEffect::Custom => None,
        };
        if let Some(what) = what {
            return Some(format!(
                "`install {module} {cmd}` in {file}: every load of it {what}"
            ));
        }
    }
    if facts.modprobe.is_none() && !k.image {
        return Some(format!(
            "no modprobe in {}; install kmod",
            crate::probe::binaries::SEARCHED
        ));
    }
    None
}
