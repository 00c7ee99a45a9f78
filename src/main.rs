//! Thin: parse, run, print, and map the outcome to an exit code.
//!
//! `#![no_main]`: the C library calls [`main`] directly, without std's runtime start. That
//! start reads `/proc/self/maps` (the main thread's stack guard, for a "stack overflow"
//! message) and maps an alternate signal stack: 0.2 ms of CPU of every run here, a seventh
//! of `--version`. What of it nodeprep relies on is done in [`main`]: the standard
//! descriptors opened when closed, SIGPIPE ignored, and standard output flushed at exit
//! (`std::process::exit`). std's arguments come from the C library's start either way
//! (glibc hands them to std's `.init_array` hook).
#![no_main]

use std::io::{IsTerminal, Write};

use clap::Parser;
use clap::error::ErrorKind;

use nix::libc;
use nodeprep::cli::{Cli, Command};
use nodeprep::config::{Config, Surroundings};
use nodeprep::exit::{self, Exit};

#[unsafe(no_mangle)]
extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    start_as_std_does();
    std::process::exit(run().code().into())
}

/// What of std's runtime start nodeprep needs. A closed 0, 1 or 2 is opened on /dev/null,
/// so that no file nodeprep opens can take its number (the report written into a file
/// being replaced, a config read from one); SIGPIPE is ignored, so that a closed pipe is
/// an error nodeprep handles (`nodeprep check | head`), not a silent death.
fn start_as_std_does() {
    for fd in 0..3 {
        // SAFETY: fcntl(2) and open(2) on numbers and a static C string, before anything
        // else runs; open takes the lowest free number, the closed one.
        unsafe {
            if libc::fcntl(fd, libc::F_GETFD) == -1
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF)
                && libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) != fd
            {
                libc::abort();
            }
        }
    }
    // SAFETY: signal(2) with SIG_IGN, no handler.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

fn run() -> Exit {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Err(e) = nodeprep::signals::install() {
        say(format_args!("cannot install the signal handlers: {e}"));
        return Exit::CouldNotRun;
    }
    // Ansible runs a binary module with one argument, its parameter file: answered in JSON
    if let Some(params) = nodeprep::ansible::invocation(&args[1..]) {
        let answer = nodeprep::ansible::answer(&params);
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", answer.json).and_then(|_| out.flush());
        return answer.exit;
    }
    // a plain `check` starts its helpers now, before clap's first parse (src/early.rs)
    let root_env = std::env::var_os("NODEPREP_ROOT");
    let early = nodeprep::early::guess(&args[1..], root_env.as_deref())
        .and_then(nodeprep::probe::Early::start);
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Exit::Ready,
                _ => Exit::Usage,
            };
        }
    };
    if let Command::Completion(c) = &cli.command {
        let mut out = std::io::stdout().lock();
        let _ = out
            .write_all(nodeprep::docs::completion(c.shell.shell()).as_bytes())
            .and_then(|_| out.flush());
        return Exit::Ready;
    }
    let env = Surroundings {
        no_color_env: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        term_dumb: std::env::var_os("TERM").is_some_and(|t| t == "dumb"),
        stdout_tty: std::io::stdout().is_terminal(),
        stderr_tty: std::io::stderr().is_terminal(),
    };
    let mut cfg = match Config::from_cli(cli, env) {
        Ok(cfg) => cfg,
        Err(e) => return usage_error(&e.0),
    };
    if cfg.config_from_stdin() {
        let mut stdin = std::io::stdin();
        if stdin.is_terminal() {
            return usage_error(
                "--kube-proxy-config -: standard input is a terminal; pipe the configuration in (kubectl -n kube-system get cm kube-proxy -o yaml | nodeprep --kube-proxy-config - check)",
            );
        }
        let mut text = String::new();
        if let Err(e) = std::io::Read::read_to_string(&mut stdin, &mut text) {
            return usage_error(&format!(
                "--kube-proxy-config -: cannot read standard input: {e}"
            ));
        }
        cfg.kube_proxy_config_text = Some(text);
    }
    match nodeprep::run::run(&cfg, early) {
        Ok((report, status)) => {
            let mut out = std::io::stdout().lock();
            match out.write_all(report.as_bytes()).and_then(|_| out.flush()) {
                Ok(()) => status,
                // a closed pipe (`nodeprep check | head`) is not an error
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => status,
                Err(e) => {
                    say(format_args!(
                        "cannot write the report to standard output: {e}"
                    ));
                    Exit::CouldNotRun
                }
            }
        }
        Err(e) => match exit::for_error(&e) {
            Exit::Usage => usage_error(&format!("{e:#}")),
            code => {
                say(format_args!("{e:#}"));
                code
            }
        },
    }
}

/// One line on stderr; a stderr that cannot be written is not a reason to panic.
fn say(msg: std::fmt::Arguments) {
    let _ = writeln!(std::io::stderr(), "nodeprep: {msg}");
}

/// A usage error in clap's style, as for a bad option: `error: …`, the usage line, exit 64.
fn usage_error(msg: &str) -> Exit {
    use clap::CommandFactory;
    let _ = Cli::command()
        .error(ErrorKind::ValueValidation, msg)
        .print();
    Exit::Usage
}
