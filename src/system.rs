//! Running the root's own helper programs (`modprobe`, `iptables --version`, …), bounded.
//!
//! Each helper runs through `std::process::Command` with a clean environment (`PATH` = the
//! trusted directories, `LC_ALL=C`) and an input at its end, and is killed when it overruns
//! its time or prints more than [`OUTPUT_LIMIT`] bytes. nodeprep starts itself again as a
//! trampoline ([`trampoline`]): one process per batch, with a parent-death signal, in its
//! own process group (killed whole when it exits) and, where the kernel allows, a new PID
//! namespace whose PID 1 runs the batch's helpers (so nothing they start outlives them,
//! even when nodeprep is SIGKILLed), and answers in JSON. For a root other than `/` that
//! PID 1 also chroots into the root and confines the helpers (see `sandbox`).
//!
//! [`start`] starts every helper at once and the caller goes on with its own work;
//! [`Running::finish`] waits in one `poll(2)` on all the output pipes and a SIGCHLD
//! self-pipe, with the nearest deadline as its timeout.

use std::ffi::OsString;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::root::{Root, TRUSTED_DIRS};
pub use crate::sandbox::Privilege;
use crate::signals;

/// A helper's stdout and stderr together: a version banner or an error needs a few KB.
pub const OUTPUT_LIMIT: usize = 64 * 1024;
/// How long the pipes may stay open after the helper's group is gone.
const GRACE: Duration = Duration::from_millis(200);

/// nodeprep's first argument when it runs as the trampoline: `nodeprep TRAMPOLINE ROOT
/// TIMEOUT_MS PRIVILEGE JOBS` makes the sandbox's namespaces, chroots into ROOT, gives up
/// what PRIVILEGE does not allow (see `sandbox`), runs JOBS (JSON: `[[program, [args…]],
/// …]`) and prints their answers (JSON). Internal: not a subcommand.
pub const TRAMPOLINE: &str = "--internal-run-chrooted";
/// The same run by the trampoline's child, PID 1 of the new PID namespace.
const TRAMPOLINE_PID1: &str = "--internal-run-chrooted-pid1";

/// Whether nodeprep's first argument makes it the trampoline (or its PID 1).
pub fn is_trampoline(first: &std::ffi::OsStr) -> bool {
    first == TRAMPOLINE || first == TRAMPOLINE_PID1
}
/// How the trampoline says that it could not run the batch at all (then it exits 127).
const TRAMPOLINE_FAILED: &str = "nodeprep-trampoline: ";
/// The nodeprep binary that runs as the trampoline: this one (`/proc/self/exe`), unless
/// [`set_trampoline`] named it: a program that links the library (a test), or nodeprep
/// without /proc (a bare chroot), by the path it was run as.
static TRAMPOLINE_EXE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Which nodeprep binary runs the helpers of another root. The first call decides.
pub fn set_trampoline(nodeprep: impl Into<std::path::PathBuf>) {
    let _ = TRAMPOLINE_EXE.set(nodeprep.into());
}

/// nodeprep's own binary, to start again: the one [`set_trampoline`] named, else
/// `/proc/self/exe` (a link the kernel follows whatever the mount namespace).
pub fn own_binary() -> &'static std::path::Path {
    TRAMPOLINE_EXE
        .get()
        .map_or("/proc/self/exe".as_ref(), |p| p.as_path())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    pub success: bool,
    pub code: Option<i32>,
    /// stdout followed by stderr, trimmed.
    pub text: String,
}

/// A helper that could not be started (its exec failed): the cause of the error that says so.
#[derive(Debug)]
struct NotStarted(io::Error);

impl std::fmt::Display for NotStarted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
impl std::error::Error for NotStarted {}

/// One helper's result as the trampoline sends it back.
#[derive(Debug, Serialize, Deserialize)]
enum Answer {
    Done(Output),
    /// Could not be started: why (the parent names the program as it lies on the host).
    NotStarted(String),
    Failed(String),
}

impl Answer {
    fn of(result: Result<Output>) -> Answer {
        match result {
            Ok(out) => Answer::Done(out),
            Err(e) => match e.chain().find_map(|c| c.downcast_ref::<NotStarted>()) {
                Some(n) => Answer::NotStarted(n.to_string()),
                None => Answer::Failed(format!("{e:#}")),
            },
        }
    }
}

