//! Install-time evidence found beside the registry facts (issue 14): the update's own log
//! `%windir%\KB<number>.log`, the last-write times of the update's keys and their
//! `InstalledDate`/`InstalledBy`-style values, the uninstall folder's times, and the system's
//! time zone (SYSTEM `<ControlSet>\Control\TimeZoneInformation`) that turns the log's local
//! times into UTC. Everything bounded; nothing judged (that is `judge::installed`).
//!
//! Over 400 lines with its tests (about 50): every install-time source read from a hive or a
//! folder, each with its bound kind, is gathered in one place.

use nt_hive::{Hive, NtHiveNameString};

use super::facts::{dword, key, value_text};
use super::hive::LoadedHive;
use crate::evidence::updatelog::{self, LocalTime, RunOutcome, MAX_LOG_BYTES};
use crate::model::installed::{
    show_time, Bound, Installed, TimeEvidence, TimeSource, TimeZoneFacts,
};
use crate::model::system::SystemEvidence;
use crate::model::Rule;
use crate::source::{self, Source};

const SECOND: i128 = 1_000_000_000;
const MINUTE: i128 = 60 * SECOND;
const HOUR: i128 = 60 * MINUTE;
/// Local times of an unknown zone are within this of UTC (zones run from −12 h to +14 h).
pub const UNKNOWN_ZONE_SLACK: i128 = 14 * HOUR;
/// Windows FILETIME (100 ns since 1601) to Unix nanoseconds.
const FILETIME_EPOCH_DIFF: i128 = 116_444_736_000_000_000;

pub fn filetime_nanos(ft: u64) -> Option<i128> {
    (ft != 0).then(|| (i128::from(ft) - FILETIME_EPOCH_DIFF) * 100)
}

/// The last-write FILETIME of the key at `path` (below the hive's root): nt-hive reads the key
/// node but does not expose its time stamp, so the 8 bytes are read here at the node's own
/// offset, found from where nt-hive's name slice lies in the hive (the name starts 0x4C bytes
/// after the `nk` signature; the time stamp is 4 bytes after it). Checked: the offset lies in
/// the hive and the signature is `nk`; otherwise `None`.
pub fn key_last_written(hive: &LoadedHive, path: &str) -> Option<u64> {
    let bytes = hive.bytes();
    crate::contain::contained(|| {
        let h = Hive::without_validation(bytes).ok()?;
        let root = h.root_key_node().ok()?;
        let node = if path.is_empty() {
            root
        } else {
            root.subpath(path)?.ok()?
        };
        let name = node.name().ok()?;
        let slice: &[u8] = match name {
            NtHiveNameString::Latin1(b) => b,
            NtHiveNameString::Utf16LE(b) => b,
        };
        let start = bytes.as_ptr() as usize;
        let at = (slice.as_ptr() as usize).checked_sub(start)?;
        let nk = at.checked_sub(0x4c)?;
        let sig = bytes.get(nk..nk + 2)?;
        if sig != b"nk" {
            return None;
        }
        let ts: [u8; 8] = bytes.get(nk + 4..nk + 12)?.try_into().ok()?;
        Some(u64::from_le_bytes(ts))
    })
    .flatten()
}

/// SYSTEM `<ControlSet>\Control\TimeZoneInformation`: `ActiveTimeBias`, else `Bias`.
pub fn read_time_zone(system: &LoadedHive, control_set: &str) -> Option<TimeZoneFacts> {
    system
        .with_root(|r| {
            let Some(k) = key(&r, &format!("{control_set}\\Control\\TimeZoneInformation"))? else {
                return Ok(None);
            };
            let active = dword(&k, "ActiveTimeBias")?;
            let bias = dword(&k, "Bias")?;
            let (value, which) = match (active, bias) {
                (Some(a), _) => (a, "ActiveTimeBias"),
                (None, Some(b)) => (b, "Bias"),
                (None, None) => return Ok(None),
            };
            Ok(Some(TimeZoneFacts {
                bias_minutes: value as i32,
                bias_value: which,
                daylight_bias_minutes: dword(&k, "DaylightBias")?.map(|d| d as i32),
                standard_name: value_text(&k, "StandardName")?,
            }))
        })
        .ok()
        .flatten()
        .filter(|z| z.bias_minutes.abs() <= 24 * 60)
}

