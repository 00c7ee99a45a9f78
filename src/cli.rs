//! The command line, as clap sees it. This is the only source for `--help`,
//! the man pages and the shell completions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::domain::{self, Scheduler, parse_module_name};
use crate::exit::Exit;

/// The exit codes at the end of `--help`, from [`Exit::meaning`].
fn exit_codes() -> String {
    let mut s = String::from("Exit codes:");
    for e in Exit::ALL {
        s.push_str(&format!("\n  {:<4} {}", e.code(), e.meaning()));
    }
    s
}

/// Prepare a Linux node for kube-proxy (IPVS, nftables or iptables mode), and tell what it will do.
///
/// `nodeprep check` reports every kernel module kube-proxy needs (loaded, builtin, loadable or
/// missing, and whether it is loaded at boot), every sysctl (live and after the next boot),
/// ipset, ipvsadm, iptables and nft, and what this kube-proxy version will do on this node in
/// the configured mode and in each of ipvs, nftables and iptables mode (--mode prepares and
/// judges for another mode). It only reads. `nodeprep apply` loads the modules, writes /etc/modules-load.d/ipvs.conf and
/// /etc/sysctl.d/k8s.conf (merged, never clobbered) and sets the live sysctls; it is idempotent.
#[derive(Debug, Parser)]
#[command(name = "nodeprep", version, about, after_help = exit_codes())]
pub struct Cli {
    #[command(flatten, next_help_heading = "Global options")]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Treat DIR as the node's / (a chroot): every path read or written is resolved inside it, links included, and every helper program is the root's own, run chrooted and sandboxed in it; a DIR whose /proc is not the running kernel's procfs with that kernel's modules is an image, judged as it will boot, and none of its programs runs
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "NODEPREP_ROOT",
        default_value = "/"
    )]
    pub root: PathBuf,

    /// Report format
    #[arg(short, long, global = true, value_enum, value_name = "FORMAT", default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Print only warnings and errors (text output); the exit code tells the rest
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// Never colour the output (also when NO_COLOR is set and non-empty)
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Add a kernel module to the wanted set (repeatable), e.g. --module ip_vs_lc
    #[arg(long = "module", global = true, value_name = "NAME", value_parser = parse_module_name)]
    pub modules: Vec<String>,

    /// Add or override a wanted sysctl (repeatable), e.g. --sysctl net.ipv4.conf.all.arp_ignore=1
    #[arg(long = "sysctl", global = true, value_name = "KEY=VALUE", value_parser = parse_sysctl)]
    pub sysctls: Vec<(String, String)>,

    /// IPVS scheduler kube-proxy is configured with; its module ip_vs_NAME is wanted too
    #[arg(long, global = true, value_name = "NAME", value_parser = Scheduler::parse)]
    pub scheduler: Option<Scheduler>,

    /// kube-proxy version to judge for (X.Y or X.Y.Z); default: asked of kube-proxy, kubelet or kubeadm under the root, else the newest behaviour
    #[arg(long, global = true, value_name = "X.Y[.Z]")]
    pub kube_proxy_version: Option<String>,

    /// How kube-proxy runs: decides whose ipset counts and whose modprobe.d applies to its own module loads
    #[arg(long, global = true, value_enum, value_name = "RUNTIME", default_value_t = Runtime::Container)]
    pub kube_proxy_runtime: Runtime,

    /// For an image root: the kernel to judge for, when /lib/modules holds several
    #[arg(long, global = true, value_name = "RELEASE")]
    pub kernel_release: Option<String>,

    /// Proxy mode to prepare and judge for; overrides the config's mode. Default: the mode of --kube-proxy-config (blank means iptables), else ipvs
    #[arg(long, global = true, value_enum, value_name = "MODE")]
    pub mode: Option<ProxyMode>,

    /// Read mode, featureGates, ipvs.scheduler and ipvs.strictARP from a KubeProxyConfiguration (plain, kubeadm multi-document, or the output of kubectl -n kube-system get cm kube-proxy -o yaml). FILE is read on this machine, not under --root; root:PATH reads PATH under --root (e.g. root:/var/lib/kube-proxy/config.conf); - reads standard input. A kubeadm config's kubernetesVersion is the version judged when no binary on the node tells it
    #[arg(long, global = true, value_name = "FILE")]
    pub kube_proxy_config: Option<PathBuf>,

    /// Turn the named errors into warnings (finding ids such as SysctlBoot-vm.swappiness, comma-separated or repeated, or all), like kubeadm's --ignore-preflight-errors; the exit code follows
    #[arg(
        long,
        global = true,
        value_name = "NAME[,NAME...]|all",
        value_delimiter = ','
    )]
    pub ignore: Vec<String>,

    /// Drop a default module or sysctl from the wanted set (repeatable), e.g. --without vm.swappiness
    #[arg(long, global = true, value_name = "MODULE|KEY")]
    pub without: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Report the node's state and kube-proxy's verdict; reads only, needs no root
    #[command(after_help = exit_codes())]
    Check(CheckArgs),
    /// Load the modules, persist them and the sysctls, set the live sysctls; idempotent
    #[command(after_help = exit_codes())]
    Apply(ApplyArgs),
    /// Check again and again (every --interval, and when a file of /etc/sysctl.d, /etc/modules-load.d, /etc/modprobe.d or /lib/modules changes), keep --textfile's metrics current, log each change of readiness; reports drift, never repairs it
    Watch(WatchArgs),
    /// Print the shell completion script for bash, zsh or fish (like kubectl completion SHELL)
    Completion(CompletionArgs),
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// How long between two checks when nothing changes: a number and s, m or h (or ms)
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub interval: std::time::Duration,
    /// Write the Prometheus metrics (as check -o prometheus) to FILE after every check, atomically: node_exporter's textfile collector directory. A path of this machine, not under --root
    #[arg(long, value_name = "FILE")]
    pub textfile: Option<PathBuf>,
    /// Stop after N checks (exit 0); default: until SIGTERM or SIGINT, which end it with 0
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
}

