//! Updates waiting for a reboot: SYSTEM `<ControlSet>\Control\Session Manager\
//! PendingFileRenameOperations`, where `MoveFileEx(…, MOVEFILE_DELAY_UNTIL_REBOOT)` records a
//! rename or deletion of a file in use, carried out by the Session Manager at the next boot
//! (sources in docs/evidence.md, "Updates waiting for a reboot"). A hotfix that replaces a
//! running service's file stages the new file and registers its rename onto the old one: an
//! image taken before the reboot shows the old file live and the new one beside it.
//!
//! Read bounded (the value's size, the number of pairs); every path is placed under the root
//! the way service paths are (`services::resolve_path`), and one that cannot be placed is
//! reported, never read. The staged file of a pending replacement of a rule's file is read
//! with the PE reader; nothing here judges (that is `judge::pending`).

use nt_hive::{KeyNode, KeyValueDataType, NtHiveError};

use super::facts::key;
use super::hive::LoadedHive;
use super::services::{self, ServiceEnv};
use crate::escape::{escape_bytes, utf16_to_bytes};
use crate::evidence::inspect;
use crate::model::system::{PendingRename, PendingRenames, StagedFile};
use crate::model::time::Timestamp;
use crate::model::{FileVersion, Rule};
use crate::source::{EntryKind, Source};

/// The value's data is not read beyond this (real values hold a few pairs of paths; the
/// Session Manager of the era kept them in one registry value).
pub const MAX_VALUE_BYTES: u32 = 1 << 20;
/// Pairs kept; the rest are counted in a note.
pub const MAX_PAIRS: usize = 4096;
/// Operations placed under the root per system (each placement lists the folders on its
/// paths); the rest are listed as recorded, with a note.
pub const MAX_PLACED: usize = 512;
/// Staged files read per system (each is a PE read, bounded by `MAX_STAGED_BYTES`).
pub const MAX_STAGED_READS: usize = 64;
/// A staged file larger than this is not read.
pub const MAX_STAGED_BYTES: u64 = 256 << 20;

/// One pair as recorded, before it is placed under a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingOp {
    /// From 1, in the order recorded (the order the Session Manager carries them out).
    pub pair: usize,
    /// The source as recorded (escaped).
    pub source: String,
    /// The target as recorded (escaped), `None` for a deletion (an empty target).
    pub target: Option<String>,
    /// The target started with `!` (removed from the path before it is placed).
    pub replace_prefix: bool,
    /// The source and target as decoded (not escaped: what is placed under the root).
    pub raw_source: String,
    pub raw_target: Option<String>,
}

/// The value as read: the pairs, and what could not be read, as notes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PendingValue {
    /// `ControlSet001\Control\Session Manager\PendingFileRenameOperations`.
    pub value: String,
    pub ops: Vec<PendingOp>,
    pub notes: Vec<String>,
    /// The Session Manager key's last-write time (FILETIME), when readable.
    pub key_last_written: Option<u64>,
}

