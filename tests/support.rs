//! Running the real binary against copies of the fixture roots under tests/fixtures.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_nodeprep");

pub fn fixture(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    assert!(p.is_dir(), "fixture {} is missing", p.display());
    p
}

/// A private copy of a fixture root, removed when dropped.
pub struct Node {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    /// A directory beside the root, on this machine: what a hostile tree would aim at. It
    /// holds `secret` (0600) and an empty `sysctl.d/`.
    pub outside: PathBuf,
}

impl Node {
    pub fn new(fixture_name: &str) -> Node {
        let dir = tempfile::tempdir().expect("temp dir");
        // readable by everyone, so tests may also run nodeprep as an unprivileged user
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let root = dir.path().join(fixture_name);
        copy_tree(&fixture(fixture_name), &root);
        crate::toolbox::install(&root);
        // as on a node: the one place a helper, which runs as nobody, may write
        fs::create_dir_all(root.join("tmp")).unwrap();
        fs::set_permissions(root.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir_all(outside.join("sysctl.d")).unwrap();
        fs::write(outside.join("secret"), "password = hunter2\n").unwrap();
        fs::set_permissions(outside.join("secret"), fs::Permissions::from_mode(0o600)).unwrap();
        Node {
            _dir: dir,
            root,
            outside,
        }
    }

    pub fn path(&self, node_path: &str) -> PathBuf {
        self.root.join(node_path.trim_start_matches('/'))
    }

    pub fn read(&self, node_path: &str) -> String {
        fs::read_to_string(self.path(node_path))
            .unwrap_or_else(|e| panic!("cannot read {node_path} in the test root: {e}"))
    }

    pub fn write(&self, node_path: &str, content: &str) {
        let p = self.path(node_path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, content).unwrap();
    }

    /// Runs nodeprep with `--root` set to this node.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut all = vec!["--root", self.root.to_str().unwrap()];
        all.extend_from_slice(args);
        nodeprep(&all)
    }

    /// Runs nodeprep with `-o json` and parses stdout.
    pub fn json(&self, args: &[&str]) -> (i32, Value) {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--output", "json"]);
        let r = self.run(&all);
        let v = serde_json::from_str(&r.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}); exit {}\nstdout: {}\nstderr: {}",
                r.code, r.stdout, r.stderr
            )
        });
        (r.code, v)
    }

    /// Every file, symlink and directory under the root with its content, mode and inode:
    /// equal snapshots mean nothing was written, not even rewritten with the same bytes.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, (String, u32, u64)> {
        let mut out = BTreeMap::new();
        snapshot_into(&self.root, &self.root, &mut out);
        out
    }

    /// Everything in [`Node::outside`], to compare before and after a run.
    pub fn outside_snapshot(&self) -> BTreeMap<PathBuf, (String, u32, u64)> {
        let mut out = BTreeMap::new();
        snapshot_into(&self.outside, &self.outside, &mut out);
        out
    }

    /// A symlink at `node_path` in the root.
    pub fn link(&self, node_path: &str, target: impl AsRef<Path>) {
        let p = self.path(node_path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        let _ = fs::remove_file(&p);
        std::os::unix::fs::symlink(target, &p).unwrap();
    }

    /// An executable script at `node_path` in the root (it runs chrooted: name node paths).
    pub fn script(&self, node_path: &str, body: &str) {
        self.write(node_path, &format!("#!/bin/sh\n{body}\n"));
        fs::set_permissions(self.path(node_path), fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Puts a script with `body` in front of the root's fake modprobe, which stays callable
    /// as `/usr/sbin/modprobe.real` (the script runs chrooted: it names node paths).
    pub fn wrap_modprobe(&self, body: &str) {
        fs::rename(
            self.path("/usr/sbin/modprobe"),
            self.path("/usr/sbin/modprobe.real"),
        )
        .unwrap();
        self.script("/usr/sbin/modprobe", body);
    }

    /// Waits (at most 20 s, then fails the test) until a helper script has created
    /// `/tmp/started` in the root: `what` names it in the failure.
    pub fn wait_for_started(&self, what: &str) {
        let since = std::time::Instant::now();
        while !self.path("/tmp/started").exists() {
            assert!(
                since.elapsed() < std::time::Duration::from_secs(20),
                "{what} never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// The lines the fake modprobe logged, one per call.
    pub fn modprobe_calls(&self) -> Vec<String> {
        fs::read_to_string(self.path("/var/log/fake-modprobe.log"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }
}

fn snapshot_into(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, (String, u32, u64)>) {
    for entry in fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        let meta = fs::symlink_metadata(&p).unwrap();
        let rel = p.strip_prefix(root).unwrap().to_path_buf();
        let content = if meta.file_type().is_symlink() {
            format!("-> {}", fs::read_link(&p).unwrap().display())
        } else if meta.is_dir() {
            snapshot_into(root, &p, out);
            "<dir>".to_string()
        } else {
            String::from_utf8_lossy(&fs::read(&p).unwrap()).into_owned()
        };
        out.insert(rel, (content, meta.mode(), meta.ino()));
    }
}

pub use crate::toolbox::copy_tree;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from_output(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// The binary with a controlled environment: no NODEPREP_ROOT, no NO_COLOR, a minimal PATH
/// (nodeprep must not use it to find helpers anyway).
pub fn command(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("LC_ALL", "C")
        // fixture roots' /proc is a directory, not the running kernel's
        .env(nodeprep::config::FAKE_PROC_ENV, "1");
    c
}

/// Whether the tests run in a user namespace (tests/userns, for an ordinary user): root there
/// is the user mapped, with no other user to switch to and no device to make.
pub fn in_user_namespace() -> bool {
    let map = fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    map.split_whitespace().nth(2) != Some("4294967295")
}

/// Says why a test (or a part of it) is skipped, in one line that the test harness does not
/// capture: written to a copy of the standard error descriptor.
pub fn skip(why: &str) {
    use std::io::Write;
    use std::os::fd::AsFd;
    if let Ok(mut err) = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map(fs::File::from)
    {
        let _ = writeln!(err, "skipped {why}");
    }
}

/// Skips a test that needs the machine's real root, with one line saying why.
pub fn skip_in_user_namespace(test: &str, needs: &str) -> bool {
    let skip_it = in_user_namespace();
    if skip_it {
        skip(&format!(
            "{test}: it needs {needs}, which a user namespace has not (run the tests as root)"
        ));
    }
    skip_it
}

/// Runs `cmd` with `input` on its standard input (written from a thread, so that a program
/// that stops reading, or writes much, cannot deadlock the test) and its output captured.
pub fn output_with_input(cmd: &mut Command, input: &[u8]) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        // a program that stops reading early closes the pipe: not the test's failure
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

pub fn nodeprep(args: &[&str]) -> Run {
    Run::from_output(command(args).output().expect("run nodeprep"))
}

/// The findings of a JSON report as (id, severity, message).
pub fn findings(v: &Value) -> Vec<(String, String, String)> {
    v["findings"]
        .as_array()
        .expect("findings[]")
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The finding that stands for `id`: its own, or one it was grouped into (`also`).
pub fn finding<'a>(v: &'a Value, id: &str) -> Option<&'a Value> {
    v["findings"].as_array()?.iter().find(|f| {
        f["id"].as_str() == Some(id)
            || f["also"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(id)))
    })
}

/// The message of finding `id`, which must be there with this severity.
pub fn finding_message<'a>(v: &'a Value, id: &str, severity: &str) -> &'a str {
    let f = finding(v, id).unwrap_or_else(|| panic!("no finding {id} in {}", v["findings"]));
    assert_eq!(f["severity"], severity, "{f}");
    f["message"].as_str().unwrap()
}

pub fn error_ids(v: &Value) -> Vec<String> {
    findings(v)
        .into_iter()
        .filter(|(_, sev, _)| sev == "error")
        .map(|(id, _, _)| id)
        .collect()
}

pub fn module<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("module {name} not in the report: {}", v["modules"]))
}

pub fn sysctl<'a>(v: &'a Value, key: &str) -> &'a Value {
    v["sysctls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == key)
        .unwrap_or_else(|| panic!("sysctl {key} not in the report"))
}

