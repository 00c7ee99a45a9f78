//! Effects: load modules with the root's modprobe, write nodeprep's files atomically, set
//! live sysctls. Every effect goes through the root, so the real binary is tested end to
//! end against fixture roots with a fake modprobe inside them.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nix::fcntl::{Flock, FlockArg};
use serde::Serialize;

use crate::config::Config;
use crate::exit::Interrupted;
use crate::plan::files::{self, FileChange};
use crate::plan::{Wanted, load_would_work};
use crate::probe::kernel::ModState;
use crate::probe::{Facts, sysctl};
use crate::root::Root;
use crate::system::{find_program, run};

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

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: nix::libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// SIGINT/SIGTERM only set a flag: apply stops between two steps, never inside a write.
fn catch_signals() {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic.
        unsafe {
            let _ = sigaction(sig, &action);
        }
    }
}

fn check_interrupted() -> Result<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        return Err(Interrupted.into());
    }
    Ok(())
}

/// Makes the node ready as far as it can. Errors only for what stops the run (exit 3/130);
/// a module that cannot be loaded is a failed action, and the report says the rest.
pub fn apply(cfg: &Config, facts: &Facts, wanted: &Wanted) -> Result<Vec<Action>> {
    let root = &cfg.root;
    if root.is_host() && !nix::unistd::geteuid().is_root() {
        bail!(
            "nodeprep apply changes the running system and must run as root (try sudo), or prepare another tree with --root DIR"
        );
    }
    catch_signals();
    let _lock = lock(root)?;
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
    let modprobe = find_program(root, "modprobe");
    let mut attempted = Vec::new();
    for m in &wanted.modules {
        bar.set_message(format!("loading {m}"));
        bar.inc(1);
        check_interrupted()?;
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
    now.kernel.reread_loaded(root)?;
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

    for change in files::changes(&now, wanted) {
        bar.set_message(format!("writing {}", change.path));
        bar.inc(1);
        check_interrupted()?;
        write_atomic(&root.path(change.path), &change.after)?;
        actions.push(Action {
            kind: "write_file",
            target: change.path.into(),
            ok: true,
            detail: "written".into(),
        });
    }

    for (key, want) in &wanted.sysctls {
        bar.set_message(format!("setting {}", sysctl::dotted(key)));
        bar.inc(1);
        check_interrupted()?;
        if let Some(a) = set_sysctl(root, key, want)? {
            actions.push(a);
        }
    }
    bar.finish_and_clear();
    Ok(actions)
}

fn set_sysctl(root: &Root, key: &str, want: &str) -> Result<Option<Action>> {
    let path = root.path(format!("/proc/sys/{key}"));
    let name = sysctl::dotted(key);
    let action = |ok, detail: String| {
        Ok(Some(Action {
            kind: "set_sysctl",
            target: name.clone(),
            ok,
            detail,
        }))
    };
    let current = match fs::read_to_string(&path) {
        Ok(v) => v,
        Err(_) => return action(false, format!("{} does not exist", path.display())),
    };
    if sysctl::same_value(&current, want) {
        return Ok(None);
    }
    // never create: like the real /proc/sys, a key that is not there cannot be set
    let written = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .and_then(|mut f| f.write_all(format!("{want}\n").as_bytes()));
    if let Err(e) = written {
        return action(false, format!("cannot write {}: {e}", path.display()));
    }
    let mut back = String::new();
    File::open(&path)
        .and_then(|mut f| f.read_to_string(&mut back))
        .with_context(|| format!("cannot read back {}", path.display()))?;
    if sysctl::same_value(&back, want) {
        action(true, format!("{} -> {want}", current.trim()))
    } else {
        action(
            false,
            format!("wrote {want} but {} reads {}", path.display(), back.trim()),
        )
    }
}

/// One apply at a time per root.
fn lock(root: &Root) -> Result<Flock<File>> {
    let path = root.path(crate::probe::LOCK_FILE);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))?;
    Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, e)| {
        anyhow::anyhow!("cannot take the lock {}: {e}; another nodeprep apply is running, wait for it and try again", path.display())
    })
}

/// Temp file in the same directory, fsync, rename, fsync the directory: the file is either
/// the old one or the new one, never half-written. Mode 0644.
pub fn write_atomic(path: &Path, content: &str) -> Result<()> {
    let dir = path.parent().context("a file to write has a directory")?;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.nodeprep-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)?;
        f.set_permissions(fs::Permissions::from_mode(0o644))?;
        f.write_all(content.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}
