//! nodeprep as an Ansible binary module.
//!
//! Copied into a playbook's `library/` (or a collection's `plugins/modules/`), Ansible runs the
//! binary with one argument: the path of a JSON file holding the task's parameters and
//! Ansible's own `_ansible_*` keys. The answer is one JSON object on stdout: `changed`,
//! `failed`, `msg`, the report's fields at the top level and, in diff mode, `diff`.
//!
//! The parameters are turned into the command line they mirror and parsed by the same
//! [`Cli`]/[`Config`] code, so a value the CLI refuses is refused here with the same words.

use std::path::Path;

use clap::Parser;
use serde_json::{Map, Value, json};

use crate::cli::Cli;
use crate::config::{Config, Mode, Surroundings};
use crate::exit::Exit;
use crate::plan::files::FileChange;
use crate::plan::{self, Finding, Severity};
use crate::run::{self, Survey};

/// The module's own parameters, as the task writes them.
pub const PARAMETERS: [&str; 11] = [
    "action",
    "root",
    "mode",
    "scheduler",
    "kube_proxy_version",
    "kube_proxy_runtime",
    "kube_proxy_config",
    "modules",
    "sysctls",
    "ignore",
    "without",
];

/// Larger than any parameter file Ansible writes for this module; a bigger file is not one.
const MAX_ARGS_FILE: u64 = 1 << 20;

/// The parameters when `args` (the process's arguments after the program name) is an Ansible
/// binary-module invocation: exactly one argument, an absolute path (Ansible passes the one
/// of the file it copied to the node's temporary directory) naming a regular file whose
/// content is a JSON object with at least one `_ansible_` key. A command line never is: a
/// one-word nodeprep command line is a subcommand or an option, and neither starts with `/`.
pub fn invocation(args: &[std::ffi::OsString]) -> Option<Map<String, Value>> {
    let [arg] = args else { return None };
    let path = Path::new(arg);
    if !path.is_absolute() {
        return None;
    }
    // opened once, and read through that descriptor, capped: what was checked is what is read
    let file = std::fs::File::open(path).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() > MAX_ARGS_FILE {
        return None;
    }
    let bytes = crate::root::read_capped(file, MAX_ARGS_FILE).ok()?;
    if bytes.len() as u64 > MAX_ARGS_FILE {
        return None;
    }
    let text = String::from_utf8(bytes).ok()?;
    let Value::Object(map) = serde_json::from_str(&text).ok()? else {
        return None;
    };
    map.keys()
        .any(|k| k.starts_with("_ansible_"))
        .then_some(map)
}

/// What Ansible gets back: the JSON object to print, and the exit status (1 when failed,
/// as AnsibleModule.fail_json does).
pub struct Answer {
    pub json: Value,
    pub exit: Exit,
}

fn fail(msg: impl Into<String>) -> Answer {
    Answer {
        json: json!({"changed": false, "failed": true, "msg": msg.into()}),
        exit: Exit::NotReady,
    }
}

/// A parameter as a command-line value: strings, numbers and booleans as written.
fn scalar(name: &str, v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(format!("parameter {name}: expected a string, got {v}")),
    }
}

/// The command line the parameters mirror, and the subcommand (`check` or `apply`).
pub fn argv(params: &Map<String, Value>) -> Result<Vec<String>, String> {
    let unknown: Vec<&str> = params
        .keys()
        .map(String::as_str)
        .filter(|k| !k.starts_with("_ansible_") && !PARAMETERS.contains(k))
        .collect();
    if !unknown.is_empty() {
        // Ansible's own wording for AnsibleModule
        return Err(format!(
            "Unsupported parameters for (nodeprep) module: {}. Supported parameters include: {}.",
            unknown.join(", "),
            PARAMETERS.join(", ")
        ));
    }
    let get = |k: &str| params.get(k).filter(|v| !v.is_null());
    let check_mode = get("_ansible_check_mode").and_then(Value::as_bool) == Some(true);
    let action = match get("action") {
        None => "check".to_string(),
        Some(v) => scalar("action", v)?,
    };
    if action != "check" && action != "apply" {
        return Err(format!(
            "parameter action: {action:?} is not one of: check, apply"
        ));
    }
    let mut out = vec!["nodeprep".to_string(), "--output".into(), "json".into()];
    let root = match get("root") {
        None => "/".to_string(),
        Some(v) => scalar("root", v)?,
    };
    out.extend(["--root".into(), root]);
    for (param, flag, choices) in [
        ("mode", "--mode", &["ipvs", "nftables", "iptables"][..]),
        (
            "kube_proxy_runtime",
            "--kube-proxy-runtime",
            &["container", "host"][..],
        ),
    ] {
        if let Some(v) = get(param) {
            let value = scalar(param, v)?;
            if !choices.contains(&value.as_str()) {
                return Err(format!(
                    "parameter {param}: {value:?} is not one of: {}",
                    choices.join(", ")
                ));
            }
            out.extend([flag.to_string(), value]);
        }
    }
    for (param, flag) in [
        ("scheduler", "--scheduler"),
        ("kube_proxy_version", "--kube-proxy-version"),
        ("kube_proxy_config", "--kube-proxy-config"),
    ] {
        if let Some(v) = get(param) {
            out.extend([flag.to_string(), scalar(param, v)?]);
        }
    }
    for (param, flag) in [
        ("modules", "--module"),
        ("ignore", "--ignore"),
        ("without", "--without"),
    ] {
        for item in list(param, get(param))? {
            out.extend([flag.to_string(), item]);
        }
    }
    match get("sysctls") {
        None => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                out.extend(["--sysctl".into(), format!("{k}={}", scalar("sysctls", v)?)]);
            }
        }
        Some(Value::Array(items)) => {
            for item in items {
                out.extend(["--sysctl".into(), scalar("sysctls", item)?]);
            }
        }
        Some(v) => {
            return Err(format!(
                "parameter sysctls: expected a mapping of key: value, got {v}"
            ));
        }
    }
    out.push(action.clone());
    if action == "apply" && check_mode {
        out.push("--dry-run".into());
    }
    Ok(out)
}

