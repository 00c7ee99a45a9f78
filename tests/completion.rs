//! `nodeprep completion SHELL` prints exactly the committed completions/ files.

use std::fs;
use std::path::Path;

use crate::support::*;

#[test]
fn completion_prints_the_committed_scripts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    for (shell, file) in [
        ("bash", "nodeprep.bash"),
        ("zsh", "_nodeprep"),
        ("fish", "nodeprep.fish"),
    ] {
        let r = nodeprep(&["completion", shell]);
        assert_eq!(r.code, 0, "completion {shell}: {}", r.stderr);
        assert!(r.stderr.is_empty(), "completion {shell}: {}", r.stderr);
        let committed = fs::read_to_string(dir.join(file)).unwrap();
        assert!(
            r.stdout == committed,
            "completions/{file} differs from `nodeprep completion {shell}`; \
             run `NODEPREP_BLESS=1 cargo test committed_docs` and commit"
        );
        // each script completes the subcommands, including completion itself
        for word in ["check", "apply", "completion", "kube-proxy-config"] {
            assert!(r.stdout.contains(word), "{word} missing from {file}");
        }
    }
}

#[test]
fn completion_wants_a_known_shell() {
    for (args, expect) in [
        (&["completion"][..], "<SHELL>"),
        (
            &["completion", "powershell"],
            "possible values: bash, zsh, fish",
        ),
    ] {
        let r = nodeprep(args);
        assert_eq!(r.code, 64, "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty());
        assert!(r.stderr.contains(expect), "{args:?}: {}", r.stderr);
    }
}

#[test]
fn completion_ignores_the_node() {
    // global options parse, but nothing is read: a root that does not exist is fine
    let r = nodeprep(&["--root", "/nonexistent/node", "completion", "bash"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("complete -F"), "{}", r.stdout);
}
