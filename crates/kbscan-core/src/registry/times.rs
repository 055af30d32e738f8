//! Times the hives hold: a key's last-write time and the system's time zone. Read here, with
//! the other registry facts; turned into install-time evidence by `installtime`.

use nt_hive::{Hive, NtHiveNameString};

use super::facts::{dword, key, value_text};
use super::hive::LoadedHive;
use crate::model::installed::TimeZoneFacts;

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
