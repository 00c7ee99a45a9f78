//! Running the root's own helper programs (`modprobe`, `ipset --version`, …), bounded.
//!
//! Each helper runs in its own process group with a clean environment (`PATH` = the trusted
//! directories, `LC_ALL=C`), and the whole group is killed when the helper exits (so a child it
//! left behind cannot hold the output pipe open), when it overruns its time, or when it prints
//! more than [`OUTPUT_LIMIT`] bytes. Waiting blocks on the helper's exit with a deadline; nothing
//! polls. Under a root other than `/` the helper runs chrooted into the root, as the node's own
//! program would run there: its libraries, `/lib/modules` and `modprobe.d` are the root's.

use std::ffi::{CString, OsString};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::root::{Root, TRUSTED_DIRS};
use crate::signals;

/// The hidden first argument that makes nodeprep chroot and exec a helper (see [`exec_in_root`]).
pub const EXEC_IN_ROOT: &str = "__nodeprep-exec-in-root";
/// A helper's stdout and stderr together: a version banner or an error needs a few KB.
pub const OUTPUT_LIMIT: usize = 64 * 1024;
/// How long the pipes may stay open after the helper's group is gone.
const GRACE: Duration = Duration::from_millis(200);

#[derive(Debug, Clone)]
pub struct Output {
    pub success: bool,
    pub code: Option<i32>,
    /// stdout followed by stderr, trimmed.
    pub text: String,
}

enum Msg {
    Exited(io::Result<ExitStatus>),
    Stdout(Vec<u8>, bool),
    Stderr(Vec<u8>, bool),
}

fn reader(mut r: impl Read, pgid: i32, limit: usize) -> (Vec<u8>, bool) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match r.read(&mut chunk) {
            Ok(0) => return (buf, false),
            Ok(n) if buf.len() + n > limit => {
                buf.extend_from_slice(&chunk[..limit - buf.len()]);
                signals::kill_group(pgid);
                return (buf, true);
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return (buf, false),
        }
    }
}

/// The helper's command: chrooted into the root through the trampoline (unless the root is
/// the host), a clean environment, no input, its own process group.
fn command(root: &Root, program: &str, args: &[&str]) -> Result<Command> {
    let mut cmd = if root.is_host() {
        Command::new(program)
    } else {
        if !nix::unistd::geteuid().is_root() {
            bail!(
                "cannot run {program} of {root}: a helper of another root runs chrooted into it, which needs root"
            );
        }
        let mut c = Command::new(root.trampoline());
        c.arg(EXEC_IN_ROOT).arg(root.dir()).arg(program);
        c
    };
    cmd.args(args)
        .env_clear()
        .env("PATH", TRUSTED_DIRS.join(":"))
        .env("LC_ALL", "C")
        // an empty pipe, not /dev/null: a container's root may have no /dev
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    Ok(cmd)
}

