//! Starting one helper process: the only place nodeprep makes a child.
//!
//! A helper of a root other than `/` must run chrooted into it, which `posix_spawn(3)` cannot
//! do, and std's `Command` with a `pre_exec` hook falls back to `fork(2)`: a copy of
//! nodeprep's page tables for every helper, then copy-on-write faults until the `exec`
//! (`bench/run`: 0.89× check's time without them). So this does what glibc's `posix_spawn`
//! does, plus the chroot: `clone(CLONE_VM | CLONE_VFORK)`, the child on a small stack of its
//! own (mapped once, with a guard page), the parent suspended until the child has exec'd or
//! exited. The child shares nodeprep's memory, so it runs only [`child_main`]: system calls
//! on values the parent made before the clone, no allocation, no lock, no unwinding.
//!
//! The child, in order: every signal handler nodeprep installed back to the default (and
//! SIGPIPE, which std ignores, too), the signal mask emptied (as std's `Command` does), its
//! own process group, the three pipes as stdin/stdout/stderr, the chroot and `chdir("/")`,
//! `execve`. A step that fails writes its errno to a close-on-exec pipe and exits 127;
//! the parent reads that pipe (end of file: the exec happened) and reports the errno as the
//! spawn's error, as std does.
//!
//! The helper inherits its three pipes and nothing else. Every descriptor nodeprep opens is
//! close-on-exec (std's default); one it was started with may not be, and a directory
//! descriptor from outside the root would let a chrooted helper `fchdir` out of it. So each
//! spawn first marks every descriptor above 2 close-on-exec ([`close_inherited`]).

use std::ffi::{CString, c_char, c_int, c_void};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::ptr;

use nix::fcntl::OFlag;
use nix::libc;
use nix::sys::signal::{SigSet, SigmaskHow, pthread_sigmask};

/// The child's stack: it runs a few system calls, nothing else (glibc's spawn uses 36 KiB).
const STACK: usize = 64 * 1024;
const GUARD: usize = 4096;

/// One stack for every child, mapped once (pages are touched only as used, not zeroed by
/// hand) with a guard page below it, so that an overflow faults instead of writing into
/// nodeprep's heap. The lock is held across each clone: one child uses it at a time.
static CHILD_STACK: std::sync::Mutex<Option<Stack>> = std::sync::Mutex::new(None);

struct Stack(std::ptr::NonNull<c_void>);

// SAFETY: the mapping is only a block of memory; CHILD_STACK's lock serialises its use.
unsafe impl Send for Stack {}

impl Stack {
    fn map() -> io::Result<Stack> {
        use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, mprotect};
        let size = std::num::NonZeroUsize::new(GUARD + STACK).expect("not zero");
        // SAFETY: a new private anonymous mapping, not aliased; its lowest page made
        // inaccessible.
        unsafe {
            let base = mmap_anonymous(
                None,
                size,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_PRIVATE | MapFlags::MAP_STACK,
            )?;
            mprotect(base, GUARD, ProtFlags::PROT_NONE)?;
            Ok(Stack(base))
        }
    }
    /// The top (stacks grow down), 16-byte aligned as the ABI wants.
    fn top(&self) -> *mut c_void {
        ((self.0.as_ptr() as usize + GUARD + STACK) & !15) as *mut c_void
    }
}

/// What to run: everything as C strings, made before the clone.
pub struct Spec {
    chroot: Option<CString>,
    program: CString,
    argv: Vec<CString>,
    env: Vec<CString>,
}

impl Spec {
    /// `program` (an absolute path, as seen inside `chroot` when there is one) with `args`;
    /// `env` is the whole environment (`NAME=value`). Fails on a NUL byte in any of them.
    pub fn new(
        chroot: Option<&std::path::Path>,
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> io::Result<Spec> {
        use std::os::unix::ffi::OsStrExt;
        let c = |s: &[u8]| {
            CString::new(s).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{:?} holds a NUL byte", String::from_utf8_lossy(s)),
                )
            })
        };
        Ok(Spec {
            chroot: chroot.map(|d| c(d.as_os_str().as_bytes())).transpose()?,
            program: c(program.as_bytes())?,
            argv: std::iter::once(program)
                .chain(args.iter().copied())
                .map(|a| c(a.as_bytes()))
                .collect::<io::Result<_>>()?,
            env: env
                .iter()
                .map(|(k, v)| c(format!("{k}={v}").as_bytes()))
                .collect::<io::Result<_>>()?,
        })
    }
}