/// The trampoline's whole run (`main` calls it when its first argument is [`TRAMPOLINE`],
/// with all its arguments): the sandbox's namespaces, then, in the new PID namespace's PID 1
/// where there is one, chroot into the root, `chdir("/")`, [`sandbox::confine`], and the
/// jobs run there as [`start`] runs the host's (in this process's group, which nodeprep
/// kills whole when it exits). The answers are printed on stdout; what stopped the batch
/// on stderr, with exit 127.
pub fn trampoline(args: &[OsString]) -> u8 {
    let code = match args.get(1) {
        Some(first) if first == TRAMPOLINE_PID1 => batch_answers(&args[2..]),
        _ => trampoline_answers(args),
    };
    match code {
        Ok(answers) => {
            use std::io::Write;
            let mut out = io::stdout().lock();
            let _ = out.write_all(answers.as_bytes()).and_then(|_| out.flush());
            0
        }
        Err(None) => 127,
        Err(Some(why)) => {
            eprintln!("{TRAMPOLINE_FAILED}{why}");
            127
        }
    }
}

/// Err(None): the child said why already.
fn trampoline_answers(args: &[OsString]) -> Result<String, Option<String>> {
    let (_, _, privilege, _) = batch(&args[2..])?;
    // this binary, by the link the kernel follows whatever the mount namespace (a path
    // read from it names the file as the old namespace sees it), else as it was run
    let exe = Some(std::path::PathBuf::from("/proc/self/exe"))
        .filter(|p| p.exists())
        .or_else(|| args.first().map(std::path::PathBuf::from))
        .ok_or_else(|| Some("cannot find nodeprep's own binary".to_string()))?;
    if !crate::sandbox::enter_namespaces(privilege) {
        return batch_answers(&args[2..]);
    }
    // this process's first child is PID 1 there: when it ends, so does all it started
    let mut pid1 = Command::new(exe);
    pid1.arg(TRAMPOLINE_PID1).args(&args[2..]);
    let status = pid1
        .status()
        .map_err(|e| Some(format!("cannot start the sandbox's first process: {e}")))?;
    match status.code() {
        Some(0) => Ok(String::new()),
        Some(_) => Err(None),
        None => Err(Some(format!("the sandbox's first process ended: {status}"))),
    }
}

/// The trampoline's arguments after the first: the root, the timeout, the privilege and the
/// jobs.
type Batch4 = (OsString, Duration, Privilege, Vec<(String, Vec<String>)>);

fn batch(args: &[OsString]) -> Result<Batch4, Option<String>> {
    let [root, timeout, privilege, jobs] = args else {
        return Err(Some(format!(
            "usage: nodeprep {TRAMPOLINE} ROOT TIMEOUT_MS PRIVILEGE JOBS"
        )));
    };
    let timeout = timeout
        .to_str()
        .and_then(|t| t.parse().ok())
        .map(Duration::from_millis)
        .ok_or_else(|| Some("TIMEOUT_MS is not a number".to_string()))?;
    let privilege = privilege
        .to_str()
        .and_then(Privilege::from_word)
        .ok_or_else(|| Some("PRIVILEGE is not nothing or load-modules".to_string()))?;
    let jobs: Vec<(String, Vec<String>)> = jobs
        .to_str()
        .and_then(|j| serde_json::from_str(j).ok())
        .ok_or_else(|| Some("JOBS is not [[program, [args...]], ...]".to_string()))?;
    Ok((root.clone(), timeout, privilege, jobs))
}

/// Chrooted and confined, the batch's answers (JSON).
fn batch_answers(args: &[OsString]) -> Result<String, Option<String>> {
    let (root, timeout, privilege, jobs) = batch(args)?;
    let fail = |why: String| Some(why);
    if privilege != Privilege::Host {
        nix::unistd::chroot(root.as_os_str()).map_err(|e| fail(io::Error::from(e).to_string()))?;
    }
    std::env::set_current_dir("/").map_err(|e| fail(e.to_string()))?;
    crate::sandbox::confine(privilege).map_err(fail)?;
    let jobs: Vec<(String, Vec<&str>)> = jobs
        .iter()
        .map(|(p, a)| (p.clone(), a.iter().map(String::as_str).collect()))
        .collect();
    let answers: Vec<Answer> = start_here(&jobs, timeout, false)
        .finish()
        .into_iter()
        .map(Answer::of)
        .collect();
    serde_json::to_string(&answers).map_err(|e| fail(e.to_string()))
}

