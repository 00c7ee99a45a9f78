//! Starting one helper process: the only place nodeprep makes a child.
//!
//! A helper of a root other than `/` must run chrooted into it, which `posix_spawn(3)` cannot
//! do, and std's `Command` with a `pre_exec` hook falls back to `fork(2)`: a copy of
//! nodeprep's page tables for every helper, then copy-on-write faults until the `exec`
//! (`bench/run`: 0.89× check's time without them). So this does what glibc's `posix_spawn`
//! does, plus the chroot: `clone(CLONE_VM)`, the child on a small stack of its own (with a
//! guard page), sharing nodeprep's memory until it has exec'd. It runs only [`child_main`]:
//! system calls on values the parent made before the clone, no allocation, no lock, no
//! unwinding.
//!
//! On x86_64 the parent is not suspended meanwhile (no `CLONE_VFORK`): it starts the next
//! helper while this one execs (a `clone(CLONE_VFORK)` waits there 0.2-1 ms on a busy
//! machine: the child queues behind the helpers already running; check 0.9×). The child
//! then runs beside its parent in the same memory, so it makes every system call itself
//! ([`sys`]: no C library, no `errno`, which is the parent's thread's), on its own stack,
//! and everything it reads (the C strings, the argument vectors, [`Args`]) is kept, untouched,
//! in [`Launch`] until it has exec'd. Elsewhere it is the C library's calls under
//! `CLONE_VFORK`, which suspends the parent until then.
//!
//! The child, in order: every signal handler nodeprep installed back to the default (and
//! SIGPIPE, which nodeprep ignores, too: the parent asks which once for a batch,
//! [`signals_to_reset`], so a child makes four calls there, not sixty-two), the signal mask
//! emptied (as std's `Command` does),
//! its own process group, the three pipes as stdin/stdout/stderr, the chroot and
//! `chdir("/")`, `execve`. A step that fails writes its errno to a close-on-exec pipe and
//! exits 127; the parent reads that pipe in [`Starting::started`] (end of file: the exec
//! happened) and reports the errno as the spawn's error, as std does.
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

/// Stacks of children that have exec'd, for the next ones (pages are touched only as used,
/// never zeroed by hand); each has a guard page below it, so that an overflow faults
/// instead of writing into nodeprep's heap.
static FREE_STACKS: std::sync::Mutex<Vec<Stack>> = std::sync::Mutex::new(Vec::new());

struct Stack(std::ptr::NonNull<c_void>);

// SAFETY: the mapping is only a block of memory, used by one child at a time.
unsafe impl Send for Stack {}

impl Stack {
    /// A free stack, or a new mapping.
    fn take() -> io::Result<Stack> {
        let free = FREE_STACKS.lock().unwrap_or_else(|e| e.into_inner()).pop();
        free.map_or_else(Stack::map, Ok)
    }
    /// Back to the free list: only once its child has exec'd or exited.
    fn give_back(self) {
        FREE_STACKS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(self);
    }
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
    /// The signals the child sets back to their default action ([`signals_to_reset`]).
    reset: Option<u64>,
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
            reset: None,
        })
    }

    /// The signals to reset in the child, as [`signals_to_reset`] gave them for a batch of
    /// spawns (no handler is installed or removed in between); asked at the spawn otherwise.
    pub fn resetting(mut self, signals: u64) -> Spec {
        self.reset = Some(signals);
        self
    }
}

/// The signals a child must set back to their default action before it may receive one:
/// each that has a handler of nodeprep's (it would run in the child, in memory the child
/// shares), and SIGPIPE, which nodeprep ignores (as std's `Command` does). Bit `n - 1` is
/// signal `n`. Asked in the parent, once for a batch, rather than by every child.
pub fn signals_to_reset() -> u64 {
    let mut reset = 1u64 << (libc::SIGPIPE - 1);
    for sig in 1..65 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: a query of the disposition into a local
        if unsafe { sys::handled(sig) } == Some(true) {
            reset |= 1 << (sig - 1);
        }
    }
    reset
}

