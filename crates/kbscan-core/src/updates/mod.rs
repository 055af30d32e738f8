//! The update audit (`kbscan updates`), an offline Qfecheck (Microsoft KB 282784): every
//! update record of the SOFTWARE hive (`Microsoft\Updates\<product>[\<level>]\<update>`, and
//! `HotFix` records that list files), each file its `Filelist` names placed under the root
//! with the path resolution the services use (`registry::services::resolve_path`), found by
//! the same case-insensitive, 8.3-aware lookup, read by the same bounded inspection and PE
//! reader as a scan's candidates, and compared with the version the record claims. Run by the
//! scan driver for each Windows folder of any source (`Scanner::with_update_audit`), so a
//! folder, an image, a container and a backup set are audited alike. Sources and the value
//! names: docs/updates.md.

use std::collections::BTreeMap;

use nt_hive::{KeyNode, KeyValueDataType, NtHiveError};

use crate::evidence::inspect;
use crate::model::system::PendingRenames;
use crate::model::updates::{
    AuditCounts, AuditedFile, AuditedUpdate, FileStatus, PendingReplacement, SystemAudit,
    UpdateStatus, MAX_FILES, MAX_RECORDS,
};
use crate::model::FileVersion;
use crate::registry::facts::{subkeys, type_name};
use crate::registry::hive::LoadedHive;
use crate::registry::services::{self, ServiceEnv};
use crate::source::{EntryKind, Link, Source};

/// Values read from one key at most, whatever its list claims.
const MAX_VALUES: usize = 256;
/// Forged-path notes kept per system; more are counted.
const MAX_PATH_NOTES: usize = 16;

/// A string value as read: absent, text, or present with another type (its type's name).
type Field = Result<Option<String>, &'static str>;

/// One file subkey of a record's `Filelist`, as recorded.
#[derive(Debug)]
struct RawFile {
    entry: String,
    name: Field,
    location: Field,
    version: Field,
}

/// One update record, as recorded.
#[derive(Debug)]
struct RawRecord {
    key: String,
    update: String,
    product: String,
    level: Option<String>,
    description: Option<String>,
    installed_date: Option<String>,
    files: Vec<RawFile>,
}

/// What reading the records gave, with the bounds met.
#[derive(Debug, Default)]
struct Read {
    records: Vec<RawRecord>,
    files: usize,
    more_records: usize,
    more_files: usize,
}

/// The value `name` of `node` (compared ASCII-case-insensitively, as the registry compares),
/// when it is a string (`REG_SZ`, `REG_EXPAND_SZ`); another type gives its name.
fn string_value(node: &KeyNode<'_, &[u8]>, name: &str) -> Result<Field, NtHiveError> {
    let Some(values) = node.values().transpose()? else {
        return Ok(Ok(None));
    };
    for v in values.take(MAX_VALUES) {
        let v = v?;
        if !v.name()?.to_string_lossy().eq_ignore_ascii_case(name) {
            continue;
        }
        return Ok(match v.data_type() {
            Ok(KeyValueDataType::RegSZ | KeyValueDataType::RegExpandSZ) => {
                Ok(Some(v.string_data()?.trim_end_matches('\0').to_owned()))
            }
            Ok(t) => Err(type_name(t)),
            Err(_) => Err("a type of unknown number"),
        });
    }
    Ok(Ok(None))
}

/// A key counts as an update record when it has a `Filelist` subkey or values of its own; a
/// key with neither is a level (`SP0`, `SP5`) whose subkeys are the records.
fn file_list<'h>(
    node: &KeyNode<'h, &'h [u8]>,
) -> Result<Option<KeyNode<'h, &'h [u8]>>, NtHiveError> {
    for k in subkeys(node)? {
        if k.name()?.to_string_lossy().eq_ignore_ascii_case("filelist") {
            return Ok(Some(k));
        }
    }
    Ok(None)
}

fn has_values(node: &KeyNode<'_, &[u8]>) -> Result<bool, NtHiveError> {
    Ok(match node.values().transpose()? {
        Some(mut v) => v.next().is_some(),
        None => false,
    })
}

