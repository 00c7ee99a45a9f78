//! Man pages and shell completions, rendered from the clap definition in [`crate::cli`].
//!
//! The rendered files are committed under `man/` and `completions/` (both directories hold
//! only generated files). The test `committed_docs_match_the_cli` fails when they drift from
//! the CLI; `NODEPREP_BLESS=1 cargo test committed_docs` rewrites them.
//!
//! Nothing here depends on the date or the machine, so the output is reproducible.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::{Generator, Shell};
use clap_mangen::roff::{Roff, bold, italic, roman};

use crate::cli::Cli;
use crate::exit::Exit;
use crate::probe::{LOCK_FILE, MODULES_FILE, SYSCTL_FILE};

/// The binary's name, as installed.
pub const BIN: &str = "nodeprep";

/// The directories, relative to the crate root, that hold the generated files.
pub const MAN_DIR: &str = "man";
pub const COMPLETIONS_DIR: &str = "completions";

/// The shells completions are generated for.
pub const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// The manual section: an administrator's command, like modprobe(8), sysctl(8), ipvsadm(8).
pub const SECTION: &str = "8";

/// One example: the command line, what it does, and the page it belongs to (None: nodeprep.8).
struct Example {
    line: &'static str,
    what: &'static str,
    page: Option<&'static str>,
}

const EXAMPLES: &[Example] = &[
    Example {
        line: "nodeprep check",
        what: "Report whether the node is ready for kube-proxy in its mode. Reads only; needs no root.",
        page: Some("check"),
    },
    Example {
        line: "nodeprep check -o json",
        what: "The same report as one JSON object, for scripts and configuration management.",
        page: Some("check"),
    },
    Example {
        line: "nodeprep --kube-proxy-config /var/lib/kube-proxy/config.conf check",
        what: "Judge the node for the mode and scheduler in kube-proxy's own configuration file.",
        page: Some("check"),
    },
    Example {
        line: "kubectl -n kube-system get cm kube-proxy -o yaml | nodeprep --kube-proxy-config - check",
        what: "The same, with the configuration read from standard input.",
        page: Some("check"),
    },
    Example {
        line: "sudo nodeprep check --probe",
        what: "Also add and delete a dummy IPVS virtual service, as kube-proxy 1.27 and later does at start.",
        page: Some("check"),
    },
    Example {
        line: "sudo nodeprep apply --detailed-exitcode",
        what: "Make the node ready: load the modules, persist them and the sysctls, set the live sysctls. \
               Exits 2 when something was changed and the node is ready, 0 when there was nothing to do.",
        page: Some("apply"),
    },
    Example {
        line: "nodeprep --root /mnt/node apply --dry-run",
        what: "Show what apply would change in the node tree mounted at /mnt/node, with a diff of each file, \
               and the result it would reach; change nothing.",
        page: Some("apply"),
    },
    Example {
        line: "sudo nodeprep --scheduler lc apply",
        what: "Prepare the node for kube-proxy with ipvs.scheduler lc: ip_vs_lc is loaded and persisted too.",
        page: Some("apply"),
    },
    Example {
        line: "source <(nodeprep completion bash)",
        what: "Shell completion for the current bash session; zsh and fish work the same way.",
        page: None,
    },
];

