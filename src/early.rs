//! `check`'s helpers started before clap parses the arguments (issue 11).
//!
//! clap's first parse in a process takes 0.14 ms here (its code and tables touched for the
//! first time), and nothing could start before it: the helpers need the root, and the
//! second CPU idled meanwhile. So `main` first reads the command line the plain way
//! ([`guess`]): when it is a `check` made only of options it knows the shape of, the root
//! and whether the Kubernetes binary is asked are clear from it, and the helpers start at
//! once ([`crate::probe::Early`]). clap still parses everything, and only the
//! configuration it leads to decides: helpers started for another root, or for a
//! question the configuration does not ask, are killed and the right ones started (see
//! `probe::start`). So a wrong guess costs time, never a different answer; and a command
//! line that is not plainly a `check` (anything unknown, `--help`, `--`, `-oVALUE`, a
//! value that starts with `-`) is not guessed at.
//!
//! The options it knows are clap's global ones; a test holds the two lists equal.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

/// Global options that take a value (the next argument, or after `=` for long ones).
pub const VALUED: [&str; 13] = [
    "--root",
    "--output",
    "-o",
    "--module",
    "--sysctl",
    "--scheduler",
    "--kube-proxy-version",
    "--kube-proxy-runtime",
    "--kernel-release",
    "--mode",
    "--kube-proxy-config",
    "--ignore",
    "--without",
];

/// Global options that take no value.
pub const FLAGS: [&str; 3] = ["--quiet", "-q", "--no-color"];

/// The options that may be given more than once; any other twice is clap's usage error.
pub const REPEATABLE: [&str; 4] = ["--module", "--sysctl", "--ignore", "--without"];

/// An option's one name: its long one.
fn long_name(name: &str) -> &str {
    match name {
        "-o" => "--output",
        "-q" => "--quiet",
        long => long,
    }
}

/// What the command line plainly says, for starting the helpers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guess {
    /// `--root`, else `NODEPREP_ROOT`, else `/`.
    pub root: PathBuf,
    /// No `--kube-proxy-version`: a Kubernetes binary is asked for it.
    pub ask_kube: bool,
}

