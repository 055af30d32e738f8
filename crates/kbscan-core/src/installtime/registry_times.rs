//! The update's registry keys: each key's last-write time (the key was created no later) and
//! `InstalledDate`-style values (a local date).

use super::{item, local_to_utc, Context, Gatherer, HOUR};
use crate::evidence::updatelog::LocalTime;
use crate::model::installed::{Bound, TimeEvidence, TimeField, TimeSource};
use crate::model::system::RuleRegistry;
use crate::model::time::Timestamp;
use crate::model::Rule;
use crate::registry::times::{filetime_nanos, key_last_written};
use crate::source::Source;

pub(super) fn gatherer<S: Source>() -> Gatherer<S> {
    Gatherer {
        name: "registry keys and values",
        gather: gather::<S>,
    }
}

fn gather<S: Source>(
    ctx: &Context<'_, S>,
    _: &Rule,
    facts: Option<&RuleRegistry>,
    evidence: &mut Vec<TimeEvidence>,
    _: &mut Vec<String>,
) {
    let (Some(h), Some(rr)) = (ctx.software, facts) else {
        return;
    };
    let tz = ctx.time_zone;
    for rec in &rr.update_records {
        let by = rec
            .values
            .0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("InstalledBy"))
            .map(|(_, v)| format!("; InstalledBy = {v}"))
            .unwrap_or_default();
        if let Some(t) = key_last_written(h, &rec.key)
            .and_then(filetime_nanos)
            .map(Timestamp::from_unix_nanos)
        {
            evidence.push(item(
                TimeSource::RegistryKey,
                t,
                TimeField::LastWritten,
                Bound::NotAfter,
                (None, Some(t)),
                format!("key last written {t}: created no later{by}"),
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
            let (t, lo, _, note) = local_to_utc(as_if, tz);
            let hi = local_to_utc(as_if + 24 * HOUR, tz).2;
            let mut e = item(
                TimeSource::RegistryValue,
                t,
                TimeField::InstalledDate,
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
}
