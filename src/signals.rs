//! SIGINT and SIGTERM end a run promptly with exit 130, whatever it is waiting for; only a
//! file replacement in progress (temp file → rename) is finished first. Helper programs still
//! running are killed with their whole process group.
//!
//! A thread waits for the signals (signal-hook's iterator) and ends the run: one word holds
//! "signalled" and the number of replacements in progress, and a list the helpers' process
//! groups. A signal that comes during a replacement is left to the last replacement to end,
//! which then ends the run the same way.

use std::process::Child;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use signal_hook::consts::{SIGINT, SIGTERM};

use crate::exit::Exit;

/// The top bit: SIGINT or SIGTERM came. The rest: replacements in progress.
static STATE: AtomicUsize = AtomicUsize::new(0);
const SIGNALLED: usize = 1 << (usize::BITS - 1);
/// The helper programs running now: each pid, and whether it leads its own process group.
static HELPERS: Mutex<Vec<(i32, bool)>> = Mutex::new(Vec::new());

/// The thread that turns SIGINT/SIGTERM into exit 130, and the panic hook.
pub fn install() -> std::io::Result<()> {
    install_panic_hook();
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for _ in signals.forever() {
                if STATE.fetch_or(SIGNALLED, SeqCst) & !SIGNALLED == 0 {
                    finish();
                }
                // else the last replacement in progress ends the run when it is done
            }
        })?;
    Ok(())
}

/// `watch`: a signal ends it as asked, with 0.
static CLEAN_STOP: AtomicBool = AtomicBool::new(false);

/// From now on SIGINT and SIGTERM end the run with 0 (`watch`: stopping is its normal end).
pub fn stop_cleanly() {
    CLEAN_STOP.store(true, SeqCst);
}

/// Kills the helpers' groups, says so, exits 130 (0 after [`stop_cleanly`]); the first
/// caller only (a second waits for the first to end the process).
fn finish() -> ! {
    static FINISHING: AtomicBool = AtomicBool::new(false);
    if FINISHING.swap(true, SeqCst) {
        loop {
            std::thread::park();
        }
    }
    kill_helpers();
    use std::io::Write;
    if CLEAN_STOP.load(SeqCst) {
        let _ = std::io::stderr().write_all(b"nodeprep watch: stopped\n");
        std::process::exit(Exit::Ready.code().into())
    }
    let _ = std::io::stderr().write_all(b"nodeprep: interrupted\n");
    std::process::exit(Exit::Interrupted.code().into())
}

/// Ends the run as interrupted if SIGINT or SIGTERM came: the signal thread kills the helpers
/// before it exits, and the work they were doing may finish meanwhile; what it came to must
/// not be reported, nor the run end as if no signal had come.
pub fn exit_if_signalled() {
    if STATE.load(SeqCst) & SIGNALLED != 0 {
        finish();
    }
}

/// Runs `f` so that a signal cannot end the process in the middle of it: one that comes
/// meanwhile ends it just after.
pub fn critical<T>(f: impl FnOnce() -> T) -> T {
    if STATE.fetch_add(1, SeqCst) & SIGNALLED != 0 {
        // signalled already, and the thread saw no replacement in progress: none begins
        finish();
    }
    let done = f();
    if STATE.fetch_sub(1, SeqCst) - 1 == SIGNALLED {
        finish();
    }
    done
}

fn helpers() -> std::sync::MutexGuard<'static, Vec<(i32, bool)>> {
    HELPERS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Spawns a helper (leading its own process group, with `own_group`) and records it under
/// the list's lock, so that a signal that comes meanwhile still finds it; once a signal has
/// come, none is spawned.
pub fn spawn_helper(cmd: &mut std::process::Command, own_group: bool) -> std::io::Result<Child> {
    let mut list = helpers();
    if STATE.load(SeqCst) == SIGNALLED {
        // the signal thread has killed, or is about to kill, what is listed: nothing new
        // starts (but in a critical section, which ends the run when it is done)
        drop(list);
        finish();
    }
    let child = cmd.spawn()?;
    list.push((i32::try_from(child.id()).unwrap_or(0), own_group));
    Ok(child)
}

