//! The classic event logs (`%windir%\system32\config\SysEvent.Evt`, `AppEvent.Evt`,
//! `SecEvent.Evt`) as a second witness of time: the records that name the rule's update, and
//! the boots (the event log service's 6005, 6008 and 6009, KB 196452). Neither is read as an
//! install: no event ID of Windows 2000's update installer could be sourced (docs/evidence.md,
//! "The event log"), so a mention is context, and the boots tell `--as-of` when a fix that
//! waited for a restart can have been running (`judge::installed`).

use super::{item, Context, Gatherer};
use crate::evidence::evt::{kb_evidence, EvtFile, KbId, ServiceEventKind};
use crate::model::installed::{Bound, TimeEvidence, TimeField, TimeSource};
use crate::model::system::RuleRegistry;
use crate::model::Rule;
use crate::source::Source;

/// The logs read, under the Windows folder.
const LOGS: [&str; 3] = ["SysEvent.Evt", "AppEvent.Evt", "SecEvent.Evt"];
/// A log larger than this is not read (Windows 2000's default maximum is 512 KB; an
/// administrator may raise it): a notice says so.
pub const MAX_LOG_BYTES: u64 = 64 << 20;
/// Boots listed per log and rule (the latest ones are kept: a long-lived server boots often).
const MAX_BOOTS: usize = 1024;

pub(super) fn gatherer<S: Source>() -> Gatherer<S> {
    Gatherer {
        name: "event log",
        gather: gather::<S>,
    }
}

/// One event log as read for a system: its display path, its bytes, and why its times are
/// not trusted to order events (they run backwards), if so.
pub struct ReadLog {
    pub shown: String,
    pub bytes: Vec<u8>,
    pub backwards: Option<String>,
}

/// The system's event logs, read and checked once (the first rule asks; the others reuse
/// them); reading problems and a log whose times run backwards are noted once, here.
fn logs<'c, S: Source>(ctx: &'c Context<'_, S>, notes: &mut Vec<String>) -> &'c [ReadLog] {
    ctx.event_logs.get_or_init(|| {
        let mut out = Vec::new();
        for log in LOGS {
            let Some((shown, bytes)) = ctx.read_under_windir(
                &["system32", "config", log],
                MAX_LOG_BYTES,
                "an event log",
                notes,
            ) else {
                continue;
            };
            let backwards = times_run_backwards(&EvtFile::open(&bytes));
            if let Some(b) = &backwards {
                notes.push(format!("{shown}: {b}"));
            }
            out.push(ReadLog {
                shown,
                bytes,
                backwards,
            });
        }
        out
    })
}

fn gather<S: Source>(
    ctx: &Context<'_, S>,
    rule: &Rule,
    _: Option<&RuleRegistry>,
    evidence: &mut Vec<TimeEvidence>,
    notes: &mut Vec<String>,
) {
    let Some(kb) = KbId::parse(&rule.kb) else {
        return;
    };
    for log in logs(ctx, notes) {
        evidence.extend(log_evidence(
            &log.bytes,
            &log.shown,
            kb,
            log.backwards.as_deref(),
            notes,
        ));
    }
}

/// The evidence of one event log's bytes, `shown` as the path: every record naming `kb`, and
/// the boots. `backwards` (from [`ReadLog`]) is noted on every piece of its evidence and
/// marks it (a clock set back, or records not in the order written: the judgement reads it).
pub fn log_evidence(
    bytes: &[u8],
    shown: &str,
    kb: KbId,
    backwards: Option<&str>,
    notes: &mut Vec<String>,
) -> Vec<TimeEvidence> {
    let file = EvtFile::open(bytes);
    let found = kb_evidence(&file, kb);
    let backwards = backwards.map(str::to_owned);
    if found.truncated {
        notes.push(format!(
            "{shown}: more records than kbscan keeps; the rest were not read"
        ));
    }
    let mut out = Vec::new();
    for m in &found.mentions {
        let t = m.time_generated.timestamp();
        let mut e = item(
            TimeSource::EventLog,
            t,
            TimeField::EventMention,
            Bound::Context,
            (None, None),
            format!(
                "event log record {} (source {}, event ID {}) names {kb}: not read as an install (no event ID of the update installer could be sourced)",
                m.record_number,
                m.source.to_string_lossy(),
                m.event_id.code()
            ),
            shown.to_owned(),
        );
        e.line = Some(format!("{}: {}", m.record_number, m.text.to_string_lossy()));
        e.note.clone_from(&backwards);
        e.times_run_backwards = backwards.is_some();
        out.push(e);
    }
    let boots: Vec<_> = found.boots().collect();
    let skip = boots.len().saturating_sub(MAX_BOOTS);
    for b in boots.into_iter().skip(skip) {
        let what = match b.kind {
            ServiceEventKind::Started => "the event log service started (6005): a boot",
            ServiceEventKind::UnexpectedShutdown => "the boot after an unexpected shutdown (6008)",
            _ => "the system's version logged at boot (6009)",
        };
        let mut e = item(
            TimeSource::EventLog,
            b.time_generated.timestamp(),
            TimeField::Boot,
            Bound::Context,
            (None, None),
            format!("event log record {}: {what}", b.record_number),
            shown.to_owned(),
        );
        e.line = Some(format!("{}: boot", b.record_number));
        e.note.clone_from(&backwards);
        e.times_run_backwards = backwards.is_some();
        out.push(e);
    }
    out
}

/// Record numbers grow by one per event and `TimeGenerated` with them; a record whose time is
/// more than an hour before an earlier-numbered one's says the clock went back (or was set
/// back): the log then cannot order events by time.
fn times_run_backwards(file: &EvtFile<'_>) -> Option<String> {
    const SLACK: i64 = 3600;
    let mut times: Vec<(u32, i64)> = file
        .records()
        .map(|r| (r.record_number, r.time_generated.unix_seconds()))
        .collect();
    times.sort_unstable();
    let mut latest: Option<(u32, i64)> = None;
    for (n, t) in times {
        if let Some((ln, lt)) = latest {
            if t + SLACK < lt {
                return Some(format!(
                    "record {n} is dated before record {ln}: the event times run backwards, so the log's times are not trusted to order events"
                ));
            }
        }
        if latest.is_none_or(|(_, lt)| t > lt) {
            latest = Some((n, t));
        }
    }
    None
}
