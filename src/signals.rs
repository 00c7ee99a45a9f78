//! SIGINT and SIGTERM end a run promptly with exit 130, whatever it is waiting for; only a
//! file replacement in progress (temp file → rename) is finished first. Helper programs still
//! running are killed with their whole process group.
//!
//! No thread: the handler itself ends the run, with async-signal-safe calls only (`kill`,
//! `write`, `_exit`) on lock-free state: one word for "signalled" and the number of
//! replacements in progress, and a fixed table of the helpers' process groups. A signal
//! that comes during a replacement is left to the last replacement to end, which then ends
//! the run the same way. (A signal thread cost every run, `--version` too, a thread and a
//! socket pair: 0.2 ms of CPU here.)

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering::SeqCst};

use nix::libc;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};

use crate::exit::Exit;

/// The top bit: SIGINT or SIGTERM came. The rest: replacements in progress.
static STATE: AtomicUsize = AtomicUsize::new(0);
const SIGNALLED: usize = 1 << (usize::BITS - 1);
/// The process groups of the helper programs running now (0: a free slot).
static HELPERS: [AtomicI32; 64] = [const { AtomicI32::new(0) }; 64];

/// The handlers that turn SIGINT/SIGTERM into exit 130, and the panic hook.
pub fn install() -> std::io::Result<()> {
    install_panic_hook();
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: sigaction(2) with a handler that makes only async-signal-safe calls.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            // a deferred signal returns into the replacement: its system calls go on
            sa.sa_flags = libc::SA_RESTART;
            libc::sigfillset(&mut sa.sa_mask);
            if libc::sigaction(sig, &sa, std::ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

extern "C" fn on_signal(_: libc::c_int) {
    if STATE.fetch_or(SIGNALLED, SeqCst) & !SIGNALLED == 0 {
        finish();
    }
    // else the last replacement in progress ends the run when it is done
}

/// Kills the helpers' groups, says so, exits 130. Async-signal-safe; the first caller only
/// (a second thread that gets here waits for the first to end the process).
fn finish() -> ! {
    static FINISHING: AtomicBool = AtomicBool::new(false);
    if FINISHING.swap(true, SeqCst) {
        loop {
            // SAFETY: pause(2) blocks until the exit of the first caller ends this thread.
            unsafe { libc::pause() };
        }
    }
    kill_helpers();
    let msg = b"nodeprep: interrupted\n";
    // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer is static.
    unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
        libc::_exit(Exit::Interrupted.code().into())
    }
}

/// Runs `f` so that a signal cannot end the process in the middle of it: one that comes
/// meanwhile ends it just after.
pub fn critical<T>(f: impl FnOnce() -> T) -> T {
    if STATE.fetch_add(1, SeqCst) & SIGNALLED != 0 {
        // signalled already, and the handler saw no replacement in progress: none begins
        finish();
    }
    let done = f();
    if STATE.fetch_sub(1, SeqCst) - 1 == SIGNALLED {
        finish();
    }
    done
}

/// Spawns a helper (its own process group) and records it with SIGINT and SIGTERM
/// blocked, so that a signal that comes between the spawn and the record still finds it
/// (under load, a helper used to outlive an interrupted check). It may not have exec'd
/// yet: see [`crate::spawn::Starting`].
pub fn spawn_helper(spec: crate::spawn::Spec) -> std::io::Result<crate::spawn::Child> {
    let mut ends = SigSet::empty();
    ends.add(Signal::SIGINT);
    ends.add(Signal::SIGTERM);
    let mut old = SigSet::empty();
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&ends), Some(&mut old))?;
    let spawned = crate::spawn::spawn(spec).and_then(|mut child| {
        if record(child.pid) {
            Ok(child)
        } else {
            let _ = child.starting.started();
            kill_group(child.pid);
            let _ = crate::spawn::wait(child.pid);
            Err(std::io::Error::other(format!(
                "more than {} helper programs at once",
                HELPERS.len()
            )))
        }
    });
    let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    spawned
}

/// Takes a free slot for `pgid`; false when there is none.
fn record(pgid: i32) -> bool {
    HELPERS
        .iter()
        .any(|slot| slot.compare_exchange(0, pgid, SeqCst, SeqCst).is_ok())
}

pub fn helper_done(pgid: i32) {
    if let Some(slot) = HELPERS.iter().find(|slot| slot.load(SeqCst) == pgid) {
        let _ = slot.compare_exchange(pgid, 0, SeqCst, SeqCst);
    }
}

/// The release build has `panic = "abort"`: nothing is dropped on a panic (a bug), so
/// `Running`'s drop cannot kill the helpers then. This hook does, before the default one
/// prints the message.
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        kill_helpers();
        default(info);
    }));
}

/// Every recorded group; async-signal-safe.
fn kill_helpers() {
    for slot in &HELPERS {
        kill_group(slot.load(SeqCst));
    }
}