/// `30s`, `5m`, `1h`, `500ms`: a whole number and its unit, at least 1 ms.
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?}: expected a number and a unit, such as 30s or 5m"))?;
    let ms = match unit {
        "ms" => Some(n),
        "s" => n.checked_mul(1000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        _ => None,
    }
    .filter(|ms| *ms > 0)
    .ok_or_else(|| {
        format!("{s:?}: expected a number and a unit (ms, s, m, h), such as 30s or 5m")
    })?;
    Ok(std::time::Duration::from_millis(ms))
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to print the script for
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: CompletionShell,
}

/// The shells nodeprep has completions for (the ones packaged under completions/).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

impl CompletionShell {
    pub fn shell(self) -> clap_complete::Shell {
        match self {
            CompletionShell::Bash => clap_complete::Shell::Bash,
            CompletionShell::Zsh => clap_complete::Shell::Zsh,
            CompletionShell::Fish => clap_complete::Shell::Fish,
        }
    }
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Also ask the real kernel (root, real / only). IPVS mode, as kube-proxy 1.27 and later does: add the dummy virtual server 198.51.100.0:20000/TCP with the scheduler via ipvsadm, list, delete it. nftables mode: in a throwaway network namespace, load a scratch table per IP family with the statement shapes kube-proxy's rules use, with the node's nft, and delete it; what the kernel refuses decides the verdict
    #[arg(long)]
    pub probe: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Print what would be done, with a diff of each file, and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Exit 2 when changes were made (or, with --dry-run, would be made) and the node is ready
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Exit 0, not 1, when apply did all it could and the node is still not ready: a DaemonSet's init container, whose pod's readiness probe then shows the node's state instead of a crash loop. 3 and 64 still fail
    #[arg(long)]
    pub ok_if_not_ready: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    /// Prometheus text exposition, for node_exporter's textfile collector
    Prometheus,
}