/// A local wall-clock time (as-if-UTC nanoseconds) in UTC, with the interval it allows and a
/// note when the zone is unknown or daylight saving time may shift it.
pub fn local_to_utc(
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

/// `3/17/2004`, `2004-03-17`, `20040317`: a date as hotfix keys write it (local).
pub fn parse_installed_date(text: &str) -> Option<LocalTime> {
    let t = text.trim();
    let nums: Vec<&str> = t.split(['/', '-', '.']).collect();
    let (y, m, d) = match nums.as_slice() {
        [a, b, c] if a.len() == 4 => (a.parse().ok()?, b.parse().ok()?, c.parse().ok()?),
        [a, b, c] if c.len() == 4 => (c.parse().ok()?, a.parse().ok()?, b.parse().ok()?),
        [s] if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) => (
            s[..4].parse().ok()?,
            s[4..6].parse().ok()?,
            s[6..].parse().ok()?,
        ),
        _ => return None,
    };
    let lt = LocalTime {
        year: y,
        month: m,
        day: d,
        hour: 0,
        minute: 0,
        second: 0,
        millis: 0,
    };
    lt.as_if_utc_nanos().map(|_| lt)
}

fn item(
    source: TimeSource,
    time: i128,
    field: &'static str,
    bound: Bound,
    interval: (Option<i128>, Option<i128>),
    says: String,
    path: String,
) -> TimeEvidence {
    TimeEvidence {
        source,
        time: show_time(time),
        field,
        bound,
        not_before: interval.0.map(show_time),
        not_after: interval.1.map(show_time),
        says,
        path,
        note: None,
        line: None,
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
                Some(ms) => t + (i128::from(ms) - i128::from(run.header_elapsed_ms)) * 1_000_000,
                None => t,
            };
            let mut e = if i == 0 {
                item(
                    TimeSource::UpdateLog,
                    t,
                    match installs[k] {
                        RunRole::Removed(u) if log.runs.get(u).is_some_and(|r| r.confirmed) => {
                            "log_header_removed"
                        }
                        RunRole::Removed(_) => "log_header_removed_unconfirmed",
                        _ => "log_header",
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

/// Reads the install-time evidence of every rule and the time zone into `ev`: called by
/// `registry::gather` once the registry facts are read.
pub fn gather<S: Source>(
    src: &S,
    windir: Option<&(S::Node, String)>,
    software: Option<&LoadedHive>,
    system: Option<&LoadedHive>,
    rules: &[Rule],
    ev: &mut SystemEvidence,
) {
    if let (Some(h), Some(cs)) = (system, ev.os.control_set.clone()) {
        ev.time_zone = read_time_zone(h, &cs);
    }
    let tz = ev.time_zone.clone();
    for rule in rules {
        let mut evidence = Vec::new();
        if let Some((wnode, wshown)) = windir {
            // The update log.
            let log_name = format!("{}.log", rule.kb);
            if let Some(found) = source::path_ci(src, wnode, &[log_name.as_str()], false) {
                let shown = super::shown_path(wshown, &found);
                let node = &found[found.len() - 1].node;
                match src.stat(node) {
                    Ok(st) if st.size.unwrap_or(0) > MAX_LOG_BYTES => ev.notes.push(format!(
                        "{shown}: larger than {MAX_LOG_BYTES} bytes, not read as an update log"
                    )),
                    Ok(st) => match src.read(node, st.size.unwrap_or(0), MAX_LOG_BYTES) {
                        Ok(bytes) => evidence.extend(log_evidence(&bytes, &shown, tz.as_ref())),
                        Err(e) => ev
                            .notes
                            .push(format!("{shown}: cannot read the update log: {e}")),
                    },
                    Err(e) => ev
                        .notes
                        .push(format!("{shown}: cannot read the update log: {e}")),
                }
            }
            // The uninstall folder's times.
            if let Some(dir) = &rule.uninstall_dir {
                if let Some(found) = source::path_ci(src, wnode, &[dir.as_str()], true) {
                    let shown = super::shown_path(wshown, &found);
                    let node = &found[found.len() - 1].node;
                    if let Some(nt) = src.node_times(node) {
                        evidence.extend(folder_evidence(&nt, &shown, src.time_basis()));
                    }
                }
            }
        }
        // Key last-write times and InstalledDate-style values.
        if let (Some(h), Some(rr)) = (software, ev.rules.iter().find(|r| r.rule == rule.id)) {
            for rec in &rr.update_records {
                let by = rec
                    .values
                    .0
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("InstalledBy"))
                    .map(|(_, v)| format!("; InstalledBy = {v}"))
                    .unwrap_or_default();
                if let Some(t) = key_last_written(h, &rec.key).and_then(filetime_nanos) {
                    evidence.push(item(
                        TimeSource::RegistryKey,
                        t,
                        "last_written",
                        Bound::NotAfter,
                        (None, Some(t)),
                        format!("key last written {}: created no later{by}", show_time(t)),
                        rec.key.clone(),
                    ));
                }
                for (name, value) in &rec.values.0 {
                    let n = name.to_ascii_lowercase();
                    if !(n == "installeddate" || n == "installdate" || n == "installed_date") {
                        continue;
                    }
                    let Some(day) = parse_installed_date(value) else {
                        continue;
                    };
                    let Some(as_if) = day.as_if_utc_nanos() else {
                        continue;
                    };
                    let (t, lo, _, note) = local_to_utc(as_if, tz.as_ref());
                    let hi = local_to_utc(as_if + 24 * HOUR, tz.as_ref()).2;
                    let mut e = item(
                        TimeSource::RegistryValue,
                        t,
                        "installed_date",
                        Bound::Moment,
                        (Some(lo), Some(hi)),
                        // Raw text: the printers escape every evidence text.
                        format!("{name} = {value} (a local date){by}"),
                        format!("{}\\{name}", rec.key),
                    );
                    e.note = note;
                    evidence.push(e);
                }
            }
        }
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

/// The times of a folder or file (SI and, on NTFS, FN) as approximate evidence.
pub fn folder_evidence(
    nt: &source::NodeTimes,
    shown: &str,
    basis: crate::model::time::TimeBasis,
) -> Vec<TimeEvidence> {
    let mut out = Vec::new();
    let sets = [("si", Some(&nt.si)), ("fn", nt.name.as_ref())];
    for (prefix, times) in sets {
        let Some(times) = times else { continue };
        for (field, value, bound, says) in [
            (
                "created",
                &times.created,
                Bound::Approximate,
                "uninstall folder created (the update made it)",
            ),
            (
                "modified",
                &times.modified,
                Bound::Context,
                "uninstall folder last modified",
            ),
        ] {
            let Some(t) = value
                .as_deref()
                .and_then(crate::model::installed::parse_time)
            else {
                continue;
            };
            // `si_`/`fn_` only where NTFS gives both; elsewhere the file system's own times.
            let field: &'static str = match (nt.name.is_some(), prefix, field) {
                (false, _, "created") => "created",
                (false, _, _) => "modified",
                (_, "si", "created") => "si_created",
                (_, "si", _) => "si_modified",
                (_, _, "created") => "fn_created",
                _ => "fn_modified",
            };
            let mut e = item(
                TimeSource::UninstallFolder,
                t,
                field,
                bound,
                (None, None),
                says.to_owned(),
                shown.to_owned(),
            );
            e.note = basis.note().map(str::to_owned);
            out.push(e);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_dates_in_the_forms_hotfix_keys_use() {
        for (t, want) in [
            ("3/17/2004", (2004, 3, 17)),
            ("2004-03-17", (2004, 3, 17)),
            ("20040317", (2004, 3, 17)),
            ("12/1/2003", (2003, 12, 1)),
        ] {
            let d = parse_installed_date(t).unwrap();
            assert_eq!((d.year, d.month, d.day), want, "{t}");
        }
        for bad in ["", "17.13.2004", "yesterday", "2004/02/30", "1/2/3"] {
            assert!(parse_installed_date(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn local_times_use_the_bias_or_say_the_zone_is_unknown() {
        let z = TimeZoneFacts {
            bias_minutes: 300, // US Eastern: UTC = local + 5 h
            bias_value: "ActiveTimeBias",
            daylight_bias_minutes: None,
            standard_name: None,
        };
        let (t, lo, hi, note) = local_to_utc(0, Some(&z));
        assert_eq!((t, lo, hi, note), (5 * HOUR, 5 * HOUR, 5 * HOUR, None));
        let (t, lo, hi, note) = local_to_utc(0, None);
        assert_eq!((t, lo, hi), (0, -14 * HOUR, 14 * HOUR));
        assert!(note.unwrap().contains("time zone unknown"));
    }

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
