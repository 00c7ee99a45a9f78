//! A whole run of the command line: the Ansible module's answer, clap's parse, the
//! configuration, the run, the report printed once and the exit status chosen once.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};

use clap::Parser;
use clap::error::ErrorKind;

use crate::cli::{Cli, Command};
use crate::config::{Config, Surroundings};
use crate::exit::{self, Exit};
use crate::system::is_trampoline;

pub fn main(args: Vec<OsString>) -> Exit {
    // nodeprep started again to run a helper of another root (see `system`)
    if args.get(1).is_some_and(|a| is_trampoline(a)) {
        return match crate::system::trampoline(&args) {
            0 => Exit::Ready,
            _ => Exit::Exec,
        };
    }
    // nodeprep started again for check --probe's scratch nftables table (see `probe::nftprobe`)
    if args
        .get(1)
        .is_some_and(|a| a == crate::probe::nftprobe::INTERNAL)
    {
        return match crate::probe::nftprobe::inside(&args) {
            0 => Exit::Ready,
            _ => Exit::NotReady,
        };
    }
    // without /proc (a bare chroot), the trampoline is this binary by the path it was run as
    if !std::path::Path::new("/proc/self/exe").exists()
        && let Some(me) = args
            .first()
            .filter(|a| a.as_encoded_bytes().contains(&b'/'))
    {
        crate::system::set_trampoline(me);
    }
    if let Err(e) = crate::signals::install() {
        say(format_args!("cannot install the signal handlers: {e}"));
        return Exit::CouldNotRun;
    }
    // Ansible runs a binary module with one argument, its parameter file: answered in JSON
    if let Some(params) = crate::ansible::invocation(&args[1..]) {
        let answer = crate::ansible::answer(&params);
        crate::signals::exit_if_signalled();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", answer.json).and_then(|_| out.flush());
        return answer.exit;
    }
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
            .write_all(crate::docs::completion(c.shell.shell()).as_bytes())
            .and_then(|_| out.flush());
        return Exit::Ready;
    }
    let env = Surroundings {
        stdout_tty: std::io::stdout().is_terminal(),
        stderr_tty: std::io::stderr().is_terminal(),
        ..Surroundings::from_env()
    };
    let mut cfg = match Config::from_cli(cli, env) {
        Ok(cfg) => cfg,
        Err(e) => return usage_error(&e.0),
    };
    if cfg.config_from_stdin() {
        match config_from_stdin() {
            Ok(text) => cfg.kube_proxy_config_text = Some(text),
            Err(exit) => return exit,
        }
    }
    if let crate::config::Mode::Watch { .. } = cfg.mode {
        return watch(&cfg);
    }
    let ran = crate::run::run(&cfg);
    // a signal that came meanwhile killed the helpers: their answers are not reported
    crate::signals::exit_if_signalled();
    match ran {
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

/// `--kube-proxy-config -`: standard input, as capped as a file; a usage error otherwise.
fn config_from_stdin() -> Result<String, Exit> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(usage_error(
            "--kube-proxy-config -: standard input is a terminal; pipe the configuration in (kubectl -n kube-system get cm kube-proxy -o yaml | nodeprep --kube-proxy-config - check)",
        ));
    }
    let limit = crate::probe::kubeconfig::CONFIG_LIMIT;
    let bytes = match crate::root::read_capped(stdin, limit) {
        Ok(b) if b.len() as u64 > limit => {
            return Err(usage_error(&format!(
                "--kube-proxy-config -: standard input holds more than {limit} bytes; that is not a KubeProxyConfiguration"
            )));
        }
        Ok(b) => b,
        Err(e) => {
            return Err(usage_error(&format!(
                "--kube-proxy-config -: cannot read standard input: {e}"
            )));
        }
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return Err(usage_error(
            "--kube-proxy-config -: standard input is not UTF-8 text; expected a YAML KubeProxyConfiguration",
        ));
    };
    Ok(text)
}

/// `nodeprep watch` until its count or a signal; an error that stops it is said once.
fn watch(cfg: &Config) -> Exit {
    let watched = crate::watch::run(cfg);
    crate::signals::exit_if_signalled();
    match watched {
        Ok(exit) => exit,
        Err(e) => {
            say(format_args!("{e:#}"));
            exit::for_error(&e)
        }
    }
}
