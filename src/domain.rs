//! The words the planner speaks, below the command line: clap's types are mapped onto these
//! in `cli.rs` and `config.rs`, and `probe/` and `plan/` use only these.

use std::fmt;

/// A Kubernetes version, `major.minor[.patch]`. Ordering is by major, minor, then patch
/// (an unknown patch sorts first). It displays as `major.minor`, the level kube-proxy's mode
/// decisions change at; [`Version::release`] shows the patch too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: Option<u32>,
}

impl Version {
    pub const fn new(major: u32, minor: u32) -> Version {
        Version {
            major,
            minor,
            patch: None,
        }
    }

    pub const fn with_patch(self, patch: Option<u32>) -> Version {
        Version { patch, ..self }
    }

    /// The same version without its patch level.
    pub const fn minor_only(self) -> Version {
        Version::new(self.major, self.minor)
    }

    /// Accepts `1.30`, `1.30.2`, `v1.30.2`, `v1.30.2-eks-1234` (as the binaries print it).
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.trim();
        let s = s.strip_prefix('v').unwrap_or(s);
        let core = s.split(['-', '+']).next()?;
        let mut parts = core.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = parts.next().and_then(|p| p.parse().ok());
        Some(Version {
            major,
            minor,
            patch,
        })
    }

    /// A version a user typed: `X.Y` or `X.Y.Z` (optionally `v…` and a `-suffix`), which must
    /// exist: 1.0 or later, at most three numbers.
    pub fn parse_given(s: &str) -> Result<Version, String> {
        let t = s.trim();
        let t = t.strip_prefix('v').unwrap_or(t);
        let core = t.split(['-', '+']).next().unwrap_or("");
        let parts: Vec<&str> = core.split('.').collect();
        let numbers: Option<Vec<u32>> = parts.iter().map(|p| p.parse().ok()).collect();
        let bad = || format!("{s:?}: expected X.Y or X.Y.Z, like 1.30 or v1.30.2");
        match numbers.as_deref() {
            Some([0, ..]) => Err(format!(
                "{s:?}: there is no Kubernetes version below 1.0; give X.Y like 1.30"
            )),
            Some([major, minor]) => Ok(Version::new(*major, *minor)),
            Some([major, minor, patch]) => {
                Ok(Version::new(*major, *minor).with_patch(Some(*patch)))
            }
            Some(n) if n.len() > 3 => Err(format!(
                "{s:?}: a Kubernetes version has at most three numbers (X.Y.Z)"
            )),
            _ => Err(bad()),
        }
    }

    /// `1.30.2`, or `1.30` when the patch is unknown.
    pub fn release(&self) -> String {
        match self.patch {
            Some(p) => format!("{}.{}.{p}", self.major, self.minor),
            None => self.to_string(),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Where kube-proxy runs, which decides whose ipset, iptables and modprobe.d count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    /// kubeadm's DaemonSet: the image's own ipset and modprobe.
    Container,
    /// A systemd unit on the host: the host's ipset and modprobe.d.
    Host,
}

/// A kube-proxy proxy mode nodeprep prepares for (kube-proxy's own spelling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMode {
    Ipvs,
    Nftables,
    Iptables,
}

impl ProxyMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyMode::Ipvs => "ipvs",
            ProxyMode::Nftables => "nftables",
            ProxyMode::Iptables => "iptables",
        }
    }

    /// The mode kube-proxy runs for a configured `mode:` string: blank is iptables; None for
    /// anything else (userspace, a typo), which the verdict judges.
    pub fn of_configured(mode: &str) -> Option<ProxyMode> {
        match mode {
            "" | "iptables" => Some(ProxyMode::Iptables),
            "ipvs" => Some(ProxyMode::Ipvs),
            "nftables" => Some(ProxyMode::Nftables),
            _ => None,
        }
    }
}

impl fmt::Display for ProxyMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Module names go to modprobe as arguments, so only kmod's own alphabet is accepted.
pub fn parse_module_name(s: &str) -> Result<String, String> {
    if s.is_empty() || s.len() > 64 {
        return Err("a module name has 1 to 64 characters".into());
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err("a module name has only letters, digits, '_' and '-'".into());
    }
    Ok(s.replace('-', "_"))
}

/// An IPVS scheduler name (`rr`, `wrr`, `lc`...): its module `ip_vs_<name>` must be a
/// module name, since it goes to modprobe and ipvsadm as an argument.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Scheduler(String);

