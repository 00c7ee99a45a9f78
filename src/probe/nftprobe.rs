//! `check --probe` in nftables mode: the kernel's own answer to kube-proxy's rules. nodeprep
//! starts itself again ([`INTERNAL`]) in a new network namespace, where the root's `nft` loads
//! a scratch table with the statement shapes kube-proxy's nftables proxier writes
//! (`pkg/proxy/nftables/proxier.go`), for each IP family, and deletes it again. The namespace,
//! and whatever the kernel kept of the table, ends with that process: nothing of the probe
//! can stay in the node's own network namespace. What stays are the nf_tables modules the
//! kernel autoloaded, as kube-proxy's own rules would load them.

use std::ffi::OsString;
use std::time::Duration;

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use crate::root::Root;
use crate::system::{Privilege, run};

/// nodeprep's first argument when it runs the probe: `nodeprep --internal-nft-probe NFT`
/// makes a new network namespace, loads the scratch table of each family with NFT there and
/// prints the answers (JSON). Internal: not a subcommand.
pub const INTERNAL: &str = "--internal-nft-probe";
/// The scratch table's name, in each family.
pub const TABLE: &str = "nodeprep-probe";
/// One `nft` run.
const NFT_TIMEOUT: Duration = Duration::from_secs(10);
/// The whole probe: on a refusal every command runs alone, two families of them.
const TIMEOUT: Duration = Duration::from_secs(120);

/// What the kernel said to the scratch tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NftProbe {
    /// nft was found and the namespace made; false: `detail` says why the probe did not run.
    pub ran: bool,
    pub detail: String,
    pub families: Vec<FamilyProbe>,
}

/// One IP family's scratch table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyProbe {
    /// `ip` or `ip6`.
    pub family: String,
    /// The kernel took an empty table of the family: what kube-proxy's start-up `nft --check`
    /// asks. Its refusal is nft's line in `refused`.
    pub table: bool,
    /// The whole scratch table loaded.
    pub loaded: bool,
    /// The statements the kernel (or nft) refused, in the order written.
    pub refused: Vec<Refusal>,
    /// The table was deleted again (the namespace goes in any case).
    pub deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The nft command, as written.
    pub statement: String,
    /// nft's own error line.
    pub error: String,
    /// An object comment: knftables drops those on a kernel without them (< 5.10).
    pub harmless: bool,
}

impl NftProbe {
    pub fn family(&self, family: &str) -> Option<&FamilyProbe> {
        self.families.iter().find(|f| f.family == family)
    }
}

/// What a command of the scratch table is, for the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The empty table: refused, kube-proxy's start-up check fails.
    Table,
    /// An object comment: refused, knftables leaves comments out.
    Comment,
    /// What the rules need: refused, the rules fail to load.
    Rule,
}

/// The IP families kube-proxy writes rules for, as nft names them.
pub const FAMILIES: [&str; 2] = ["ip", "ip6"];

