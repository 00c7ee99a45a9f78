//! Thin: parse, run, print, and map the outcome to an exit code.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use nodeprep::cli::Cli;
use nodeprep::config::{Config, Surroundings};
use nodeprep::exit::{self, Exit};

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args
        .get(1)
        .is_some_and(|a| a == nodeprep::system::EXEC_IN_ROOT)
    {
        return ExitCode::from(nodeprep::system::exec_in_root(&args[2..]));
    }
    if let Err(e) = nodeprep::signals::install() {
        say(format_args!("cannot install the signal handlers: {e}"));
        return Exit::CouldNotRun.into();
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
    let env = Surroundings {
        no_color_env: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        stdout_tty: std::io::stdout().is_terminal(),
        stderr_tty: std::io::stderr().is_terminal(),
        self_exe: None,
    };
    let cfg = match Config::from_cli(cli, env) {
        Ok(cfg) => cfg,
        Err(e) => {
            say(format_args!("{e}"));
            return Exit::Usage.into();
        }
    };
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
        Err(e) => {
            say(format_args!("{e:#}"));
            exit::for_error(&e).into()
        }
    }
}

/// One line on stderr; a stderr that cannot be written is not a reason to panic.
fn say(msg: std::fmt::Arguments) {
    let _ = writeln!(std::io::stderr(), "nodeprep: {msg}");
}
