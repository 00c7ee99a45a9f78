//! `check --probe`: ask the real kernel what kube-proxy ≥ 1.27 asks it (a read of the
//! kernel's behaviour, so it sits with the other reads). Adds the dummy
//! virtual server 198.51.100.0:20000/TCP with the scheduler, lists, and deletes it again.

use std::time::Duration;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::root::Root;
use crate::system::run;

const VS: &str = "198.51.100.0:20000";
const TIMEOUT: Duration = Duration::from_secs(30);
/// `--probe` runs the host's ipvsadm only (a root other than `/` is refused).
const HOST: crate::system::Privilege = crate::system::Privilege::Nothing;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveProbe {
    pub scheduler: String,
    /// The kernel accepted a virtual server with this scheduler.
    pub ok: bool,
    pub detail: String,
}

pub fn probe(root: &Root, scheduler: &str) -> Result<LiveProbe> {
    if !root.is_host() || !nix::unistd::geteuid().is_root() {
        bail!("--probe changes IPVS state in the running kernel: run it as root with --root /");
    }
    let Some(ipvsadm) = root.find_program("ipvsadm") else {
        bail!("--probe needs ipvsadm; install it (e.g. apt-get install ipvsadm) or drop --probe");
    };
    let done = |ok, detail: String| {
        Ok(LiveProbe {
            scheduler: scheduler.to_string(),
            ok,
            detail,
        })
    };
    let list = run(root, &ipvsadm, &["-Ln"], HOST, TIMEOUT)?;
    if !list.success {
        return done(
            false,
            format!(
                "ipvs not supported by the kernel: ipvsadm -Ln: {}",
                list.text
            ),
        );
    }
    if list.text.contains(VS) {
        bail!(
            "a virtual server {VS} already exists; nodeprep leaves it alone: remove it (ipvsadm -D -t {VS}) to probe"
        );
    }
    if list
        .text
        .lines()
        .any(|l| l.split_whitespace().nth(2) == Some(scheduler))
    {
        return done(
            true,
            format!("an existing virtual server already uses scheduler {scheduler}: IPVS works"),
        );
    }
    // whatever happened, nothing may stay behind: added, then deleted again before a signal
    // may end the run
    let (add, listed, deleted) = crate::signals::critical(|| {
        let add = run(
            root,
            &ipvsadm,
            &["-A", "-t", VS, "-s", scheduler],
            HOST,
            TIMEOUT,
        );
        let listed = run(root, &ipvsadm, &["-Ln", "-t", VS], HOST, TIMEOUT)
            .map(|o| o.success && o.text.contains(VS));
        let deleted = if matches!(listed, Ok(true)) {
            Some(run(root, &ipvsadm, &["-D", "-t", VS], HOST, TIMEOUT))
        } else {
            None
        };
        (add, listed, deleted)
    });
    let add = add?;
    if let Some(del) = deleted {
        let del = del?;
        if !del.success {
            bail!(
                "the probe's virtual server {VS} could not be deleted: {}; delete it with ipvsadm -D -t {VS}",
                del.text
            );
        }
    }
    match (add.success, listed?) {
        (true, true) => done(
            true,
            format!(
                "the kernel accepted a virtual server with scheduler {scheduler} (added, listed, deleted)"
            ),
        ),
        (true, false) => done(
            false,
            "ipvs not supported: the dummy virtual server was added but is not listed".into(),
        ),
        (false, _) => done(
            false,
            format!(
                "the kernel refused a virtual server with scheduler {scheduler}: {}",
                add.text
            ),
        ),
    }
}
