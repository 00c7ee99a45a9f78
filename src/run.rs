//! One run of a subcommand: probe, plan, maybe apply, report. Returns the exit status.

use anyhow::Result;

use crate::config::{Config, Mode};
use crate::exit::Exit;
use crate::plan::{self, files::sysctl_keys};
use crate::probe::live as live_probe;
use crate::probe::nftprobe as nft_probe;
use crate::report::{self, Extras};
use crate::{apply, probe};

/// The node as read, what is wanted of it, and the node as `apply` would leave it.
pub struct Survey {
    pub facts: probe::Facts,
    pub wanted: plan::Wanted,
    pub projected: probe::Facts,
}

impl Survey {
    /// Probe → wanted → project: what every command starts from (and `apply` ends with).
    pub fn take(cfg: &Config) -> Result<Survey> {
        Ok(Survey::take_and(cfg, |_| ())?.0)
    }

    /// [`Survey::take`], with `meanwhile` given the facts read while the helpers still run
    /// (all but their answers), its result returned with the survey.
    pub fn take_and<R>(
        cfg: &Config,
        meanwhile: impl FnOnce(&probe::Facts) -> R,
    ) -> Result<(Survey, R)> {
        let keys = sysctl_keys(&plan::wanted_sysctls(&cfg.ask()));
        let pending = probe::start(&cfg.probe_request(), &keys)?;
        let during = meanwhile(pending.facts());
        let mut facts = pending.finish();
        if facts.kernel.image {
            facts = plan::at_boot(&facts, &keys);
        }
        Ok((Survey::of(cfg, facts), during))
    }

    /// The survey of facts already read.
    pub fn of(cfg: &Config, facts: probe::Facts) -> Survey {
        let wanted = plan::wanted(&cfg.ask(), &facts);
        let projected = plan::project(&facts, &wanted);
        Survey {
            facts,
            wanted,
            projected,
        }
    }

    /// The survey again after `apply` acted: only what apply can change is read again.
    pub fn retake(&self, cfg: &Config) -> Result<Survey> {
        let keys = sysctl_keys(&plan::wanted_sysctls(&cfg.ask()));
        let mut facts = probe::reprobe(&cfg.root, &keys, &self.facts)?;
        if facts.kernel.image {
            facts = plan::at_boot(&facts, &keys);
        }
        Ok(Survey::of(cfg, facts))
    }

    pub fn assess(&self, cfg: &Config) -> plan::Assessment {
        plan::assess(&cfg.ask(), &self.facts, &self.wanted, &self.projected)
    }
}

/// Runs the command and returns the report text and the exit status.
pub fn run(cfg: &Config) -> Result<(String, Exit)> {
    // apply reads the files it rewrites under its lock
    let _lock = match cfg.mode {
        Mode::Apply { dry_run: false, .. } => Some(apply::begin(&cfg.root)?),
        _ => None,
    };
    // apply's loads depend on no helper's answer: its `modprobe -a` starts while they run
    let (survey, batch) = match cfg.mode {
        Mode::Apply { dry_run: false, .. } => {
            Survey::take_and(cfg, |f| apply::start_loads(&cfg.root, &cfg.ask(), f))?
        }
        _ => (Survey::take_and(cfg, |_| ())?.0, None),
    };
    let Survey {
        facts,
        wanted,
        projected,
    } = &survey;
    match cfg.mode {
        Mode::Check { probe } => check(cfg, &survey, probe),
        // entry runs watch (src/watch.rs), which takes surveys from here
        Mode::Watch { .. } => anyhow::bail!("watch is not a single run"),
        Mode::Apply {
            dry_run: true,
            detailed_exitcode,
            ok_if_not_ready,
        } => {
            let plan = plan::actions::plan(facts, wanted);
            let (actions, diffs) = (plan.rows(), plan.diffs());
            let a = survey.assess(cfg);
            let predicted = plan::assess(&cfg.ask(), projected, wanted, projected);
            let after = predicted.ready();
            let x = Extras {
                actions: Some(&actions),
                dry_run: true,
                diffs: &diffs,
                ready_after_apply: Some(after),
                probe: None,
                predicted: Some((projected, &predicted)),
            };
            let out = report::render(&cfg.report_options(), facts, &a, &x);
            let changed = actions.iter().any(|act| act.ok);
            Ok((
                out,
                status(after, changed, detailed_exitcode, ok_if_not_ready),
            ))
        }
        Mode::Apply {
            dry_run: false,
            detailed_exitcode,
            ok_if_not_ready,
        } => {
            let applied = apply::apply(&cfg.root, cfg.progress, facts, wanted, batch)?;
            let actions = applied.actions;
            // Nothing done, nothing changed: the node is as it was read. The loads that failed
            // stay failed in the findings' advice.
            let after = if actions.is_empty() {
                survey
            } else {
                let mut facts = survey.retake(cfg)?.facts;
                facts.load_failures = applied.load_failures;
                Survey::of(cfg, facts)
            };
            let a = after.assess(cfg);
            let changed = actions.iter().any(|act| act.ok);
            let out = report::render(
                &cfg.report_options(),
                &after.facts,
                &a,
                &Extras {
                    actions: Some(&actions),
                    ..Extras::default()
                },
            );
            Ok((
                out,
                status(a.ready(), changed, detailed_exitcode, ok_if_not_ready),
            ))
        }
    }
}

/// `check`: the report, with the live probe when asked for: IPVS's dummy virtual server in
/// IPVS mode, the scratch nftables tables in nftables mode (their answer goes into the
/// verdict).
fn check(cfg: &Config, survey: &Survey, probe: bool) -> Result<(String, Exit)> {
    let mode = survey.wanted.proxy_mode();
    let ipvs = mode == Some(crate::domain::ProxyMode::Ipvs);
    let nftables = mode == Some(crate::domain::ProxyMode::Nftables);
    let probed;
    let survey = if probe && nftables {
        let mut facts = survey.facts.clone();
        facts.nft_probe = Some(nft_probe::probe(&cfg.root)?);
        probed = Survey::of(cfg, facts);
        &probed
    } else {
        survey
    };
    let Survey { facts, wanted, .. } = survey;
    let mut a = survey.assess(cfg);
    let live = if probe && ipvs {
        Some(live_probe::probe(&cfg.root, &wanted.scheduler)?)
    } else {
        None
    };
    let note = |severity, message| plan::Finding {
        id: "LiveProbe".into(),
        severity,
        message,
        also: Vec::new(),
    };
    if probe && !ipvs && !nftables {
        a.findings.push(note(
            plan::Severity::Info,
            format!(
                "--probe asks the kernel for IPVS or nftables; the mode is {:?}, so it was not run",
                wanted.mode
            ),
        ));
    }
    if let Some(p) = facts.nft_probe.as_ref().filter(|p| !p.ran) {
        a.findings.push(note(
            plan::Severity::Warning,
            format!("--probe (nftables): {}", p.detail),
        ));
    }
    let mut ready = a.ready();
    if let Some(p) = &live {
        ready &= p.ok;
    }
    let out = report::render(
        &cfg.report_options(),
        facts,
        &a,
        &Extras {
            probe: live.as_ref(),
            ..Extras::default()
        },
    );
    Ok((out, if ready { Exit::Ready } else { Exit::NotReady }))
}

fn status(ready: bool, changed: bool, detailed: bool, ok_if_not_ready: bool) -> Exit {
    match (ready, changed && detailed) {
        (false, _) if ok_if_not_ready => Exit::Ready,
        (false, _) => Exit::NotReady,
        (true, true) => Exit::Changed,
        (true, false) => Exit::Ready,
    }
}