/// Splits the value's bytes (UTF-16LE, REG_MULTI_SZ) into source/target pairs. An empty
/// source ends the list (the list's own terminator); an empty target is a deletion. Odd
/// bytes, a source without its target string, strings after the end and pairs beyond
/// [`MAX_PAIRS`] are notes, never guessed at.
pub fn parse_pairs(data: &[u8], notes: &mut Vec<String>) -> Vec<PendingOp> {
    if data.len() % 2 != 0 {
        notes.push(format!(
            "PendingFileRenameOperations: {} bytes, not whole UTF-16 characters; the last byte is not read",
            data.len()
        ));
    }
    let units: Vec<u16> = data
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let mut strings: Vec<&[u16]> = units.split(|u| *u == 0).collect();
    // `split` gives one empty piece after a final NUL: it is the end, not a string.
    if units.last() == Some(&0) {
        strings.pop();
    }
    let text = |s: &[u16]| {
        let mut b = Vec::new();
        utf16_to_bytes(s.iter().copied(), &mut b);
        escape_bytes(&b)
    };
    let mut ops = Vec::new();
    let mut i = 0;
    while i < strings.len() {
        let source = strings[i];
        if source.is_empty() {
            let rest = strings[i..].iter().filter(|s| !s.is_empty()).count();
            if rest > 0 {
                notes.push(format!(
                    "PendingFileRenameOperations: {rest} strings after the end of the list (an empty source) are not read"
                ));
            }
            break;
        }
        let Some(target) = strings.get(i + 1) else {
            notes.push(format!(
                "PendingFileRenameOperations: pair {} has a source ({}) and no target string; not read",
                ops.len() + 1,
                text(source)
            ));
            break;
        };
        if ops.len() >= MAX_PAIRS {
            notes.push(format!(
                "PendingFileRenameOperations: more than {MAX_PAIRS} pairs; the rest are not read"
            ));
            break;
        }
        let (replace_prefix, target) = match target.first() {
            Some(&u) if u == u16::from(b'!') => (true, &target[1..]),
            _ => (false, *target),
        };
        let has_target = !target.is_empty() || replace_prefix;
        ops.push(PendingOp {
            pair: ops.len() + 1,
            source: text(source),
            target: has_target.then(|| text(target)),
            replace_prefix,
            raw_source: String::from_utf16_lossy(source),
            raw_target: has_target.then(|| String::from_utf16_lossy(target)),
        });
        i += 2;
    }
    ops
}

/// Reads `PendingFileRenameOperations` of `control_set` from a SYSTEM hive: `None` when the
/// value is not there. A value of another type than REG_MULTI_SZ, or larger than
/// [`MAX_VALUE_BYTES`], is a note and not read. This is the public entry for every user of
/// the pending operations (the rules' judgement, the update audit).
pub fn read_pending_value(system: &LoadedHive, control_set: &str) -> Option<PendingValue> {
    let key_path = format!("{control_set}\\Control\\Session Manager");
    let value = format!("{key_path}\\PendingFileRenameOperations");
    let read = system.with_root(
        |r: KeyNode<&[u8]>| -> Result<Option<PendingValue>, NtHiveError> {
            let Some(k) = key(&r, &key_path)? else {
                return Ok(None);
            };
            let Some(v) = k.value("PendingFileRenameOperations").transpose()? else {
                return Ok(None);
            };
            let mut out = PendingValue {
                value: value.clone(),
                ..Default::default()
            };
            match v.data_type() {
                Ok(KeyValueDataType::RegMultiSZ) => {}
                Ok(t) => {
                    out.notes.push(format!(
                        "SYSTEM {value}: type {t:?}, not REG_MULTI_SZ; not read"
                    ));
                    return Ok(Some(out));
                }
                Err(e) => {
                    out.notes
                        .push(format!("SYSTEM {value}: unknown type ({e}); not read"));
                    return Ok(Some(out));
                }
            }
            if v.data_size() > MAX_VALUE_BYTES {
                out.notes.push(format!(
                "SYSTEM {value}: {} bytes, more than the {MAX_VALUE_BYTES} kbscan reads; not read",
                v.data_size()
            ));
                return Ok(Some(out));
            }
            let data = v.data()?.into_vec()?;
            out.ops = parse_pairs(&data, &mut out.notes);
            Ok(Some(out))
        },
    );
    match read {
        Ok(Some(mut v)) => {
            v.key_last_written = super::times::key_last_written(system, &key_path);
            Some(v)
        }
        Ok(None) => None,
        Err(e) => Some(PendingValue {
            notes: vec![format!("SYSTEM {value}: cannot be read: {e}")],
            value,
            ..Default::default()
        }),
    }
}

/// The pending operations placed under the root: each path resolved as Windows would
/// (`\??\`, a drive letter that must be the system drive, variables), looked up by name; the
/// staged file of a replacement whose target is named like a file of `rules` read with the PE
/// reader (a regular file under the root only). What cannot be placed or read is said on the
/// operation and in `notes`.
pub fn place<S: Source>(
    src: &S,
    env: &ServiceEnv,
    value: &PendingValue,
    rules: &[Rule],
    notes: &mut Vec<String>,
) -> PendingRenames {
    let names_rule_file = |name: &str| {
        rules
            .iter()
            .flat_map(|r| r.files.iter())
            .any(|f| f.name.eq_ignore_ascii_case(name))
    };
    place_with(src, env, value, &names_rule_file, notes)
}

