//! When was an update installed (issue 14): every time read that bears on it, the bounds they
//! give, the interval that follows (`installed`), and the state at a chosen moment (`as_of`).
//! Plain data; gathered in `installtime`, judged in `judge::installed`.

use serde::Serialize;

use super::time::Timestamp;
use super::verdict::Reason;

/// What a piece of evidence says about the install moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// The install moment itself (update log header, an `InstalledDate` value), within
    /// `not_before`..`not_after` (the time zone and the precision widen it).
    Moment,
    /// The install happened no later than this (a key's last-write time: the key was created
    /// no later, and later edits only move the time forward).
    NotAfter,
    /// Folder and file times: near the install moment when nothing copied or back-dated them.
    /// Never a hard bound: compared with the bounds (agrees or disagrees), used for `best` only
    /// when nothing better exists.
    Approximate,
    /// Read and reported (timeline), but says nothing about this install (a failed or
    /// uninstall run of the update, the old build's times in a backup copy).
    Context,
    /// An earlier install that a recorded uninstall removed: in place from `not_before` until
    /// `not_after` (the uninstall run), not the install of the files there now.
    Removed,
}

/// Where a time was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    /// `%windir%\KB<number>.log`.
    UpdateLog,
    /// A key's last-write time in the SOFTWARE hive.
    RegistryKey,
    /// An `InstalledDate`-style value of an update key.
    RegistryValue,
    /// `%windir%\$NTUninstallKB…$`.
    UninstallFolder,
    /// A live copy of a rule file.
    LiveFile,
    /// A copy in a backup or cache folder.
    BackupCopy,
    /// A record of a classic event log (`SysEvent.Evt`, `AppEvent.Evt`, `SecEvent.Evt`): one
    /// that names the update, or a boot.
    EventLog,
}

impl TimeSource {
    /// How the table names it.
    pub fn label(self) -> &'static str {
        match self {
            TimeSource::UpdateLog => "update log",
            TimeSource::RegistryKey => "registry key",
            TimeSource::RegistryValue => "registry value",
            TimeSource::UninstallFolder => "uninstall folder",
            TimeSource::LiveFile => "live file",
            TimeSource::BackupCopy => "backup copy",
            TimeSource::EventLog => "event log",
        }
    }
    /// Trust, most trusted first (docs/evidence.md, "When was it installed?").
    pub fn trust_rank(self) -> u8 {
        match self {
            TimeSource::UpdateLog => 0,
            TimeSource::RegistryValue => 1,
            TimeSource::RegistryKey => 2,
            TimeSource::UninstallFolder => 3,
            TimeSource::LiveFile => 4,
            TimeSource::BackupCopy => 5,
            TimeSource::EventLog => 6,
        }
    }
}

/// Which time of its object a piece of evidence is. Serialized under the names the report has
/// always used; one enum, so that the judgement, the timeline and the gatherers cannot
/// disagree on a spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeField {
    /// An update log run's header: the run's start.
    LogHeader,
    /// The header of a run that a confirmed uninstall removed.
    LogHeaderRemoved,
    /// The header of a run that an uninstall whose outcome the log does not give removed.
    LogHeaderRemovedUnconfirmed,
    /// A later line of a run (its elapsed-time stamp).
    LogLine,
    /// A registry key's last-write time.
    LastWritten,
    /// An `InstalledDate`-style value.
    InstalledDate,
    /// A file system's own creation and modification times (where NTFS's two sets are not
    /// both read).
    Created,
    Modified,
    /// NTFS `$STANDARD_INFORMATION` and `$FILE_NAME` times.
    SiCreated,
    SiModified,
    FnCreated,
    FnModified,
    /// An event record one of whose strings names the update (its source and ID are not
    /// read as an install: none could be sourced).
    EventMention,
    /// An event record of a boot (the event log service's 6005, 6008, 6009: KB 196452).
    Boot,
}

impl TimeField {
    pub fn as_str(self) -> &'static str {
        match self {
            TimeField::LogHeader => "log_header",
            TimeField::LogHeaderRemoved => "log_header_removed",
            TimeField::LogHeaderRemovedUnconfirmed => "log_header_removed_unconfirmed",
            TimeField::LogLine => "log_line",
            TimeField::LastWritten => "last_written",
            TimeField::InstalledDate => "installed_date",
            TimeField::Created => "created",
            TimeField::Modified => "modified",
            TimeField::SiCreated => "si_created",
            TimeField::SiModified => "si_modified",
            TimeField::FnCreated => "fn_created",
            TimeField::FnModified => "fn_modified",
            TimeField::EventMention => "event_mention",
            TimeField::Boot => "boot",
        }
    }

    /// How a timeline names a file-system time of this kind, `None` for the other fields.
    pub fn file_time_label(self) -> Option<&'static str> {
        Some(match self {
            TimeField::SiCreated => "$SI Creation Time",
            TimeField::SiModified => "$SI Content Modification Time",
            TimeField::FnCreated => "$FN Creation Time",
            TimeField::FnModified => "$FN Content Modification Time",
            TimeField::Created => "Creation Time",
            TimeField::Modified => "Content Modification Time",
            _ => return None,
        })
    }
}