/// A started helper: its pid (also its process group, once it has set it) and the read
/// ends of its output; [`Starting::started`] tells whether it exec'd.
pub struct Child {
    pub pid: i32,
    pub stdout: File,
    pub stderr: File,
    pub starting: Starting,
}

/// A child until it has exec'd or exited (dropped before: waits for that).
pub struct Starting {
    pid: i32,
    launch: Option<Launch>,
}

/// What a child reads until it has exec'd or exited, and the pipe that says which.
struct Launch {
    report: File,
    stack: Option<Stack>,
    _args: Box<Args>,
    _argv: Vec<*const c_char>,
    _envp: Vec<*const c_char>,
    _spec: Spec,
}

// SAFETY: the raw pointers point into what the Launch itself owns (`_args`, `_argv`,
// `_envp`, `_spec`); nothing here is used through them but by the child.
unsafe impl Send for Launch {}

impl Launch {
    /// The child's report: None at its end (the exec closed it), or the errno the child
    /// wrote before it exits. Only at the end is the child done with the memory kept here.
    fn wait_report(&mut self) -> io::Result<Option<i32>> {
        let mut errno = [0u8; 4];
        let mut got = 0;
        while got < errno.len() {
            match self.report.read(&mut errno[got..]) {
                Ok(0) => return Ok(None),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Some(i32::from_ne_bytes(errno)))
    }
}

impl Drop for Launch {
    fn drop(&mut self) {
        // a child whose report has not ended may still be on its stack: wait for the end
        // (a failed read leaves the stack mapped, never reused); a report seen to its end
        // has given the stack back already
        if let Some(stack) = self.stack.take()
            && matches!(self.wait_report(), Ok(None))
        {
            stack.give_back();
        }
    }
}

impl Starting {
    /// Waits until the child has exec'd; the error that stopped it otherwise. The child has
    /// exited then (or been killed), and is left for the caller to reap.
    pub fn started(&mut self) -> io::Result<()> {
        let Some(mut launch) = self.launch.take() else {
            return Ok(());
        };
        match launch.wait_report() {
            Ok(None) => {
                if let Some(stack) = launch.stack.take() {
                    stack.give_back();
                }
                Ok(())
            }
            // dropping the launch waits for the child's exit (the end of its report)
            Ok(Some(errno)) => Err(io::Error::from_raw_os_error(errno)),
            Err(e) => {
                // the child's state is unknown: keep its memory, and end it
                std::mem::forget(launch);
                crate::signals::kill_group(self.pid);
                Err(e)
            }
        }
    }
}

/// What the child needs, all made by the parent and kept in [`Launch`] until the child has
/// exec'd or exited.
struct Args {
    chroot: *const c_char,
    program: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    stdio: [RawFd; 3],
    report: RawFd,
    reset: u64,
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(io::Error::from)
}

/// `CLONE_VFORK` where the child cannot make its own system calls ([`sys`]).
#[cfg(target_arch = "x86_64")]
const CLONE_FLAGS: c_int = libc::CLONE_VM | libc::SIGCHLD;
#[cfg(not(target_arch = "x86_64"))]
const CLONE_FLAGS: c_int = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;

/// Starts `spec` with an empty stdin and piped stdout and stderr, in a process group of its
/// own. It may not have exec'd yet: [`Starting::started`] says whether it did.
pub fn spawn(spec: Spec) -> io::Result<Child> {
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
    let args = Box::new(Args {
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
        reset: spec.reset.unwrap_or_else(signals_to_reset),
    });
    let stack = Stack::take()?;

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
    // `spec` and the stack goes into the `Launch` below and stays there, unchanged, until
    // the child has exec'd or exited (its report pipe says which). The child gets a copy of
    // the descriptor table and of the signal handlers (no CLONE_FILES, no CLONE_SIGHAND), so
    // what it changes there is its own; the memory it shares it only reads, and it writes
    // only its stack (on x86_64 not even `errno`: see `sys`).
    let pid = unsafe {
        libc::clone(
            child_main,
            stack.top(),
            CLONE_FLAGS,
            &*args as *const Args as *mut c_void,
        )
    };
    let clone_error = io::Error::last_os_error();
    let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    // the child has its own copies of these
    drop((stdin_r, stdin_w, stdout_w, stderr_w, report_w));
    if pid < 0 {
        stack.give_back();
        return Err(clone_error);
    }
    Ok(Child {
        pid,
        stdout: File::from(stdout_r),
        stderr: File::from(stderr_r),
        starting: Starting {
            pid,
            launch: Some(Launch {
                report: File::from(report_r),
                stack: Some(stack),
                _args: args,
                _argv: argv,
                _envp: envp,
                _spec: spec,
            }),
        },
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

/// The child's system calls. On x86_64 each is the `syscall` instruction itself: the child
/// runs beside its parent in the same memory, and the C library's wrappers would write the
/// parent's thread's `errno` (and may read its thread data). Elsewhere the child runs under
/// `CLONE_VFORK` (the parent suspended) and the C library's wrappers are used. Each gives
/// Err(errno) on failure.
mod sys {
    use super::libc;
    use std::ffi::{c_char, c_int};

    /// The kernel's `struct sigaction` for rt_sigaction(2) (not the C library's).
    #[cfg(target_arch = "x86_64")]
    #[repr(C)]
    pub struct KernelSigaction {
        pub handler: usize,
        pub flags: u64,
        pub restorer: usize,
        pub mask: u64,
    }

    #[cfg(target_arch = "x86_64")]
    impl KernelSigaction {
        fn of(handler: usize) -> KernelSigaction {
            KernelSigaction {
                handler,
                flags: 0,
                restorer: 0,
                mask: 0,
            }
        }
    }

    /// rt_sigaction(2), with the kernel's sigset size.
    #[cfg(target_arch = "x86_64")]
    unsafe fn rt_sigaction(
        sig: c_int,
        act: *const KernelSigaction,
        old: *mut KernelSigaction,
    ) -> Result<usize, c_int> {
        // SAFETY: the caller's structures (or null)
        unsafe {
            call(
                libc::SYS_rt_sigaction,
                sig as usize,
                act as usize,
                old as usize,
                8,
            )
        }
    }

    #[cfg(target_arch = "x86_64")]
    unsafe fn call(
        nr: libc::c_long,
        a: usize,
        b: usize,
        c: usize,
        d: usize,
    ) -> Result<usize, c_int> {
        let ret: isize;
        // SAFETY: the caller passes a valid system call and arguments; `syscall` clobbers
        // rcx and r11 only.
        unsafe {
            std::arch::asm!(
                "syscall",
                inlateout("rax") nr as isize => ret,
                in("rdi") a,
                in("rsi") b,
                in("rdx") c,
                in("r10") d,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        if (-4095..0).contains(&ret) {
            Err(-ret as c_int)
        } else {
            Ok(ret as usize)
        }
    }

    /// A C library wrapper's result: -1 means `errno`.
    #[cfg(not(target_arch = "x86_64"))]
    fn checked(r: c_int) -> Result<usize, c_int> {
        if r == -1 {
            // SAFETY: the calling thread's errno (the parent is suspended: CLONE_VFORK)
            Err(unsafe { *libc::__errno_location() })
        } else {
            Ok(r as usize)
        }
    }

    /// Whether `sig` has a handler (not SIG_DFL, not SIG_IGN); None: not a signal to ask.
    pub unsafe fn handled(sig: c_int) -> Option<bool> {
        #[cfg(target_arch = "x86_64")]
        {
            let mut now = KernelSigaction::of(0);
            // SAFETY: into a local
            unsafe { rt_sigaction(sig, std::ptr::null(), &mut now) }.ok()?;
            Some(now.handler != libc::SIG_DFL && now.handler != libc::SIG_IGN)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            // SAFETY: sigaction(3) into a local; a number the C library keeps is refused
            unsafe {
                let mut now: libc::sigaction = std::mem::zeroed();
                checked(libc::sigaction(sig, std::ptr::null(), &mut now)).ok()?;
                Some(now.sa_sigaction != libc::SIG_DFL && now.sa_sigaction != libc::SIG_IGN)
            }
        }
    }

    /// `sig` back to its default action.
    pub unsafe fn default_action(sig: c_int) -> Result<usize, c_int> {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: from a local
        unsafe {
            rt_sigaction(
                sig,
                &KernelSigaction::of(libc::SIG_DFL),
                std::ptr::null_mut(),
            )
        }
        #[cfg(not(target_arch = "x86_64"))]
        // SAFETY: sigaction(3) from a local
        unsafe {
            let mut dfl: libc::sigaction = std::mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            checked(libc::sigaction(sig, &dfl, std::ptr::null_mut()))
        }
    }

    /// No signal blocked.
    pub unsafe fn unblock_all() -> Result<usize, c_int> {
        #[cfg(target_arch = "x86_64")]
        {
            let none: u64 = 0;
            // SAFETY: rt_sigprocmask(2) from a local
            unsafe {
                call(
                    libc::SYS_rt_sigprocmask,
                    libc::SIG_SETMASK as usize,
                    &none as *const u64 as usize,
                    0,
                    8,
                )
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        // SAFETY: sigprocmask(2) from a local
        unsafe {
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            checked(libc::sigprocmask(
                libc::SIG_SETMASK,
                &none,
                std::ptr::null_mut(),
            ))
        }
    }

    /// Generates the plain ones: each the system call on x86_64, the wrapper elsewhere.
    macro_rules! plain {
        ($($name:ident($($arg:ident: $t:ty),*) = $nr:ident;)*) => {$(
            pub unsafe fn $name($($arg: $t),*) -> Result<usize, c_int> {
                #[cfg(target_arch = "x86_64")]
                {
                    let a = [$($arg as usize,)* 0, 0, 0, 0];
                    // SAFETY: the caller's arguments, as the system call takes them
                    unsafe { call(libc::$nr, a[0], a[1], a[2], a[3]) }
                }
                #[cfg(not(target_arch = "x86_64"))]
                // SAFETY: the caller's arguments, as the wrapper takes them
                unsafe { checked(libc::$name($($arg),*) as c_int) }
            }
        )*};
    }
    plain! {
        setpgid(pid: c_int, pgid: c_int) = SYS_setpgid;
        dup2(from: c_int, to: c_int) = SYS_dup2;
        fcntl(fd: c_int, cmd: c_int, arg: c_int) = SYS_fcntl;
        chroot(dir: *const c_char) = SYS_chroot;
        chdir(dir: *const c_char) = SYS_chdir;
        execve(p: *const c_char, argv: *const *const c_char, envp: *const *const c_char) = SYS_execve;
        write(fd: c_int, buf: *const std::ffi::c_void, n: usize) = SYS_write;
    }

    pub unsafe fn exit(code: c_int) -> ! {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: exit_group(2) does not return
        unsafe {
            let _ = call(libc::SYS_exit_group, code as usize, 0, 0, 0);
            std::hint::unreachable_unchecked()
        }
        #[cfg(not(target_arch = "x86_64"))]
        // SAFETY: _exit(2)
        unsafe {
            libc::_exit(code)
        }
    }
}

/// The child: see the module's text. Never returns.
extern "C" fn child_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the parent's `Args`, kept alive and unchanged until this child has
    // exec'd or exited; every call is a system call on values the parent made.
    unsafe {
        let a = &*(arg as *const Args);
        let failed = match reset_signals(a.reset).and_then(|_| set_up(a)) {
            Ok(()) => match sys::execve(a.program, a.argv, a.envp) {
                Ok(_) => 0,
                Err(errno) => errno,
            },
            Err(errno) => errno,
        };
        let errno = failed.to_ne_bytes();
        let _ = sys::write(a.report, errno.as_ptr().cast(), errno.len());
        sys::exit(127)
    }
}

/// The signals of `reset` ([`signals_to_reset`]) back to their default action, then no
/// signal blocked.
unsafe fn reset_signals(reset: u64) -> Result<(), c_int> {
    // SAFETY: system calls on structures of this stack frame.
    unsafe {
        for sig in 1..65 {
            // SIGKILL and SIGSTOP have no action to set (and are never in the set asked)
            if sig != libc::SIGKILL && sig != libc::SIGSTOP && reset & (1 << (sig - 1)) != 0 {
                sys::default_action(sig)?;
            }
        }
        sys::unblock_all().map(|_| ())
    }
}

/// Its own process group, the pipes as 0, 1 and 2, the chroot.
unsafe fn set_up(a: &Args) -> Result<(), c_int> {
    // SAFETY: system calls on descriptors and C strings the parent made.
    unsafe {
        sys::setpgid(0, 0)?;
        for (target, fd) in (0..).zip(a.stdio) {
            // dup2 of a descriptor onto itself would keep its close-on-exec flag
            if fd == target {
                sys::fcntl(fd, libc::F_SETFD, 0)?;
            } else {
                sys::dup2(fd, target)?;
            }
        }
        if !a.chroot.is_null() {
            sys::chroot(a.chroot)?;
            sys::chdir(c"/".as_ptr())?;
        }
        Ok(())
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
    use std::io::Read;
    use std::os::fd::AsRawFd;

    use nix::libc;

    fn bit(sig: libc::c_int) -> u64 {
        1 << (sig - 1)
    }

    /// A handled signal is in the set, an ignored or default one is not; SIGPIPE always is.
    #[test]
    fn the_signals_to_reset_are_the_handled_ones_and_sigpipe() {
        extern "C" fn on_usr1(_: libc::c_int) {}
        let before = super::signals_to_reset();
        assert_ne!(before & bit(libc::SIGPIPE), 0);
        assert_eq!(before & (bit(libc::SIGKILL) | bit(libc::SIGSTOP)), 0);
        // SAFETY: signal(2) on SIGUSR1, which no other test uses; back to the default after
        let with = unsafe {
            libc::signal(libc::SIGUSR1, on_usr1 as *const () as libc::sighandler_t);
            let with = super::signals_to_reset();
            libc::signal(libc::SIGUSR1, libc::SIG_DFL);
            with
        };
        assert_ne!(
            with & bit(libc::SIGUSR1),
            0,
            "a handled SIGUSR1 is not reset"
        );
        assert_eq!(before & bit(libc::SIGUSR1), 0);
        assert_eq!(super::signals_to_reset() & bit(libc::SIGUSR1), 0);
    }

    /// The child resets exactly the signals it is given: an ignored SIGUSR2 (what exec
    /// keeps) is back to the default when in the set, still ignored when not.
    #[test]
    fn a_child_resets_the_signals_it_is_given() {
        let ignored = |reset: u64| {
            let spec = super::Spec::new(None, "/bin/cat", &["/proc/self/status"], &[])
                .expect("spec")
                .resetting(reset);
            let mut child = crate::signals::spawn_helper(spec).expect("spawn");
            child.starting.started().expect("exec");
            let mut status = String::new();
            child.stdout.read_to_string(&mut status).expect("read");
            crate::signals::helper_done(child.pid);
            assert!(super::wait(child.pid).expect("wait").success());
            let line = status
                .lines()
                .find(|l| l.starts_with("SigIgn:"))
                .expect("SigIgn");
            u64::from_str_radix(line.split_whitespace().nth(1).expect("mask"), 16).expect("hex")
        };
        // SAFETY: signal(2) on SIGUSR2, which no other test uses; back to the default after
        let (reset, kept) = unsafe {
            libc::signal(libc::SIGUSR2, libc::SIG_IGN);
            let reset = ignored(bit(libc::SIGUSR2) | bit(libc::SIGPIPE));
            let kept = ignored(bit(libc::SIGPIPE));
            libc::signal(libc::SIGUSR2, libc::SIG_DFL);
            (reset, kept)
        };
        assert_eq!(
            reset & bit(libc::SIGUSR2),
            0,
            "SIGUSR2 still ignored: {reset:x}"
        );
        assert_ne!(
            kept & bit(libc::SIGUSR2),
            0,
            "SIGUSR2 reset unasked: {kept:x}"
        );
        assert_eq!((reset | kept) & bit(libc::SIGPIPE), 0);
    }

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
