//! Settings resolved once from the command line and the environment. Code below `main`
//! takes `&Config` and never looks at clap types or environment variables.

use std::path::PathBuf;

use crate::cli::{Cli, Command};
pub use crate::domain::Version;
use crate::domain::{ProxyMode, Runtime};
use crate::exit::UsageError;
use crate::root::Root;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub root: Root,
    pub mode: Mode,
    pub output: Output,
    pub quiet: bool,
    pub color: bool,
    pub progress: bool,
    pub extra_modules: Vec<String>,
    pub sysctls: Vec<(String, String)>,
    /// None: from the kube-proxy config, else `rr`.
    pub scheduler: Option<crate::domain::Scheduler>,
    /// `--kube-proxy-version`, with its patch level when given (late 1.11.x/1.12.x differ
    /// from early ones).
    pub kube_proxy_version: Option<Version>,
    /// `--mode`: overrides the config's mode.
    pub proxy_mode: Option<ProxyMode>,
    pub runtime: Runtime,
    /// `-` is standard input, read by `main` into `kube_proxy_config_text`.
    pub kube_proxy_config: Option<PathBuf>,
    /// `--kernel-release`, for an image root.
    pub kernel_release: Option<String>,
    pub kube_proxy_config_text: Option<String>,
    /// Finding ids (lowercase) whose errors are reported as warnings; `all` for every one.
    pub ignore: Vec<String>,
    /// Default modules (normalised) and sysctls (path form) dropped from the wanted set.
    pub without: Vec<String>,
}

pub use crate::report::Output;

impl From<crate::cli::OutputFormat> for Output {
    fn from(f: crate::cli::OutputFormat) -> Self {
        match f {
            crate::cli::OutputFormat::Text => Output::Text,
            crate::cli::OutputFormat::Json => Output::Json,
            crate::cli::OutputFormat::Prometheus => Output::Prometheus,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Check {
        probe: bool,
    },
    Apply {
        dry_run: bool,
        detailed_exitcode: bool,
        /// `--ok-if-not-ready`: a node apply cannot make ready exits 0.
        ok_if_not_ready: bool,
    },
    Watch {
        interval: std::time::Duration,
        textfile: Option<PathBuf>,
        count: Option<u64>,
    },
}

/// What `main` learned about the process's surroundings (the environment, terminals, its own
/// binary), passed in rather than read here, so tests can set it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Surroundings {
    /// [`FAKE_PROC_ENV`] is set.
    pub fake_proc: bool,
    pub no_color_env: bool,
    /// TERM=dumb: a terminal that takes no escape sequences.
    pub term_dumb: bool,
    pub stdout_tty: bool,
    pub stderr_tty: bool,
}

/// Set (to anything) by the caller, never by a root: the root's `/proc` is taken as the
/// running kernel's even when it is not a procfs (tests' fixture roots, whose `/proc` is a
/// plain directory). Their helpers still run as any other root's do: sandboxed.
pub const FAKE_PROC_ENV: &str = "NODEPREP_FAKE_PROC";

impl Surroundings {
    /// What the caller's environment says, the terminals aside.
    pub fn from_env() -> Surroundings {
        Surroundings {
            fake_proc: std::env::var_os(FAKE_PROC_ENV).is_some(),
            no_color_env: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            term_dumb: std::env::var_os("TERM").is_some_and(|t| t == "dumb"),
            ..Surroundings::default()
        }
    }
}

impl Config {
    pub fn from_cli(cli: Cli, env: Surroundings) -> Result<Config, UsageError> {
        let g = cli.global;
        let mode = match cli.command {
            Command::Check(c) => Mode::Check { probe: c.probe },
            Command::Watch(w) => Mode::Watch {
                interval: w.interval,
                textfile: w.textfile,
                count: w.count,
            },
            Command::Apply(a) => Mode::Apply {
                dry_run: a.dry_run,
                detailed_exitcode: a.detailed_exitcode,
                ok_if_not_ready: a.ok_if_not_ready,
            },
            // main answers `completion` before building a Config
            Command::Completion(_) => {
                return Err(UsageError(
                    "completion prints a script and takes no node settings".into(),
                ));
            }
        };
        let kube_proxy_version = match &g.kube_proxy_version {
            None => None,
            Some(v) => Some(
                Version::parse_given(v)
                    .map_err(|e| UsageError(format!("--kube-proxy-version {e}")))?,
            ),
        };
        if let Some(r) = &g.kernel_release
            && !crate::probe::kernel::is_release(r)
        {
            return Err(UsageError(format!(
                "--kernel-release {r:?}: expected a kernel release such as 6.1.0-13-amd64"
            )));
        }
        if g.root.as_os_str().is_empty() {
            return Err(UsageError("--root must name a directory".into()));
        }
        if let Some(f) = &g.kube_proxy_config
            && f.as_os_str() != "-"
            && in_root(f).is_none()
            && !f.exists()
        {
            return Err(UsageError(format!(
                "--kube-proxy-config {}: no such file; give the path of a KubeProxyConfiguration",
                f.display()
            )));
        }
        let root = Root::new(g.root).with_fake_proc(env.fake_proc);
        if let (Mode::Check { probe: true }, false) = (&mode, root.is_host()) {
            return Err(UsageError(
                "--probe talks to the running kernel and works only with --root /".into(),
            ));
        }
        let text = g.output == crate::cli::OutputFormat::Text;
        let mut without = Vec::new();
        for w in &g.without {
            without.push(resolve_without(w)?);
        }
        let mut extra_modules = Vec::new();
        for m in g.modules {
            if !extra_modules.contains(&m) {
                extra_modules.push(m);
            }
        }
        Ok(Config {
            root,
            mode,
            output: g.output.into(),
            quiet: g.quiet,
            color: text && !g.no_color && !env.no_color_env && !env.term_dumb && env.stdout_tty,
            progress: text && !g.quiet && !env.term_dumb && env.stderr_tty,
            extra_modules,
            sysctls: g.sysctls,
            scheduler: g.scheduler,
            kube_proxy_version,
            proxy_mode: g.mode.map(ProxyMode::from),
            runtime: g.kube_proxy_runtime.into(),
            kube_proxy_config: g.kube_proxy_config,
            kernel_release: g.kernel_release,
            kube_proxy_config_text: None,
            ignore: ignored(&g.ignore)?,
            without,
        })
    }