/// What each page says in DESCRIPTION: plain text, one paragraph per entry.
fn description(page: Option<&str>) -> &'static [&'static str] {
    match page {
        None => &[
            "nodeprep prepares a Linux node for kube-proxy in IPVS, nftables or iptables mode and tells \
             what kube-proxy will really do there. It replaces the usual recipe of modprobe loops, a hand-written \
             /etc/sysctl.d/k8s.conf and a modules-load.d file, followed by ipvsadm -Ln and a look at \
             kube-proxy's logs.",
            "nodeprep check is run before kubeadm init or join: it reads the node and reports. \
             nodeprep apply is run in provisioning, as root: it makes the node ready and keeps it ready \
             after a reboot, and is idempotent.",
            "A node is ready when nothing of error severity is found: the live state is right and it \
             survives a reboot. Findings carry stable names in kubeadm's style, such as \
             KernelModule-ip_vs or SysctlBoot-net.ipv4.ip_forward.",
            "--root DIR is a chroot, not a path prefix: every path nodeprep reads, writes, lists, locks \
             or executes is resolved inside DIR as the node would resolve it, so an absolute symlink or \
             a .. can never leave DIR. Only regular files are read, each at most 16 MiB; a FIFO or \
             device is an error, never a hang. The helpers (ipset --help, iptables and nft --version, \
             kube-proxy, kubelet or kubeadm for the version, modprobe) are the root's own programs, \
             found in its /usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin and /bin, run \
             with an empty environment, with a deadline and at most 64 KiB of output, in a new PID \
             namespace with a parent-death signal, so that nothing they start outlives them.",
            "The host's / is trusted; any other DIR is not. DIR is a live node's only when DIR/proc is \
             a mounted procfs showing the running kernel's release and DIR holds that kernel's module \
             tree (or the kernel has no module support). A live DIR's helpers run chrooted into it \
             (which needs root) and sandboxed: version questions as user nobody without capabilities, \
             modprobe as root with CAP_SYS_MODULE alone, both with no_new_privs, resource limits and \
             new mount, IPC and UTS namespaces. Any other DIR is an image: it is judged as it will be \
             at boot, with the kernel under /lib/modules (or --kernel-release when there are several), \
             none of its programs is run (versions come from its dpkg database), and apply writes only \
             the persistent files.",
            "nodeprep completion bash|zsh|fish prints the shell completion script.",
            "Copied into an Ansible playbook's library directory, nodeprep is also an Ansible module: \
             run with one argument, the absolute path of a JSON file of parameters that holds \
             Ansible's _ansible_ keys, it answers with one JSON object (changed, failed, msg and the \
             report's fields). Its parameters mirror the options: action (check or apply), root, mode, \
             scheduler, kube_proxy_version, kube_proxy_runtime, kube_proxy_config, modules, ignore, without and \
             sysctls; check mode is apply --dry-run, and diff mode adds each file's before and after.",
        ],
        Some("check") => &[
            "nodeprep check reads the node and prints a report; it changes nothing and needs no root.",
            "It asks no helper in a way that loads a kernel module: ipset is asked --help, whose first \
             line is the version that ipset --version prints (that also asks the kernel, which loads \
             ip_set), and ipvsadm is never run (every run of it loads ip_vs): its version is read from \
             its file. The only module a check can make the kernel load is nfnetlink, the netlink \
             family that iptables (nf_tables backend) and nft open even for --version; it holds no \
             rules or settings.",
            "It reports every kernel module kube-proxy needs (loaded, builtin, loadable or missing, and \
             whether a modules-load.d file loads it at boot); every wanted sysctl, live and as it will be \
             after the next boot, found by replaying sysctl.d in systemd-sysctl's order; the ipset, \
             ipvsadm and iptables programs and their versions; modprobe.d blacklist and install lines \
             and legacy module scripts that get in the way; and the verdict: what this kube-proxy \
             version will do on this node, now and after nodeprep apply.",
            "The version judged is the one given with --kube-proxy-version, else the one reported by \
             kube-proxy, kubelet or kubeadm under the root, else the kubernetesVersion of a kubeadm \
             configuration given with --kube-proxy-config, else the newest behaviour.",
            "The exit status is 0 when the node is ready and 1 when it is not, so check can gate a \
             provisioning step.",
        ],
        Some("apply") => &[
            "nodeprep apply makes the node ready for kube-proxy in its mode and keeps it ready after a \
             reboot. It must run as root, against the real root and against another live root \
             (--root DIR), whose modprobe runs sandboxed in it; an image needs no root.",
            "It takes the lock /run/nodeprep.lock before it reads anything, loads the wanted modules with one modprobe -a \
             of the node's own (under another root, chrooted and with CAP_SYS_MODULE alone; started while the version helpers \
             still answer, since the loads depend on none of them), reads /proc/modules to confirm each load \
             and asks again, alone, for a module the batch did not load (all the loads within one 60 s deadline), then \
             writes /etc/modules-load.d/ipvs.conf and /etc/sysctl.d/k8s.conf when their content \
             changes, merged with the file as it is then (atomically, a new file mode 0644, every byte \
             of foreign lines and comments kept, existing keys updated in place; a symlinked file \
             keeps its link and its target is replaced; a mask, a link to /dev/null, is never \
             replaced), then sets each live sysctl and reads it back. It finishes with the same report as \
             check, and says what it did.",
            "A second run changes nothing. With --dry-run it prints the actions and a diff of each \
             file it would write, and the result the node would reach, and changes nothing.",
            "SIGINT and SIGTERM end it at once with exit status 130, with any helper it runs; a file \
             replacement under way is finished first, so a file is either unchanged or completely \
             written. In an image it runs nothing, loads nothing, sets nothing and creates nothing \
             under /proc; its lock is DIR/run/nodeprep.lock, which a booted node's tmpfs hides.",
        ],
        Some(_) => &[],
    }
}