/// SIGKILL to a helper's whole process group, and to the helper itself: a helper killed
/// before it has made its group (it is started without waiting for its exec) is not in it
/// yet, and has no child then. Its pid cannot be anyone else's: it is not reaped until
/// [`helper_done`]. A group that is gone already is fine. Never to 0 or less (that would be
/// nodeprep's own group, or every process). Async-signal-safe.
/// SIGKILL to the process group `pgid` and to the process `pgid`: only ever for a helper not
/// yet reaped (after its reap the number may be another process's).
pub fn kill_group(pgid: i32) {
    #[cfg(test)]
    unowned::note(pgid);
    if pgid > 0 {
        // SAFETY: kill(2) on numbers; a group or process that is gone is ESRCH.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
            libc::kill(pgid, libc::SIGKILL);
        }
    }
}

/// Tests' record of every kill of a number that was no longer a child of nodeprep's (reaped,
/// or never one): each is a kill that could have reached an unrelated process.
#[cfg(test)]
pub mod unowned {
    use std::sync::Mutex;

    use nix::errno::Errno;
    use nix::sys::wait::{Id, WaitPidFlag, waitid};
    use nix::unistd::Pid;

    static KILLS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

    pub fn note(pgid: i32) {
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        if waitid(Id::Pid(Pid::from_raw(pgid)), flags) == Err(Errno::ECHILD) {
            KILLS.lock().unwrap_or_else(|e| e.into_inner()).push(pgid);
        }
    }

    /// The numbers killed so far that were not nodeprep's children then.
    pub fn kills() -> Vec<i32> {
        KILLS.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    const CHILD: &str = "NODEPREP_SIGNALS_CHILD";

    /// The handlers are the process's and end it: each scenario runs in a child, this test
    /// binary again with only `test` run and the scenario in the environment. The child
    /// must end interrupted (130, the one line on stderr); what it said on stdout is given.
    fn interrupted_child(test: &str, scenario: &str) -> String {
        let (code, said, err) = in_child(test, scenario);
        assert_eq!(code, Some(130), "{said}{err}");
        assert!(err.ends_with("nodeprep: interrupted\n"), "{err}");
        assert!(!said.contains("<went on>"), "{said}");
        said
    }

    fn in_child(test: &str, scenario: &str) -> (Option<i32>, String, String) {
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(CHILD, scenario)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Plain write(2): what the child says must not wait in a buffer its exit drops.
    fn say(what: &str) {
        // SAFETY: write(2) of a live buffer.
        unsafe { libc::write(1, what.as_ptr().cast(), what.len()) };
    }

    fn scenario() {
        let Ok(s) = std::env::var(CHILD) else { return };
        install().unwrap();
        match s.as_str() {
            "outside" => {
                // SAFETY: raise(3): the handler runs on this thread, now
                unsafe { libc::raise(libc::SIGTERM) };
                say("<went on>");
            }
            "inside" => {
                critical(|| {
                    // SAFETY: as above
                    unsafe { libc::raise(libc::SIGINT) };
                    say("<replacement finished>");
                });
                say("<went on>");
            }
            "full" => {
                // every slot taken (by pids no process has: nothing is ever killed here)
                for slot in 0..HELPERS.len() {
                    assert!(record(i32::MAX - 1 - slot as i32));
                }
                let spec = crate::spawn::Spec::new(None, "/bin/sh", &["-c", "exit 0"], &[])
                    .expect("a spec");
                match spawn_helper(spec) {
                    Ok(_) => say("<spawned>"),
                    Err(e) => say(&format!("<refused: {e}>")),
                }
            }
            _ => unreachable!(),
        }
        std::process::exit(0);
    }

    #[test]
    fn a_signal_ends_the_run_at_once_with_130() {
        scenario();
        interrupted_child(
            "signals::tests::a_signal_ends_the_run_at_once_with_130",
            "outside",
        );
    }

    #[test]
    fn a_signal_during_a_replacement_ends_the_run_just_after_it() {
        scenario();
        let said = interrupted_child(
            "signals::tests::a_signal_during_a_replacement_ends_the_run_just_after_it",
            "inside",
        );
        assert!(said.contains("<replacement finished>"), "{said}");
    }

    /// With every slot taken, a helper is refused (and not left running), never started
    /// unrecorded: a signal could not kill it.
    #[test]
    fn a_helper_with_no_free_slot_is_refused() {
        scenario();
        let (code, said, err) = in_child(
            "signals::tests::a_helper_with_no_free_slot_is_refused",
            "full",
        );
        assert_eq!(code, Some(0), "{said}{err}");
        assert!(
            said.contains("<refused: more than 64 helper programs at once>"),
            "{said}"
        );
    }

    #[test]
    fn helper_slots_are_taken_and_given_back() {
        // pids no process has (above the kernel's pid_max): a kill of them is harmless
        let (a, b) = (i32::MAX - 1, i32::MAX - 2);
        assert!(record(a) && record(b));
        let held = || {
            HELPERS
                .iter()
                .filter(|s| [a, b].contains(&s.load(SeqCst)))
                .count()
        };
        assert_eq!(held(), 2);
        helper_done(a);
        assert_eq!(held(), 1);
        helper_done(b);
        assert_eq!(held(), 0);
    }
}
