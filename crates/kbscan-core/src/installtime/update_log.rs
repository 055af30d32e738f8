//! The update's own log, `%windir%\KB<number>.log`: each `update.exe` run and its lines, in
//! UTC through the system's time zone (the log writes local times).

use super::{item, local_to_utc, Context, Gatherer};
use crate::evidence::updatelog::{self, RunOutcome, MAX_LOG_BYTES};
use crate::model::installed::{Bound, TimeEvidence, TimeField, TimeSource, TimeZoneFacts};
use crate::model::system::RuleRegistry;
use crate::model::Rule;
use crate::source::Source;

pub(super) fn gatherer<S: Source>() -> Gatherer<S> {
    Gatherer {
        name: "update log",
        gather: gather::<S>,
    }
}

fn gather<S: Source>(
    ctx: &Context<'_, S>,
    rule: &Rule,
    _: Option<&RuleRegistry>,
    evidence: &mut Vec<TimeEvidence>,
    notes: &mut Vec<String>,
) {
    let log_name = format!("{}.log", rule.kb);
    if let Some((shown, bytes)) =
        ctx.read_under_windir(&[log_name.as_str()], MAX_LOG_BYTES, "an update log", notes)
    {
        evidence.extend(log_evidence(&bytes, &shown, ctx.time_zone));
    }
}

/// What one run of update.exe is to the install of the files there now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunRole {
    /// The run the current install is dated by.
    Install,
    /// An install that the uninstall run at this index removed.
    Removed(usize),
    /// The last run, an uninstall: the files there now were installed after it.
    AfterUninstall,
    /// A failed run, an uninstall run, or a re-run not dated by.
    Other,
}

/// Which run is the current install, the runs taken in the order of their start times (a
/// run appended out of order cannot date the install earlier): after the last uninstall run,
/// the last run that may have installed (extended error code 0, or no failure line: whether
/// that one succeeded cannot be told, so the install is not dated before it). Install runs
/// before an uninstall run are installs it removed. When an uninstall run is the last, the
/// files there now were installed after it (`AfterUninstall`). A failed run is never an
/// install.
fn judge_runs(runs: &[updatelog::LogRun]) -> Vec<RunRole> {
    let mut roles = vec![RunRole::Other; runs.len()];
    let may_install =
        |o: RunOutcome| matches!(o, RunOutcome::Succeeded | RunOutcome::NoFailureSeen);
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by_key(|&i| runs[i].started_local);
    let mut start = 0;
    for (k, &i) in order.iter().enumerate() {
        if runs[i].outcome == RunOutcome::Uninstall {
            // The install this uninstall removed: the last install run before it.
            if let Some(&j) = order[start..k]
                .iter()
                .rev()
                .find(|&&j| may_install(runs[j].outcome))
            {
                roles[j] = RunRole::Removed(i);
            }
            start = k + 1;
        }
    }
    match order[start..]
        .iter()
        .rev()
        .find(|&&i| may_install(runs[i].outcome))
    {
        Some(&i) => roles[i] = RunRole::Install,
        None => {
            if let Some(&u) = start.checked_sub(1).and_then(|k| order.get(k)) {
                roles[u] = RunRole::AfterUninstall;
            }
        }
    }
    roles
}

