//! Effects: load modules with the root's modprobe, write nodeprep's files atomically, set
//! live sysctls. Every effect goes through the root, so the real binary is tested end to
//! end against fixture roots with a fake modprobe inside them.

use std::fs::File;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nix::fcntl::Flock;
use serde::Serialize;

use crate::config::Config;
use crate::plan::files::{self, FileChange};
use crate::plan::{Wanted, load_would_work};
use crate::probe::kernel::ModState;
use crate::probe::{FILE_LIMIT, Facts, MODULES_FILE, SYSCTL_FILE, managed_file, sysctl};
use crate::root::Root;
use crate::system::run;

const MODPROBE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    /// `load_module`, `write_file` or `set_sysctl`.
    pub kind: &'static str,
    pub target: String,
    /// Whether it worked (for --dry-run: whether it is expected to).
    pub ok: bool,
    pub detail: String,
}

/// What --dry-run would do: the actions and each file's diff.
pub fn plan(facts: &Facts, wanted: &Wanted) -> (Vec<Action>, Vec<(FileChange, String)>) {
    let mut actions = Vec::new();
    for m in &wanted.modules {
        match facts.kernel.state(m) {
            ModState::Loadable => {
                let ok = load_would_work(&facts.kernel, facts, m);
                let detail = if ok {
                    format!("modprobe {m}")
                } else {
                    format!(
                        "modprobe {m} is blocked (modprobe.d install override or modules_disabled)"
                    )
                };
                actions.push(Action {
                    kind: "load_module",
                    target: m.clone(),
                    ok,
                    detail,
                });
            }
            ModState::Missing => actions.push(Action {
                kind: "load_module",
                target: m.clone(),
                ok: false,
                detail: format!(
                    "{m} does not exist for kernel {}; not loaded, not persisted",
                    facts.kernel.release
                ),
            }),
            _ => {}
        }
    }
    let loaded = crate::plan::predicted_loads(facts, wanted);
    let mut diffs = Vec::new();
    for change in files::changes(&loaded, wanted) {
        actions.push(Action {
            kind: "write_file",
            target: change.path.into(),
            ok: true,
            detail: "would write".into(),
        });
        let d = files::diff(change.before.as_deref().unwrap_or(""), &change.after);
        diffs.push((change, d));
    }
    let projected = crate::plan::project(facts, wanted);
    for (key, want) in &wanted.sysctls {
        let live = facts.sysctls.live.get(key).cloned().flatten();
        if live.as_deref().is_some_and(|v| sysctl::same_value(v, want)) {
            continue;
        }
        let ok = projected.sysctls.live.get(key).is_some_and(Option::is_some);
        let detail = if ok {
            format!("would set {} = {want}", sysctl::dotted(key))
        } else {
            format!("/proc/sys/{key} will not exist")
        };
        actions.push(Action {
            kind: "set_sysctl",
            target: sysctl::dotted(key),
            ok,
            detail,
        });
    }
    (actions, diffs)
}

/// Checks that apply may run here and takes the lock, before anything is read: the files
/// it rewrites are read and merged under the lock.
pub fn begin(root: &Root) -> Result<Flock<File>> {
    if root.is_host() && !nix::unistd::geteuid().is_root() {
        bail!(
            "nodeprep apply changes the running system and must run as root (try sudo), or prepare another tree with --root DIR"
        );
    }
    root.open()?;
    if root.is_image() {
        // an image gets nothing but its persistent files, not even a lock file
        return root.lock_dir();
    }
    root.lock(crate::probe::LOCK_FILE)
}

