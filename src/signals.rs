//! SIGINT and SIGTERM end a run promptly with exit 130, whatever it is waiting for; only a
//! file replacement in progress (temp file → rename) is finished first. Helper programs still
//! running are killed with their whole process group.

use std::io::Write;
use std::sync::Mutex;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::exit::Exit;

/// Held while a file is being replaced; the signal thread takes it before exiting.
static GATE: Mutex<()> = Mutex::new(());
/// Process groups of the helper programs running now.
static HELPERS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Starts the thread that turns SIGINT/SIGTERM into exit 130, and the panic hook.
pub fn install() -> std::io::Result<()> {
    install_panic_hook();
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let _gate = GATE.lock();
            kill_helpers();
            let _ = writeln!(std::io::stderr(), "nodeprep: interrupted");
            std::process::exit(Exit::Interrupted.code().into());
        }
    });
    Ok(())
}

/// Runs `f` so that a signal cannot end the process in the middle of it.
pub fn critical<T>(f: impl FnOnce() -> T) -> T {
    let _gate = GATE.lock();
    f()
}

/// Spawns a helper (its own process group) and records the group under one hold of the
/// lock the signal thread kills the groups under: a signal that comes between the spawn and
/// the record still finds it (under load, a helper used to outlive an interrupted check).
pub fn spawn_helper(spec: &crate::spawn::Spec) -> std::io::Result<crate::spawn::Child> {
    let mut helpers = HELPERS.lock().unwrap_or_else(|e| e.into_inner());
    let child = crate::spawn::spawn(spec)?;
    helpers.push(child.pid);
    Ok(child)
}

pub fn helper_done(pgid: i32) {
    if let Ok(mut h) = HELPERS.lock() {
        h.retain(|p| *p != pgid);
    }
}

/// The release build has `panic = "abort"`: nothing is dropped on a panic (a bug), so
/// `Running`'s drop cannot kill the helpers then. This hook does, before the default one
/// prints the message. `try_lock`: the panic may have come while the lock was held.
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Ok(h) = HELPERS.try_lock() {
            h.iter().for_each(|g| kill_group(*g));
        }
        default(info);
    }));
}

fn kill_helpers() {
    if let Ok(h) = HELPERS.lock() {
        h.iter().for_each(|g| kill_group(*g));
    }
}

/// SIGKILL to a whole process group; a group that is gone already is fine.
pub fn kill_group(pgid: i32) {
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pgid),
        nix::sys::signal::Signal::SIGKILL,
    );
}