/// Runs the helper at `program` (a node path found by [`Root::find_program`]).
pub fn run(root: &Root, program: &str, args: &[&str], timeout: Duration) -> Result<Output> {
    let shown = format!("{program} {}", args.join(" "));
    let shown = shown.trim_end();
    let mut cmd = command(root, program, args)?;
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot run {}", root.show(program)))?;
    let pgid = child.id() as i32;
    signals::helper_started(pgid);
    drop(child.stdin.take());
    let (tx, rx) = mpsc::channel();
    if let Some(pipe) = child.stdout.take() {
        let tx = tx.clone();
        thread::spawn(move || {
            let (bytes, over) = reader(pipe, pgid, OUTPUT_LIMIT);
            let _ = tx.send(Msg::Stdout(bytes, over));
        });
    }
    if let Some(pipe) = child.stderr.take() {
        let tx = tx.clone();
        thread::spawn(move || {
            let (bytes, over) = reader(pipe, pgid, OUTPUT_LIMIT);
            let _ = tx.send(Msg::Stderr(bytes, over));
        });
    }
    let waiter_tx = tx.clone();
    thread::spawn(move || {
        let _ = waiter_tx.send(Msg::Exited(child.wait()));
    });
    drop(tx);

    let deadline = Instant::now() + timeout;
    let (mut status, mut stdout, mut stderr, mut overflow) = (None, None, None, false);
    let mut timed_out = false;
    let mut grace_until: Option<Instant> = None;
    while status.is_none() || stdout.is_none() || stderr.is_none() {
        let until = grace_until.unwrap_or(deadline);
        let wait = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(Msg::Exited(st)) => {
                // whatever the helper left running goes with it
                signals::kill_group(pgid);
                status = Some(st);
                grace_until.get_or_insert(Instant::now() + GRACE);
            }
            Ok(Msg::Stdout(b, o)) => {
                overflow |= o;
                stdout = Some(b);
            }
            Ok(Msg::Stderr(b, o)) => {
                overflow |= o;
                stderr = Some(b);
            }
            Err(mpsc::RecvTimeoutError::Timeout) if grace_until.is_none() => {
                timed_out = true;
                signals::kill_group(pgid);
                grace_until = Some(Instant::now() + GRACE);
            }
            Err(_) => break,
        }
    }
    signals::kill_group(pgid);
    signals::helper_done(pgid);
    if timed_out {
        bail!(
            "{shown} did not finish within {}s; it was killed with its process group",
            timeout.as_secs()
        );
    }
    if overflow {
        bail!(
            "{shown} printed more than {OUTPUT_LIMIT} bytes; it was killed with its process group"
        );
    }
    let status = match status {
        Some(st) => st.with_context(|| format!("waiting for {shown}"))?,
        None => bail!("{shown} did not exit after it was killed (stuck in the kernel?)"),
    };
    let mut bytes = stdout.unwrap_or_default();
    bytes.extend(stderr.unwrap_or_default());
    Ok(Output {
        success: status.success(),
        code: status.code(),
        text: String::from_utf8_lossy(&bytes).trim().to_string(),
    })
}

/// Runs several helpers at once; the results come back in the order asked.
pub fn run_all(
    root: &Root,
    jobs: &[(String, Vec<&str>)],
    timeout: Duration,
) -> Vec<Result<Output>> {
    thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(prog, args)| s.spawn(move || run(root, prog, args, timeout)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| bail!("a helper thread failed")))
            .collect()
    })
}

/// `nodeprep __nodeprep-exec-in-root ROOT PROGRAM ARGS…`: chroot into ROOT and exec PROGRAM,
/// so that the helper sees the root as `/`. Exits 127 when that fails.
pub fn exec_in_root(args: &[OsString]) -> u8 {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        let _ = writeln!(io::stderr(), "nodeprep: {what}: {e}");
        127
    };
    let [root, program, rest @ ..] = args else {
        return fail("internal", &"usage: ROOT PROGRAM ARGS…");
    };
    if let Err(e) = nix::unistd::chroot(root.as_os_str()).and_then(|_| nix::unistd::chdir("/")) {
        return fail(
            &format!("cannot chroot into {}", root.to_string_lossy()),
            &e,
        );
    }
    let argv: Result<Vec<CString>, _> = std::iter::once(program)
        .chain(rest)
        .map(|a| CString::new(a.as_bytes()))
        .collect();
    let argv = match argv {
        Ok(a) => a,
        Err(e) => return fail("bad argument", &e),
    };
    match nix::unistd::execv(&argv[0], &argv) {
        Ok(never) => match never {},
        Err(e) => fail(&format!("cannot run {}", program.to_string_lossy()), &e),
    }
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

    #[test]
    fn output_is_capped() {
        let (b, over) = reader(&[b'x'; 100][..], i32::MAX, 10);
        assert!(over && b.len() == 10);
        let (b, over) = reader(&b"short"[..], i32::MAX, 10);
        assert!(!over && b == b"short");
    }
}
