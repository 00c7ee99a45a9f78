//! Thin: parse, run, print, and map the outcome to an exit code.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use nodeprep::cli::{Cli, Command};
use nodeprep::config::{Config, Surroundings};
use nodeprep::exit::{self, Exit};

fn main() -> ExitCode {
    // Ansible runs a binary module with one argument, its parameter file: answered in JSON
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if let Some(params) = nodeprep::ansible::invocation(&args) {
        let answer = nodeprep::ansible::answer(&params);
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", answer.json).and_then(|_| out.flush());
        return answer.exit.into();
    }
    let cli = match Cli::try_parse() {
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
        stdout_tty: std::io::stdout().is_terminal(),
        stderr_tty: std::io::stderr().is_terminal(),
    };
    let cfg = match Config::from_cli(cli, env) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("nodeprep: {e}");
            return Exit::Usage.into();
        }
    };
    match nodeprep::run::run(&cfg) {
        Ok((report, status)) => {
            let mut out = std::io::stdout().lock();
            // a closed pipe (`nodeprep check | head`) is not an error
            let _ = out.write_all(report.as_bytes()).and_then(|_| out.flush());
            status.into()
        }
        Err(e) => {
            eprintln!("nodeprep: {e:#}");
            exit::for_error(&e).into()
        }
    }
}