/// The guess for `args` (without the program's name) and the value of `NODEPREP_ROOT`, or
/// None when the command line is not plainly a `check`.
pub fn guess(args: &[OsString], root_env: Option<&OsStr>) -> Option<Guess> {
    let mut root: Option<&OsStr> = None;
    let mut ask_kube = true;
    let mut check = false;
    let mut seen: Vec<&str> = Vec::new();
    let mut once = |name: &'static str| {
        let name = long_name(name);
        let again = seen.contains(&name) && !REPEATABLE.contains(&name);
        seen.push(name);
        !again
    };
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].to_str()?;
        i += 1;
        if arg == "check" && !check {
            check = true;
            continue;
        }
        if let Some(flag) = FLAGS.iter().find(|f| **f == arg) {
            if !once(flag) {
                return None;
            }
            continue;
        }
        let (name, value) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, OsStr::new(value)),
            _ if arg.starts_with("--") || arg == "-o" => {
                let value = args.get(i)?;
                i += 1;
                (arg, value.as_os_str())
            }
            _ => return None,
        };
        let name = VALUED.iter().find(|v| **v == name)?;
        if !once(name) || value.as_encoded_bytes().starts_with(b"-") {
            return None;
        }
        match long_name(name) {
            "--root" => root = Some(value),
            "--kube-proxy-version" => ask_kube = false,
            _ => {}
        }
    }
    // an empty `--root=` or NODEPREP_ROOT is clap's usage error: not guessed at
    let root = root.or(root_env).unwrap_or(OsStr::new("/"));
    if !check || root.is_empty() {
        return None;
    }
    Some(Guess {
        root: PathBuf::from(root),
        ask_kube,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(args: &[&str]) -> Option<Guess> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        guess(&args, None)
    }

    #[test]
    fn plain_checks_are_guessed() {
        let at = |root: &str, ask_kube| {
            Some(Guess {
                root: root.into(),
                ask_kube,
            })
        };
        assert_eq!(g(&["check"]), at("/", true));
        assert_eq!(g(&["--root", "/mnt", "check"]), at("/mnt", true));
        assert_eq!(g(&["check", "--root=/mnt", "-o", "json"]), at("/mnt", true));
        assert_eq!(
            g(&["-q", "--kube-proxy-version", "1.30", "check", "--no-color"]),
            at("/", false)
        );
        assert_eq!(g(&["--module", "check", "check"]), at("/", true));
        let env = guess(&[OsString::from("check")], Some(OsStr::new("/img")));
        assert_eq!(env, at("/img", true));
        let both = ["--root", "/a", "check"].map(OsString::from);
        assert_eq!(guess(&both, Some(OsStr::new("/img"))), at("/a", true));
    }

    /// The lists are clap's global options, each as it takes a value or not; `check`'s own
    /// `--probe` is left out on purpose (it needs the real root, and is rare).
    #[test]
    fn the_lists_are_clap_s_global_options() {
        use clap::CommandFactory;
        let cmd = crate::cli::Cli::command();
        let (mut valued, mut flags) = (Vec::new(), Vec::new());
        for arg in cmd.get_arguments().filter(|a| a.is_global_set()) {
            let names: Vec<String> = arg
                .get_long()
                .map(|l| format!("--{l}"))
                .into_iter()
                .chain(arg.get_short().map(|s| format!("-{s}")))
                .collect();
            let repeatable = matches!(arg.get_action(), clap::ArgAction::Append);
            let long = format!("--{}", arg.get_long().unwrap());
            assert_eq!(repeatable, REPEATABLE.contains(&long.as_str()), "{long}");
            if arg.get_action().takes_values() {
                valued.extend(names);
            } else {
                flags.extend(names);
            }
        }
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        let ours = |l: &[&str]| sorted(l.iter().map(|s| s.to_string()).collect());
        assert_eq!(sorted(valued), ours(&VALUED));
        assert_eq!(sorted(flags), ours(&FLAGS));
        let check = cmd.find_subcommand("check").unwrap();
        let own: Vec<_> = check
            .get_arguments()
            .filter(|a| !a.is_global_set())
            .filter_map(|a| a.get_long())
            .collect();
        assert_eq!(own, ["probe"]);
    }

    /// Every command line made of these pieces, up to four of them: whenever [`guess`]
    /// guesses, clap accepts the line and the configuration asks what was guessed.
    #[test]
    fn every_guess_is_what_clap_and_the_configuration_say() {
        use crate::config::{Config, Mode, Surroundings};
        use clap::Parser;
        let pieces: &[&[&str]] = &[
            &["check"],
            &["apply"],
            &["--root", "/tmp"],
            &["--root=/var/tmp"],
            &["--root", "/"],
            &["--root", "/."],
            &["--root", "relative/dir"],
            &["-o", "json"],
            &["--output=json"],
            &["-q"],
            &["--no-color"],
            &["--kube-proxy-version", "1.30"],
            &["--kube-proxy-version=1.25.3"],
            &["--mode", "nftables"],
            &["--module", "ip_vs_sh"],
            &["--without", "vm.swappiness"],
            &["--probe"],
            &["--"],
            &["-oj"],
        ];
        let env = std::env::var_os("NODEPREP_ROOT");
        let (mut level, mut guessed) = (vec![Vec::<&str>::new()], 0);
        for _ in 0..4 {
            level = level
                .iter()
                .flat_map(|line| pieces.iter().map(move |p| [&line[..], p].concat()))
                .collect();
            for line in &level {
                let args: Vec<OsString> = line.iter().map(OsString::from).collect();
                let Some(g) = guess(&args, env.as_deref()) else {
                    continue;
                };
                guessed += 1;
                let argv = std::iter::once("nodeprep").chain(line.iter().copied());
                let cli = crate::cli::Cli::try_parse_from(argv)
                    .unwrap_or_else(|e| panic!("{line:?} guessed {g:?}, clap says {e}"));
                let cfg = Config::from_cli(cli, Surroundings::default())
                    .unwrap_or_else(|e| panic!("{line:?} guessed {g:?}: {}", e.0));
                assert!(matches!(cfg.mode, Mode::Check { .. }), "{line:?}");
                assert_eq!(cfg.root, crate::root::Root::new(&g.root), "{line:?}");
                assert_eq!(cfg.kube_proxy_version.is_none(), g.ask_kube, "{line:?}");
            }
        }
        // the pieces make thousands of plain checks, not a handful
        assert!(guessed > 1000, "{guessed}");
    }

    #[test]
    fn anything_else_is_not() {
        for args in [
            &[][..],
            &["apply"],
            &["check", "check"],
            &["completion", "bash"],
            &["check", "--probe"],
            &["check", "--help"],
            &["--version"],
            &["check", "--"],
            &["check", "-ojson"],
            &["check", "-qo", "json"],
            &["check", "--root"],
            &["check", "--root", "-q"],
            &["check", "--root="],
            &["check", "--root", "/a", "--root", "/b"],
            &["check", "--rot", "/a"],
            &["check", "extra"],
        ] {
            assert_eq!(g(args), None, "{args:?}");
        }
        let empty_env = guess(&[OsString::from("check")], Some(OsStr::new("")));
        assert_eq!(empty_env, None);
    }
}