/// The modules nodeprep wants by default (IPVS mode, a 4.19+ kernel), in report order.
pub const DEFAULT_MODULES: [&str; 6] = [
    "ip_vs",
    "ip_vs_rr",
    "ip_vs_wrr",
    "ip_vs_sh",
    "nf_conntrack",
    "br_netfilter",
];

/// The sysctl keys of a JSON report, in order.
pub fn sysctl_keys(v: &Value) -> Vec<String> {
    v["sysctls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap().to_string())
        .collect()
}

pub fn module_names(v: &Value) -> Vec<String> {
    v["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect()
}

/// The text report with wrapped findings joined again: a `\t  ` continuation line is
/// appended to the line it continues, with one space.
pub fn unwrapped(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if let (Some(rest), false) = (line.strip_prefix("\t  "), out.is_empty()) {
            out.pop();
            out.push(' ');
            out.push_str(rest);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// The report's closing paragraph (after the last blank line) as one line.
pub fn closing(text: &str) -> String {
    let last = text.trim_end().rsplit("\n\n").next().unwrap_or("");
    last.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// (kind, target, ok) of each action of an apply report.
pub fn action_rows(v: &Value) -> Vec<(String, String, bool)> {
    v["actions"]
        .as_array()
        .unwrap_or_else(|| panic!("no actions[] in {v}"))
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_string(),
                a["target"].as_str().unwrap().to_string(),
                a["ok"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// The report's row for a helper program (`ipset`, `ipvsadm`, …).
pub fn binary<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["binaries"]
        .as_array()
        .expect("binaries[]")
        .iter()
        .find(|b| b["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in the report: {}", v["binaries"]))
}

/// The surroundings of a run on a fixture root: its `/proc` is taken as the running kernel's.
pub fn fixture_surroundings() -> nodeprep::config::Surroundings {
    nodeprep::config::Surroundings {
        fake_proc: true,
        ..Default::default()
    }
}

/// nodeprep with `--root` the node and `args`, in a private mount namespace (it ends with
/// the run) where `mount_cmd`, a shell line with `$ROOT` the node's root, was run first;
/// `fake_proc`: the caller vouches for the root's /proc (NODEPREP_FAKE_PROC).
pub fn with_mount(node: &Node, mount_cmd: &str, args: &[&str], fake_proc: bool) -> Run {
    let script =
        r#"ROOT=$1 BIN=$2; shift 2; set -e; eval "$MOUNT_CMD"; exec "$BIN" --root "$ROOT" "$@""#;
    let mut c = Command::new("unshare");
    c.args([
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        script,
        "sh",
    ])
    .arg(&node.root)
    .arg(BIN)
    .args(args)
    .env_clear()
    .env("PATH", "/usr/bin:/bin:/usr/sbin:/sbin")
    .env("MOUNT_CMD", mount_cmd);
    if fake_proc {
        c.env(nodeprep::config::FAKE_PROC_ENV, "1");
    }
    Run::from_output(c.output().unwrap())
}