    /// What the plan needs of the settings.
    pub fn ask(&self) -> crate::plan::Ask {
        crate::plan::Ask {
            root: self.root.to_string(),
            extra_modules: self.extra_modules.clone(),
            sysctls: self.sysctls.clone(),
            scheduler: self.scheduler.clone(),
            kube_proxy_version: self.kube_proxy_version,
            proxy_mode: self.proxy_mode,
            runtime: self.runtime,
            ignore: self.ignore.clone(),
            without: self.without.clone(),
        }
    }

    /// What the probe needs of the settings.
    pub fn probe_request(&self) -> crate::probe::Request {
        let kube_proxy_config = match (&self.kube_proxy_config, &self.kube_proxy_config_text) {
            (Some(_), Some(text)) => Some(crate::probe::ConfigSource::Text(text.clone())),
            (Some(path), None) => Some(match in_root(path) {
                Some(node) => crate::probe::ConfigSource::InRoot(node),
                None => crate::probe::ConfigSource::File(path.clone()),
            }),
            (None, _) => None,
        };
        crate::probe::Request {
            root: self.root.clone(),
            kernel_release: self.kernel_release.clone(),
            ask_kube_version: self.kube_proxy_version.is_none(),
            kube_proxy_config,
        }
    }

    /// How the report is written.
    pub fn report_options(&self) -> crate::report::Options {
        crate::report::Options {
            output: self.output,
            quiet: self.quiet,
            color: self.color,
            root: self.root.to_string(),
        }
    }