/// Makes the node ready as far as it can. Errors only for what stops the run (exit 3/130);
/// a module that cannot be loaded is a failed action, and the report says the rest.
pub fn apply(cfg: &Config, facts: &Facts, wanted: &Wanted) -> Result<Vec<Action>> {
    let root = &cfg.root;
    let steps = wanted.modules.len() + 2 + wanted.sysctls.len();
    let bar = if cfg.progress {
        ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    let mut actions = Vec::new();
    if facts.kernel.image {
        let done = write_files(
            cfg,
            crate::plan::predicted_loads(facts, wanted),
            wanted,
            &bar,
            actions,
        );
        bar.finish_and_clear();
        return done;
    }
    let modprobe = root.find_program("modprobe");
    let mut attempted = Vec::new();
    for m in &wanted.modules {
        bar.set_message(format!("loading {m}"));
        bar.inc(1);
        let state = facts.kernel.state(m);
        let (ok, detail) = match (state, &modprobe) {
            (ModState::Loaded | ModState::Builtin, _) => continue,
            (ModState::Missing, _) => (false, format!("{m} does not exist for kernel {}; not loaded, not persisted", facts.kernel.release)),
            (_, _) if facts.kernel.modules_disabled => (false, "/proc/sys/kernel/modules_disabled is 1".to_string()),
            (_, None) => (false, "no modprobe in /usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin, /bin; install kmod".to_string()),
            (_, Some(prog)) => match run(root, prog, &[m.as_str()], MODPROBE_TIMEOUT) {
                Ok(out) if out.success => {
                    attempted.push(m.clone());
                    (true, format!("modprobe {m}"))
                }
                Ok(out) => (false, format!("modprobe {m} failed (exit {}): {}", out.code.map_or("signal".into(), |c| c.to_string()), out.text)),
                Err(e) => (false, format!("{e:#}")),
            },
        };
        actions.push(Action {
            kind: "load_module",
            target: m.clone(),
            ok,
            detail,
        });
    }

    // What is loaded now decides what may be persisted.
    let mut now = facts.clone();
    // only /proc/modules can have changed: the module index and kernel config are kept
    now.kernel.reread_loaded(root)?;
    // merge with the files as they are now: a line someone added during the loads is kept
    now.modules_file = managed_file(root, MODULES_FILE)?;
    now.sysctl_file = managed_file(root, SYSCTL_FILE)?;
    for a in actions
        .iter_mut()
        .filter(|a| a.ok && attempted.contains(&a.target))
    {
        if !now.kernel.state(&a.target).is_present() {
            a.ok = false;
            a.detail = format!(
                "modprobe {} exited 0 but {} is not loaded (an `install` line in modprobe.d?)",
                a.target, a.target
            );
        }
    }

    let mut actions = write_files(cfg, now, wanted, &bar, actions)?;

    for (key, want) in &wanted.sysctls {
        bar.set_message(format!("setting {}", sysctl::dotted(key)));
        bar.inc(1);
        if let Some(a) = set_sysctl(root, key, want)? {
            actions.push(a);
        }
    }
    bar.finish_and_clear();
    Ok(actions)
}

/// Writes nodeprep's files for the node as `now` says it is.
fn write_files(
    cfg: &Config,
    now: Facts,
    wanted: &Wanted,
    bar: &ProgressBar,
    mut actions: Vec<Action>,
) -> Result<Vec<Action>> {
    let root = &cfg.root;
    for change in files::changes(&now, wanted) {
        bar.set_message(format!("writing {}", change.path));
        bar.inc(1);
        root.write_atomic(change.path, &crate::text::encode(&change.after))?;
        actions.push(Action {
            kind: "write_file",
            target: change.path.into(),
            ok: true,
            detail: "written".into(),
        });
    }

    Ok(actions)
}

fn set_sysctl(root: &Root, key: &str, want: &str) -> Result<Option<Action>> {
    let name = sysctl::dotted(key);
    let action = |ok, detail: String| {
        Ok(Some(Action {
            kind: "set_sysctl",
            target: name.clone(),
            ok,
            detail,
        }))
    };
    let Some(path) = sysctl::live_path(key) else {
        return action(false, format!("{name} is not a sysctl name"));
    };
    let current = match root.read_text(&path, FILE_LIMIT) {
        Ok(Some(v)) => v,
        Ok(None) => return action(false, format!("{} does not exist", root.show(&path))),
        Err(e) => return action(false, format!("{e:#}")),
    };
    if sysctl::same_value(&current, want) {
        return Ok(None);
    }
    // never create: like the real /proc/sys, a key that is not there cannot be set
    if let Err(e) = root.write_existing(&path, format!("{want}\n").as_bytes()) {
        return action(false, format!("{e:#}"));
    }
    let back = root
        .read_text(&path, FILE_LIMIT)?
        .with_context(|| format!("cannot read back {}", root.show(&path)))?;
    if sysctl::same_value(&back, want) {
        action(true, format!("{} -> {want}", current.trim()))
    } else {
        action(
            false,
            format!(
                "wrote {want} but {} reads {}",
                root.show(&path),
                back.trim()
            ),
        )
    }
}