/// A command line a helper may be run with: no NUL byte anywhere.
fn check_line(shown_program: &str, args: &[&str]) -> Result<()> {
    if shown_program.contains('\0') || args.iter().any(|a| a.contains('\0')) {
        bail!("cannot run {shown_program}: its command line holds a NUL byte");
    }
    Ok(())
}

/// The environment, input and output every process nodeprep starts gets.
fn clean(c: &mut Command) -> &mut Command {
    c.env_clear()
        .env("PATH", TRUSTED_DIRS.join(":"))
        .env("LC_ALL", "C")
        // an input at its end at once: not /dev/null, which a container may not have
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
}

/// One helper in flight.
struct Helper {
    shown: String,
    child: Child,
    /// The helper's pid; with `own_group`, also its process group's id.
    pid: i32,
    /// Its own process group (killed whole), or its parent's (the helper alone is killed).
    own_group: bool,
    /// The most its stdout and stderr may hold together.
    limit: usize,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
    out: Vec<u8>,
    err: Vec<u8>,
    status: Option<io::Result<ExitStatus>>,
    /// Until when the pipes may stay open: set when the helper exits or is killed.
    grace_until: Option<Instant>,
    timed_out: bool,
    overflow: bool,
}

impl Helper {
    /// Starts `cmd` (its environment and pipes set) and records it for the signal thread.
    fn spawn(
        mut cmd: Command,
        shown: String,
        cannot_run: String,
        own_group: bool,
        limit: usize,
    ) -> Result<Helper> {
        if own_group {
            cmd.process_group(0);
        }
        let mut child = signals::spawn_helper(&mut cmd, own_group)
            .map_err(|e| anyhow::Error::new(NotStarted(e)).context(cannot_run))?;
        let pid = i32::try_from(child.id()).unwrap_or(0);
        drop(child.stdin.take());
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        if let Some(p) = &stdout {
            set_nonblocking(p.as_fd());
        }
        if let Some(p) = &stderr {
            set_nonblocking(p.as_fd());
        }
        Ok(Helper {
            shown,
            child,
            pid,
            own_group,
            limit,
            stdout,
            stderr,
            out: Vec::new(),
            err: Vec::new(),
            status: None,
            grace_until: None,
            timed_out: false,
            overflow: false,
        })
    }

    /// SIGKILL to the helper and, with its own group, to all of it.
    fn kill_now(&self) {
        if self.own_group {
            signals::kill_group(self.pid);
        } else {
            signals::kill_process(self.pid);
        }
    }

    /// Whether the helper has exited, seen without reaping it (so that its process group
    /// cannot be a new one yet when it is killed), then reaped.
    fn check_exit(&mut self, now: Instant) {
        if self.status.is_some() {
            return;
        }
        let pid = Pid::from_raw(self.pid);
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        match nix::sys::wait::waitid(Id::Pid(pid), flags) {
            Ok(WaitStatus::StillAlive) | Err(Errno::EINTR) => return,
            _ => {}
        }
        // whatever the helper left running goes with it; no longer recorded before it is
        // reaped (its pid could be another process's after)
        self.kill_now();
        signals::helper_done(self.pid);
        self.status = Some(self.child.wait());
        self.grace_until.get_or_insert(now + GRACE);
    }

    /// Kills the helper (and its group), unless it is reaped already: its pid and group id
    /// may then be another process's (what it left running was killed before its reap).
    fn kill(&self) {
        if self.status.is_none() {
            self.kill_now();
        }
    }