/// A list parameter: a list, or Ansible's habit for lists, a comma-separated string.
fn list(name: &str, v: Option<&Value>) -> Result<Vec<String>, String> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(|i| scalar(name, i)).collect(),
        Some(Value::String(s)) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(String::from)
            .collect()),
        Some(v) => Err(format!(
            "parameter {name}: expected a list of names, got {v}"
        )),
    }
}

/// A clap error as one line, without clap's `error: ` prefix and usage hints.
fn clap_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let line = text.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

/// `not ready, 2 errors: ip_vs is missing … (KernelModule-ip_vs); …`: what is wrong, in one line.
fn not_ready(what: &str, errors: &[&Finding]) -> String {
    let list: Vec<String> = errors
        .iter()
        .map(|f| format!("{} ({})", f.message.replace('`', ""), f.id))
        .collect();
    format!(
        "{what}, {} error{}: {}",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" },
        list.join("; ")
    )
}

/// Before apply runs: the files it is about to write, and the findings of the node as apply
/// would leave it.
fn before_apply(cfg: &Config) -> Result<(Vec<FileChange>, Vec<Finding>), String> {
    match cfg.mode {
        Mode::Apply { .. } => {
            let s = Survey::take(cfg).map_err(|e| format!("{e:#}"))?;
            let after = plan::assess(&cfg.ask(), &s.projected, &s.wanted, &s.projected);
            Ok((
                plan::actions::plan(&s.facts, &s.wanted).files,
                after.findings,
            ))
        }
        Mode::Check { .. } | Mode::Watch { .. } => Ok((Vec::new(), Vec::new())),
    }
}

