//! Times as reports show them: RFC 3339 UTC text. A time a file system cannot mean (before
//! year 1 or after 9999) is shown as Unix seconds (`@…`) rather than failing.

use std::time::SystemTime;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// What a file system's times mean. NTFS and the host store UTC; FAT stores the local time of
/// the machine that wrote it, with no zone, so kbscan can only read it as if it were UTC. A
/// typed fact, so that the judgement and the printers ask the basis instead of matching a note.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimeBasis {
    #[default]
    Utc,
    /// Local time of an unknown zone, shown as if it were UTC (FAT).
    LocalNoZone,
}

impl TimeBasis {
    /// The note a finding or time read on this basis carries in every format.
    pub fn note(self) -> Option<&'static str> {
        match self {
            TimeBasis::Utc => None,
            TimeBasis::LocalNoZone => Some(
                "FAT stores local times without a time zone: the times shown are those local times read as UTC",
            ),
        }
    }
}

/// File-system timestamps, UTC RFC 3339; `None` where the file system has none.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Times {
    pub modified: Option<String>,
    pub accessed: Option<String>,
    pub created: Option<String>,
    /// Inode change time (Unix `ctime`).
    pub changed: Option<String>,
}

pub fn rfc3339(t: SystemTime) -> String {
    let nanos: i128 = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    };
    unix_nanos_rfc3339(nanos)
}

pub fn unix_nanos_rfc3339(nanos: i128) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("@{}", nanos.div_euclid(1_000_000_000)))
}

/// Unix seconds as RFC 3339 UTC (PE link times).
pub fn unix_rfc3339(secs: i64) -> String {
    unix_nanos_rfc3339(i128::from(secs) * 1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_never_fail() {
        assert_eq!(unix_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(unix_rfc3339(1_074_124_800), "2004-01-15T00:00:00Z");
        assert_eq!(unix_rfc3339(-86_400), "1969-12-31T00:00:00Z");
        assert_eq!(unix_rfc3339(i64::MAX), format!("@{}", i64::MAX));
    }
}