/// A started helper: its pid (also its process group) and the read ends of its output.
pub struct Child {
    pub pid: i32,
    pub stdout: File,
    pub stderr: File,
}

/// What the child needs, all made by the parent; the parent's stack holds it during the
/// clone, and is not touched until the child has exec'd or exited.
struct Args {
    chroot: *const c_char,
    program: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    stdio: [RawFd; 3],
    report: RawFd,
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(io::Error::from)
}

/// Starts `spec` with an empty stdin and piped stdout and stderr, in a process group of its
/// own; returns once it has exec'd, or with the error that stopped it.
pub fn spawn(spec: &Spec) -> io::Result<Child> {
    close_inherited();
    let (stdin_r, stdin_w) = pipe()?;
    let (stdout_r, stdout_w) = pipe()?;
    let (stderr_r, stderr_w) = pipe()?;
    let (report_r, report_w) = pipe()?;
    let nul_ended = |v: &[CString]| -> Vec<*const c_char> {
        v.iter()
            .map(|s| s.as_ptr())
            .chain(std::iter::once(ptr::null()))
            .collect()
    };
    let argv = nul_ended(&spec.argv);
    let envp = nul_ended(&spec.env);
    let args = Args {
        chroot: spec.chroot.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
        program: spec.program.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        stdio: [
            stdin_r.as_raw_fd(),
            stdout_w.as_raw_fd(),
            stderr_w.as_raw_fd(),
        ],
        report: report_w.as_raw_fd(),
    };
    let mut stack = CHILD_STACK.lock().unwrap_or_else(|e| e.into_inner());
    if stack.is_none() {
        *stack = Some(Stack::map()?);
    }
    let top = stack.as_ref().map_or(ptr::null_mut(), Stack::top);

    // No handler of nodeprep's may run in the child before it has reset them: every signal
    // is blocked around the clone (a signal for the process goes to another thread, or
    // waits), and the child resets the handlers before it unblocks.
    let mut old = SigSet::empty();
    pthread_sigmask(
        SigmaskHow::SIG_SETMASK,
        Some(&SigSet::all()),
        Some(&mut old),
    )
    .map_err(io::Error::from)?;
    // SAFETY: `child_main` only makes system calls on `args`, which with `argv`, `envp`,
    // `spec` and the stack (locked) outlives the child's use of them: CLONE_VFORK suspends
    // this thread until the child has exec'd or exited. The child gets a copy of the descriptor table
    // and of the signal handlers (no CLONE_FILES, no CLONE_SIGHAND), so what it changes
    // there is its own; the memory it shares it only reads, and it writes only its stack.
    let pid = unsafe {
        libc::clone(
            child_main,
            top,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            &args as *const Args as *mut c_void,
        )
    };
    let clone_error = io::Error::last_os_error();
    let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    drop(stack);
    drop((stdin_r, stdin_w, stdout_w, stderr_w, report_w));
    if pid < 0 {
        return Err(clone_error);
    }
    // end of file: the report pipe was closed by the exec; four bytes: the child's errno
    let mut errno = [0u8; 4];
    let mut got = 0;
    let mut report = File::from(report_r);
    while got < errno.len() {
        match report.read(&mut errno[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                let _ = wait(pid);
                return Err(e);
            }
        }
    }
    if got > 0 {
        // the child exits at once after its report
        let _ = wait(pid);
        return Err(io::Error::from_raw_os_error(i32::from_ne_bytes(errno)));
    }
    Ok(Child {
        pid,
        stdout: File::from(stdout_r),
        stderr: File::from(stderr_r),
    })
}

/// Marks every descriptor above 2 close-on-exec: one `close_range(2)` (Linux 5.11+), else
/// [`mark_listed`]. Nodeprep's own are close-on-exec already.
fn close_inherited() {
    // SAFETY: close_range(2) changes only descriptor flags.
    let marked = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if marked != 0 {
        mark_listed();
    }
}

