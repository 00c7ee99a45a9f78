//! Effects: load modules with the root's modprobe, write nodeprep's files atomically, set
//! live sysctls. Every effect goes through the root, so the real binary is tested end to
//! end against fixture roots with a fake modprobe inside them.

use std::fs::File;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nix::fcntl::Flock;
use std::collections::{BTreeMap, BTreeSet};

use crate::plan::actions::{self, Action, Kind};
use crate::plan::{Wanted, files, predicted_loads};
use crate::probe::{self, FILE_LIMIT, Facts, kernel, sysctl};
use crate::root::Root;
use crate::system::{self, Running, run};

/// How long all of apply's module loads may take together, the batch and each retry alike.
const MODPROBE_TIMEOUT: Duration = Duration::from_secs(60);

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
        // a file in the image's /run, which a booted node mounts a tmpfs over
        return root.lock(crate::probe::LOCK_FILE);
    }
    if !nix::unistd::geteuid().is_root() {
        // refused before anything is written: the loads would all fail
        bail!(
            "nodeprep apply --root {root}: a live root's modules are loaded by its modprobe, run chrooted into it, which needs root; run apply as root (an image, a tree without a live /proc, needs no root)"
        );
    }
    root.lock(crate::probe::LOCK_FILE)
}

/// What apply did: the actions, and the loads that failed (a fact the next survey keeps).
pub struct Applied {
    pub actions: Vec<Action>,
    pub load_failures: BTreeMap<String, String>,
}

/// Carries out the plan (see [`crate::plan::actions`]): the loads, then a new survey of the
/// node, then the file writes and sysctls [`settle`] computes from it — the same function the
/// dry run uses. Errors only for what stops the run (exit 3/130); a module that cannot be
/// loaded is a failed action, and the report says the rest.
/// `progress`: show a progress bar on stderr.
pub fn apply(
    root: &Root,
    progress: bool,
    facts: &Facts,
    wanted: &Wanted,
    batch: Option<Batch>,
) -> Result<Applied> {
    let loads = actions::loads(facts, wanted);
    let bar = progress_bar(progress, loads.len() + 2 + wanted.sysctls.len());
    let Loaded {
        mut done,
        mut load_failures,
        attempted,
    } = load_modules(root, facts, &loads, batch, &bar)?;

    // The node as the loads left it decides the rest; the managed files are read again, so
    // a line someone added during the loads is kept.
    let now = if loads.is_empty() {
        predicted_loads(facts, wanted)
    } else {
        // only what the loads can change is read again (no helper runs twice)
        let mut now = probe::reprobe(root, &files::sysctl_keys(&wanted.sysctls), facts)?;
        for a in done.iter_mut().filter(|a| attempted.contains(&a.target)) {
            if !now.kernel.state(&a.target).is_present() {
                a.ok = false;
                a.detail = format!(
                    "modprobe {} exited 0 but {} is not loaded (an `install` line in modprobe.d?)",
                    a.target, a.target
                );
                load_failures.insert(a.target.clone(), a.detail.clone());
            }
        }
        now.load_failures = load_failures.clone();
        now
    };
    let (changes, sysctls) = actions::settle(&now, wanted);
    for change in changes {
        bar.set_message(format!("writing {}", change.path));
        bar.inc(1);
        root.write_atomic(change.path, &crate::text::encode(&change.after))?;
        done.push(Action::new(Kind::WriteFile, change.path, true, "written"));
    }
    for step in sysctls {
        let name = sysctl::dotted(&step.key);
        bar.set_message(format!("setting {name}"));
        bar.inc(1);
        let action = match &step.blocked {
            Some(why) => Some(Action::new(Kind::SetSysctl, name, false, why)),
            None => set_sysctl(root, &step.key, &step.value)?,
        };
        done.extend(action);
    }
    bar.finish_and_clear();
    Ok(Applied {
        actions: done,
        load_failures,
    })
}

/// The one `modprobe -a` of the loads that can run, started by [`start_loads`] while the
/// helpers still answer: the loads depend on the kernel's facts and the configuration only.
pub struct Batch {
    modules: Vec<String>,
    running: Running,
    /// When the loads' one deadline runs out.
    deadline: std::time::Instant,
}

/// The modules [`load_modules`] gives one `modprobe -a`: the loads nothing blocks.
fn runnable(loads: &[actions::Load]) -> Vec<&str> {
    loads
        .iter()
        .filter(|l| l.blocked.is_none())
        .map(|l| l.module.as_str())
        .collect()
}

