//! Install-time evidence: when was each rule's update installed? Every source of time
//! evidence is one file of this folder holding a [`Gatherer`], registered by one line in
//! [`gatherers`]: the update's own log `%windir%\KB<number>.log` (`update_log`), the last-write
//! times of the update's registry keys and their `InstalledDate`-style values
//! (`registry_times`), the uninstall folder's times (`uninstall_folder`), the classic event
//! logs (`event_log`). The scan driver runs them after the system facts are read; local times
//! are turned into UTC with the system's time zone. Files under the Windows folder are read
//! through one helper ([`Context::read_under_windir`]: found case-insensitively, size checked
//! before a byte is read, a note when too large or unreadable), and the event logs once per
//! system ([`Context::event_logs`]). Everything bounded; nothing judged (that is
//! `judge::installed`).

pub mod event_log;
mod registry_times;
mod uninstall_folder;
pub mod update_log;

use crate::model::installed::{
    Bound, Installed, TimeEvidence, TimeField, TimeSource, TimeZoneFacts,
};
use crate::model::system::{RuleRegistry, SystemEvidence};
use crate::model::time::Timestamp;
use crate::model::Rule;
use crate::registry::hive::LoadedHive;
use crate::source::{self, Source};

pub use registry_times::parse_installed_date;
pub use uninstall_folder::folder_evidence;
pub use update_log::log_evidence;

pub(crate) const SECOND: i128 = 1_000_000_000;
pub(crate) const MINUTE: i128 = 60 * SECOND;
pub(crate) const HOUR: i128 = 60 * MINUTE;
/// Local times of an unknown zone are within this of UTC (zones run from −12 h to +14 h).
pub const UNKNOWN_ZONE_SLACK: i128 = 14 * HOUR;
/// What a gatherer may read for one system: the source, its Windows folder, the loaded hives,
/// the time zone and the registry facts already read for the rule.
pub struct Context<'a, S: Source> {
    pub src: &'a S,
    pub windir: Option<&'a (S::Node, String)>,
    pub software: Option<&'a LoadedHive>,
    pub time_zone: Option<&'a TimeZoneFacts>,
    /// The event logs, read once per system on first use (every rule's gatherer reads them):
    /// [`Context::new`] leaves it empty.
    pub event_logs: std::cell::OnceCell<Vec<event_log::ReadLog>>,
}

impl<'a, S: Source> Context<'a, S> {
    pub fn new(
        src: &'a S,
        windir: Option<&'a (S::Node, String)>,
        software: Option<&'a LoadedHive>,
        time_zone: Option<&'a TimeZoneFacts>,
    ) -> Self {
        Self {
            src,
            windir,
            software,
            time_zone,
            event_logs: std::cell::OnceCell::new(),
        }
    }

    /// The file at `rel` under the Windows folder, read whole if it is at most `max` bytes:
    /// (its display path, its bytes). A file too large or unreadable is a note naming `what`
    /// it would have been read as; a file not there is `None` without a note.
    pub fn read_under_windir(
        &self,
        rel: &[&str],
        max: u64,
        what: &str,
        notes: &mut Vec<String>,
    ) -> Option<(String, Vec<u8>)> {
        let (wnode, wshown) = self.windir?;
        let found = source::path_ci(self.src, wnode, rel, false)?;
        let shown = crate::registry::shown_path(wshown, &found);
        let node = &found.last()?.node;
        let read = self
            .src
            .stat(node)
            .and_then(|st| match st.size.unwrap_or(0) {
                // Refused before a byte is read.
                n if n > max => Ok(None),
                n => self.src.read(node, n, max).map(Some),
            });
        match read {
            Ok(Some(bytes)) => Some((shown, bytes)),
            Ok(None) => {
                notes.push(format!(
                    "{shown}: larger than {max} bytes, not read as {what}"
                ));
                None
            }
            Err(e) => {
                notes.push(format!("{shown}: cannot read {what}: {e}"));
                None
            }
        }
    }
}