/// [`close_inherited`] without `close_range`: each descriptor above 2 that `/proc/self/fd`
/// lists.
fn mark_listed() {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<RawFd> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd > 2)
        .collect();
    for fd in fds {
        // SAFETY: fcntl(2) on a number: at worst EBADF (the listing's own descriptor)
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 && flags & libc::FD_CLOEXEC == 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}

/// The child: see the module's text. Never returns.
extern "C" fn child_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the parent's `Args`, alive (the parent is suspended); every call is
    // a plain system call wrapper, async-signal-safe, on pointers the parent made.
    unsafe {
        let a = &*(arg as *const Args);
        if reset_signals() && set_up(a) {
            libc::execve(a.program, a.argv, a.envp);
        }
        let errno = (*libc::__errno_location()).to_ne_bytes();
        libc::write(a.report, errno.as_ptr().cast(), errno.len());
        libc::_exit(127)
    }
}

/// Every handled signal (and SIGPIPE) back to its default action, then no signal blocked.
unsafe fn reset_signals() -> bool {
    // SAFETY: sigaction(2) and sigprocmask(2) on structures of this stack frame.
    unsafe {
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        for sig in 1..65 {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            let mut now: libc::sigaction = std::mem::zeroed();
            // a number the C library keeps for itself is refused: nothing to reset there
            if libc::sigaction(sig, ptr::null(), &mut now) != 0 {
                continue;
            }
            let handled = now.sa_sigaction != libc::SIG_DFL && now.sa_sigaction != libc::SIG_IGN;
            if (handled || sig == libc::SIGPIPE) && libc::sigaction(sig, &dfl, ptr::null_mut()) != 0
            {
                return false;
            }
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, ptr::null_mut()) == 0
    }
}

/// Its own process group, the pipes as 0, 1 and 2, the chroot.
unsafe fn set_up(a: &Args) -> bool {
    // SAFETY: system calls on descriptors and C strings the parent made.
    unsafe {
        if libc::setpgid(0, 0) != 0 {
            return false;
        }
        for (target, fd) in (0..).zip(a.stdio) {
            // dup2 of a descriptor onto itself would keep its close-on-exec flag
            let ok = if fd == target {
                libc::fcntl(fd, libc::F_SETFD, 0) == 0
            } else {
                libc::dup2(fd, target) == target
            };
            if !ok {
                return false;
            }
        }
        a.chroot.is_null() || (libc::chroot(a.chroot) == 0 && libc::chdir(c"/".as_ptr()) == 0)
    }
}

/// Waits for `pid` to exit and reaps it.
pub fn wait(pid: i32) -> io::Result<ExitStatus> {
    loop {
        if let Some(status) = reap(pid, 0)? {
            return Ok(status);
        }
    }
}

/// Reaps `pid` if it has exited; None if it has not.
pub fn try_wait(pid: i32) -> io::Result<Option<ExitStatus>> {
    reap(pid, libc::WNOHANG)
}

fn reap(pid: i32, flags: c_int) -> io::Result<Option<ExitStatus>> {
    loop {
        let mut status: c_int = 0;
        // SAFETY: waitpid(2) on a child of this process, into a local.
        match unsafe { libc::waitpid(pid, &mut status, flags) } {
            0 => return Ok(None),
            p if p == pid => return Ok(Some(ExitStatus::from_raw(status))),
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;

    /// The fallback for kernels before 5.11 (this one has `close_range`, so spawns never
    /// take it): a descriptor without close-on-exec is marked. (A spawn by a test running
    /// beside this one marks it too, through `close_range`; the flag is cleared right before
    /// the call, so only a spawn in between could hide a fallback that marks nothing.)
    #[test]
    fn descriptors_listed_in_proc_are_marked_close_on_exec() {
        use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl, open};
        let fd = open("/", OFlag::O_RDONLY, nix::sys::stat::Mode::empty()).expect("open /");
        let flags = |fd| FdFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFD).expect("flags"));
        fcntl(&fd, FcntlArg::F_SETFD(FdFlag::empty())).expect("clear");
        super::mark_listed();
        assert!(
            flags(&fd).contains(FdFlag::FD_CLOEXEC),
            "fd {} was not marked",
            fd.as_raw_fd()
        );
    }
}