/// Starts the batch `modprobe -a` for the facts read so far (all but the helpers'
/// answers), when there are two loads or more to batch: None for an image, nothing to load,
/// or no modprobe. `apply` waits for it where it would have run it.
pub fn start_loads(root: &Root, ask: &crate::plan::Ask, facts: &Facts) -> Option<Batch> {
    if facts.kernel.image {
        return None;
    }
    let loads = actions::loads(facts, &crate::plan::wanted(ask, facts));
    let modules = runnable(&loads);
    let prog = facts.modprobe.as_ref().filter(|_| modules.len() > 1)?;
    Some(start_batch(root, prog, &modules))
}

/// `modprobe -a MODULES…`, started.
fn start_batch(root: &Root, prog: &str, modules: &[&str]) -> Batch {
    let args: Vec<&str> = std::iter::once("-a")
        .chain(modules.iter().copied())
        .collect();
    Batch {
        modules: modules.iter().map(|m| m.to_string()).collect(),
        deadline: std::time::Instant::now() + MODPROBE_TIMEOUT,
        running: system::start(
            root,
            &[(prog.to_string(), args)],
            system::Privilege::LoadModules,
            MODPROBE_TIMEOUT,
        ),
    }
}

/// What the loads did: an action per module, why each failed one failed, and the modules
/// modprobe said it loaded (checked against /proc/modules after).
struct Loaded {
    done: Vec<Action>,
    load_failures: BTreeMap<String, String>,
    attempted: Vec<String>,
}

fn load_modules(
    root: &Root,
    facts: &Facts,
    loads: &[actions::Load],
    early: Option<Batch>,
    bar: &ProgressBar,
) -> Result<Loaded> {
    let mut done = Vec::new();
    let mut load_failures = BTreeMap::new();
    let mut attempted = Vec::new();
    // One modprobe for every load that can run, then each module's truth from
    // /proc/modules; a module the batch did not load is asked for again on its own, for
    // its own answer (an error, or an `install` line that made it a no-op).
    let runnable = runnable(loads);
    let mut batch: BTreeSet<String> = BTreeSet::new();
    // the batch started early, while the helpers ran, is these loads' (the same facts
    // decide both); were it not, it still ends before anything else is loaded
    let early = early.and_then(|b| {
        if b.modules == runnable {
            return Some(b);
        }
        let _ = b.running.finish();
        None
    });
    // one deadline for every load, from the first modprobe's start
    let mut deadline = std::time::Instant::now() + MODPROBE_TIMEOUT;
    if let (Some(prog), true) = (&facts.modprobe, runnable.len() > 1) {
        bar.set_message("loading the modules");
        let b = early.unwrap_or_else(|| start_batch(root, prog, &runnable));
        deadline = b.deadline;
        // judged per module below, whatever its exit status
        let _ = b.running.finish();
        batch = kernel::loaded(root)?.unwrap_or_default();
        // a load is only planned for a module that was not there
        batch.retain(|m| runnable.contains(&m.as_str()));
    }
    for load in loads {
        let m = &load.module;
        bar.set_message(format!("loading {m}"));
        bar.inc(1);
        let result = match (&load.blocked, &facts.modprobe) {
            (Some(why), _) => Err(why.clone()),
            (None, None) => Err("no modprobe".to_string()),
            (None, Some(_)) if batch.contains(m) => {
                attempted.push(m.clone());
                Ok(format!("modprobe -a (with the others): {m} loaded"))
            }
            (None, Some(_)) if deadline <= std::time::Instant::now() => Err(format!(
                "not asked: apply's module loads took their {} s",
                MODPROBE_TIMEOUT.as_secs()
            )),
            (None, Some(prog)) => match run(
                root,
                prog,
                &[m.as_str()],
                system::Privilege::LoadModules,
                deadline.saturating_duration_since(std::time::Instant::now()),
            ) {
                Ok(out) if out.success => {
                    attempted.push(m.clone());
                    Ok(format!("modprobe {m}"))
                }
                Ok(out) => Err(format!(
                    "modprobe {m} failed (exit {}): {}",
                    out.code.map_or("signal".into(), |c| c.to_string()),
                    out.text
                )),
                Err(e) => Err(format!("{e:#}")),
            },
        };
        done.push(match result {
            Ok(detail) => Action::new(Kind::LoadModule, m, true, detail),
            Err(why) => {
                load_failures.insert(m.clone(), why.clone());
                Action::new(Kind::LoadModule, m, false, why)
            }
        });
    }

    Ok(Loaded {
        done,
        load_failures,
        attempted,
    })
}

fn progress_bar(shown: bool, steps: usize) -> ProgressBar {
    let bar = if shown {
        ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

fn set_sysctl(root: &Root, key: &str, want: &str) -> Result<Option<Action>> {
    let name = sysctl::dotted(key);
    let action = |ok, detail: String| Ok(Some(Action::new(Kind::SetSysctl, &name, ok, detail)));
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
