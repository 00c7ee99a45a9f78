//! The exit codes, in one place. Only `main` turns an outcome into a process exit code.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Nothing of error severity found.
    Ready,
    /// Check found errors, or apply could not make the node ready.
    NotReady,
    /// `apply --detailed-exitcode`: changes were made and the node is ready.
    Changed,
    /// Could not run: not root, unreadable root, I/O error, read-only or full filesystem, lock held.
    CouldNotRun,
    /// Bad command line or input named on it.
    Usage,
    /// SIGINT or SIGTERM.
    Interrupted,
    /// The trampoline could not run its batch (`system::trampoline`), as a shell's 127:
    /// only nodeprep itself sees it, so it is not among [`Exit::ALL`].
    Exec,
}

impl Exit {
    /// Every exit status, in order: the one source for `--help`, the man pages and the README.
    pub const ALL: [Exit; 6] = [
        Exit::Ready,
        Exit::NotReady,
        Exit::Changed,
        Exit::CouldNotRun,
        Exit::Usage,
        Exit::Interrupted,
    ];

    /// What the status means, as `--help` and the man pages state it.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Ready => "ready (nothing of error severity found)",
            Exit::NotReady => {
                "not ready (check found errors, or apply could not make the node ready)"
            }
            Exit::Changed => {
                "only with apply --detailed-exitcode: changes were made and the node is ready"
            }
            Exit::CouldNotRun => {
                "could not run (not root, unreadable root, I/O error, read-only or full filesystem, lock held)"
            }
            Exit::Usage => "usage error",
            Exit::Interrupted => "interrupted",
            Exit::Exec => "a helper could not be started (internal)",
        }
    }

    pub fn code(self) -> u8 {
        match self {
            Exit::Ready => 0,
            Exit::NotReady => 1,
            Exit::Changed => 2,
            Exit::CouldNotRun => 3,
            Exit::Usage => 64,
            Exit::Interrupted => 130,
            Exit::Exec => 127,
        }
    }
}

/// An error caused by what the user asked for (exit 64), carried through `anyhow`.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for UsageError {}

/// The run was stopped by a signal between two steps (exit 130).
#[derive(Debug)]
pub struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("interrupted; every file is either unchanged or completely written")
    }
}
impl std::error::Error for Interrupted {}

/// Which exit code an error maps to: usage and interruption are marked, everything else could not run.
pub fn for_error(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if cause.is::<UsageError>() {
            return Exit::Usage;
        }
        if cause.is::<Interrupted>() {
            return Exit::Interrupted;
        }
    }
    Exit::CouldNotRun
}
