//! What a helper of a root other than `/` runs inside. nodeprep trusts the host's `/` and
//! nothing else: a root's programs may be anybody's. The trampoline (`system`) that runs
//! them first makes new namespaces ([`enter_namespaces`]), then, chrooted, gives up what
//! the helpers must not have ([`confine`]):
//!
//! - a question (`--version`): the user and group `nobody` (65534), no supplementary groups,
//!   no capabilities; where that user does not exist (a user namespace that maps root
//!   alone, as tests run in), root of that namespace without any capability;
//! - `modprobe`: root with `CAP_SYS_MODULE` alone (nothing else in its bounding set);
//! - both: `no_new_privs`, umask 022, a parent-death signal, limits on CPU time, address space, file
//!   size, open files (and processes, for `nobody`), and, where the kernel allows, new
//!   PID, mount, IPC and UTS namespaces (and network, for a question). In its own PID
//!   namespace the trampoline is PID 1: when it exits, the kernel kills whatever a helper
//!   left behind, `setsid` or not.

use nix::errno::Errno;
use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use nix::sys::resource::{Resource, setrlimit};
use nix::sys::signal::Signal;
use nix::unistd::{Gid, Uid};

/// The unprivileged user and group a question runs as.
pub const NOBODY: u32 = 65534;

/// What a helper of a root other than `/` may do there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privilege {
    /// Answer a question: `nobody`, no capabilities.
    Nothing,
    /// Load kernel modules: root with `CAP_SYS_MODULE` alone.
    LoadModules,
    /// The host's own helper, trusted: as nodeprep itself, in a new PID namespace only (so
    /// that nothing it starts outlives it) with a parent-death signal.
    Host,
}

impl Privilege {
    /// Its name on the trampoline's command line.
    pub fn word(self) -> &'static str {
        match self {
            Privilege::Nothing => "nothing",
            Privilege::LoadModules => "load-modules",
            Privilege::Host => "host",
        }
    }

    pub fn from_word(word: &str) -> Option<Privilege> {
        [Privilege::Nothing, Privilege::LoadModules, Privilege::Host]
            .into_iter()
            .find(|p| p.word() == word)
    }
}

/// New namespaces for the helpers, each where the kernel allows it, and mounts that no
/// longer propagate to the host's. True when a new PID namespace was made: then the caller
/// runs the helpers from a child, the namespace's PID 1.
pub fn enter_namespaces(privilege: Privilege) -> bool {
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    if privilege == Privilege::Host {
        // the host's helpers act on the host's mounts and network (`ipvsadm`)
        return nix::sched::unshare(CloneFlags::CLONE_NEWPID).is_ok();
    }
    let mut wanted = vec![
        CloneFlags::CLONE_NEWNS,
        CloneFlags::CLONE_NEWIPC,
        CloneFlags::CLONE_NEWUTS,
        CloneFlags::CLONE_NEWPID,
    ];
    if privilege == Privilege::Nothing {
        // modprobe's `install` lines may set a sysctl of the node's network
        wanted.push(CloneFlags::CLONE_NEWNET);
    }
    let all = wanted.iter().fold(CloneFlags::empty(), |a, f| a | *f);
    let made = if nix::sched::unshare(all).is_ok() {
        all
    } else {
        wanted
            .into_iter()
            .filter(|f| nix::sched::unshare(*f).is_ok())
            .fold(CloneFlags::empty(), |a, f| a | f)
    };
    if made.contains(CloneFlags::CLONE_NEWNS) {
        let _ = nix::mount::mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        );
    }
    made.contains(CloneFlags::CLONE_NEWPID)
}

/// Gives up what the helpers must not have (see the module's text; the host's keep all but
/// get the parent-death signal). Called chrooted, before
/// the first helper starts; every helper inherits it. Err: what failed.
pub fn confine(privilege: Privilege) -> Result<(), String> {
    let failed = |what: &str, e: Errno| format!("cannot {what}: {}", std::io::Error::from(e));
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(|e| failed("set pdeathsig", e))?;
    if privilege == Privilege::Host {
        return Ok(());
    }
    // not the caller's: a umask of 0777 must not leave a helper's own directories unusable
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    let limits: [(Resource, u64); 4] = [
        (Resource::RLIMIT_CPU, 10),
        // a Go binary (kube-proxy --version) reserves address space generously
        (Resource::RLIMIT_AS, 4 << 30),
        (Resource::RLIMIT_FSIZE, 1 << 20),
        (Resource::RLIMIT_NOFILE, 256),
    ];
    for (resource, limit) in limits {
        setrlimit(resource, limit, limit).map_err(|e| failed("set a resource limit", e))?;
    }
    match privilege {
        Privilege::Nothing => {
            let nobody = Gid::from_raw(NOBODY);
            match nix::unistd::setresgid(nobody, nobody, nobody) {
                // a user namespace without that user: root there, with no capability
                Err(Errno::EINVAL) => keep_only(&[])?,
                Err(e) => return Err(failed("switch to group nobody", e)),
                Ok(()) => {
                    nix::unistd::setgroups(&[])
                        .map_err(|e| failed("drop the supplementary groups", e))?;
                    drop_bounding(&[])?;
                    let nobody = Uid::from_raw(NOBODY);
                    nix::unistd::setresuid(nobody, nobody, nobody)
                        .map_err(|e| failed("switch to user nobody", e))?;
                    setrlimit(Resource::RLIMIT_NPROC, 256, 256)
                        .map_err(|e| failed("set a resource limit", e))?;
                }
            }
        }
        Privilege::LoadModules => keep_only(&[caps::Capability::CAP_SYS_MODULE])?,
        Privilege::Host => {}
    }
    nix::sys::prctl::set_no_new_privs().map_err(|e| failed("set no_new_privs", e))
}

/// No capability but `keep` can be had again, even by exec'ing a root-owned program.
fn drop_bounding(keep: &[caps::Capability]) -> Result<(), String> {
    for cap in caps::all() {
        if !keep.contains(&cap) && caps::has_cap(None, caps::CapSet::Bounding, cap).unwrap_or(false)
        {
            caps::drop(None, caps::CapSet::Bounding, cap)
                .map_err(|e| format!("cannot drop {cap} from the bounding set: {e}"))?;
        }
    }
    Ok(())
}

/// Root keeps `keep` and no other capability, now and after exec.
fn keep_only(keep: &[caps::Capability]) -> Result<(), String> {
    let failed = |what: &str, e: caps::errors::CapsError| format!("cannot {what}: {e}");
    drop_bounding(keep)?;
    let keep: caps::CapsHashSet = keep.iter().copied().collect();
    caps::clear(None, caps::CapSet::Ambient)
        .map_err(|e| failed("clear ambient capabilities", e))?;
    caps::clear(None, caps::CapSet::Inheritable)
        .map_err(|e| failed("clear inheritable capabilities", e))?;
    caps::set(None, caps::CapSet::Effective, &keep)
        .map_err(|e| failed("set effective capabilities", e))?;
    caps::set(None, caps::CapSet::Permitted, &keep)
        .map_err(|e| failed("set permitted capabilities", e))
}