/// The scratch table's commands, in the placeholders [`commands`] fills for a family: `{t}`
/// the table, `{f}` the family's address match, `{addr}` its address type, `{a}`/`{b}` two
/// endpoint addresses and `{a_at}`/`{b_at}` them with a port, `{lo}` loopback.
const SHAPES: [(Kind, &str); 35] = [
    (Kind::Table, "add table {t}"),
    (
        Kind::Comment,
        "add table {t} { comment \"rules for kube-proxy\" ; }",
    ),
    (
        Kind::Rule,
        "add set {t} affinity-a { type {addr} ; flags dynamic,timeout ; timeout 10800s ; }",
    ),
    (
        Kind::Rule,
        "add map {t} service-ips { type {addr} . inet_proto . inet_service : verdict ; }",
    ),
    (
        Kind::Comment,
        "add set {t} cluster-ips { type {addr} ; comment \"Active ClusterIPs\" ; }",
    ),
    (
        Kind::Rule,
        "add map {t} service-nodeports { type inet_proto . inet_service : verdict ; }",
    ),
    (Kind::Rule, "add chain {t} mark-for-masquerade"),
    (
        Kind::Rule,
        "add rule {t} mark-for-masquerade mark set mark or 0x4000",
    ),
    (
        Kind::Rule,
        "add chain {t} masquerading { type nat hook postrouting priority srcnat ; policy accept ; }",
    ),
    (
        Kind::Rule,
        "add rule {t} masquerading mark and 0x4000 == 0 return",
    ),
    (
        Kind::Rule,
        "add rule {t} masquerading mark set mark xor 0x4000",
    ),
    (
        Kind::Rule,
        "add rule {t} masquerading masquerade fully-random",
    ),
    (Kind::Rule, "add chain {t} endpoint-a"),
    (
        Kind::Rule,
        "add rule {t} endpoint-a {f} saddr {a} jump mark-for-masquerade",
    ),
    (
        Kind::Rule,
        "add rule {t} endpoint-a update @affinity-a { {f} saddr }",
    ),
    (
        Kind::Rule,
        "add rule {t} endpoint-a meta l4proto tcp dnat to {a_at}",
    ),
    (Kind::Rule, "add chain {t} endpoint-b"),
    (
        Kind::Rule,
        "add rule {t} endpoint-b {f} saddr {b} jump mark-for-masquerade",
    ),
    (
        Kind::Rule,
        "add rule {t} endpoint-b meta l4proto tcp dnat to {b_at}",
    ),
    (Kind::Rule, "add chain {t} service-a"),
    (
        Kind::Rule,
        "add rule {t} service-a {f} saddr @affinity-a goto endpoint-a",
    ),
    (
        Kind::Rule,
        "add rule {t} service-a numgen random mod 2 vmap { 0 : goto endpoint-a , 1 : goto endpoint-b }",
    ),
    (Kind::Rule, "add chain {t} nodeports"),
    (
        Kind::Rule,
        "add rule {t} nodeports meta l4proto . th dport vmap @service-nodeports",
    ),
    (Kind::Rule, "add chain {t} services"),
    (
        Kind::Rule,
        "add rule {t} services {f} daddr . meta l4proto . th dport vmap @service-ips comment \"ns1/svc1:p80\"",
    ),
    (
        Kind::Rule,
        "add rule {t} services fib daddr type local {f} daddr != {lo} jump nodeports",
    ),
    (
        Kind::Rule,
        "add chain {t} nat-prerouting { type nat hook prerouting priority dstnat ; policy accept ; }",
    ),
    (Kind::Rule, "add rule {t} nat-prerouting jump services"),
    (Kind::Rule, "add chain {t} reject-chain"),
    (Kind::Rule, "add rule {t} reject-chain reject"),
    (
        Kind::Rule,
        "add chain {t} filter-forward { type filter hook forward priority -110 ; policy accept ; }",
    ),
    (
        Kind::Rule,
        "add rule {t} filter-forward ct state invalid drop",
    ),
    (
        Kind::Rule,
        "add rule {t} filter-forward ct status dnat accept",
    ),
    (
        Kind::Rule,
        "add rule {t} filter-forward ct state new jump reject-chain",
    ),
];

/// The scratch table of `family` (`ip` or `ip6`) as nft commands, in the shapes kube-proxy's
/// nftables proxier writes: verdict maps keyed by concatenations, a `dynamic,timeout`
/// affinity set and its `update`, `numgen random mod N vmap`, `ct state`, `ct status dnat`,
/// `fib daddr type local`, `dnat`, `masquerade fully-random`, `reject`, nat and filter base
/// chains, object and rule comments.
pub fn commands(family: &str) -> Vec<(Kind, String)> {
    let words: [(&str, &str); 6] = if family == "ip6" {
        [
            ("{addr}", "ipv6_addr"),
            ("{a_at}", "[fd00:10:180::1]:80"),
            ("{b_at}", "[fd00:10:180::2]:80"),
            ("{a}", "fd00:10:180::1"),
            ("{b}", "fd00:10:180::2"),
            ("{lo}", "::1"),
        ]
    } else {
        [
            ("{addr}", "ipv4_addr"),
            ("{a_at}", "10.180.0.1:80"),
            ("{b_at}", "10.180.0.2:80"),
            ("{a}", "10.180.0.1"),
            ("{b}", "10.180.0.2"),
            ("{lo}", "127.0.0.0/8"),
        ]
    };
    let table = format!("{family} {TABLE}");
    SHAPES
        .iter()
        .map(|(kind, shape)| {
            let filled = words
                .iter()
                .fold(shape.replace("{t}", &table), |text, (word, value)| {
                    text.replace(word, value)
                })
                .replace("{f}", family);
            (*kind, filled)
        })
        .collect()
}

/// nft's own error line in its output: the first line holding `Error:` (nft prints its
/// input line and a caret line after it), else the first line, else a word for silence.
pub fn error_line(text: &str) -> String {
    let lines = || text.lines().map(str::trim).filter(|l| !l.is_empty());
    lines()
        .find(|l| l.contains("Error:"))
        .or_else(|| lines().next())
        .map_or_else(|| "nft failed and said nothing".into(), String::from)
}