/// The evidence of one update log's bytes, `path` as shown.
pub fn log_evidence(bytes: &[u8], path: &str, tz: Option<&TimeZoneFacts>) -> Vec<TimeEvidence> {
    let log = updatelog::parse(bytes);
    let mut out = Vec::new();
    let installs = judge_runs(&log.runs);
    for (k, run) in log.runs.iter().enumerate() {
        let Some(as_if) = run.started_local.as_if_utc_nanos() else {
            continue;
        };
        let (t, lo, hi, note) = local_to_utc(as_if, tz);
        let label = if run.labelled_local {
            ""
        } else {
            " (the header has no \"(local)\" label)"
        };
        let (bound, says) = match installs[k] {
            RunRole::Install => (
                Bound::Moment,
                format!(
                    "update.exe run started {} local time{label}: the install{}",
                    run.started_local,
                    if run.outcome == RunOutcome::Succeeded {
                        " (extended error code 0)"
                    } else {
                        " (no failure line; the last such run, so the install is not dated earlier)"
                    }
                ),
            ),
            RunRole::Removed(u) => (
                Bound::Removed,
                format!(
                    "update.exe run started {} local time{label}: an install that the uninstall run at line {} removed{}",
                    run.started_local,
                    log.runs.get(u).map_or(0, |r| r.lines.first().map_or(0, |l| l.number)),
                    if log.runs.get(u).is_some_and(|r| r.confirmed) {
                        " (the uninstall ended with extended error code 0)"
                    } else {
                        " (whether the uninstall succeeded the log does not say)"
                    }
                ),
            ),
            RunRole::AfterUninstall => (
                Bound::Moment,
                format!(
                    "update.exe run started {} local time{label} to uninstall (line {}), and no later install run is logged: the files there now were installed after it",
                    run.started_local,
                    run.outcome_line.unwrap_or(0)
                ),
            ),
            RunRole::Other => match run.outcome {
                RunOutcome::Failed => (
                    Bound::Context,
                    format!(
                        "update.exe run started {} local time and failed (line {}): not an install",
                        run.started_local,
                        run.outcome_line.unwrap_or(0)
                    ),
                ),
                RunOutcome::Uninstall => (
                    Bound::Context,
                    format!(
                        "update.exe run started {} local time to uninstall (line {})",
                        run.started_local,
                        run.outcome_line.unwrap_or(0)
                    ),
                ),
                _ => (
                    Bound::Context,
                    format!(
                        "update.exe run started {} local time (a re-run, not the one the install is dated by)",
                        run.started_local
                    ),
                ),
            },
        };
        let interval = match installs[k] {
            RunRole::Install => (Some(lo), Some(hi)),
            RunRole::Removed(u) => (
                Some(lo),
                log.runs
                    .get(u)
                    .and_then(|r| r.started_local.as_if_utc_nanos())
                    .map(|x| local_to_utc(x, tz).1),
            ),
            RunRole::AfterUninstall => (Some(lo), None),
            RunRole::Other => (None, None),
        };
        for (i, line) in run.lines.iter().enumerate() {
            let at = match line.elapsed_ms {
                Some(ms) => {
                    t.plus_nanos((i128::from(ms) - i128::from(run.header_elapsed_ms)) * 1_000_000)
                }
                None => t,
            };
            let mut e = if i == 0 {
                item(
                    TimeSource::UpdateLog,
                    t,
                    match installs[k] {
                        RunRole::Removed(u) if log.runs.get(u).is_some_and(|r| r.confirmed) => {
                            TimeField::LogHeaderRemoved
                        }
                        RunRole::Removed(_) => TimeField::LogHeaderRemovedUnconfirmed,
                        _ => TimeField::LogHeader,
                    },
                    bound,
                    interval,
                    says.clone(),
                    path.to_owned(),
                )
            } else {
                item(
                    TimeSource::UpdateLog,
                    at,
                    TimeField::LogLine,
                    Bound::Context,
                    (None, None),
                    format!("update log line {}", line.number),
                    path.to_owned(),
                )
            };
            e.note.clone_from(&note);
            e.line = Some(format!("{}: {}", line.number, line.text));
            out.push(e);
        }
    }
    if log.truncated {
        if let Some(last) = out.last_mut() {
            let more =
                "the log was longer than kbscan reads (lines or runs); the rest was not looked at";
            last.note = Some(match last.note.take() {
                Some(n) => format!("{n}; {more}"),
                None => more.to_owned(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_runs_become_evidence_in_utc() {
        let z = TimeZoneFacts {
            bias_minutes: -60,
            bias_value: "Bias",
            daylight_bias_minutes: None,
            standard_name: None,
        };
        let log = b"1.000: 2004/03/17 10:15:02.000 (local)\r\n3.500: KB832359 Setup\r\n";
        let ev = log_evidence(log, "WINNT/KB832359.log", Some(&z));
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[0].time.to_string(), "2004-03-17T09:15:02Z");
        assert_eq!(ev[0].bound, Bound::Moment);
        assert_eq!(ev[1].time.to_string(), "2004-03-17T09:15:04.5Z");
        assert_eq!(ev[1].line.as_deref(), Some("2: 3.500: KB832359 Setup"));
    }
}