    /// Reads what one pipe has; the pipe is closed at its end, or when the two outputs
    /// together pass the helper's limit (then it is killed).
    fn read(&mut self, stderr: bool) {
        let mut chunk = [0u8; 8192];
        let got = match (stderr, &mut self.stdout, &mut self.stderr) {
            (false, Some(p), _) => p.read(&mut chunk),
            (true, _, Some(p)) => p.read(&mut chunk),
            _ => return,
        };
        match got {
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                ) => {}
            Ok(0) | Err(_) if stderr => self.stderr = None,
            Ok(0) | Err(_) => self.stdout = None,
            Ok(n) => {
                let room = self.limit - self.out.len() - self.err.len();
                let buf = if stderr { &mut self.err } else { &mut self.out };
                buf.extend_from_slice(&chunk[..n.min(room)]);
                if n > room {
                    self.overflow = true;
                    self.kill();
                    self.stdout = None;
                    self.stderr = None;
                }
            }
        }
    }

    fn pipes_open(&self) -> bool {
        self.stdout.is_some() || self.stderr.is_some()
    }

    /// Done: exited with its pipes closed, or the grace after its exit or kill is over.
    fn done(&self, now: Instant) -> bool {
        match (&self.status, self.grace_until) {
            (Some(_), _) if !self.pipes_open() => true,
            (_, Some(until)) => now >= until,
            _ => false,
        }
    }

    /// What the helper's run came to; called once, when it is [`Helper::done`].
    fn outcome(&mut self, timeout: Duration) -> Result<Output> {
        self.kill();
        signals::helper_done(self.pid);
        let shown = self.shown.clone();
        if self.timed_out {
            // reaped if it died of the kill; otherwise it is stuck, and is not waited for
            let _ = self.child.try_wait();
            bail!(
                "{shown} did not finish within {}s; it was killed with its process group",
                timeout.as_secs()
            );
        }
        if self.overflow {
            let _ = self.child.try_wait();
            bail!(
                "{shown} printed more than {} bytes; it was killed with its process group",
                self.limit
            );
        }
        let status = match self.status.take() {
            Some(st) => st.with_context(|| format!("waiting for {shown}"))?,
            None => bail!("{shown} did not exit after it was killed (stuck in the kernel?)"),
        };
        let mut bytes = std::mem::take(&mut self.out);
        bytes.extend(std::mem::take(&mut self.err));
        Ok(Output {
            success: status.success(),
            code: status.code(),
            text: String::from_utf8_lossy(&bytes).trim().to_string(),
        })
    }
}

/// Helpers started by [`start`]; [`Running::finish`] collects them. Dropped unfinished (an
/// error on the way), every helper is killed (and reaped if it is gone already).
pub struct Running {
    slots: Vec<Slot>,
    timeout: Duration,
    deadline: Instant,
    /// Readable after a SIGCHLD: one byte per signal, from signal-hook's handler.
    wake: Option<(UnixStream, signal_hook::SigId)>,
    /// Under a root other than `/`: the jobs, whose answers the one trampoline in `slots`
    /// gives.
    batch: Option<Batch>,
}

enum Slot {
    Running(Box<Helper>),
    /// Could not be started, or finished.
    Ended(Result<Output>),
}

/// The jobs of a batch run by the trampoline, in the order asked.
struct Batch {
    root: Root,
    /// Refused before the trampoline started (the error), or sent to it (the program).
    jobs: Vec<Result<String, anyhow::Error>>,
}

impl Batch {
    /// Each job's result from the trampoline's run.
    fn answers(self, run: Result<Output>) -> Vec<Result<Output>> {
        let answers: Result<Vec<Answer>, String> = match run {
            Ok(out) if out.success => serde_json::from_str(&out.text)
                .map_err(|e| format!("the trampoline's answer is not readable ({e})")),
            Ok(out) => Err(match out.text.strip_prefix(TRAMPOLINE_FAILED) {
                Some(why) if out.code == Some(127) => why.to_string(),
                _ => format!("the trampoline failed: {}", out.text),
            }),
            Err(e) => Err(format!("{e:#}")),
        };
        let mut answers = answers.map(Vec::into_iter);
        self.jobs
            .into_iter()
            .map(|job| {
                let program = job?;
                let cannot_run = || format!("cannot run {}", self.root.show(&program));
                match answers.as_mut().map(Iterator::next) {
                    Ok(Some(Answer::Done(out))) => Ok(out),
                    Ok(Some(Answer::NotStarted(why))) => Err(anyhow!(why).context(cannot_run())),
                    Ok(Some(Answer::Failed(why))) => Err(anyhow!(why)),
                    Ok(None) => Err(anyhow!("the trampoline gave no answer").context(cannot_run())),
                    Err(why) => Err(anyhow!(why.clone()).context(cannot_run())),
                }
            })
            .collect()
    }
}