/// The clap command as the man pages see it: built (global options propagated to the
/// subcommands), and without clap's `help` subcommand, which has no page of its own.
fn man_command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// The subcommands with a page of their own: `completion` is described on nodeprep's page.
fn paged_subcommands(top: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    top.get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "completion")
}

/// The page name of the top-level command or one of its subcommands: `nodeprep`, `nodeprep-check`.
fn page_name(sub: Option<&str>) -> String {
    match sub {
        None => BIN.to_string(),
        Some(s) => format!("{BIN}-{s}"),
    }
}

/// The man pages: file name (`nodeprep.8`, `nodeprep-check.8`, …) and roff source.
pub fn man_pages() -> io::Result<Vec<(String, String)>> {
    let top = man_command();
    let mut pages = vec![(format!("{BIN}.{SECTION}"), man_page(&top, &top, None))];
    for sub in paged_subcommands(&top) {
        let name = sub.get_name();
        pages.push((
            format!("{}.{SECTION}", page_name(Some(name))),
            man_page(&top, sub, Some(name)),
        ));
    }
    Ok(pages)
}

/// The man page for the top-level command (`sub` None) or one of its subcommands.
fn man_page(top: &clap::Command, cmd: &clap::Command, sub: Option<&str>) -> String {
    let name = page_name(sub);
    let version = format!("{BIN} {}", top.get_version().unwrap_or_default());
    let mut r = Roff::new();
    // No date, for reproducible output; an empty argument would vanish and shift the rest.
    r.control(
        "TH",
        [
            name.to_uppercase().as_str(),
            SECTION,
            "\"\"",
            version.as_str(),
            "System Administration",
        ],
    );
    // no hyphenation, ragged right: option names and paths stay whole
    r.control("nh", []);
    r.control("ad", ["l"]);
    r.control("SH", ["NAME"]);
    let summary = cmd.get_about().map(|a| a.to_string()).unwrap_or_default();
    r.text([roman(format!("{name} - {}", first_sentence(&summary)))]);

    r.control("SH", ["SYNOPSIS"]);
    match sub {
        Some(s) => synopsis(&mut r, top, cmd, s),
        None => top_synopsis(&mut r, top),
    }

    r.control("SH", ["DESCRIPTION"]);
    for (i, para) in description(sub).iter().enumerate() {
        if i > 0 {
            r.control("PP", []);
        }
        r.text([roman(*para)]);
    }

    if sub.is_none() {
        commands_section(&mut r, top);
    }

    let own: Vec<&clap::Arg> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_global_set() && !is_help_or_version(a))
        .collect();
    if sub.is_some() && !own.is_empty() {
        r.control("SH", ["OPTIONS"]);
        for a in own {
            option(&mut r, a);
        }
    }
    r.control("SH", ["GLOBAL OPTIONS"]);
    r.text([roman(
        "These options may be given before or after the subcommand.",
    )]);
    for a in top
        .get_arguments()
        .filter(|a| a.is_global_set() && !a.is_hide_set())
    {
        option(&mut r, a);
    }
    r.control("TP", []);
    r.text([bold("-h"), roman(", "), bold("--help")]);
    r.text([roman("Print help and exit.")]);
    if sub.is_none() {
        r.control("TP", []);
        r.text([bold("-V"), roman(", "), bold("--version")]);
        r.text([roman("Print the version and exit.")]);
    }

    exit_status_section(&mut r);
    environment_section(&mut r);
    files_section(&mut r);
    examples_section(&mut r, sub);
    see_also_section(&mut r, top, sub);
    r.render()
}

