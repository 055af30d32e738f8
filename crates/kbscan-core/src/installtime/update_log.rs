//! The update's own log, `%windir%\KB<number>.log`: each `update.exe` run and its lines, in
//! UTC through the system's time zone (the log writes local times).

use super::{item, local_to_utc, Context, Gatherer};
use crate::evidence::updatelog::{self, RunOutcome, MAX_LOG_BYTES};
use crate::model::installed::{Bound, TimeEvidence, TimeSource, TimeZoneFacts};
use crate::model::system::RuleRegistry;
use crate::model::Rule;
use crate::source::{self, Source};

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
    let (src, Some((wnode, wshown))) = (ctx.src, ctx.windir) else {
        return;
    };
    let log_name = format!("{}.log", rule.kb);
    let Some(found) = source::path_ci(src, wnode, &[log_name.as_str()], false) else {
        return;
    };
    let shown = crate::registry::shown_path(wshown, &found);
    let node = &found[found.len() - 1].node;
    match src.stat(node) {
        Ok(st) if st.size.unwrap_or(0) > MAX_LOG_BYTES => notes.push(format!(
            "{shown}: larger than {MAX_LOG_BYTES} bytes, not read as an update log"
        )),
        Ok(st) => match src.read(node, st.size.unwrap_or(0), MAX_LOG_BYTES) {
            Ok(bytes) => evidence.extend(log_evidence(&bytes, &shown, ctx.time_zone)),
            Err(e) => notes.push(format!("{shown}: cannot read the update log: {e}")),
        },
        Err(e) => notes.push(format!("{shown}: cannot read the update log: {e}")),
    }
}

/// The evidence of one update log's bytes, `path` as shown.
pub fn log_evidence(bytes: &[u8], path: &str, tz: Option<&TimeZoneFacts>) -> Vec<TimeEvidence> {
    let log = updatelog::parse(bytes);
    let mut out = Vec::new();
    let mut installed_seen = false;
    for run in &log.runs {
        let Some(as_if) = run.started_local.as_if_utc_nanos() else {
            continue;
        };
        let (t, lo, hi, note) = local_to_utc(as_if, tz);
        let (bound, says) = match run.outcome {
            RunOutcome::NoFailureSeen if !installed_seen => {
                installed_seen = true;
                (
                    Bound::Moment,
                    format!(
                        "update.exe run started {} local time{}: the install",
                        run.started_local,
                        if run.labelled_local {
                            ""
                        } else {
                            " (the header has no \"(local)\" label)"
                        }
                    ),
                )
            }
            RunOutcome::NoFailureSeen => (
                Bound::Context,
                format!(
                    "a later update.exe run started {} local time (a re-run)",
                    run.started_local
                ),
            ),
            RunOutcome::Failed => (
                Bound::Context,
                format!(
                    "update.exe run started {} local time and failed (line {})",
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
        };
        let interval = if bound == Bound::Moment {
            (Some(lo), Some(hi))
        } else {
            (None, None)
        };
        for (i, line) in run.lines.iter().enumerate() {
            let at = match line.elapsed_ms {
                Some(ms) => t + (i128::from(ms) - i128::from(run.header_elapsed_ms)) * 1_000_000,
                None => t,
            };
            let mut e = if i == 0 {
                item(
                    TimeSource::UpdateLog,
                    t,
                    "log_header",
                    bound,
                    interval,
                    says.clone(),
                    path.to_owned(),
                )
            } else {
                item(
                    TimeSource::UpdateLog,
                    at,
                    "log_line",
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
        assert_eq!(ev[0].time, "2004-03-17T09:15:02Z");
        assert_eq!(ev[0].bound, Bound::Moment);
        assert_eq!(ev[1].time, "2004-03-17T09:15:04.5Z");
        assert_eq!(ev[1].line.as_deref(), Some("2: 3.500: KB832359 Setup"));
    }
}