    /// Whether standard input is the kube-proxy configuration (`--kube-proxy-config -`).
    pub fn config_from_stdin(&self) -> bool {
        self.kube_proxy_config
            .as_deref()
            .is_some_and(|p| p.as_os_str() == "-")
    }
}

/// `--without NAME`: a default module or a default sysctl; anything else is a usage error.
fn resolve_without(name: &str) -> Result<String, UsageError> {
    let module = name.replace('-', "_");
    let defaults: Vec<&str> = crate::plan::ipvs::BASE_IPVS_MODULES
        .into_iter()
        .chain(["nf_conntrack", "nf_conntrack_ipv4", "br_netfilter"])
        .collect();
    if defaults.contains(&module.as_str()) {
        return Ok(module);
    }
    let key = crate::probe::sysctl::normalize_key(name);
    if crate::plan::DEFAULT_SYSCTLS
        .iter()
        .any(|(k, _)| crate::probe::sysctl::normalize_key(k) == key)
    {
        return Ok(key);
    }
    Err(UsageError(format!(
        "--without {name:?}: not a default module ({}) or sysctl ({})",
        defaults.join(", "),
        crate::plan::DEFAULT_SYSCTLS
            .iter()
            .map(|(k, _)| *k)
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// `--kube-proxy-config root:PATH`: PATH, a path under the root.
fn in_root(given: &std::path::Path) -> Option<String> {
    let path = given.to_str()?.strip_prefix("root:")?;
    Some(if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    })
}

/// `--ignore`'s ids, lowercase: `all`, or ids a report can carry; anything else is a usage
/// error listing them.
fn ignored(given: &[String]) -> Result<Vec<String>, UsageError> {
    let mut out = Vec::new();
    for id in given.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
        if !id.eq_ignore_ascii_case("all") && !crate::domain::is_finding_id(id) {
            return Err(UsageError(format!(
                "--ignore {id}: no finding has this id; give all, or one of {}, or {} followed by a module, sysctl or program name",
                crate::domain::FINDING_IDS.join(", "),
                crate::domain::FINDING_PREFIXES.join(", ")
            )));
        }
        out.push(id.to_ascii_lowercase());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str], env: Surroundings) -> Result<Config, String> {
        let cli = Cli::try_parse_from(args).map_err(|e| e.to_string())?;
        Config::from_cli(cli, env).map_err(|e| e.0)
    }

    #[test]
    fn versions_parse_like_kubernetes_prints_them() {
        let v = |major, minor, patch| Some(Version::new(major, minor).with_patch(patch));
        assert_eq!(Version::parse("v1.30.2"), v(1, 30, Some(2)));
        assert_eq!(Version::parse("1.8"), v(1, 8, None));
        assert_eq!(Version::parse("v1.27.3-eks-a5565ad"), v(1, 27, Some(3)));
        assert_eq!(Version::parse("1"), None);
        assert_eq!(Version::parse("one.two"), None);
        assert!(Version::new(1, 9) < Version::new(1, 10));
    }

    #[test]
    fn given_versions_must_exist() {
        let ok = |s| {
            let v = Version::parse_given(s).unwrap();
            (v.minor_only(), v.patch)
        };
        assert_eq!(ok("1.30"), (Version::new(1, 30), None));
        assert_eq!(ok("v1.12.7"), (Version::new(1, 12), Some(7)));
        assert_eq!(ok("1.0"), (Version::new(1, 0), None));
        assert_eq!(ok("1.99"), (Version::new(1, 99), None));
        assert_eq!(ok("v1.27.3-eks-a5565ad"), (Version::new(1, 27), Some(3)));
        for bad in ["0.9", "0.0.1", "1.2.3.4", "1", "latest", "1.x", "", "v"] {
            assert!(Version::parse_given(bad).is_err(), "{bad} accepted");
        }
        assert!(
            Version::parse_given("0.9")
                .unwrap_err()
                .contains("below 1.0")
        );
        assert!(
            Version::parse_given("1.2.3.4")
                .unwrap_err()
                .contains("at most three")
        );
    }

    #[test]
    fn mode_option() {
        let env = Surroundings::default();
        assert_eq!(parse(&["nodeprep", "check"], env).unwrap().proxy_mode, None);
        let c = parse(&["nodeprep", "--mode", "nftables", "check"], env).unwrap();
        assert_eq!(c.proxy_mode, Some(ProxyMode::Nftables));
        let c = parse(&["nodeprep", "check", "--mode", "iptables"], env).unwrap();
        assert_eq!(c.proxy_mode, Some(ProxyMode::Iptables));
        assert!(parse(&["nodeprep", "check", "--mode", "IPVS"], env).is_err());
        assert!(parse(&["nodeprep", "check", "--mode", "userspace"], env).is_err());
    }

    #[test]
    fn defaults_and_tty_rules() {
        let tty = Surroundings {
            stdout_tty: true,
            stderr_tty: true,
            ..Surroundings::default()
        };
        let c = parse(&["nodeprep", "check"], tty).unwrap();
        assert_eq!(c.root, Root::new("/"));
        assert_eq!(c.mode, Mode::Check { probe: false });
        assert!(c.color && c.progress);
        assert_eq!(c.runtime, Runtime::Container);

        let c = parse(&["nodeprep", "check", "--no-color"], tty).unwrap();
        assert!(!c.color);
        let no_color = Surroundings {
            no_color_env: true,
            ..tty
        };
        assert!(!parse(&["nodeprep", "check"], no_color).unwrap().color);
        let dumb = Surroundings {
            term_dumb: true,
            ..tty
        };
        let c = parse(&["nodeprep", "check"], dumb).unwrap();
        assert!(
            !c.color && !c.progress,
            "TERM=dumb: no colour, no progress bar"
        );
        let c = parse(&["nodeprep", "apply", "--output", "json"], tty).unwrap();
        assert!(!c.color && !c.progress);
        let c = parse(&["nodeprep", "apply", "-q"], tty).unwrap();
        assert!(!c.progress);
        let pipe = Surroundings::default();
        let c = parse(
            &["nodeprep", "apply", "--dry-run", "--detailed-exitcode"],
            pipe,
        )
        .unwrap();
        assert!(!c.color && !c.progress);
        assert_eq!(
            c.mode,
            Mode::Apply {
                dry_run: true,
                detailed_exitcode: true,
                ok_if_not_ready: false,
            }
        );
    }

    #[test]
    fn repeated_options_accumulate_and_deduplicate() {
        let c = parse(
            &[
                "nodeprep", "check", "--module", "ip_vs_lc", "--module", "ip-vs-lc", "--sysctl",
                "a.b=1",
            ],
            Surroundings::default(),
        )
        .unwrap();
        assert_eq!(c.extra_modules, vec!["ip_vs_lc".to_string()]);
        assert_eq!(c.sysctls, vec![("a.b".to_string(), "1".to_string())]);
    }

    #[test]
    fn ignore_and_without_narrow_the_defaults() {
        let c = parse(
            &[
                "nodeprep",
                "check",
                "--ignore",
                "KernelModule-ip_vs, Sysctl-vm.swappiness",
                "--ignore",
                "StrictARP",
                "--without",
                "vm.swappiness",
                "--without",
                "ip-vs-sh",
            ],
            Surroundings::default(),
        )
        .unwrap();
        assert_eq!(
            c.ignore,
            ["kernelmodule-ip_vs", "sysctl-vm.swappiness", "strictarp"]
        );
        assert!(c.ask().ignores("KERNELMODULE-IP_VS") && !c.ask().ignores("KernelModule-ip_vs_rr"));
        assert_eq!(c.without, ["vm/swappiness", "ip_vs_sh"]);
        let all = parse(
            &["nodeprep", "check", "--ignore", "all"],
            Surroundings::default(),
        )
        .unwrap();
        assert!(all.ask().ignores("anything"));
        let e = parse(
            &["nodeprep", "check", "--without", "net.core.somaxconn"],
            Surroundings::default(),
        )
        .unwrap_err();
        assert!(e.contains("not a default module"), "{e}");
        // `-` is standard input, read by main: no existence check
        let c = parse(
            &["nodeprep", "check", "--kube-proxy-config", "-"],
            Surroundings::default(),
        )
        .unwrap();
        assert!(c.config_from_stdin());
    }

    #[test]
    fn bad_input_is_a_usage_error() {
        assert!(
            parse(
                &["nodeprep", "check", "--kube-proxy-version", "latest"],
                Surroundings::default()
            )
            .is_err()
        );
        assert!(
            parse(
                &["nodeprep", "check", "--module", "a b"],
                Surroundings::default()
            )
            .is_err()
        );
        assert!(
            parse(
                &[
                    "nodeprep",
                    "check",
                    "--kube-proxy-config",
                    "/nonexistent/x.yaml"
                ],
                Surroundings::default()
            )
            .is_err()
        );
        assert!(
            parse(
                &["nodeprep", "check", "--probe", "--root", "/tmp"],
                Surroundings::default()
            )
            .is_err()
        );
    }
}