/// [`place`] for any reader: the staged file of a replacement is read when `wants_staged`
/// says yes to the target's file name (as resolved, lower-cased: `nscm.exe`). The update
/// audit passes the names of the files the update records list.
pub fn place_with<S: Source>(
    src: &S,
    env: &ServiceEnv,
    value: &PendingValue,
    wants_staged: &dyn Fn(&str) -> bool,
    notes: &mut Vec<String>,
) -> PendingRenames {
    let mut reads = 0usize;
    let mut operations = Vec::with_capacity(value.ops.len());
    for (k, op) in value.ops.iter().enumerate() {
        if k >= MAX_PLACED {
            operations.push(PendingRename {
                pair: op.pair,
                source: op.source.clone(),
                target: op.target.clone(),
                replace_prefix: op.replace_prefix,
                source_path: None,
                target_path: None,
                unresolved: Some(format!(
                    "more than {MAX_PLACED} operations on this system; not placed"
                )),
                staged: None,
            });
            continue;
        }
        let mut why = Vec::new();
        let mut placed = |p: &str, shown: &str, what: &str| match services::resolve_path(p, env) {
            Ok(rel) => services::nodes_on_source(src, &rel)
                .into_iter()
                .next()
                .map(|(node, kind, shown)| (node, shown, kind)),
            Err(e) => {
                why.push(format!("{what} {shown}: {}", crate::escape::escape_str(&e)));
                None
            }
        };
        let source = placed(&op.raw_source, &op.source, "source");
        let target_rel = op
            .raw_target
            .as_deref()
            .map(|t| (t, services::resolve_path(t, env)));
        let target = match (op.raw_target.as_deref(), op.target.as_deref()) {
            (Some(raw), Some(shown)) => placed(raw, shown, "target"),
            _ => None,
        };
        let mut staged = None;
        let target_name = target_rel
            .as_ref()
            .and_then(|(_, r)| r.as_ref().ok())
            .and_then(|r| r.rsplit('/').next().map(str::to_owned));
        if target_name.as_deref().is_some_and(wants_staged) {
            staged = Some(match &source {
                _ if reads >= MAX_STAGED_READS => StagedFile {
                    path: op.source.clone(),
                    version: None,
                    error: Some(format!(
                        "more than {MAX_STAGED_READS} staged files on this system; not read"
                    )),
                },
                Some((node, shown, EntryKind::File)) => {
                    reads += 1;
                    read_staged(src, node, shown)
                }
                Some((_, shown, kind)) => StagedFile {
                    path: shown.clone(),
                    version: None,
                    error: Some(format!("not a regular file ({kind:?}); not read")),
                },
                None => StagedFile {
                    path: op.source.clone(),
                    version: None,
                    error: Some(if why.iter().any(|w| w.starts_with("source")) {
                        "the source is not under the root".to_owned()
                    } else {
                        "the staged file is not there".to_owned()
                    }),
                },
            });
        }
        let unresolved = (!why.is_empty()).then(|| why.join("; "));
        if let Some(u) = &unresolved {
            notes.push(format!(
                "PendingFileRenameOperations pair {}: {u} (not read)",
                op.pair
            ));
        }
        operations.push(PendingRename {
            pair: op.pair,
            source: op.source.clone(),
            target: op.target.clone(),
            replace_prefix: op.replace_prefix,
            source_path: source.map(|s| s.1),
            target_path: target.map(|t| t.1),
            unresolved,
            staged,
        });
    }
    if value.ops.len() > MAX_PLACED {
        notes.push(format!(
            "PendingFileRenameOperations: {} operations; the first {MAX_PLACED} are placed under the root, the rest listed as recorded",
            value.ops.len()
        ));
    }
    PendingRenames {
        value: value.value.clone(),
        key_last_written: value
            .key_last_written
            .and_then(super::times::filetime_nanos)
            .map(Timestamp::from_unix_nanos),
        operations,
    }
}