impl Scheduler {
    pub fn parse(s: &str) -> Result<Scheduler, String> {
        parse_module_name(&format!("ip_vs_{s}")).map(|_| Scheduler(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The kernel module that implements it.
    pub fn module(&self) -> String {
        format!("ip_vs_{}", self.0)
    }
}

/// kube-proxy's default, what a blank scheduler means.
impl Default for Scheduler {
    fn default() -> Self {
        Scheduler("rr".into())
    }
}

impl std::ops::Deref for Scheduler {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// Sysctl keys: the dotted form people write and the path form under /proc/sys.

/// `net.ipv4.ip_forward` and `net/ipv4/ip_forward` → `net/ipv4/ip_forward`. When the first
/// separator is a slash, dots are literal (`net/ipv4/conf/eth0.100/forwarding`).
pub fn normalize_key(key: &str) -> String {
    let key = key.trim().trim_start_matches('/');
    match key.find(['.', '/']) {
        Some(i) if key.as_bytes()[i] == b'/' => key.to_string(),
        // `.a.b` → `/a/b`: systemd joins it under /proc/sys all the same
        _ => swap_separators(key).trim_start_matches('/').to_string(),
    }
}

/// Whether a key in path form names a file under /proc/sys: no empty, `.` or `..`
/// component, and only the characters sysctl names use. Checked in the form that becomes a
/// path, after the separators are swapped.
pub fn is_valid_key(path_key: &str) -> bool {
    !path_key.is_empty()
        && path_key.len() <= 255
        && path_key
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
        && path_key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/:@+".contains(&b))
}

/// Path form → the dotted form people write (`net/ipv4/ip_forward` → `net.ipv4.ip_forward`).
pub fn dotted(path_key: &str) -> String {
    swap_separators(path_key)
}

fn swap_separators(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '.' => '/',
            '/' => '.',
            c => c,
        })
        .collect()
}

/// Sysctls whose value is an integer, or the kernel's vector of integers: every default
/// nodeprep writes, and the ones Kubernetes guides set most.
const INTEGER_SYSCTLS: [&str; 14] = [
    "net/bridge/bridge-nf-call-iptables",
    "net/bridge/bridge-nf-call-ip6tables",
    "net/ipv4/ip_forward",
    "vm/swappiness",
    "net/ipv4/conf/all/arp_ignore",
    "net/ipv4/conf/all/arp_announce",
    "net/ipv4/vs/conntrack",
    "net/ipv4/vs/conn_reuse_mode",
    "net/ipv4/vs/expire_nodest_conn",
    "net/netfilter/nf_conntrack_max",
    "net/core/somaxconn",
    "net/ipv4/ip_local_port_range",
    "vm/overcommit_memory",
    "kernel/panic",
];

/// Why a value cannot be written for the sysctl `path_key` (path form), if it cannot: a
/// control character (systemd-sysctl ends a line at a carriage return or NUL, so what
/// follows would be a second setting), a boolean word (the kernel takes 1 or 0), or, for a
/// key known to be an integer, anything but integers separated by blanks.
pub fn sysctl_value_problem(path_key: &str, value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("the value is empty".into());
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Some("a control character in the value; give one line".into());
    }
    let word = value.to_ascii_lowercase();
    if ["true", "false", "yes", "no", "on", "off"].contains(&word.as_str()) {
        return Some("the kernel takes numbers here, not true or false: use 1 or 0".into());
    }
    let integer = |w: &str| {
        let digits = w.strip_prefix('-').unwrap_or(w);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    if INTEGER_SYSCTLS.contains(&path_key) && !value.split_ascii_whitespace().all(integer) {
        return Some("the kernel takes an integer here (or integers separated by blanks)".into());
    }
    None
}

/// Every finding id a report can carry, kubeadm style: these whole, or one of
/// [`FINDING_PREFIXES`] with a module, sysctl or program name after it.
pub const FINDING_IDS: [&str; 13] = [
    "ImageRoot",
    "IpsetVersion",
    "KubeProxyDeprecated",
    "KubeProxyIPTables",
    "KubeProxyIPVS",
    "KubeProxyMode",
    "KubeProxyNFTables",
    "KubeProxyVersion",
    "LegacyModulesScript",
    "LiveProbe",
    "ManagedFileMasked",
    "ModulesDisabled",
    "StrictARP",
];
pub const FINDING_PREFIXES: [&str; 9] = [
    "FileExisting-",
    "KernelModule-",
    "ModprobeBlacklist-",
    "ModprobeInstall-",
    "ModulesLoad-",
    "ModulesLoadUnknown-",
    "Sysctl-",
    "SysctlBoot-",
    "SysctlConf-",
];

/// Whether `id` is one a report can carry (case-insensitively, as `--ignore` takes them).
pub fn is_finding_id(id: &str) -> bool {
    FINDING_IDS.iter().any(|k| k.eq_ignore_ascii_case(id))
        || FINDING_PREFIXES.iter().any(|p| {
            id.len() > p.len()
                && id.is_char_boundary(p.len())
                && id[..p.len()].eq_ignore_ascii_case(p)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_are_validated_and_normalised() {
        assert_eq!(parse_module_name("nf-conntrack").unwrap(), "nf_conntrack");
        assert!(parse_module_name("ip_vs; rm -rf /").is_err());
        assert!(parse_module_name("").is_err());
        assert!(parse_module_name(&"a".repeat(65)).is_err());
        assert!(parse_module_name(&"a".repeat(64)).is_ok());
        assert!(parse_module_name("../x").is_err());
    }

    #[test]
    fn scheduler_must_make_a_module_name() {
        assert_eq!(Scheduler::parse("lc").unwrap().module(), "ip_vs_lc");
        assert!(Scheduler::parse("l c").is_err());
        assert!(Scheduler::parse("x;rm").is_err());
        assert_eq!(Scheduler::default().as_str(), "rr");
    }

    #[test]
    fn versions_order_by_patch_and_show_the_minor() {
        let v = Version::parse("v1.12.7-eks-1").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (1, 12, Some(7)));
        assert_eq!(v.to_string(), "1.12");
        assert_eq!(v.release(), "1.12.7");
        assert!(v > Version::new(1, 12) && v < Version::new(1, 13));
        assert_eq!(v.minor_only(), Version::new(1, 12));
        assert_eq!(Version::parse("1.30").unwrap().patch, None);
    }

    #[test]
    fn configured_modes() {
        assert_eq!(ProxyMode::of_configured(""), Some(ProxyMode::Iptables));
        assert_eq!(ProxyMode::of_configured("ipvs"), Some(ProxyMode::Ipvs));
        assert_eq!(ProxyMode::of_configured("userspace"), None);
    }
}