/// Reads one record (its file list bounded by what is left of [`MAX_FILES`]).
fn record(
    node: &KeyNode<'_, &[u8]>,
    key: String,
    product: String,
    level: Option<String>,
    read: &mut Read,
) -> Result<(), NtHiveError> {
    if read.records.len() >= MAX_RECORDS {
        read.more_records += 1;
        return Ok(());
    }
    let text = |f: Field| f.ok().flatten();
    let mut files = Vec::new();
    if let Some(list) = file_list(node)? {
        for f in subkeys(&list)? {
            if read.files >= MAX_FILES {
                read.more_files += 1;
                continue;
            }
            read.files += 1;
            files.push(RawFile {
                entry: f.name()?.to_string_lossy(),
                name: string_value(&f, "FileName")?,
                location: string_value(&f, "Location")?,
                version: string_value(&f, "Version")?,
            });
        }
    }
    read.records.push(RawRecord {
        update: key.rsplit('\\').next().unwrap_or_default().to_owned(),
        key,
        product,
        level,
        description: text(string_value(node, "Description")?),
        installed_date: text(string_value(node, "InstalledDate")?),
        files,
    });
    Ok(())
}

/// Every update record under `Microsoft\Updates` (two or three levels deep) and every
/// `HotFix` record with a file list, in hive order.
fn read_records(root: KeyNode<&[u8]>) -> Result<Read, NtHiveError> {
    let mut read = Read::default();
    let name =
        |k: &KeyNode<'_, &[u8]>| -> Result<String, NtHiveError> { Ok(k.name()?.to_string_lossy()) };
    if let Some(updates) = crate::registry::facts::key(&root, "Microsoft\\Updates")? {
        for product in subkeys(&updates)? {
            let p = name(&product)?;
            for child in subkeys(&product)? {
                let c = name(&child)?;
                if file_list(&child)?.is_some() || has_values(&child)? {
                    let key = format!("Microsoft\\Updates\\{p}\\{c}");
                    record(&child, key, p.clone(), None, &mut read)?;
                    continue;
                }
                for upd in subkeys(&child)? {
                    let u = name(&upd)?;
                    let key = format!("Microsoft\\Updates\\{p}\\{c}\\{u}");
                    record(&upd, key, p.clone(), Some(c.clone()), &mut read)?;
                }
            }
        }
    }
    let hotfix = "Microsoft\\Windows NT\\CurrentVersion\\HotFix";
    if let Some(h) = crate::registry::facts::key(&root, hotfix)? {
        for k in subkeys(&h)? {
            if file_list(&k)?.is_some() {
                let key = format!("{hotfix}\\{}", name(&k)?);
                record(&k, key, "HotFix".to_owned(), None, &mut read)?;
            }
        }
    }
    Ok(read)
}