/// The top-level page's synopsis: each subcommand's, then help and version.
fn top_synopsis(r: &mut Roff, top: &clap::Command) {
    for s in top.get_subcommands() {
        if s.get_name() == "completion" {
            r.text([
                bold(BIN),
                roman(" "),
                bold("completion"),
                roman(" "),
                bold("bash"),
                roman("|"),
                bold("zsh"),
                roman("|"),
                bold("fish"),
            ]);
            r.control("br", []);
        } else {
            synopsis(r, top, s, s.get_name());
        }
    }
    r.text([
        bold(BIN),
        roman(" "),
        bold("-h"),
        roman("|"),
        bold("--help"),
        roman(" | "),
        bold("-V"),
        roman("|"),
        bold("--version"),
    ]);
}

/// The top-level page's list of subcommands, each pointing to its own page.
fn commands_section(r: &mut Roff, top: &clap::Command) {
    r.control("SH", ["COMMANDS"]);
    for s in top.get_subcommands() {
        r.control("TP", []);
        let n = s.get_name();
        if n == "completion" {
            r.text([bold("completion"), roman(" "), italic("SHELL")]);
        } else {
            r.text([bold(n)]);
        }
        let about = s.get_about().map(|a| a.to_string()).unwrap_or_default();
        let more = if paged_subcommands(top).any(|p| p.get_name() == n) {
            format!(" See {}({SECTION}).", page_name(Some(n)))
        } else {
            String::new()
        };
        r.text([roman(format!("{}.{more}", first_sentence(&about)))]);
    }
}

fn first_sentence(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn is_help_or_version(a: &clap::Arg) -> bool {
    matches!(a.get_id().as_str(), "help" | "version")
}

/// `--root DIR`, `-o|--output FORMAT`, `--quiet`, as the synopsis and option list show them.
fn option_words(a: &clap::Arg, alternatives: &str) -> Vec<clap_mangen::roff::Inline> {
    let mut w = Vec::new();
    if let Some(s) = a.get_short() {
        w.push(bold(format!("-{s}")));
        w.push(roman(alternatives));
    }
    match a.get_long() {
        Some(l) => w.push(bold(format!("--{l}"))),
        None => {
            // a positional: its value name alone
            w.pop();
        }
    }
    if a.get_action().takes_values() {
        let value = a
            .get_value_names()
            .and_then(|v| v.first())
            .map(|v| v.to_string())
            .unwrap_or_else(|| a.get_id().as_str().to_uppercase());
        if a.get_long().is_some() {
            w.push(roman(" "));
        }
        w.push(italic(value));
    }
    w
}

fn repeatable(a: &clap::Arg) -> bool {
    matches!(a.get_action(), clap::ArgAction::Append)
}

/// One synopsis line: `nodeprep [--root DIR] … check [--probe]`.
fn synopsis(r: &mut Roff, top: &clap::Command, cmd: &clap::Command, sub: &str) {
    let mut line = vec![bold(BIN)];
    for a in top
        .get_arguments()
        .filter(|a| a.is_global_set() && !a.is_hide_set())
    {
        line.push(roman(" ["));
        line.extend(option_words(a, "|"));
        line.push(roman(if repeatable(a) { "]..." } else { "]" }));
    }
    line.push(roman(" "));
    line.push(bold(sub));
    for a in cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_global_set() && !is_help_or_version(a))
    {
        line.push(roman(if a.is_positional() { " " } else { " [" }));
        line.extend(option_words(a, "|"));
        if !a.is_positional() {
            line.push(roman("]"));
        }
    }
    r.text(line);
    r.control("br", []);
}