/// Reads one rule's evidence of one kind; problems worth telling go into `notes`.
pub type GatherFn<S> =
    fn(&Context<'_, S>, &Rule, Option<&RuleRegistry>, &mut Vec<TimeEvidence>, &mut Vec<String>);

/// One source of install-time evidence.
pub struct Gatherer<S: Source> {
    /// What it reads, for people.
    pub name: &'static str,
    pub gather: GatherFn<S>,
}

/// Every source of install-time evidence, in the order their evidence is listed.
pub fn gatherers<S: Source>() -> Vec<Gatherer<S>> {
    vec![
        update_log::gatherer(),
        uninstall_folder::gatherer(),
        registry_times::gatherer(),
        event_log::gatherer(),
    ]
}

/// Runs every gatherer for every rule and files the evidence under the rule's registry facts:
/// called by the scan driver once the system facts (hives, time zone) are read.
pub fn gather<S: Source>(ctx: &Context<'_, S>, rules: &[Rule], ev: &mut SystemEvidence) {
    let gatherers = gatherers::<S>();
    for rule in rules {
        let mut evidence = Vec::new();
        let mut notes = Vec::new();
        let facts = ev.rules.iter().find(|r| r.rule == rule.id);
        for g in &gatherers {
            (g.gather)(ctx, rule, facts, &mut evidence, &mut notes);
        }
        ev.notes.append(&mut notes);
        if let Some(rr) = ev.rules.iter_mut().find(|r| r.rule == rule.id) {
            if !evidence.is_empty() {
                rr.installed = Some(Installed {
                    evidence,
                    ..Default::default()
                });
            }
        }
    }
}

/// A local wall-clock time (as-if-UTC nanoseconds) in UTC, with the interval it allows and a
/// note when the zone is unknown or daylight saving time may shift it.
/// Returns (the moment, the earliest and the latest it can be, the note).
pub fn local_to_utc(
    as_if_utc: i128,
    tz: Option<&TimeZoneFacts>,
) -> (Timestamp, Timestamp, Timestamp, Option<String>) {
    let (t, lo, hi, note) = local_to_utc_nanos(as_if_utc, tz);
    (
        Timestamp::from_unix_nanos(t),
        Timestamp::from_unix_nanos(lo),
        Timestamp::from_unix_nanos(hi),
        note,
    )
}

fn local_to_utc_nanos(
    as_if_utc: i128,
    tz: Option<&TimeZoneFacts>,
) -> (i128, i128, i128, Option<String>) {
    match tz {
        Some(z) => {
            let t = as_if_utc + i128::from(z.bias_minutes) * MINUTE;
            let dst = z.daylight_bias_minutes.filter(|d| *d != 0).map(|d| i128::from(d.abs()) * MINUTE);
            match dst {
                Some(d) => (
                    t,
                    t - d,
                    t + d,
                    Some(format!(
                        "local time converted with the system's {} ({} min); daylight saving time at that moment is not known, so it may be off by {} min",
                        z.bias_value, z.bias_minutes, d / MINUTE
                    )),
                ),
                None => (t, t, t, None),
            }
        }
        None => (
            as_if_utc,
            as_if_utc - UNKNOWN_ZONE_SLACK,
            as_if_utc + UNKNOWN_ZONE_SLACK,
            Some("time zone unknown (no readable TimeZoneInformation): the local time is shown as if it were UTC, and the install moment is only known within ±14 h".to_owned()),
        ),
    }
}

pub(crate) fn item(
    source: TimeSource,
    time: Timestamp,
    field: TimeField,
    bound: Bound,
    interval: (Option<Timestamp>, Option<Timestamp>),
    says: String,
    path: String,
) -> TimeEvidence {
    TimeEvidence {
        source,
        time,
        field,
        bound,
        not_before: interval.0,
        not_after: interval.1,
        says,
        path,
        note: None,
        line: None,
        times_run_backwards: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_use_the_bias_or_say_the_zone_is_unknown() {
        let z = TimeZoneFacts {
            bias_minutes: 300, // US Eastern: UTC = local + 5 h
            bias_value: "ActiveTimeBias",
            daylight_bias_minutes: None,
            standard_name: None,
        };
        let (t, lo, hi, note) = local_to_utc_nanos(0, Some(&z));
        assert_eq!((t, lo, hi, note), (5 * HOUR, 5 * HOUR, 5 * HOUR, None));
        let (t, lo, hi, note) = local_to_utc_nanos(0, None);
        assert_eq!((t, lo, hi), (0, -14 * HOUR, 14 * HOUR));
        assert!(note.unwrap().contains("time zone unknown"));
    }
}
