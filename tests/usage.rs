//! Usage errors (64), runs that cannot start (3), and help/version (0).

use crate::support::*;

fn usage_error(args: &[&str], expect: &str) {
    let r = nodeprep(args);
    assert_eq!(r.code, 64, "{args:?}: {}{}", r.stdout, r.stderr);
    assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
    assert!(r.stderr.contains(expect), "{args:?}: {}", r.stderr);
}

#[test]
fn bad_command_lines_exit_64_before_touching_anything() {
    let fx = fixture("debian12-fresh");
    let root = fx.to_str().unwrap();
    usage_error(
        &["--root", root, "--module", "ip_vs;reboot", "check"],
        "ip_vs;reboot",
    );
    usage_error(
        &["--root", root, "--module", &"m".repeat(65), "check"],
        "64",
    );
    usage_error(
        &["--root", root, "--kube-proxy-version", "one.two", "check"],
        "one.two",
    );
    usage_error(
        &["--root", root, "--sysctl", "net.ipv4.ip_forward", "check"],
        "KEY=VALUE",
    );
    usage_error(&["--root", root, "--output", "yaml", "check"], "yaml");
    usage_error(&["--root", root, "check", "--probe"], "--root /");
    usage_error(
        &[
            "--root",
            root,
            "--kube-proxy-config",
            "/nonexistent/config.conf",
            "check",
        ],
        "/nonexistent/config.conf",
    );
    usage_error(&["--root", root, "frobnicate"], "frobnicate");
    usage_error(&[], "Usage");
}

#[test]
fn help_and_version_exit_0() {
    let r = nodeprep(&["--help"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("check"), "{}", r.stdout);
    // the exit codes as the issue states them, at the end of --help
    for line in [
        "Exit codes:\n",
        "  0    ready (nothing of error severity found)\n",
        "  2    only with apply --detailed-exitcode: changes were made and the node is ready\n",
        "  3    could not run (not root, unreadable root, I/O error, read-only or full filesystem, lock held)\n",
        "  64   usage error\n",
        "  130  interrupted\n",
    ] {
        assert!(
            r.stdout.contains(line),
            "{line:?} not in --help: {}",
            r.stdout
        );
    }
    let r = nodeprep(&["--version"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("nodeprep "), "{}", r.stdout);
}

#[test]
fn a_root_that_is_not_a_node_exits_3_naming_it() {
    let r = nodeprep(&["--root", "/nonexistent/node", "check"]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.starts_with("nodeprep: "), "{}", r.stderr);
    assert!(r.stderr.contains("/nonexistent/node"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);

    let empty = tempfile::tempdir().unwrap();
    let r = nodeprep(&["--root", empty.path().to_str().unwrap(), "check"]);
    assert_eq!(r.code, 3);
    assert!(
        r.stderr
            .contains("is not the running node's (its /proc is not the running kernel's) and has no kernel under /lib/modules"),
        "{}",
        r.stderr
    );
}