/// Starts every helper in `jobs` (a node path and its arguments) now, in the order given:
/// the host's each on its own, another root's all in one trampoline chrooted there and
/// sandboxed with `privilege`.
pub fn start(
    root: &Root,
    jobs: &[(String, Vec<&str>)],
    privilege: Privilege,
    timeout: Duration,
) -> Running {
    let privilege = if root.is_host() {
        Privilege::Host
    } else {
        privilege
    };
    let mut running = start_here(&[], timeout, true);
    let checked: Vec<Result<String, anyhow::Error>> = jobs
        .iter()
        .map(|(program, args)| {
            check_line(&root.show(program), args)?;
            if !root.is_host() && !nix::unistd::geteuid().is_root() {
                bail!(
                    "cannot run {program} of {root}: a helper of another root runs chrooted into it, which needs root"
                );
            }
            Ok(program.clone())
        })
        .collect();
    let sent: Vec<(&String, &Vec<&str>)> = jobs
        .iter()
        .zip(&checked)
        .filter(|(_, c)| c.is_ok())
        .map(|((p, a), _)| (p, a))
        .collect();
    let started = if sent.is_empty() {
        Err(anyhow!("nothing to run"))
    } else {
        let exe = own_binary();
        let mut c = Command::new(exe);
        c.arg(TRAMPOLINE)
            .arg(root.dir())
            .arg(timeout.as_millis().to_string())
            .arg(privilege.word())
            .arg(serde_json::to_string(&sent).unwrap_or_default());
        clean(&mut c);
        // each answer is at most a helper's output, escaped
        let limit = sent.len() * (6 * OUTPUT_LIMIT + 256);
        let shown = format!("the helpers of {root}");
        Helper::spawn(
            c,
            shown,
            format!("cannot run the helpers of {root}"),
            true,
            limit,
        )
    };
    running.slots = vec![match started {
        Ok(h) => Slot::Running(Box::new(h)),
        Err(e) => Slot::Ended(Err(e)),
    }];
    // the trampoline's own deadline is the helpers'; this one only bounds a stuck trampoline
    running.deadline += 2 * GRACE + Duration::from_secs(1);
    running.batch = Some(Batch {
        root: root.clone(),
        jobs: checked,
    });
    running
}

/// Starts the helpers as processes of this one: each in its own process group
/// (`own_groups`), or in this one's (the trampoline's).
fn start_here(jobs: &[(String, Vec<&str>)], timeout: Duration, own_groups: bool) -> Running {
    // registered before the first helper starts, so that no exit can go unnoticed
    let wake = UnixStream::pair().ok().and_then(|(r, w)| {
        r.set_nonblocking(true).ok()?;
        w.set_nonblocking(true).ok()?;
        let id = signal_hook::low_level::pipe::register(signal_hook::consts::SIGCHLD, w).ok()?;
        Some((r, id))
    });
    close_inherited();
    let slots: Vec<Slot> = jobs
        .iter()
        .map(|(program, args)| {
            let shown = format!("{program} {}", args.join(" "))
                .trim_end()
                .to_string();
            let started = check_line(program, args).and_then(|()| {
                let mut c = Command::new(program);
                c.args(args);
                clean(&mut c);
                let cannot_run = format!("cannot run {program}");
                Helper::spawn(c, shown, cannot_run, own_groups, OUTPUT_LIMIT)
            });
            match started {
                Ok(h) => Slot::Running(Box::new(h)),
                Err(e) => Slot::Ended(Err(e)),
            }
        })
        .collect();
    Running {
        slots,
        timeout,
        deadline: Instant::now() + timeout,
        wake,
        batch: None,
    }
}

/// Marks every descriptor above 2 close-on-exec. Every descriptor nodeprep opens is (std's
/// default); one it was started with may not be, and a directory descriptor from outside
/// the root would let a chrooted helper `fchdir` out of it.
fn close_inherited() {
    close_fds::set_fds_cloexec_threadsafe(3, &[]);
}

fn set_nonblocking(fd: std::os::fd::BorrowedFd) {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    if let Ok(bits) = fcntl(fd, FcntlArg::F_GETFL) {
        let _ = fcntl(
            fd,
            FcntlArg::F_SETFL(OFlag::from_bits_truncate(bits) | OFlag::O_NONBLOCK),
        );
    }
}