/// The modes other than the configured one that kube-proxy would run on this node as it is,
/// from the report's migration table.
fn working_modes(doc: &Map<String, Value>) -> Vec<String> {
    let kp = &doc["kube_proxy"];
    let configured = kp["mode"].as_str().unwrap_or_default();
    kp["modes"]
        .as_object()
        .map(|modes| {
            modes
                .iter()
                .filter(|(m, v)| *m != configured && v["outcome"].as_str() == Some(m.as_str()))
                .map(|(m, _)| m.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Ansible's `--diff` form of the file changes.
fn ansible_diff(changes: &[FileChange]) -> Value {
    let diff: Vec<Value> = changes
        .iter()
        .map(|c| {
            json!({
                "before": c.before.clone().unwrap_or_default(),
                "after": c.after,
                "before_header": if c.before.is_some() { c.path.to_string() } else { format!("{} (absent)", c.path) },
                "after_header": c.path,
            })
        })
        .collect();
    Value::Array(diff)
}

/// The task's one-line `msg`: ready or not, changed or not, and what is still wrong.
fn message(mode: Mode, ready: bool, changed: bool, findings: &[Finding]) -> String {
    let of = |sev: Severity| -> Vec<&Finding> {
        findings.iter().filter(|f| f.severity == sev).collect()
    };
    let warnings = of(Severity::Warning).len();
    if ready {
        let what = match mode {
            Mode::Check { .. } | Mode::Watch { .. } => "ready for kube-proxy",
            Mode::Apply { dry_run: true, .. } if changed => {
                "would change the node (check mode), which would then be ready"
            }
            Mode::Apply { .. } if changed => "changed the node, which is now ready",
            Mode::Apply { .. } => "nothing to change; the node is ready",
        };
        match warnings {
            0 => what.to_string(),
            n => format!("{what} ({n} warning{})", if n == 1 { "" } else { "s" }),
        }
    } else {
        match mode {
            Mode::Apply { dry_run: true, .. } => {
                not_ready("would not be ready after apply", &of(Severity::Error))
            }
            Mode::Apply { .. } => not_ready("still not ready after apply", &of(Severity::Error)),
            Mode::Check { .. } | Mode::Watch { .. } => not_ready(
                "not ready (action: apply fixes what it can)",
                &of(Severity::Error),
            ),
        }
    }
}

/// Runs the module: parameters in, Ansible's answer out. Never panics on bad input.
pub fn answer(params: &Map<String, Value>) -> Answer {
    let diff_mode = params.get("_ansible_diff").and_then(Value::as_bool) == Some(true);
    let args = match argv(params) {
        Ok(a) => a,
        Err(msg) => return fail(msg),
    };
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => return fail(format!("{}: {}", args[1..].join(" "), clap_line(&e))),
    };
    let env = Surroundings {
        fake_proc: Surroundings::from_env().fake_proc,
        ..Surroundings::default()
    };
    let cfg = match Config::from_cli(cli, env) {
        Ok(c) => c,
        Err(e) => return fail(e.0),
    };
    let (changes, predicted) = match before_apply(&cfg) {
        Ok(both) => both,
        Err(msg) => return fail(msg),
    };
    let report = match run::run(&cfg) {
        Ok((text, _)) => text,
        Err(e) => {
            let mut msg = format!("{e:#}");
            if !nix::unistd::geteuid().is_root() && cfg.root.is_host() {
                msg.push_str("; under Ansible: become: true on the task or play");
            }
            return fail(msg);
        }
    };
    let Ok(Value::Object(mut doc)) = serde_json::from_str::<Value>(&report) else {
        return fail("nodeprep produced a report that is not a JSON object; this is a bug");
    };
    let apply = matches!(cfg.mode, Mode::Apply { .. });
    let changed = apply && doc.get("changed").and_then(Value::as_bool) == Some(true);
    let ready = if matches!(cfg.mode, Mode::Apply { dry_run: true, .. }) {
        doc.get("ready_after_apply").and_then(Value::as_bool) == Some(true)
    } else {
        doc.get("ready").and_then(Value::as_bool) == Some(true)
    };
    let reported: Vec<Finding> = doc
        .get("findings")
        .and_then(Value::as_array)
        .map(|all| {
            all.iter()
                .filter_map(|f| {
                    Some(Finding {
                        id: f["id"].as_str()?.to_string(),
                        severity: match f["severity"].as_str()? {
                            "error" => Severity::Error,
                            "warning" => Severity::Warning,
                            _ => Severity::Info,
                        },
                        message: f["message"].as_str()?.to_string(),
                        also: Vec::new(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    // check mode tells what the node would be after apply, warnings included
    let findings = match cfg.mode {
        Mode::Apply { dry_run: true, .. } => predicted,
        _ => reported,
    };
    let warnings: Vec<String> = findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .map(|f| format!("{}: {}", f.id, f.message))
        .collect();
    let mut msg = message(cfg.mode, ready, changed, &findings);
    let others = working_modes(&doc);
    if !ready && !others.is_empty() {
        msg.push_str(&format!(
            "; this node would run kube-proxy in {} mode as it is (parameter mode)",
            others.join(" or ")
        ));
    }
    let failed = !ready;
    doc.insert("changed".into(), Value::Bool(changed));
    doc.insert("failed".into(), Value::Bool(failed));
    doc.insert("msg".into(), Value::String(msg));
    if !warnings.is_empty() {
        doc.insert("warnings".into(), json!(warnings));
    }
    if diff_mode {
        doc.insert("diff".into(), ansible_diff(&changes));
    }
    Answer {
        json: Value::Object(doc),
        exit: if failed { Exit::NotReady } else { Exit::Ready },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("test input is an object"),
        }
    }

    #[test]
    fn parameters_become_the_command_line() {
        let p = params(json!({
            "action": "apply",
            "root": "/mnt/node",
            "scheduler": "lc",
            "kube_proxy_version": "1.30",
            "kube_proxy_runtime": "host",
            "modules": ["ip_vs_wlc", "nf_nat"],
            "sysctls": {"net.ipv4.conf.all.arp_ignore": 1},
            "_ansible_check_mode": true,
            "_ansible_diff": false,
        }));
        assert_eq!(
            argv(&p).unwrap(),
            [
                "nodeprep",
                "--output",
                "json",
                "--root",
                "/mnt/node",
                "--kube-proxy-runtime",
                "host",
                "--scheduler",
                "lc",
                "--kube-proxy-version",
                "1.30",
                "--module",
                "ip_vs_wlc",
                "--module",
                "nf_nat",
                "--sysctl",
                "net.ipv4.conf.all.arp_ignore=1",
                "apply",
                "--dry-run",
            ]
        );
        let check = argv(&params(json!({"_ansible_check_mode": true}))).unwrap();
        assert_eq!(
            check,
            ["nodeprep", "--output", "json", "--root", "/", "check"]
        );
        let csv = argv(&params(json!({"modules": "a, b"}))).unwrap();
        assert!(csv.windows(2).any(|w| w == ["--module", "b"]), "{csv:?}");
        let narrow = argv(&params(
            json!({"ignore": ["StrictARP"], "without": "vm.swappiness"}),
        ))
        .unwrap();
        assert!(
            narrow.windows(2).any(|w| w == ["--ignore", "StrictARP"]),
            "{narrow:?}"
        );
        assert!(
            narrow
                .windows(2)
                .any(|w| w == ["--without", "vm.swappiness"]),
            "{narrow:?}"
        );
    }

    #[test]
    fn unknown_parameters_and_bad_values_are_refused() {
        let e = argv(&params(json!({"action": "check", "rooot": "/"}))).unwrap_err();
        assert!(
            e.contains("Unsupported parameters for (nodeprep) module: rooot"),
            "{e}"
        );
        let e = argv(&params(json!({"action": "install"}))).unwrap_err();
        assert!(e.contains("\"install\" is not one of: check, apply"), "{e}");
        let e = argv(&params(json!({"modules": {"a": 1}}))).unwrap_err();
        assert!(e.contains("modules"), "{e}");
        let a = answer(&params(
            json!({"kube_proxy_runtime": "vm", "_ansible_check_mode": false}),
        ));
        assert_eq!(a.json["failed"], true);
        assert_eq!(
            a.json["msg"],
            "parameter kube_proxy_runtime: \"vm\" is not one of: container, host"
        );
        let a = answer(&params(json!({"modules": ["ip_vs;reboot"]})));
        assert_eq!(a.json["failed"], true);
        assert!(
            a.json["msg"].as_str().unwrap().contains("ip_vs;reboot"),
            "{}",
            a.json
        );
        assert_eq!(a.exit, Exit::NotReady);
    }

    #[test]
    fn mode_and_runtime_map_to_the_cli_and_nonsense_is_named_in_the_module_s_words() {
        for mode in ["ipvs", "nftables", "iptables"] {
            let line = argv(&params(json!({"mode": mode}))).unwrap();
            assert!(line.windows(2).any(|w| w == ["--mode", mode]), "{line:?}");
        }
        let e = argv(&params(json!({"mode": "IPVS"}))).unwrap_err();
        assert_eq!(
            e,
            "parameter mode: \"IPVS\" is not one of: ipvs, nftables, iptables"
        );
        let e = argv(&params(json!({"kube_proxy_runtime": "systemd"}))).unwrap_err();
        assert!(
            e.contains("parameter kube_proxy_runtime") && e.contains("container, host"),
            "{e}"
        );
    }

    #[test]
    fn only_a_file_of_ansible_json_is_an_invocation() {
        let dir = tempfile::tempdir().unwrap();
        let args = dir.path().join("args");
        std::fs::write(
            &args,
            r#"{"action": "check", "_ansible_check_mode": false}"#,
        )
        .unwrap();
        let os = |s: &Path| vec![s.as_os_str().to_owned()];
        assert!(invocation(&os(&args)).is_some());
        // a JSON object without Ansible's keys, a JSON list, a directory, a missing file
        std::fs::write(&args, r#"{"action": "check"}"#).unwrap();
        assert!(invocation(&os(&args)).is_none());
        std::fs::write(&args, r#"["_ansible_diff"]"#).unwrap();
        assert!(invocation(&os(&args)).is_none());
        assert!(invocation(&os(dir.path())).is_none());
        assert!(invocation(&os(&dir.path().join("check"))).is_none());
        // a relative path is a command line, even when it names a file of Ansible JSON
        let cwd_file = dir.path().join("check");
        std::fs::write(&cwd_file, r#"{"_ansible_diff": true}"#).unwrap();
        assert!(invocation(&os(&cwd_file)).is_some());
        assert!(invocation(&["check".into()]).is_none());
        // command lines
        assert!(invocation(&["check".into()]).is_none());
        assert!(invocation(&["--help".into()]).is_none());
        assert!(invocation(&[]).is_none());
        std::fs::write(&args, r#"{"_ansible_diff": true}"#).unwrap();
        assert!(invocation(&[args.as_os_str().to_owned(), "check".into()]).is_none());
    }
}
