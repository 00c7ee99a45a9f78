//! Thin: parse, run, print, and map the outcome to an exit code.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use nodeprep::cli::{Cli, Command};
use nodeprep::config::{Config, Surroundings};
use nodeprep::exit::{self, Exit};

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Err(e) = nodeprep::signals::install() {
        say(format_args!("cannot install the signal handlers: {e}"));
        return Exit::CouldNotRun.into();
    }
    // Ansible runs a binary module with one argument, its parameter file: answered in JSON
    if let Some(params) = nodeprep::ansible::invocation(&args[1..]) {
        let answer = nodeprep::ansible::answer(&params);
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", answer.json).and_then(|_| out.flush());
        return answer.exit.into();
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Exit::Ready.into(),
                _ => Exit::Usage.into(),
            };
        }
    };
    if let Command::Completion(c) = &cli.command {
        let mut out = std::io::stdout().lock();
        let _ = out
            .write_all(nodeprep::docs::completion(c.shell.shell()).as_bytes())
            .and_then(|_| out.flush());
        return Exit::Ready.into();
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
    match nodeprep::run::run(&cfg) {
        Ok((report, status)) => {
            let mut out = std::io::stdout().lock();
            match out.write_all(report.as_bytes()).and_then(|_| out.flush()) {
                Ok(()) => status.into(),
                // a closed pipe (`nodeprep check | head`) is not an error
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => status.into(),
                Err(e) => {
                    say(format_args!(
                        "cannot write the report to standard output: {e}"
                    ));
                    Exit::CouldNotRun.into()
                }
            }
        }
        Err(e) => match exit::for_error(&e) {
            Exit::Usage => usage_error(&format!("{e:#}")),
            code => {
                say(format_args!("{e:#}"));
                code.into()
            }
        },
    }
}

/// One line on stderr; a stderr that cannot be written is not a reason to panic.
fn say(msg: std::fmt::Arguments) {
    let _ = writeln!(std::io::stderr(), "nodeprep: {msg}");
}

/// A usage error in clap's style, as for a bad option: `error: …`, the usage line, exit 64.
fn usage_error(msg: &str) -> ExitCode {
    use clap::CommandFactory;
    let _ = Cli::command()
        .error(ErrorKind::ValueValidation, msg)
        .print();
    Exit::Usage.into()
}