/// One option in OPTIONS or GLOBAL OPTIONS: the words, the help, the values, the default, the variable.
fn option(r: &mut Roff, a: &clap::Arg) {
    r.control("TP", []);
    r.text(option_words(a, ", "));
    let help = a
        .get_long_help()
        .or_else(|| a.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let mut text = help.trim_end_matches('.').to_string();
    text.push('.');
    let values: Vec<String> = a
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| match v.get_help() {
            Some(h) => format!("{} ({h})", v.get_name()),
            None => v.get_name().to_string(),
        })
        .collect();
    let takes_values = a.get_action().takes_values();
    if !values.is_empty() && takes_values {
        text.push_str(&format!(" One of: {}.", values.join("; ")));
    }
    let defaults: Vec<String> = a
        .get_default_values()
        .iter()
        .map(|d| d.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && takes_values {
        text.push_str(&format!(" Default: {}.", defaults.join(", ")));
    }
    if let Some(env) = a.get_env() {
        text.push_str(&format!(
            " The environment variable {} sets it too; the option wins.",
            env.to_string_lossy()
        ));
    }
    r.text([roman(text)]);
}

fn exit_status_section(r: &mut Roff) {
    r.control("SH", ["EXIT STATUS"]);
    for e in Exit::ALL {
        r.control("TP", []);
        r.text([bold(e.code().to_string())]);
        r.text([roman(e.meaning())]);
    }
    r.control("PP", []);
    r.text([roman(
        "apply --dry-run exits with what the node would be after apply. Usage errors are printed \
         as error: followed by what is wrong and a pointer to --help; other errors are one line \
         on standard error, starting with nodeprep:, that names the path or input.",
    )]);
}

fn environment_section(r: &mut Roff) {
    r.control("SH", ["ENVIRONMENT"]);
    r.control("TP", []);
    r.text([bold("NODEPREP_ROOT")]);
    r.text([
        roman("The default for "),
        bold("--root"),
        roman(" "),
        italic("DIR"),
        roman("; the option wins."),
    ]);
    r.control("TP", []);
    r.text([bold("NO_COLOR")]);
    r.text([
        roman("When set and not empty, the text report is never coloured, as with "),
        bold("--no-color"),
        roman("."),
    ]);
    r.control("TP", []);
    r.text([bold("TERM")]);
    r.text([roman(
        "When dumb, the text report is not coloured. Colour is only used when standard output is a terminal.",
    )]);
    r.control("PP", []);
    r.text([roman(
        "Helper programs (modprobe, ipset, ipvsadm, iptables, kube-proxy, kubelet, kubeadm) run with \
         a clean environment and are looked up only in /usr/local/sbin, /usr/local/bin, /usr/sbin, \
         /usr/bin, /sbin and /bin under the root, never in PATH.",
    )]);
}

fn files_section(r: &mut Roff) {
    r.control("SH", ["FILES"]);
    r.text([
        roman("The paths are on the node: with "),
        bold("--root"),
        roman(" "),
        italic("DIR"),
        roman(" each is taken under "),
        italic("DIR"),
        roman("."),
    ]);
    r.control("TP", []);
    r.text([italic(MODULES_FILE)]);
    r.text([
        roman("The kernel modules to load at boot. "),
        bold("check"),
        roman(" reads it with the other modules-load.d files; "),
        bold("apply"),
        roman(" writes it."),
    ]);
    r.control("TP", []);
    r.text([italic(SYSCTL_FILE)]);
    r.text([
        roman("The sysctls to set at boot. "),
        bold("check"),
        roman(" reads it with the other sysctl.d files; "),
        bold("apply"),
        roman(" writes it, rewriting an existing line for a key in place."),
    ]);
    r.control("TP", []);
    r.text([italic(LOCK_FILE)]);
    r.text([
        roman("Held by "),
        bold("apply"),
        roman(" (not with "),
        bold("--dry-run"),
        roman(") so that one apply runs at a time per root; when another holds it, apply exits 3."),
    ]);
    r.control("TP", []);
    r.text([
        italic("/proc/modules"),
        roman(", "),
        italic("/proc/sys"),
        roman(", "),
        italic("/lib/modules"),
    ]);
    r.text([roman(
        "The loaded modules, the live sysctls, and the module index of the running kernel.",
    )]);
}

/// On nodeprep.8 every example; on a subcommand's page, those that use it.
fn examples_section(r: &mut Roff, sub: Option<&str>) {
    r.control("SH", ["EXAMPLES"]);
    for ex in EXAMPLES.iter().filter(|ex| sub.is_none() || ex.page == sub) {
        r.control("TP", []);
        r.text([bold(ex.line)]);
        r.text([roman(ex.what)]);
    }
}

/// The other pages of nodeprep, then the system's pages for what it touches.
fn see_also_section(r: &mut Roff, top: &clap::Command, sub: Option<&str>) {
    let this = page_name(sub);
    let pages = std::iter::once(page_name(None))
        .chain(paged_subcommands(top).map(|s| page_name(Some(s.get_name()))))
        .filter(|p| *p != this)
        .map(|p| (p, SECTION))
        .chain(
            [
                ("kubeadm", "1"),
                ("modprobe", "8"),
                ("sysctl", "8"),
                ("ipvsadm", "8"),
                ("modules-load.d", "5"),
                ("sysctl.d", "5"),
                ("modprobe.d", "5"),
            ]
            .map(|(p, s)| (p.to_string(), s)),
        );
    let mut line = Vec::new();
    for (i, (page, section)) in pages.enumerate() {
        if i > 0 {
            line.push(roman(", "));
        }
        line.push(bold(page));
        line.push(roman(format!("({section})")));
    }
    r.control("SH", ["SEE ALSO"]);
    r.text(line);
}

/// The completion script for one shell, as `nodeprep completion SHELL` prints it.
pub fn completion(shell: Shell) -> String {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut buf);
    // clap_complete writes only what it was given: UTF-8 names and help text
    String::from_utf8_lossy(&buf).into_owned()
}

