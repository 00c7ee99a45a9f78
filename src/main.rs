//! Thin: everything is in the library; the exit status is chosen there, once.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    let args = std::env::args_os().collect();
    let exit = nodeprep::entry::main(args);
    nodeprep::signals::exit_if_signalled();
    std::process::ExitCode::from(exit.code())
}
