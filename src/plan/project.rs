//! The node as it will be: at boot (an image), after the loads, after `apply`.

use crate::probe::Facts;
use crate::probe::kernel::ModState;

use super::{actions, files};
use super::{modules::*, sysctls::*, wanted::*};

/// An image as it will be at boot: what systemd-modules-load loads is loaded, and each
/// wanted sysctl (path form) has the value sysctl.d gives it then.
pub fn at_boot(facts: &Facts, keys: &[String]) -> Facts {
    let mut b = facts.clone();
    for (_, mods) in &facts.persist.modules_load {
        for m in mods {
            if facts.kernel.state(m) == ModState::Loadable {
                b.kernel.loaded.insert(m.clone());
            }
        }
    }
    for key in keys {
        let value = boot_value(&b, key).value;
        b.sysctls.live.insert(key.clone(), value);
    }
    b
}

/// The node once `apply` has loaded what it can: the loadable modules nothing blocks are
/// loaded, and the sysctl keys they bring exist (with the kernel's default, when known).
pub fn predicted_loads(facts: &Facts, wanted: &Wanted) -> Facts {
    let mut p = facts.clone();
    for m in &wanted.modules {
        if facts.kernel.state(m) == ModState::Loadable && load_blocker(facts, m).is_none() {
            p.kernel.loaded.insert(m.clone());
        }
    }
    if !facts.kernel.image {
        for (key, _) in &wanted.sysctls {
            let brought = module_of_key(key).is_some_and(|m| p.kernel.state(m).is_present());
            let live = p.sysctls.live.entry(key.clone()).or_default();
            if live.is_none() && brought {
                *live = Some(kernel_default(key).unwrap_or_default().to_string());
            }
        }
    }
    p
}

/// The node as `apply` would leave it: the plan's loads done, its files written, its live
/// sysctls set. An image's sysctls are what its files will give it at boot.
pub fn project(facts: &Facts, wanted: &Wanted) -> Facts {
    let mut p = predicted_loads(facts, wanted);
    let (_, sysctls) = actions::settle(&p, wanted);
    files::project_files(&mut p, wanted);
    if p.kernel.image {
        for (key, want) in &wanted.sysctls {
            let exists = p.sysctls.live.get(key).is_some_and(Option::is_some)
                || module_of_key(key).is_some_and(|m| p.kernel.state(m).is_present());
            if exists {
                p.sysctls.live.insert(key.clone(), Some(want.clone()));
            }
        }
    }
    for s in sysctls.into_iter().filter(|s| s.blocked.is_none()) {
        p.sysctls.live.insert(s.key, Some(s.value));
    }
    p
}
