//! Thin: everything is in the library; the exit status is chosen there, once.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    let args = std::env::args_os().collect();
    std::process::ExitCode::from(nodeprep::entry::main(args).code())
}