/// The shell completions: file name (`nodeprep.bash`, `_nodeprep`, `nodeprep.fish`) and script.
pub fn completions() -> Vec<(String, String)> {
    SHELLS
        .iter()
        .map(|&shell| (shell.file_name(BIN), completion(shell)))
        .collect()
}

/// Every generated file: its path relative to the crate root, and its content.
pub fn render_all() -> io::Result<Vec<(PathBuf, String)>> {
    let mut files: Vec<(PathBuf, String)> = man_pages()?
        .into_iter()
        .map(|(name, text)| (Path::new(MAN_DIR).join(name), text))
        .collect();
    files.extend(
        completions()
            .into_iter()
            .map(|(name, text)| (Path::new(COMPLETIONS_DIR).join(name), text)),
    );
    Ok(files)
}

/// Writes every generated file under `base` (normally the crate root), creating the directories.
pub fn write_all(base: &Path) -> io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (rel, text) in render_all()? {
        let path = base.join(&rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::write(&path, text)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLESS: &str = "NODEPREP_BLESS=1 cargo test committed_docs";

    /// Files in the generated directories that `render_all` no longer produces.
    fn leftovers(base: &Path, expected: &[PathBuf]) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for dir in [MAN_DIR, COMPLETIONS_DIR] {
            let Ok(entries) = fs::read_dir(base.join(dir)) else {
                continue;
            };
            for entry in entries.flatten() {
                let rel = Path::new(dir).join(entry.file_name());
                if entry.path().is_file() && !expected.contains(&rel) {
                    out.push(rel);
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn committed_docs_match_the_cli() {
        let base = Path::new(env!("CARGO_MANIFEST_DIR"));
        let files = render_all().unwrap();
        let expected: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();

        if std::env::var_os("NODEPREP_BLESS").is_some_and(|v| v == "1") {
            write_all(base).unwrap();
            for rel in leftovers(base, &expected) {
                fs::remove_file(base.join(&rel)).unwrap();
            }
            return;
        }

        let mut problems = Vec::new();
        for (rel, want) in &files {
            match fs::read_to_string(base.join(rel)) {
                Err(e) => problems.push(format!("{}: {e}", rel.display())),
                Ok(have) if have != *want => {
                    let line = have
                        .lines()
                        .zip(want.lines())
                        .position(|(h, w)| h != w)
                        .unwrap_or_else(|| have.lines().count().min(want.lines().count()))
                        + 1;
                    problems.push(format!(
                        "{}: differs from what src/cli.rs generates, from line {line}",
                        rel.display()
                    ));
                }
                Ok(_) => {}
            }
        }
        for rel in leftovers(base, &expected) {
            problems.push(format!("{}: no longer generated", rel.display()));
        }
        assert!(
            problems.is_empty(),
            "the committed man pages and completions are out of date:\n  {}\nrun `{BLESS}` and commit the result",
            problems.join("\n  ")
        );
    }

    /// Roff source to plain text, enough to read what a page says: headings kept, other
    /// control lines dropped, font changes and escapes undone.
    fn plain(roff: &str) -> String {
        roff.lines()
            .filter_map(|l| match l.strip_prefix(".SH ") {
                Some(heading) => Some(heading.trim_matches('"')),
                None => (!l.starts_with('.')).then_some(l),
            })
            .map(|l| {
                l.replace("\\fB", "")
                    .replace("\\fI", "")
                    .replace("\\fR", "")
                    .replace("\\fP", "")
                    .replace("\\*(Aq", "'")
                    .replace("\\-", "-")
                    .replace("\\&", "")
                    .replace("\\\\", "\\")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn page(name: &str) -> String {
        man_pages()
            .unwrap()
            .into_iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no man page {name}"))
            .1
    }

    #[test]
    fn top_level_man_page_states_every_exit_code() {
        let roff = page("nodeprep.8");
        let text = plain(&roff);
        let section = text
            .split_once("EXIT STATUS")
            .map(|(_, rest)| rest)
            .expect("an EXIT STATUS section");
        for (code, words) in [
            (0, "ready (nothing of error severity found)"),
            (
                1,
                "not ready (check found errors, or apply could not make the node ready)",
            ),
            (
                2,
                "only with apply --detailed-exitcode: changes were made and the node is ready",
            ),
            (
                3,
                "could not run (not root, unreadable root, I/O error, read-only or full filesystem, lock held)",
            ),
            (64, "usage error"),
            (130, "interrupted"),
        ] {
            assert!(
                section.contains(&format!("\n{code}\n{words}\n")),
                "exit {code} is not stated as {words:?} in:\n{text}"
            );
        }
        assert!(roff.contains(".SH \"EXIT STATUS\""));
        for heading in ["ENVIRONMENT", "FILES", "EXAMPLES"] {
            assert!(roff.contains(&format!(".SH {heading}\n")), "no {heading}");
        }
        for needle in [
            "NODEPREP_ROOT",
            "NO_COLOR",
            "/etc/modules-load.d/ipvs.conf",
            "/etc/sysctl.d/k8s.conf",
            "/run/nodeprep.lock",
            "\nnodeprep check\n",
            "\nnodeprep check -o json\n",
            "\nsudo nodeprep apply --detailed-exitcode\n",
            "\nnodeprep --root /mnt/node apply --dry-run\n",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
        }
    }

    #[test]
    fn subcommand_pages_carry_the_global_options_and_the_extra_sections() {
        for name in ["nodeprep-check.8", "nodeprep-apply.8"] {
            let text = plain(&page(name));
            for needle in [
                "--root",
                "--kube-proxy-runtime",
                "EXIT STATUS",
                "64",
                "NO_COLOR",
            ] {
                assert!(text.contains(needle), "{needle:?} missing from {name}");
            }
        }
        assert!(plain(&page("nodeprep-check.8")).contains("--probe"));
        assert!(plain(&page("nodeprep-apply.8")).contains("--detailed-exitcode"));
        assert!(!man_pages().unwrap().iter().any(|(n, _)| n.contains("help")));
    }

    #[test]
    fn output_has_no_date_and_one_preamble() {
        for (name, roff) in man_pages().unwrap() {
            // .TH title section date source manual: the date is left empty
            let th = roff.lines().find(|l| l.starts_with(".TH ")).unwrap();
            assert!(th.contains(" 8 \"\" \"nodeprep "), "{name}: {th}");
            assert_eq!(roff.matches(".ds Aq").count(), 2, "{name}"); // .ie and .el, once
        }
        // reproducible: committed_docs_match_the_cli compares the committed pages with a
        // fresh render, which a date in .TH would break
    }

    #[test]
    fn completions_know_every_option() {
        let all = completions();
        let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["nodeprep.bash", "_nodeprep", "nodeprep.fish"]);
        let bash = &all[0].1;
        assert!(bash.contains("--kube-proxy-runtime"));
        for script in all.iter().map(|(_, s)| s) {
            for needle in [
                "kube-proxy-runtime",
                "kube-proxy-config",
                "detailed-exitcode",
                "probe",
            ] {
                assert!(script.contains(needle), "{needle} missing");
            }
        }
    }
}
