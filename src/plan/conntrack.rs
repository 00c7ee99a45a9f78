//! kube-proxy sets `net/netfilter/nf_conntrack_max` at start in every mode (`setupConntrack`,
//! `realConntracker.SetMax`; default 32768 per CPU) and exits when it cannot: the file exists
//! only once `nf_conntrack` is loaded or built in. From 1.28 this runs in `platformSetup`,
//! before any mode logic; from 1.2 to 1.27 in `Run()`, after the proxier is created. kube-proxy
//! 1.1's source sets no conntrack limit.

use crate::probe::kernel::ModState;

use super::ipvs;
use super::verdict::{Judgement, Outcome, Situation, done, v};

/// Where `nf_conntrack_max` comes from on this node.
enum Conntrack {
    /// Loaded (or its pre-4.19 `nf_conntrack_ipv4`, which needs it) or built in.
    Present,
    /// Can be loaded, but is not: kube-proxy needs something to load it first.
    Loadable,
    /// Cannot be loaded: kube-proxy exits in every mode.
    Impossible(String),
}

fn conntrack(s: &Situation) -> Conntrack {
    let k = s.kernel;
    if k.state("nf_conntrack").is_present() || k.loaded.contains("nf_conntrack_ipv4") {
        Conntrack::Present
    } else if !k.modules_supported {
        Conntrack::Impossible(format!(
            "kernel {} has no loadable-module support and nf_conntrack is not built in",
            k.release
        ))
    } else if k.modules_disabled {
        Conntrack::Impossible(
            "nf_conntrack is not loaded and /proc/sys/kernel/modules_disabled is 1".into(),
        )
    } else if k.state("nf_conntrack") == ModState::Loadable || k.modules_dir.is_none() {
        // without a module index nodeprep cannot tell: as loadable, a condition, not a verdict
        Conntrack::Loadable
    } else {
        Conntrack::Impossible(format!(
            "nf_conntrack does not exist for kernel {}",
            k.release
        ))
    }
}

/// IPVS mode 1.9–1.26 modprobes its conntrack module itself (`nf_conntrack_ipv4` pulls in
/// `nf_conntrack`) before the conntrack limit is set.
fn ipvs_loads_it(s: &Situation) -> bool {
    let module = if s.version < v(1, 13) || s.kernel.version.is_some_and(|kv| kv < (4, 19)) {
        "nf_conntrack_ipv4"
    } else {
        "nf_conntrack"
    };
    s.mode == "ipvs"
        && (v(1, 9)..=v(1, 26)).contains(&s.version)
        && ipvs::ipvs_gate_off(s).is_none()
        && (ipvs::explicit_load_works(s, module) || ipvs::explicit_load_works(s, "nf_conntrack"))
}

/// The mode's verdict (`judge_mode`), with what the conntrack limit does to it.
pub fn with_conntrack(s: &Situation, judge_mode: impl Fn(&Situation) -> Judgement) -> Judgement {
    if s.version < v(1, 2) {
        return judge_mode(s);
    }
    match conntrack(s) {
        Conntrack::Present => judge_mode(s),
        Conntrack::Impossible(why) => {
            let lines = vec![
                "open /proc/sys/net/netfilter/nf_conntrack_max: no such file or directory".into(),
                format!(
                    "({why}: kube-proxy sets nf_conntrack_max at start, in every mode, and exits when it cannot)"
                ),
            ];
            if s.version >= v(1, 28) {
                return done(Outcome::Fail, lines);
            }
            let j = judge_mode(s);
            if j.outcome == Outcome::Fail {
                return j;
            }
            let mut reasons = j.reasons;
            reasons.extend(lines);
            done(Outcome::Fail, reasons)
        }
        Conntrack::Loadable => {
            let mut j = judge_mode(s);
            if j.outcome != Outcome::Fail && !ipvs_loads_it(s) {
                j.reasons.push(
                    "(only if something loads nf_conntrack first, as kubelet's or the CNI's rules usually do: kube-proxy sets nf_conntrack_max at start and exits without it; apply loads it)".into(),
                );
            }
            j
        }
    }
}
