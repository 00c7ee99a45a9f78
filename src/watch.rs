//! `nodeprep watch`: check again and again, keep the metrics file current, log each change of
//! readiness. It reports drift and never repairs it (that is `apply`): it writes nothing but
//! its `--textfile`, a file of this machine.

use std::io::Write;
use std::os::fd::AsFd;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use crate::config::{Config, Mode};
use crate::exit::Exit;
use crate::plan::Severity;
use crate::run::Survey;

/// The directories whose changes make watch check at once (beside `--interval`): what
/// decides the modules and sysctls at boot, and the kernels installed.
const WATCHED: [&str; 4] = [
    "/etc/sysctl.d",
    "/etc/modules-load.d",
    "/etc/modprobe.d",
    "/lib/modules",
];

/// Runs until `--count` checks are done (exit 0) or a signal ends it (exit 0, see
/// `signals::stop_cleanly`).
pub fn run(cfg: &Config) -> Result<Exit> {
    let Mode::Watch {
        interval,
        textfile,
        count,
    } = &cfg.mode
    else {
        return Ok(Exit::Usage);
    };
    crate::signals::stop_cleanly();
    let changes = watch_dirs(cfg);
    let mut last: Option<(bool, Vec<String>)> = None;
    let mut done = 0u64;
    loop {
        let survey = Survey::take(cfg)?;
        let a = survey.assess(cfg);
        let errors: Vec<String> = a
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.id.clone())
            .collect();
        let state = (a.ready(), errors);
        if last.as_ref() != Some(&state) {
            log(&state);
            last = Some(state);
        }
        // the log line before the metrics file: whoever sees the file's new state (a test, an
        // operator's SIGTERM) finds the line already written
        if let Some(path) = textfile {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            write_atomically(path, crate::report::metrics(&a, now).as_bytes())?;
        }
        done += 1;
        if count.is_some_and(|n| done >= n) {
            return Ok(Exit::Ready);
        }
        wait(changes.as_ref(), *interval);
    }
}

/// One line on stderr for a change of readiness (or of what is wrong).
fn log((ready, errors): &(bool, Vec<String>)) {
    let line = if *ready {
        "nodeprep watch: ready".to_string()
    } else {
        format!("nodeprep watch: not ready: {}", errors.join(", "))
    };
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// An inotify descriptor on the root's [`WATCHED`] directories that exist (links not
/// followed); None where inotify is refused: then only the interval wakes watch.
fn watch_dirs(cfg: &Config) -> Option<Inotify> {
    let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).ok()?;
    let flags = AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_MODIFY
        | AddWatchFlags::IN_CLOSE_WRITE
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_ATTRIB
        | AddWatchFlags::IN_ONLYDIR
        | AddWatchFlags::IN_DONT_FOLLOW;
    for dir in WATCHED {
        // a path of the root as this machine sees it: a link on the way is not followed at
        // its end, and a watch only wakes watch up, it reads nothing
        let _ = inotify.add_watch(Path::new(&cfg.root.show(dir)), flags);
    }
    Some(inotify)
}

/// Until the interval is over or a watched directory changes (then a little longer, so that
/// a package that writes several files is seen whole).
fn wait(changes: Option<&Inotify>, interval: Duration) {
    let until = Instant::now() + interval;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        let Some(inotify) = changes else {
            std::thread::sleep(left);
            return;
        };
        let ms = u16::try_from(left.as_millis().min(60_000)).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(inotify.as_fd(), PollFlags::POLLIN)];
        if let Ok(n) = nix::poll::poll(&mut fds, PollTimeout::from(ms))
            && n > 0
        {
            std::thread::sleep(Duration::from_millis(200).min(left));
            while matches!(inotify.read_events(), Ok(events) if !events.is_empty()) {}
            return;
        }
    }
}

/// The metrics file replaced whole (a temp file beside it, then rename), so that the
/// collector never reads half of it.
fn write_atomically(path: &Path, content: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("--textfile {}: not a file name", path.display()))?;
    let tmp = dir.join(format!(".{}.nodeprep.tmp", name.to_string_lossy()));
    crate::signals::critical(|| -> Result<()> {
        let written = std::fs::write(&tmp, content)
            .and_then(|()| std::fs::rename(&tmp, path))
            .with_context(|| format!("cannot write --textfile {}", path.display()));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    })
}