/// `check --probe` in nftables mode: as root, on the live root only. `Ok` with `ran: false`
/// when the root has no nft or no namespace could be made.
pub fn probe(root: &Root) -> Result<NftProbe> {
    if !root.is_host() || !nix::unistd::geteuid().is_root() {
        bail!(
            "--probe loads an nftables table in the running kernel: run it as root with --root /"
        );
    }
    let not_run = |detail: String| {
        Ok(NftProbe {
            ran: false,
            detail,
            families: Vec::new(),
        })
    };
    let Some(nft) = root.find_program("nft") else {
        return not_run(
            "cannot run: no nft under / (the nftables package): the probe loads its table with the node's own nft".into(),
        );
    };
    let me = crate::system::own_binary().to_string_lossy();
    let out = run(root, &me, &[INTERNAL, &nft], Privilege::Nothing, TIMEOUT)?;
    if !out.success {
        return not_run(format!("cannot run: {}", error_line(&out.text)));
    }
    let families: Vec<FamilyProbe> = serde_json::from_str(&out.text)
        .map_err(|e| anyhow::anyhow!("the nftables probe's answer is not readable ({e})"))?;
    let detail = summary(&nft, &families);
    Ok(NftProbe {
        ran: true,
        detail,
        families,
    })
}

/// One line for the report: what each family's table came to.
pub fn summary(nft: &str, families: &[FamilyProbe]) -> String {
    let each: Vec<String> = families
        .iter()
        .map(|f| {
            let bad = f.refused.iter().filter(|r| !r.harmless).count();
            let what = if !f.table {
                "the kernel refused the table itself".to_string()
            } else if f.loaded {
                "loaded".to_string()
            } else if bad == 0 {
                "loaded without object comments".to_string()
            } else {
                format!("{bad} statement(s) refused")
            };
            format!("{} {what}", f.family)
        })
        .collect();
    format!(
        "{nft} in a scratch network namespace, kube-proxy's statement shapes: {}",
        each.join("; ")
    )
}