impl std::fmt::Display for TimeField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One time read from the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeEvidence {
    pub source: TimeSource,
    pub time: Timestamp,
    /// Which time of the object.
    pub field: TimeField,
    pub bound: Bound,
    /// The interval this evidence allows for the install moment (moments and their
    /// uncertainty; `not_after` for a key).
    pub not_before: Option<Timestamp>,
    pub not_after: Option<Timestamp>,
    /// What it says, for people.
    pub says: String,
    /// The file, folder or key it was read from (escaped).
    pub path: String,
    /// Caveats: an unknown time zone, FAT local times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The log line itself for update-log evidence (escaped, bounded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    /// Read from a log whose times run backwards against its record numbers (a clock set
    /// back): its order of events is not trusted. Said in `note`; the judgement reads this.
    #[serde(skip)]
    pub times_run_backwards: bool,
}

/// `system.rules[].installed`: when the rule's update was installed, as far as the evidence
/// tells.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Installed {
    /// Not before this (the latest lower bound of the trusted evidence).
    pub earliest: Option<Timestamp>,
    /// Not after this (the earliest upper bound of the trusted evidence).
    pub latest: Option<Timestamp>,
    /// The single best estimate, and the source it comes from.
    pub best: Option<Timestamp>,
    pub best_source: Option<TimeSource>,
    /// True when every bound can hold at once.
    pub consistent: bool,
    /// On a conflict: the sources in conflict, which are trusted and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<String>,
    /// `patched since 2004-03-17 (update log, registry key; uninstall folder agrees)`, or
    /// what is known when nothing bounds the moment.
    pub summary: String,
    /// Every piece of evidence, sorted by time.
    pub evidence: Vec<TimeEvidence>,
}

/// One rule's state at `--as-of DATE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AsOfState {
    /// Patched later than DATE, or never.
    VulnerableAtDate,
    /// Patched now, but when cannot be told (no evidence, or conflicting evidence across DATE).
    UnknownAtDate,
    /// Patched no later than DATE.
    PatchedAtDate,
    /// The rule's file is not installed or the rule does not apply to this Windows.
    NotAffectedAtDate,
    /// DATE is before the bulletin's publication: no fix existed, nothing to be patched
    /// against; left out of the root's state and exit code.
    NotYetPublished,
}

impl AsOfState {
    pub fn as_str(self) -> &'static str {
        match self {
            AsOfState::VulnerableAtDate => "vulnerable_at_date",
            AsOfState::UnknownAtDate => "unknown_at_date",
            AsOfState::PatchedAtDate => "patched_at_date",
            AsOfState::NotAffectedAtDate => "not_affected_at_date",
            AsOfState::NotYetPublished => "not_yet_published",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleAsOf {
    pub rule: String,
    pub state: AsOfState,
    pub reasons: Vec<Reason>,
}

/// `roots[].as_of`.
#[derive(Debug, Clone, Serialize)]
pub struct AsOf {
    pub date: Timestamp,
    /// The most urgent of the rules' states.
    pub state: AsOfState,
    pub rules: Vec<RuleAsOf>,
}

/// The system's time zone, from SYSTEM `<ControlSet>\Control\TimeZoneInformation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeZoneFacts {
    /// Minutes: UTC = local time + bias (`ActiveTimeBias` when present, else `Bias`).
    pub bias_minutes: i32,
    /// The value the bias was read from.
    pub bias_value: &'static str,
    /// `DaylightBias` (minutes), when present: local times may be off by this much.
    pub daylight_bias_minutes: Option<i32>,
    pub standard_name: Option<String>,
}

/// Parses `--as-of`: RFC 3339, or `YYYY-MM-DD` (midnight UTC).
pub fn parse_as_of(text: &str) -> Result<Timestamp, String> {
    let t = text.trim();
    if !t.starts_with('@') {
        if let Some(n) = Timestamp::parse(t) {
            return Ok(n);
        }
    }
    let b = t.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        if let Some(n) = Timestamp::parse(&format!("{t}T00:00:00Z")) {
            return Ok(n);
        }
    }
    Err(format!(
        "{text:?} is not a date: RFC 3339 (2004-03-01T12:00:00Z) or YYYY-MM-DD (UTC)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_of_takes_rfc3339_and_plain_dates() {
        let day = parse_as_of("2004-03-01").unwrap();
        assert_eq!(day.to_string(), "2004-03-01T00:00:00Z");
        let t = parse_as_of("2004-03-01T12:30:00+01:00").unwrap();
        assert_eq!(t.to_string(), "2004-03-01T11:30:00Z");
        for bad in [
            "",
            "2004-13-01",
            "yesterday",
            "2004/03/01",
            "2004-03-01T25:00:00Z",
            "@1078099200",
        ] {
            assert!(parse_as_of(bad).is_err(), "{bad}");
        }
    }
}