/// A recorded string, or why it cannot be used.
fn need(f: &Field, what: &str) -> Result<String, String> {
    match f {
        Ok(Some(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Ok(_) => Err(format!("no {what} recorded")),
        Err(t) => Err(format!("{what} is a {t}, not a string")),
    }
}

/// The version `GetFileVersionInfo` would read (`VS_VERSION_INFO`, any language), when every
/// such resource agrees; otherwise why not.
fn live_version(ev: &inspect::FileEvidence) -> Result<FileVersion, String> {
    let data = ev.pe.as_ref().map_err(|e| e.to_string())?;
    let mut versions: Vec<FileVersion> = data
        .resources
        .iter()
        .filter(|r| r.windows_reads())
        .filter_map(|r| r.info.as_ref().ok()?.fixed.as_ref().map(|f| f.file_version))
        .collect();
    versions.sort();
    versions.dedup();
    match versions.as_slice() {
        [] => Err("no version resource with a VS_FIXEDFILEINFO".to_owned()),
        [v] => Ok(*v),
        many => Err(format!(
            "its version resources disagree ({})",
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Reads the live version of the file at `node` through the scan's bounded inspection.
fn read_live<S: Source>(
    src: &S,
    node: &S::Node,
    kind: EntryKind,
    max: u64,
) -> Result<FileVersion, String> {
    // A link (or reparse point) means what the source's policy says, as for a candidate:
    // followed inside the root with --follow-symlinks, otherwise why not.
    let (node, kind) = match kind {
        EntryKind::Symlink => match src.link(node) {
            Link::Target { node, kind, .. } => (node, kind),
            Link::Walk { kind, .. } => (node.clone(), kind),
            Link::Kept { why, .. } | Link::Refused { why, .. } | Link::NotWalked { why, .. } => {
                return Err(why)
            }
            Link::Unreadable(e) => return Err(e),
            Link::Dir { .. } => return Err("a link to a folder, not a file".to_owned()),
        },
        k => (node.clone(), k),
    };
    if let Some(why) = kind.skip_reason() {
        return Err(why.to_owned());
    }
    let node = &node;
    let stat = src.stat(node).map_err(|e| e.to_string())?;
    let size = stat.size.unwrap_or(0);
    let ev = inspect::evidence_from_reader(size, stat.times, max, || {
        src.open(node, size, max).map_err(Into::into)
    });
    live_version(&ev)
}

/// A file's audit and, when its place and recorded version are known, both (for `newer_by`).
struct Judged {
    file: AuditedFile,
    placed: Option<(String, FileVersion)>,
}

fn audit_file<S: Source>(
    src: &S,
    env: &ServiceEnv,
    raw: &RawFile,
    max: u64,
    forged: &mut Vec<String>,
    key: &str,
) -> Judged {
    let shown = |f: &Field| f.as_ref().ok().cloned().flatten();
    let mut file = AuditedFile {
        entry: raw.entry.clone(),
        name: shown(&raw.name),
        location: shown(&raw.location),
        recorded_version: shown(&raw.version),
        path: None,
        live_version: None,
        status: FileStatus::Unjudged,
        newer_by: None,
        reason: None,
        pending_reboot: None,
    };
    let unjudged = |mut file: AuditedFile, why: String| {
        file.reason = Some(why);
        Judged { file, placed: None }
    };
    let (name, location) = match (need(&raw.name, "FileName"), need(&raw.location, "Location")) {
        (Ok(n), Ok(l)) => (n, l),
        (Err(e), _) | (_, Err(e)) => return unjudged(file, e),
    };
    let joined = format!("{}\\{}", location.trim_end_matches(['\\', '/']), name);
    let rel = match services::resolve_path(&joined, env) {
        Ok(rel) => rel,
        Err(why) => {
            if joined.split(['\\', '/']).any(|c| c == "..") {
                forged.push(format!(
                    "{key}\\Filelist\\{}: {} reaches outside the root; not read",
                    raw.entry, joined
                ));
            }
            return unjudged(
                file,
                format!("{joined} is not placed under the root: {why}"),
            );
        }
    };
    let found = services::nodes_on_source(src, &rel);
    if found.is_empty() {
        if rel.split('/').any(|c| c.contains('~')) {
            return unjudged(
                file,
                format!("{rel} uses 8.3 short names this volume does not record"),
            );
        }
        file.status = FileStatus::Missing;
        file.reason = Some(format!("no file at {rel}"));
        return Judged { file, placed: None };
    }
    let mut lives = Vec::new();
    for (node, kind, path) in &found {
        lives.push((path.clone(), read_live(src, node, *kind, max)));
    }
    file.path = lives.first().map(|l| l.0.clone());
    let recorded = match need(&raw.version, "Version") {
        Ok(v) => match FileVersion::parse_lenient(&v) {
            Ok(v) => v,
            Err(e) => return unjudged(file, format!("the recorded Version is not a version: {e}")),
        },
        Err(e) => return unjudged(file, e),
    };
    let mut versions: Vec<FileVersion> = Vec::new();
    for (path, live) in &lives {
        match live {
            Ok(v) => versions.push(*v),
            Err(e) => return unjudged(file, format!("{path}: {e}")),
        }
    }
    versions.sort();
    versions.dedup();
    let live = match versions.as_slice() {
        [v] => *v,
        _ => {
            let paths: Vec<&str> = lives.iter().map(|l| l.0.as_str()).collect();
            return unjudged(
                file,
                format!(
                    "{} entries answer to this name with different versions ({})",
                    lives.len(),
                    paths.join(", ")
                ),
            );
        }
    };
    file.live_version = Some(live.to_string());
    file.status = match live.cmp(&recorded) {
        std::cmp::Ordering::Equal => FileStatus::Current,
        std::cmp::Ordering::Less => FileStatus::Older,
        std::cmp::Ordering::Greater => FileStatus::Newer,
    };
    Judged {
        file,
        placed: Some((rel, recorded)),
    }
}

/// The audit of one Windows folder's records: `software` is its SOFTWARE hive (none: nothing
/// is audited, and the audit says so), `env` what its paths' variables mean, `max` the
/// largest file read.
pub fn audit<S: Source>(
    src: &S,
    software: Option<&LoadedHive>,
    env: &ServiceEnv,
    max: u64,
    pending: Option<&PendingRenames>,
) -> SystemAudit {
    let mut out = SystemAudit::default();
    let Some(hive) = software else {
        out.notes
            .push("no SOFTWARE hive could be read: no update record was audited".to_owned());
        return out;
    };
    let read = match hive.with_root(read_records) {
        Ok(r) => r,
        Err(e) => {
            out.notes.push(format!(
                "SOFTWARE hive: reading the update records failed: {e}; none was audited"
            ));
            return out;
        }
    };
    out.audited = true;
    if read.more_records > 0 {
        out.truncated = true;
        out.notes.push(format!(
            "{} update records beyond the first {MAX_RECORDS} were not audited",
            read.more_records
        ));
    }
    if read.more_files > 0 {
        out.truncated = true;
        out.notes.push(format!(
            "{} listed files beyond the first {MAX_FILES} were not audited",
            read.more_files
        ));
    }
    let mut forged = Vec::new();
    // Which record claims which version of which file, for `newer_by`.
    let mut claims: BTreeMap<String, Vec<(String, FileVersion)>> = BTreeMap::new();
    // Each audited file's place under the root, where it was placed.
    let mut places: Vec<Vec<Option<String>>> = Vec::new();
    for r in &read.records {
        let mut files = Vec::new();
        let mut placed = Vec::new();
        for raw in &r.files {
            let mut j = audit_file(src, env, raw, max, &mut forged, &r.key);
            j.file.pending_reboot = pending_for(&j.file, pending);
            placed.push(j.placed.as_ref().map(|p| p.0.clone()));
            if let Some((rel, v)) = j.placed {
                claims.entry(rel).or_default().push((r.key.clone(), v));
            }
            files.push(j.file);
        }
        places.push(placed);
        out.updates.push(AuditedUpdate {
            key: r.key.clone(),
            update: r.update.clone(),
            product: r.product.clone(),
            level: r.level.clone(),
            description: r.description.clone(),
            installed_date: r.installed_date.clone(),
            status: UpdateStatus::NoFileList,
            files,
        });
    }
    for (u, placed) in out.updates.iter_mut().zip(&places) {
        for (f, rel) in u.files.iter_mut().zip(placed) {
            if let Some(rel) = rel {
                name_newer(u.key.as_str(), f, rel, &claims);
            }
        }
        u.status = UpdateStatus::of(&u.files.iter().map(|f| f.status).collect::<Vec<_>>());
    }
    let n = forged.len();
    out.notes.extend(forged.into_iter().take(MAX_PATH_NOTES));
    if n > MAX_PATH_NOTES {
        out.notes.push(format!(
            "{} more listed files reach outside the root",
            n - MAX_PATH_NOTES
        ));
    }
    out.counts = AuditCounts::of(&out.updates);
    out
}

/// The rename waiting for the next boot that replaces or removes the audited live file.
fn pending_for(f: &AuditedFile, pending: Option<&PendingRenames>) -> Option<PendingReplacement> {
    let path = f.path.as_deref()?;
    let ops = &pending?.operations;
    // An update often moves the old file away and the staged one in: the replacement says more.
    let op = ops
        .iter()
        .find(|op| op.replaces(path))
        .or_else(|| ops.iter().find(|op| op.removes(path)))?;
    Some(PendingReplacement {
        pair: op.pair,
        removes: !op.replaces(path),
        staged: op.staged.clone(),
    })
}

/// For a `newer` file placed at `rel`: the other record that claims the version the live
/// file has.
fn name_newer(
    own: &str,
    f: &mut AuditedFile,
    rel: &str,
    claims: &BTreeMap<String, Vec<(String, FileVersion)>>,
) {
    if f.status != FileStatus::Newer {
        return;
    }
    let Some(Ok(live)) = f.live_version.as_deref().map(FileVersion::parse_lenient) else {
        return;
    };
    f.newer_by = claims.get(rel).and_then(|c| {
        c.iter()
            .find(|(k, v)| k != own && *v == live)
            .map(|(k, _)| k.clone())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_required_value_says_why_it_is_missing() {
        assert_eq!(need(&Ok(Some("x".into())), "Version"), Ok("x".into()));
        assert_eq!(
            need(&Ok(None), "Version"),
            Err("no Version recorded".to_owned())
        );
        assert_eq!(
            need(&Ok(Some("  ".into())), "Version"),
            Err("no Version recorded".to_owned())
        );
        assert_eq!(
            need(&Err("REG_DWORD"), "Version"),
            Err("Version is a REG_DWORD, not a string".to_owned())
        );
    }
}