pub fn helper_done(pid: i32) {
    helpers().retain(|(p, _)| *p != pid);
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

/// Every recorded group; a helper being spawned meanwhile is waited for, and killed too.
fn kill_helpers() {
    for (pid, own_group) in helpers().iter() {
        if *own_group {
            kill_group(*pid);
        } else {
            kill_process(*pid);
        }
    }
}

/// SIGKILL to the process group `pgid` and to the process `pgid`: only ever for a helper not
/// yet reaped (after its reap the number may be another process's). A group that is gone
/// already is fine. Never to 0 or less (nodeprep's own group, or every process).
pub fn kill_group(pgid: i32) {
    #[cfg(test)]
    unowned::note(pgid);
    if pgid > 0 {
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        let _ = kill(Pid::from_raw(pgid), Signal::SIGKILL);
    }
}

/// SIGKILL to the process `pid` alone: a helper in its parent's process group.
pub fn kill_process(pid: i32) {
    #[cfg(test)]
    unowned::note(pid);
    if pid > 0 {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

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
    use std::io::Write;
    use std::process::Command;

    use super::*;

    const CHILD: &str = "NODEPREP_SIGNALS_CHILD";

    /// The signal thread is the process's and ends it: each scenario runs in a child, this
    /// test binary again with only `test` run and the scenario in the environment. The child
    /// must end interrupted (130, the one line on stderr); what it said on stdout is given.
    fn interrupted_child(test: &str, scenario: &str) -> String {
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(CHILD, scenario)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(130), "{said}{err}");
        assert!(err.ends_with("nodeprep: interrupted\n"), "{err}");
        assert!(!said.contains("<went on>"), "{said}");
        said
    }

    /// Unbuffered: what the child says must not wait in a buffer its exit drops.
    fn say(what: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(what.as_bytes()).and_then(|_| out.flush());
    }

    fn scenario() {
        let Ok(s) = std::env::var(CHILD) else { return };
        install().unwrap();
        match s.as_str() {
            "outside" => {
                nix::sys::signal::raise(Signal::SIGTERM).unwrap();
                std::thread::sleep(std::time::Duration::from_secs(10));
                say("<went on>");
            }
            "inside" => {
                critical(|| {
                    nix::sys::signal::raise(Signal::SIGINT).unwrap();
                    // the thread has seen it by now, and waits for the replacement
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    say("<replacement finished>");
                });
                say("<went on>");
            }
            "spawn-inside" => {
                critical(|| {
                    nix::sys::signal::raise(Signal::SIGTERM).unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    // the cleanup a critical section exists for still runs its helpers
                    let host = crate::root::Root::new("/");
                    let sh = host.find_program("sh").expect("a shell");
                    let out = crate::system::run_here(
                        &sh,
                        &["-c", "echo cleaned"],
                        std::time::Duration::from_secs(10),
                    );
                    say(&format!("<{}>", out.map(|o| o.text).unwrap_or_default()));
                });
                say("<went on>");
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

    /// `check --probe` deletes its dummy virtual server in a critical section: a helper it
    /// starts there after a signal still runs, and the run ends just after.
    #[test]
    fn a_critical_section_runs_its_helpers_after_a_signal() {
        scenario();
        let said = interrupted_child(
            "signals::tests::a_critical_section_runs_its_helpers_after_a_signal",
            "spawn-inside",
        );
        assert!(said.contains("<cleaned>"), "{said}");
    }

    #[test]
    fn helpers_are_recorded_while_they_run() {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "exit 0"]).process_group(0);
        use std::os::unix::process::CommandExt;
        let mut child = spawn_helper(&mut cmd, true).expect("sh starts");
        let pid = child.id() as i32;
        assert!(helpers().contains(&(pid, true)));
        helper_done(pid);
        assert!(!helpers().iter().any(|(p, _)| *p == pid));
        child.wait().unwrap();
    }
}
