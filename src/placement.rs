//! On which CPUs a batch of helpers runs while nodeprep still reads the node.
//!
//! Left to the scheduler, a helper started when every CPU is busy is queued on nodeprep's
//! own CPU and takes it over for its whole run: on two CPUs, the third helper of `check`
//! stopped nodeprep for about 1 ms (0.8 ms of it the helper's own run), and a CPU that went
//! idle later took nothing back from the other's queue (the kernel balances that only every
//! few milliseconds). So each helper of a batch is given its CPUs when it starts: nodeprep's
//! own remaining work counts as one helper's, every CPU gets an equal share, and the helpers
//! beyond nodeprep's CPU's share may use any CPU but that one. Once nodeprep has nothing
//! left but to wait ([`crate::system::Running::finish`]), every helper gets back all the CPUs
//! nodeprep may use. This only moves work: what runs, and what it prints, stay the same.
//!
//! Only single-threaded helpers are placed (ipset, iptables, nft, modprobe): the mask is
//! set on the helper's one thread, and a thread a multi-threaded program (a Kubernetes
//! binary, written in Go) starts before the release would keep its mask for good. Such a
//! helper still counts in the shares, and is left where the scheduler puts it.
//!
//! It is best effort: CPUs that cannot be read or set (a cpuset that refuses, more than
//! 1024 CPUs) leave the helpers where the scheduler puts them, and on one CPU nothing is done.

use nix::sched::{CpuSet, sched_getaffinity, sched_getcpu, sched_setaffinity};
use nix::unistd::Pid;

/// The CPUs nodeprep may use, the one it runs on, how many of the batch keep off it, and
/// how many (the first ones) may be placed at all.
pub struct Placement {
    allowed: CpuSet,
    mine: usize,
    beside: usize,
    placed: usize,
}

impl Placement {
    /// For a batch of `helpers` of which the first `placed` are single-threaded; None when
    /// there is nothing to place them on.
    pub fn for_batch(helpers: usize, placed: usize) -> Option<Placement> {
        // nothing to place (`system::run`): not even the CPUs are asked
        if placed.min(helpers) == 0 {
            return None;
        }
        let allowed = sched_getaffinity(Pid::from_raw(0)).ok()?;
        let mine = sched_getcpu().ok()?;
        let cpus = (0..CpuSet::count())
            .filter(|&c| allowed.is_set(c).unwrap_or(false))
            .count();
        if cpus < 2 || !allowed.is_set(mine).unwrap_or(false) {
            return None;
        }
        Some(Placement {
            allowed,
            mine,
            beside: beside(helpers, cpus),
            placed: placed.min(helpers),
        })
    }

    /// Gives helper `i` of the batch (started, not yet reaped: the pid is still its) its
    /// CPUs: any but nodeprep's, or, for the last ones, nodeprep's alone.
    pub fn place(&self, i: usize, pid: i32) {
        if i >= self.placed {
            return;
        }
        let mut set = self.allowed;
        if i < self.beside {
            let _ = set.unset(self.mine);
        } else {
            set = CpuSet::new();
            let _ = set.set(self.mine);
        }
        let _ = sched_setaffinity(Pid::from_raw(pid), &set);
    }

    /// Gives helper `i`, if it was placed (and is not yet reaped), every CPU nodeprep may
    /// use again.
    pub fn release(&self, i: usize, pid: i32) {
        if i < self.placed {
            let _ = sched_setaffinity(Pid::from_raw(pid), &self.allowed);
        }
    }
}

/// How many of a batch of `helpers` keep off nodeprep's CPU when it may use `cpus`: with
/// nodeprep's own work counted as one helper's, each CPU's share is (helpers + 1) / cpus
/// (rounded down), and nodeprep's CPU takes its share less nodeprep.
pub fn beside(helpers: usize, cpus: usize) -> usize {
    let on_mine = ((helpers + 1) / cpus.max(1)).saturating_sub(1);
    helpers - on_mine.min(helpers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodeprep_s_cpu_takes_its_share_less_nodeprep() {
        // check's four helpers on two CPUs: three beside, one after nodeprep on its CPU
        assert_eq!(beside(4, 2), 3);
        assert_eq!(beside(3, 2), 2);
        assert_eq!(beside(1, 2), 1);
        assert_eq!(beside(7, 2), 4);
        // enough CPUs: nothing on nodeprep's
        assert_eq!(beside(4, 4), 4);
        assert_eq!(beside(4, 64), 4);
        assert_eq!(beside(0, 2), 0);
        // one CPU (never placed, but the share is still sound)
        assert_eq!(beside(4, 1), 0);
    }

    #[test]
    fn nothing_is_placed_without_a_single_threaded_helper() {
        assert!(Placement::for_batch(4, 0).is_none());
        assert!(Placement::for_batch(0, 0).is_none());
    }
}
