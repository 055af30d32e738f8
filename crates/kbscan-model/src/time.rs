//! Times as reports show them: RFC 3339 UTC text. A time a file system cannot mean (before
//! year 1 or after 9999) is shown as Unix seconds (`@…`) rather than failing.

use std::time::SystemTime;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// What a file system's times mean. NTFS and the host store UTC; FAT stores the local time of
/// the machine that wrote it, with no zone, so kbscan can only read it as if it were UTC; so
/// does a backup set that says its times are local (MTF `LOCAL_TZ`). A typed fact, so that the
/// judgement and the printers ask the basis instead of matching a note.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimeBasis {
    #[default]
    Utc,
    /// Local time of an unknown zone, shown as if it were UTC (FAT).
    LocalNoZone,
    /// A backup set's local times of an unknown zone, shown as if they were UTC.
    BackupLocal,
}

impl TimeBasis {
    /// The note a finding or time read on this basis carries in every format.
    pub fn note(self) -> Option<&'static str> {
        match self {
            TimeBasis::Utc => None,
            TimeBasis::LocalNoZone => Some(
                "FAT stores local times without a time zone: the times shown are those local times read as UTC",
            ),
            TimeBasis::BackupLocal => Some(
                "the backup set records local times without a time zone (or an invalid one): the times shown are those local times read as UTC",
            ),
        }
    }

    /// Times of an unknown zone: they bound nothing to the hour.
    pub fn is_local(self) -> bool {
        self != TimeBasis::Utc
    }
}

/// A point in time: Unix nanoseconds, UTC. Every time in the report is one, so the judgement
/// compares numbers and only the printers make text. Shown and serialized as RFC 3339 UTC; a
/// time no calendar year 1–9999 can hold (a forged or garbled stamp) as Unix seconds, `@…`, so
/// that it is still shown and still compares rightly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    // Seconds and nanoseconds (0..1e9) rather than one i128: 16 bytes aligned to 8, so a
    // file's four times stay as small as the text they replace.
    secs: i64,
    nanos: u32,
}

const NANOS_PER_SEC: i128 = 1_000_000_000;

impl Timestamp {
    /// Saturates beyond ±2^63 seconds (no evidence format can hold such a time).
    pub const fn from_unix_nanos(nanos: i128) -> Self {
        let secs = nanos.div_euclid(NANOS_PER_SEC);
        let secs = if secs > i64::MAX as i128 {
            i64::MAX
        } else if secs < i64::MIN as i128 {
            i64::MIN
        } else {
            secs as i64
        };
        Timestamp {
            secs,
            nanos: nanos.rem_euclid(NANOS_PER_SEC) as u32,
        }
    }
    pub const fn from_unix_secs(secs: i64) -> Self {
        Timestamp { secs, nanos: 0 }
    }
    pub fn from_system_time(t: SystemTime) -> Self {
        Self::from_unix_nanos(match t.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        })
    }
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }
    pub const fn unix_nanos(self) -> i128 {
        self.secs as i128 * NANOS_PER_SEC + self.nanos as i128
    }
    /// RFC 3339 text (any offset) as a timestamp; `@secs` as `Display` writes it.
    pub fn parse(text: &str) -> Option<Self> {
        if let Some(secs) = text.strip_prefix('@') {
            return secs.parse::<i64>().ok().map(Self::from_unix_secs);
        }
        OffsetDateTime::parse(text, &Rfc3339)
            .ok()
            .map(|t| Self::from_unix_nanos(t.unix_timestamp_nanos()))
    }
    /// `YYYY-MM-DD` of the moment (UTC), or its `@secs` form.
    pub fn date_text(self) -> String {
        self.to_string().chars().take(10).collect()
    }
    /// `YYYY-MM-DD hh:mm:ss` in UTC, to the second: the form a spreadsheet (Excel, LibreOffice)
    /// reads as a date and time, which RFC 3339 with fractions and `Z` is not. The `@secs`
    /// form for a time no calendar can hold.
    pub fn spreadsheet_text(self) -> String {
        match OffsetDateTime::from_unix_timestamp_nanos(self.unix_nanos()) {
            Ok(t) if (1..=9999).contains(&t.year()) => format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            _ => format!("@{}", self.secs),
        }
    }
    /// This moment moved by `nanos` (saturating: a bound never wraps around).
    pub fn plus_nanos(self, nanos: i128) -> Self {
        Self::from_unix_nanos(self.unix_nanos().saturating_add(nanos))
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match OffsetDateTime::from_unix_timestamp_nanos(self.unix_nanos())
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
        {
            Some(text) => f.write_str(&text),
            None => write!(f, "@{}", self.secs),
        }
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// File-system timestamps; `None` where the file system has none.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Times {
    pub modified: Option<Timestamp>,
    pub accessed: Option<Timestamp>,
    pub created: Option<Timestamp>,
    /// Inode change time (Unix `ctime`).
    pub changed: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_never_fail() {
        let show = |s| Timestamp::from_unix_secs(s).to_string();
        assert_eq!(show(0), "1970-01-01T00:00:00Z");
        assert_eq!(show(1_074_124_800), "2004-01-15T00:00:00Z");
        assert_eq!(show(-86_400), "1969-12-31T00:00:00Z");
        assert_eq!(show(i64::MAX), format!("@{}", i64::MAX));
    }

    #[test]
    fn text_round_trips_including_out_of_calendar_times() {
        for secs in [0, 1_074_124_800, -86_400, i64::MAX, i64::MIN / 2] {
            let t = Timestamp::from_unix_secs(secs);
            assert_eq!(Timestamp::parse(&t.to_string()), Some(t), "{t}");
        }
        let t = Timestamp::parse("2004-03-17T09:15:04.5+01:00").unwrap();
        assert_eq!(t.to_string(), "2004-03-17T08:15:04.5Z");
        assert_eq!(t.date_text(), "2004-03-17");
        assert_eq!(Timestamp::parse("yesterday"), None);
        let before_1970 = Timestamp::from_unix_nanos(-1_500_000_000);
        assert_eq!(before_1970.unix_nanos(), -1_500_000_000);
        assert!(before_1970 < Timestamp::from_unix_secs(-1));
        assert!(Timestamp::from_unix_secs(-2) < before_1970);
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2004-03-17T08:15:04.5Z\"",
            "serialized as the same text"
        );
    }
}