/// The proxy modes `--mode` accepts (kube-proxy's own spelling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProxyMode {
    Ipvs,
    Nftables,
    Iptables,
}

impl From<ProxyMode> for domain::ProxyMode {
    fn from(m: ProxyMode) -> Self {
        match m {
            ProxyMode::Ipvs => domain::ProxyMode::Ipvs,
            ProxyMode::Nftables => domain::ProxyMode::Nftables,
            ProxyMode::Iptables => domain::ProxyMode::Iptables,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Runtime {
    /// kubeadm's DaemonSet: the image's own ipset and modprobe
    Container,
    /// a systemd unit on the host: the host's ipset and modprobe.d
    Host,
}

impl From<Runtime> for domain::Runtime {
    fn from(r: Runtime) -> Self {
        match r {
            Runtime::Container => domain::Runtime::Container,
            Runtime::Host => domain::Runtime::Host,
        }
    }
}

fn parse_sysctl(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| "expected KEY=VALUE".to_string())?;
    let (k, v) = (k.trim(), v.trim());
    // validated in the form that becomes a path under /proc/sys, after the separators are
    // swapped: `net.ipv4//x` would otherwise turn into `net/ipv4/../x`
    let key_ok = !k.starts_with(['.', '/']) && domain::is_valid_key(&domain::normalize_key(k));
    if !key_ok {
        return Err(format!(
            "{k:?} is not a sysctl key (like net.ipv4.ip_forward)"
        ));
    }
    if let Some(why) = domain::sysctl_value_problem(&domain::normalize_key(k), v) {
        return Err(format!("{k}={v:?}: {why}"));
    }
    Ok((k.to_string(), v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_arguments_are_validated() {
        assert_eq!(
            parse_sysctl("net.ipv4.ip_forward = 1").unwrap(),
            ("net.ipv4.ip_forward".into(), "1".into())
        );
        assert!(parse_sysctl("net.ipv4.ip_forward").is_err());
        assert!(parse_sysctl("../../etc/passwd=1").is_err());
        // dots and slashes swap: each of these would reach outside /proc/sys
        for bad in [
            "net.ipv4//..//..//etc//passwd=1",
            "net//..//x=1",
            "net.ipv4.conf.eth0/../x=1",
            "net..ipv4=1",
            "net.ipv4.=1",
            "net.*.ip_forward=1",
        ] {
            assert!(parse_sysctl(bad).is_err(), "{bad}");
        }
        assert!(parse_sysctl("net.ipv4.conf.eth0/100.forwarding=1").is_ok());
        assert!(parse_sysctl("net.ipv4.ip_forward=").is_err());
        // a second setting smuggled after a line end systemd-sysctl honours, a habit from
        // Ansible, a value the kernel rejects for an integer key
        for (bad, says) in [
            (
                "net.core.somaxconn=4096\rkernel.domainname=x",
                "control character",
            ),
            (
                "net.core.somaxconn=4096\0kernel.domainname=x",
                "control character",
            ),
            ("net.ipv4.ip_forward=true", "use 1 or 0"),
            ("vm.swappiness=No", "use 1 or 0"),
            ("net.ipv4.ip_forward=1x", "an integer"),
            ("net.ipv4.ip_local_port_range=1024 x", "an integer"),
        ] {
            let e = parse_sysctl(bad).expect_err(bad);
            assert!(e.contains(says), "{bad}: {e}");
        }
        for good in [
            "net.ipv4.ip_local_port_range=1024 65000",
            "net.ipv4.tcp_rmem=4096\t87380\t6291456",
            "kernel.domainname=example.org",
            "net.ipv4.tcp_congestion_control=bbr",
            "vm.swappiness=-1",
        ] {
            assert!(parse_sysctl(good).is_ok(), "{good}");
        }
    }
}