/// The probe's own process (`main` calls it when its first argument is [`INTERNAL`]): a new
/// network namespace, then each family's table loaded and deleted with the nft named. The
/// answers go to stdout as JSON; what stopped it to stderr, with exit 1.
pub fn inside(args: &[OsString]) -> u8 {
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    let nft = match args.get(2).and_then(|a| a.to_str()) {
        Some(n) if n.starts_with('/') && args.len() == 3 => n.to_string(),
        _ => {
            eprintln!("usage: nodeprep {INTERNAL} /PATH/TO/nft");
            return 1;
        }
    };
    if let Err(e) = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET) {
        eprintln!(
            "cannot make a network namespace for the scratch table: {}; nothing was loaded",
            std::io::Error::from(e)
        );
        return 1;
    }
    let root = Root::new("/");
    let answers: Vec<FamilyProbe> = FAMILIES
        .iter()
        .map(|family| load(&root, &nft, family))
        .collect();
    match serde_json::to_string(&answers) {
        Ok(json) => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            match out.write_all(json.as_bytes()).and_then(|_| out.flush()) {
                Ok(()) => 0,
                Err(_) => 1,
            }
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

/// One nft run: its success and nft's error line.
fn nft_says(root: &Root, nft: &str, command: &str) -> (bool, String) {
    match run(root, nft, &[command], Privilege::Nothing, NFT_TIMEOUT) {
        Ok(out) => (out.success, error_line(&out.text)),
        Err(e) => (false, format!("{e:#}")),
    }
}

/// The family's scratch table in one transaction; when the kernel refuses it, command by
/// command, for nft's own words on each statement it refuses. Then deleted.
fn load(root: &Root, nft: &str, family: &str) -> FamilyProbe {
    let commands = commands(family);
    let all: Vec<&str> = commands.iter().map(|(_, c)| c.as_str()).collect();
    let (loaded, _) = nft_says(root, nft, &all.join("\n"));
    let mut table = true;
    let mut refused = Vec::new();
    if !loaded {
        for (kind, command) in &commands {
            let (ok, error) = nft_says(root, nft, command);
            if ok {
                continue;
            }
            if *kind == Kind::Table {
                table = false;
            }
            refused.push(Refusal {
                statement: command.clone(),
                error,
                harmless: *kind == Kind::Comment,
            });
            if !table {
                break;
            }
        }
    }
    let deleted = !table || nft_says(root, nft, &format!("delete table {family} {TABLE}")).0;
    FamilyProbe {
        family: family.to_string(),
        table,
        loaded,
        refused,
        deleted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_family_writes_kube_proxys_shapes_in_its_own_words() {
        for family in FAMILIES {
            let text: Vec<String> = commands(family).into_iter().map(|(_, c)| c).collect();
            let text = text.join("\n");
            for shape in [
                " . meta l4proto . th dport vmap @service-ips",
                "numgen random mod 2 vmap { 0 : goto endpoint-a , 1 : goto endpoint-b }",
                "ct state invalid drop",
                "ct status dnat accept",
                "fib daddr type local",
                "masquerade fully-random",
                "reject-chain reject",
                "flags dynamic,timeout",
                "update @affinity-a",
                "type nat hook postrouting priority srcnat",
                "comment \"rules for kube-proxy\"",
            ] {
                assert!(text.contains(shape), "{family}: no {shape:?} in\n{text}");
            }
            let other = if family == "ip" { "ip6 " } else { "ip " };
            assert!(
                !text.lines().any(|l| l.contains(&format!(" {other}"))),
                "{family} table names another family:\n{text}"
            );
            assert!(
                text.lines()
                    .all(|l| l.contains(&format!(" {family} {TABLE}"))),
                "a command outside the scratch table:\n{text}"
            );
            assert_eq!(text.matches('{').count(), text.matches('}').count());
        }
        assert!(commands("ip6").iter().any(|(_, c)| c.contains("ipv6_addr")));
        assert!(commands("ip").iter().any(|(_, c)| c.contains("ipv4_addr")));
    }

    #[test]
    fn the_table_comes_first_and_comments_are_apart() {
        let c = commands("ip");
        assert_eq!(c[0], (Kind::Table, format!("add table ip {TABLE}")));
        assert_eq!(c.iter().filter(|(k, _)| *k == Kind::Table).count(), 1);
        for (kind, command) in &c {
            // only a Comment command carries an object comment (a rule's comment is not one)
            let object_comment = command.contains("comment") && !command.starts_with("add rule");
            assert_eq!(object_comment, *kind == Kind::Comment, "{command}");
        }
    }

    #[test]
    fn nft_s_error_line_is_the_line_that_says_error() {
        let text = "Error: Could not process rule: No such file or directory\nadd rule ip nodeprep-probe service-a numgen random mod 2 vmap { 0 : goto endpoint-a , 1 : goto endpoint-b }\n^^^^^^^^^^^^^";
        assert_eq!(
            error_line(text),
            "Error: Could not process rule: No such file or directory"
        );
        let located = "\n<cmdline>:1:1-30: Error: Could not process rule: Address family not supported by protocol\nadd table ip6 nodeprep-probe\n^^^^^";
        assert_eq!(
            error_line(located),
            "<cmdline>:1:1-30: Error: Could not process rule: Address family not supported by protocol"
        );
        assert_eq!(
            error_line("netlink: socket: Operation not permitted\n"),
            "netlink: socket: Operation not permitted"
        );
        assert_eq!(error_line("  \n"), "nft failed and said nothing");
    }

    #[test]
    fn the_summary_says_what_each_family_came_to() {
        let fam = |family: &str, table, loaded, refused: Vec<Refusal>| FamilyProbe {
            family: family.into(),
            table,
            loaded,
            refused,
            deleted: true,
        };
        let refusal = |harmless| Refusal {
            statement: "s".into(),
            error: "Error: e".into(),
            harmless,
        };
        let s = summary(
            "/usr/sbin/nft",
            &[
                fam("ip", true, true, vec![]),
                fam("ip6", false, false, vec![refusal(false)]),
            ],
        );
        assert!(
            s.starts_with("/usr/sbin/nft in a scratch network namespace"),
            "{s}"
        );
        assert!(
            s.contains("ip loaded; ip6 the kernel refused the table itself"),
            "{s}"
        );
        let s = summary("nft", &[fam("ip", true, false, vec![refusal(true)])]);
        assert!(s.ends_with("ip loaded without object comments"), "{s}");
        let s = summary(
            "nft",
            &[fam("ip", true, false, vec![refusal(true), refusal(false)])],
        );
        assert!(s.ends_with("ip 1 statement(s) refused"), "{s}");
    }
}