/// The staged file's version, as the PE reader reads it: the version resources Windows reads
/// (id 1); several that disagree give no version.
fn read_staged<S: Source>(src: &S, node: &S::Node, shown: &str) -> StagedFile {
    let mut out = StagedFile {
        path: shown.to_owned(),
        version: None,
        error: None,
    };
    let stat = match src.stat(node) {
        Ok(s) => s,
        Err(e) => {
            out.error = Some(format!("cannot read: {e}"));
            return out;
        }
    };
    let size = stat.size.unwrap_or(0);
    let ev = inspect::evidence_from_reader(size, stat.times, MAX_STAGED_BYTES, || {
        src.open(node, size, MAX_STAGED_BYTES).map_err(Into::into)
    });
    let pe = match ev.pe {
        Ok(pe) => pe,
        Err(e) => {
            out.error = Some(e.to_string());
            return out;
        }
    };
    let mut versions: Vec<FileVersion> = Vec::new();
    for r in pe.resources.iter().filter(|r| r.id == Some(1)) {
        let Ok(info) = &r.info else { continue };
        // As the judgement chooses (`judge::effective_version`, not imported: the registry
        // room is below the judgement): the numeric version, else the first `FileVersion`
        // string that parses.
        let version = info.fixed.as_ref().map(|f| f.file_version).or_else(|| {
            info.string_tables
                .iter()
                .filter_map(|t| t.get("FileVersion"))
                .find_map(|s| FileVersion::parse_lenient(s).ok())
        });
        if let Some(v) = version {
            if !versions.contains(&v) {
                versions.push(v);
            }
        }
    }
    match versions.as_slice() {
        [v] => out.version = Some(*v),
        [] => out.error = Some("no readable version resource".to_owned()),
        many => {
            out.error = Some(format!(
                "its version resources disagree ({})",
                many.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(parts: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in parts {
            for u in p.encode_utf16() {
                out.extend_from_slice(&u.to_le_bytes());
            }
            out.extend_from_slice(&[0, 0]);
        }
        out
    }

    #[test]
    fn pairs_renames_deletions_and_the_end() {
        let mut notes = Vec::new();
        // A rename with `!`, a deletion, then the list's terminator.
        let data = utf16(&[
            "\\??\\C:\\WINNT\\system32\\SET3.tmp",
            "!\\??\\C:\\WINNT\\system32\\nscm.exe",
            "\\??\\C:\\WINNT\\temp\\old.dll",
            "",
            "",
        ]);
        let ops = parse_pairs(&data, &mut notes);
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0].pair, 1);
        assert!(ops[0].replace_prefix);
        assert_eq!(
            ops[0].target.as_deref(),
            Some("\\??\\C:\\WINNT\\system32\\nscm.exe")
        );
        assert_eq!(ops[1].target, None);
        assert!(!ops[1].replace_prefix);
    }

    #[test]
    fn damaged_values_are_notes() {
        let mut notes = Vec::new();
        // A source with no target string.
        let ops = parse_pairs(&utf16(&["a", "b", "c"]), &mut notes);
        assert_eq!(ops.len(), 1);
        assert!(notes[0].contains("no target"), "{notes:?}");
        // Strings after the end.
        let mut notes = Vec::new();
        let ops = parse_pairs(&utf16(&["a", "b", "", "x", "y"]), &mut notes);
        assert_eq!(ops.len(), 1);
        assert!(notes[0].contains("after the end"), "{notes:?}");
        // An odd byte count, and a control character kept escaped.
        let mut notes = Vec::new();
        let mut data = utf16(&["a\u{1b}", "b"]);
        data.push(0x41);
        let ops = parse_pairs(&data, &mut notes);
        assert_eq!(ops[0].source, "a\\x1b");
        assert!(notes[0].contains("not whole"), "{notes:?}");
        // Nothing at all.
        let mut notes = Vec::new();
        assert!(parse_pairs(&[], &mut notes).is_empty());
        assert!(notes.is_empty());
    }

    #[test]
    fn pairs_are_bounded() {
        let mut parts = Vec::new();
        for _ in 0..MAX_PAIRS + 3 {
            parts.push("s");
            parts.push("t");
        }
        let mut notes = Vec::new();
        let ops = parse_pairs(&utf16(&parts), &mut notes);
        assert_eq!(ops.len(), MAX_PAIRS);
        assert!(notes[0].contains("more than"), "{notes:?}");
    }
}