impl Running {
    /// Waits for every helper (or its deadline) and gives their results in the order asked.
    pub fn finish(mut self) -> Vec<Result<Output>> {
        loop {
            let now = Instant::now();
            let mut next: Option<Instant> = None;
            for slot in &mut self.slots {
                let Slot::Running(h) = slot else { continue };
                h.check_exit(now);
                if h.status.is_none() && !h.timed_out && now >= self.deadline {
                    h.timed_out = true;
                    h.kill_now();
                    h.grace_until = Some(now + GRACE);
                }
                if h.done(now) {
                    let result = h.outcome(self.timeout);
                    *slot = Slot::Ended(result);
                    continue;
                }
                let at = h.grace_until.unwrap_or(self.deadline);
                next = Some(next.map_or(at, |n| n.min(at)));
            }
            let Some(next) = next else { break };
            self.wait_once(next);
        }
        let results: Vec<Result<Output>> = self
            .slots
            .drain(..)
            .map(|slot| match slot {
                Slot::Ended(r) => r,
                Slot::Running(h) => Err(anyhow!("{} was lost", h.shown)),
            })
            .collect();
        match self.batch.take() {
            Some(batch) => batch.answers(
                results
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| Err(anyhow!("the trampoline was lost"))),
            ),
            None => results,
        }
    }

    /// One `poll(2)` on every open pipe and the SIGCHLD pipe, until `until` at the latest;
    /// reads what is there.
    fn wait_once(&mut self, until: Instant) {
        let wait = until.saturating_duration_since(Instant::now());
        // whole milliseconds, rounded up: never a busy loop of zero timeouts
        let ms = wait.as_micros().div_ceil(1000).min(i32::MAX as u128);
        let timeout = PollTimeout::try_from(ms as u64).unwrap_or(PollTimeout::MAX);
        let readable = {
            let mut fds: Vec<PollFd> = Vec::new();
            // None: the SIGCHLD pipe; Some((helper, stderr)): one of a helper's pipes
            let mut who: Vec<Option<(usize, bool)>> = Vec::new();
            if let Some((r, _)) = &self.wake {
                fds.push(PollFd::new(r.as_fd(), PollFlags::POLLIN));
                who.push(None);
            }
            for (i, slot) in self.slots.iter().enumerate() {
                let Slot::Running(h) = slot else { continue };
                if let Some(p) = &h.stdout {
                    fds.push(PollFd::new(p.as_fd(), PollFlags::POLLIN));
                    who.push(Some((i, false)));
                }
                if let Some(p) = &h.stderr {
                    fds.push(PollFd::new(p.as_fd(), PollFlags::POLLIN));
                    who.push(Some((i, true)));
                }
            }
            match nix::poll::poll(&mut fds, timeout) {
                Ok(_) => fds
                    .iter()
                    .zip(&who)
                    .filter(|(fd, _)| fd.revents().is_some_and(|r| !r.is_empty()))
                    .map(|(_, w)| *w)
                    .collect::<Vec<_>>(),
                Err(_) => Vec::new(),
            }
        };
        for w in readable {
            match (w, &mut self.wake) {
                (None, Some((r, _))) => {
                    let mut drain = [0u8; 64];
                    while matches!(r.read(&mut drain), Ok(n) if n > 0) {}
                }
                (Some((i, stderr)), _) => {
                    if let Slot::Running(h) = &mut self.slots[i] {
                        h.read(stderr);
                    }
                }
                (None, None) => {}
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        for slot in &mut self.slots {
            if let Slot::Running(h) = slot {
                if h.status.is_some() {
                    continue;
                }
                h.kill();
                signals::helper_done(h.pid);
                // never a blocking wait on an error path: a helper stuck in the kernel
                // would hold nodeprep; what is not reaped yet goes when nodeprep exits
                let _ = h.child.try_wait();
            }
        }
        if let Some((_, id)) = self.wake.take() {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// Runs the helper at `program` (a node path found by [`Root::find_program`]) alone.
pub fn run(
    root: &Root,
    program: &str,
    args: &[&str],
    privilege: Privilege,
    timeout: Duration,
) -> Result<Output> {
    let jobs = [(program.to_string(), args.to_vec())];
    start(root, &jobs, privilege, timeout)
        .finish()
        .pop()
        .unwrap_or_else(|| Err(anyhow!("{program} did not run")))
}

/// One helper run by this process itself, not through the trampoline (unit tests: their
/// binary is not nodeprep's).
#[cfg(test)]
pub(crate) fn run_here(program: &str, args: &[&str], timeout: Duration) -> Result<Output> {
    start_here(&[(program.to_string(), args.to_vec())], timeout, true)
        .finish()
        .pop()
        .unwrap_or_else(|| Err(anyhow!("{program} did not run")))
}

/// The first `v<digits>.<digits>` in a version banner, as kube-proxy's ipset check reads it.
pub fn first_version(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices('v') {
        let rest = &bytes[i + 1..];
        let major = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if major == 0 || rest.get(major) != Some(&b'.') {
            continue;
        }
        let minor = rest[major + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if minor > 0 {
            return Some(text[i + 1..i + 2 + major + minor].to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The runner itself, without the trampoline (which is nodeprep's binary, not this
    /// test's: tests/ run the helpers through it).
    fn run(_: &Root, program: &str, args: &[&str], t: Duration) -> Result<Output> {
        run_here(program, args, t)
    }

    fn start(_: &Root, jobs: &[(String, Vec<&str>)], t: Duration) -> Running {
        start_here(jobs, t, true)
    }

    #[test]
    fn versions_are_read_like_kube_proxy_reads_them() {
        assert_eq!(
            first_version("ipset v7.17, protocol version: 7").as_deref(),
            Some("7.17")
        );
        assert_eq!(
            first_version("ipset v6.38, protocol version: 6").as_deref(),
            Some("6.38")
        );
        assert_eq!(
            first_version("ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)")
                .as_deref(),
            Some("1.31")
        );
        assert_eq!(
            first_version("iptables v1.8.9 (nf_tables)").as_deref(),
            Some("1.8")
        );
        assert_eq!(first_version("version 7"), None);
        assert_eq!(first_version("v7"), None);
    }

    /// A helper is killed with its group when it is seen to have exited, before it is
    /// reaped; never after, when its number may be another process's. Helpers that exit,
    /// fail, flood, overrun their time or leave a child holding their output: no kill may
    /// reach a number that is no longer nodeprep's child (the test build records each).
    #[test]
    fn no_kill_reaches_a_helper_once_it_is_reaped() {
        let host = Root::new("/");
        let sh = host.find_program("sh").expect("a shell on the host");
        let t = Duration::from_secs(10);
        let ok = run(&host, &sh, &["-c", "echo hi"], t).expect("runs");
        assert_eq!(ok.text, "hi");
        let failed = run(&host, &sh, &["-c", "exit 4"], t).expect("runs");
        assert_eq!(failed.code, Some(4));
        // its child holds the output open: the group is killed at the helper's exit
        let left = run(&host, &sh, &["-c", "sleep 30 & echo left"], t).expect("runs");
        assert_eq!(left.text, "left");
        assert!(run(&host, &sh, &["-c", "yes"], t).is_err());
        assert!(run(&host, &sh, &["-c", "sleep 5"], Duration::from_millis(200)).is_err());
        let jobs: Vec<(String, Vec<&str>)> = (0..4)
            .map(|i| {
                (
                    sh.clone(),
                    vec!["-c", if i % 2 == 0 { "echo a" } else { "exit 1" }],
                )
            })
            .collect();
        let results = start(&host, &jobs, t).finish();
        assert_eq!(results.len(), 4);
        assert!(results.iter().all(|r| r.is_ok()));
        assert_eq!(signals::unowned::kills(), Vec::<i32>::new());
    }

    #[test]
    fn output_is_capped_and_kept_in_order() {
        let host = Root::new("/");
        let sh = host.find_program("sh").expect("a shell on the host");
        let flood = run(&host, &sh, &["-c", "yes"], Duration::from_secs(10));
        let e = format!("{:#}", flood.expect_err("a flood is an error"));
        assert!(e.contains("printed more than 65536 bytes"), "{e}");
        let both = run(
            &host,
            &sh,
            &["-c", "echo err >&2; echo out; exit 3"],
            Duration::from_secs(10),
        )
        .expect("runs");
        assert_eq!(
            (both.success, both.code, both.text.as_str()),
            (false, Some(3), "out\nerr")
        );
        let slow = run(&host, &sh, &["-c", "sleep 5"], Duration::from_millis(300));
        let e = format!("{:#}", slow.expect_err("a timeout is an error"));
        assert!(e.contains("did not finish within"), "{e}");
    }

    /// Forty helpers in one batch, each with arguments of its own and one that cannot start
    /// among them: each prints its own arguments, and the one is its own error.
    #[test]
    fn helpers_started_together_each_run_with_their_own_arguments() {
        let host = Root::new("/");
        let sh = host.find_program("sh").expect("a shell");
        let mut jobs: Vec<(String, Vec<String>)> = (0..40)
            .map(|i| {
                let word = format!("helper-{i}-{}", "x".repeat(i * 7));
                (
                    sh.clone(),
                    vec!["-c".into(), "echo \"$0 $*\"".into(), word.clone(), word],
                )
            })
            .collect();
        jobs[17] = ("/nonexistent/helper".into(), vec!["never".into()]);
        let asked: Vec<(String, Vec<&str>)> = jobs
            .iter()
            .map(|(p, a)| (p.clone(), a.iter().map(String::as_str).collect()))
            .collect();
        let results = start(&host, &asked, Duration::from_secs(30)).finish();
        assert_eq!(results.len(), 40);
        for (i, r) in results.iter().enumerate() {
            if i == 17 {
                let e = format!("{:#}", r.as_ref().expect_err("cannot start"));
                assert!(e.contains("cannot run /nonexistent/helper"), "{e}");
                continue;
            }
            let out = r.as_ref().unwrap_or_else(|e| panic!("helper {i}: {e:#}"));
            let word = &jobs[i].1[2];
            assert_eq!(out.text, format!("{word} {word}"), "helper {i}");
        }
    }

    /// What a helper starts with: only its three descriptors, no input, no signal blocked
    /// or caught, SIGPIPE not ignored (nodeprep ignores it), its own process group,
    /// the clean environment, argv[0] its path.
    #[test]
    fn a_helper_starts_clean() {
        let host = Root::new("/");
        let helper = |name: &str, args: &[&str]| {
            let path = host.find_program(name).expect("on the host");
            let out = run(&host, &path, args, Duration::from_secs(10)).expect("runs");
            assert!(out.success, "{name}: {}", out.text);
            (path, out.text)
        };
        // one nodeprep was started with, not close-on-exec: not the helper's
        let _inherited = nix::fcntl::open(
            "/",
            nix::fcntl::OFlag::O_RDONLY,
            nix::sys::stat::Mode::empty(),
        )
        .expect("open /");
        // ls's own descriptor of the directory is 3
        let (_, fds) = helper("ls", &["/proc/self/fd"]);
        assert_eq!(
            fds, "0\n1\n2\n3",
            "only stdin, stdout, stderr are inherited"
        );
        // SIGPIPE is ignored in this test process too (std's runtime), as nodeprep's start does
        // (cat, as grep catches SIGSEGV itself)
        let (_, status) = helper("cat", &["/proc/self/status"]);
        let script = "cat; echo \"argv0=$0\"; echo \"pgid=$(cut -d' ' -f5 /proc/$$/stat) pid=$$\"";
        let (sh, text) = helper("sh", &["-c", script]);
        assert!(text.starts_with(&format!("argv0={sh}\n")), "{text}");
        let field = |name: &str| {
            let line = status
                .lines()
                .find(|l| l.starts_with(name))
                .unwrap_or_else(|| panic!("no {name} in {status}"));
            u64::from_str_radix(line.split_whitespace().nth(1).unwrap_or(""), 16)
                .unwrap_or_else(|_| panic!("{line}"))
        };
        assert_eq!(field("SigBlk:"), 0, "{status}");
        assert_eq!(field("SigCgt:"), 0, "{status}");
        let sigpipe = 1 << (nix::libc::SIGPIPE - 1);
        assert_eq!(
            field("SigIgn:") & sigpipe,
            0,
            "SIGPIPE is ignored: {status}"
        );
        let ids = text
            .lines()
            .find_map(|l| l.strip_prefix("pgid="))
            .expect("pgid line");
        let (pgid, pid) = ids.split_once(" pid=").expect("pid");
        assert_eq!(pgid, pid, "not its own process group: {text}");
        assert_ne!(
            pgid.parse::<i32>().ok(),
            Some(nix::unistd::getpgrp().as_raw()),
            "{text}"
        );
    }

    #[test]
    fn a_helper_that_cannot_start_is_an_error_naming_it_and_the_environment_is_clean() {
        let host = Root::new("/");
        let dir = tempfile::tempdir().expect("tempdir");
        let plain = dir.path().join("not-executable");
        std::fs::write(&plain, "#!/bin/sh\necho hi\n").expect("write");
        for (program, want) in [
            (plain.to_string_lossy().into_owned(), "Permission denied"),
            (format!("{}/missing", dir.path().display()), "No such file"),
        ] {
            let e = run(&host, &program, &[], Duration::from_secs(10)).expect_err("cannot run");
            let e = format!("{e:#}");
            assert!(e.contains(&program) && e.contains(want), "{e}");
        }
        let env = host.find_program("env").expect("env on the host");
        let seen = run(&host, &env, &[], Duration::from_secs(10)).expect("env runs");
        assert_eq!(
            seen.text,
            format!("LC_ALL=C\nPATH={}", TRUSTED_DIRS.join(":")),
            "the helper's whole environment"
        );
        let held = run(&host, "/bin/sh\0x", &[], Duration::from_secs(10));
        assert!(format!("{:#}", held.expect_err("a NUL")).contains("NUL"));
    }
}
