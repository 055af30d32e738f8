//! Offline registry evidence: find the SOFTWARE and SYSTEM hives of the Windows under a root
//! and read the facts the rules need, read-only. `.LOG` files are never replayed: the hive is
//! read as it is on disk, and a hive left unclean (sequence numbers differ, common on seized
//! servers) is read without validation and said so.
//!
//! nt-hive panics on some hostile hives, so every read of hive data runs inside
//! `contain::contained`: a damaged hive becomes a note and the verdict falls back to the
//! file evidence.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use nt_hive::{Hive, KeyNode, KeyValueDataType, NtHiveError};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::escape::{escape_bytes, escape_str};
use crate::inspect::open_evidence;
use crate::rules::Rule;
use crate::vfs::{self, HostFs, Vfs};
use crate::walk::EntryKind;

/// Hives larger than this are not read (real SOFTWARE hives of the era are tens of MB).
pub const MAX_HIVE_SIZE: u64 = 1 << 30;
/// Bounds on what is enumerated in a hive, whatever its lists claim.
const MAX_SUBKEYS: usize = 10_000;
const MAX_VALUES: usize = 256;

/// Where a hive came from and how it was read.
#[derive(Debug, Clone, Serialize)]
pub struct HiveInfo {
    /// Relative to the root (found) or as given (`--software-hive`).
    pub path: String,
    /// `found` under the root, or `argument`.
    pub origin: &'static str,
    pub size: Option<u64>,
    pub sha256: Option<String>,
    /// `regf` format version, e.g. `1.3`.
    pub format_version: Option<String>,
    /// False when the header failed validation (unclean shutdown) and the hive was read anyway.
    pub validated: bool,
    /// Why validation failed, when it did.
    pub validation_error: Option<String>,
    /// Why the hive could not be used, if so.
    pub error: Option<String>,
}

/// What Windows this is.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OsFacts {
    pub product_name: Option<String>,
    /// NT version: `4.0` (NT 4), `5.0` (2000), `5.1` (XP), `5.2` (Server 2003)…
    pub current_version: Option<String>,
    pub build: Option<String>,
    /// Service pack, e.g. `Service Pack 4`.
    pub csd_version: Option<String>,
    /// `WinNT` (workstation), `ServerNT` (server), `LanmanNT` (domain controller).
    pub product_type: Option<String>,
    /// The control set `Select\Current` names, e.g. `ControlSet001`.
    pub control_set: Option<String>,
}

/// A registry key recording an update as installed.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateRecord {
    /// Key path inside the SOFTWARE hive (`Microsoft\Updates\…\KB832359`).
    pub key: String,
    /// The key's string and number values, as text.
    pub values: Pairs,
    /// Files the update listed (`FileList` subkeys), each as its values.
    pub file_list: Vec<Pairs>,
}

/// Name/value pairs in hive order, serialized as a JSON object.
#[derive(Debug, Clone, Default)]
pub struct Pairs(pub Vec<(String, String)>);

impl Serialize for Pairs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::versioninfo::serialize_pairs(&self.0, s)
    }
}

/// A service a rule file names, as the SYSTEM hive configures it.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceFacts {
    pub name: String,
    /// The rule file the service runs (`Nscm.exe`).
    pub file: String,
    pub image_path: Option<String>,
    pub start: Option<u32>,
    /// `boot`, `system`, `automatic`, `manual`, `disabled`.
    pub start_type: Option<&'static str>,
    /// `image_path` resolved to a path relative to the root, when it could be.
    pub resolved_path: Option<String>,
}

/// Registry facts for one rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleRegistry {
    pub rule: String,
    pub kb: String,
    pub update_records: Vec<UpdateRecord>,
    pub services: Vec<ServiceFacts>,
    /// `%Windir%\<uninstall_dir>` relative to the root, when that folder exists.
    pub uninstall_dir: Option<String>,
}

/// Everything known about the system under one root besides its files.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SystemEvidence {
    /// The Windows folder found under the root (`WINNT`, `Windows`), relative to it.
    pub windir: Option<String>,
    pub software_hive: Option<HiveInfo>,
    pub system_hive: Option<HiveInfo>,
    pub os: OsFacts,
    pub rules: Vec<RuleRegistry>,
    pub notes: Vec<String>,
}

impl SystemEvidence {
    /// True when the SOFTWARE hive was read, so an absent update record means something.
    pub fn software_read(&self) -> bool {
        self.software_hive
            .as_ref()
            .is_some_and(|h| h.error.is_none())
    }
    pub fn system_read(&self) -> bool {
        self.system_hive.as_ref().is_some_and(|h| h.error.is_none())
    }
    pub fn for_rule(&self, id: &str) -> Option<&RuleRegistry> {
        self.rules.iter().find(|r| r.rule == id)
    }
}

/// Hives named on the command line instead of found under the root.
#[derive(Debug, Clone, Default)]
pub struct HiveArgs {
    pub software: Option<PathBuf>,
    pub system: Option<PathBuf>,
}

/// Follows `rel` from `base`, each step ASCII-case-insensitively; every step but the last is a
/// directory, the last one too when `last_is_dir`.
fn path_ci<F: Vfs>(
    fs: &mut F,
    base: &(F::Node, String),
    rel: &[&str],
    last_is_dir: bool,
) -> Option<F::Node> {
    let mut node: Option<F::Node> = None;
    for (i, part) in rel.iter().enumerate() {
        let is_last = i + 1 == rel.len();
        let dir = node.as_ref().unwrap_or(&base.0);
        node = Some(vfs::child_ci(fs, dir, part, !is_last || last_is_dir)?);
    }
    node
}

fn join_display(base: &str, rel: &[&str]) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !base.is_empty() && base != "." {
        parts.push(base.to_owned());
    }
    parts.extend(rel.iter().map(|p| escape_str(p)));
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

/// The display path of `rel` below `base` with each name as the file system spells it.
fn shown_path<F: Vfs>(fs: &mut F, base: &(F::Node, String), rel: &[&str]) -> String {
    let mut names: Vec<String> = Vec::new();
    let mut node: Option<F::Node> = None;
    for (i, part) in rel.iter().enumerate() {
        let want_dir = i + 1 < rel.len();
        let dir = node.as_ref().unwrap_or(&base.0);
        let Ok(entries) = fs.list(dir) else {
            return join_display(&base.1, rel);
        };
        let hit = entries.into_iter().find(|e| {
            matches!(e.kind, EntryKind::Dir | EntryKind::File)
                && (e.kind == EntryKind::Dir) == want_dir
                && (e.name.eq_ignore_ascii_case(part)
                    || e.short_name
                        .as_deref()
                        .is_some_and(|s| s.eq_ignore_ascii_case(part)))
        });
        match hit {
            Some(e) => {
                names.push(e.name);
                node = Some(e.node);
            }
            None => return join_display(&base.1, rel),
        }
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    join_display(&base.1, &refs)
}

/// Finds Windows folders: the root itself or a folder directly below it holding
/// `system32/config/SOFTWARE` or `SYSTEM` (matched by structure, not by the name `WINNT` or
/// `Windows`), as (node, display path relative to the root).
fn find_windirs_in<F: Vfs>(fs: &mut F) -> Vec<(F::Node, String)> {
    let Ok((root, _)) = fs.root() else {
        return Vec::new();
    };
    let has_hive = |fs: &mut F, d: &(F::Node, String)| {
        path_ci(fs, d, &["system32", "config", "software"], false).is_some()
            || path_ci(fs, d, &["system32", "config", "system"], false).is_some()
    };
    let mut dirs: Vec<(Vec<u8>, F::Node)> = fs
        .list(&root)
        .map(|v| {
            v.into_iter()
                .filter(|e| e.kind == EntryKind::Dir)
                .map(|e| (e.name.into_bytes(), e.node))
                .collect()
        })
        .unwrap_or_default();
    let mut found = Vec::new();
    let root = (root, ".".to_owned());
    if has_hive(fs, &root) {
        found.push(root);
    }
    dirs.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, node) in dirs {
        let d = (node, escape_bytes(&name));
        if has_hive(fs, &d) {
            found.push(d);
        }
    }
    found
}

/// Reads a whole hive read-only, bounded.
fn read_hive_bytes(path: &Path) -> Result<Vec<u8>, String> {
    let meta = fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".to_owned());
    }
    if meta.len() > MAX_HIVE_SIZE {
        return Err(format!("too large ({} bytes)", meta.len()));
    }
    let file = open_evidence(path).map_err(|e| e.to_string())?;
    let mut v = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_HIVE_SIZE + 1)
        .read_to_end(&mut v)
        .map_err(|e| e.to_string())?;
    Ok(v)
}

/// A hive loaded for reading: its bytes and how it was opened.
struct LoadedHive {
    bytes: Vec<u8>,
    validated: bool,
}

fn load(
    bytes: Result<Vec<u8>, String>,
    shown: String,
    origin: &'static str,
) -> (HiveInfo, Option<LoadedHive>) {
    let mut info = HiveInfo {
        path: shown,
        origin,
        size: None,
        sha256: None,
        format_version: None,
        validated: false,
        validation_error: None,
        error: None,
    };
    let bytes = match bytes {
        Ok(b) if b.len() as u64 > MAX_HIVE_SIZE => {
            info.error = Some(format!(
                "cannot read: too large (over {MAX_HIVE_SIZE} bytes)"
            ));
            return (info, None);
        }
        Ok(b) => b,
        Err(e) => {
            info.error = Some(format!("cannot read: {e}"));
            return (info, None);
        }
    };
    info.size = Some(bytes.len() as u64);
    info.sha256 = Some(format!("{:x}", Sha256::digest(&bytes)));
    let opened = crate::contain::contained(|| {
        match Hive::new(&bytes[..]) {
            Ok(h) => Ok((
                true,
                format!("{}.{}", h.major_version(), h.minor_version()),
                None,
            )),
            Err(e) => {
                let why = e.to_string();
                match Hive::without_validation(&bytes[..]) {
                    Ok(h) => {
                        // Without validation a hive still needs a readable root key.
                        h.root_key_node().map_err(|e| e.to_string())?;
                        Ok((
                            false,
                            format!("{}.{}", h.major_version(), h.minor_version()),
                            Some(why),
                        ))
                    }
                    Err(e2) => Err(format!("{why}; {e2}")),
                }
            }
        }
    });
    match opened {
        Some(Ok((validated, version, why))) => {
            info.validated = validated;
            info.format_version = Some(version);
            info.validation_error = why;
            (info, Some(LoadedHive { bytes, validated }))
        }
        Some(Err(e)) => {
            info.error = Some(format!("not a usable hive: {e}"));
            (info, None)
        }
        None => {
            info.error = Some("not a usable hive: the hive reader failed on it".to_owned());
            (info, None)
        }
    }
}

impl LoadedHive {
    /// Runs `f` over the hive's root key; any error or panic inside becomes `Err(text)`.
    fn with_root<T>(
        &self,
        f: impl FnOnce(KeyNode<&[u8]>) -> Result<T, NtHiveError>,
    ) -> Result<T, String> {
        let bytes = &self.bytes[..];
        let validated = self.validated;
        crate::contain::contained(|| {
            let hive = if validated {
                Hive::new(bytes)
            } else {
                Hive::without_validation(bytes)
            }
            .map_err(|e| e.to_string())?;
            let root = hive.root_key_node().map_err(|e| e.to_string())?;
            f(root).map_err(|e| e.to_string())
        })
        .unwrap_or_else(|| Err("the hive reader failed on this hive".to_owned()))
    }
}

fn key<'h>(
    node: &KeyNode<'h, &'h [u8]>,
    path: &str,
) -> Result<Option<KeyNode<'h, &'h [u8]>>, NtHiveError> {
    node.subpath(path).transpose()
}

/// A value as text: strings as they are, numbers in decimal, anything else as its type.
fn value_text(node: &KeyNode<'_, &[u8]>, name: &str) -> Result<Option<String>, NtHiveError> {
    let Some(v) = node.value(name).transpose()? else {
        return Ok(None);
    };
    value_to_text(&v).map(Some)
}

fn value_to_text(v: &nt_hive::KeyValue<'_, &[u8]>) -> Result<String, NtHiveError> {
    Ok(match v.data_type()? {
        KeyValueDataType::RegSZ | KeyValueDataType::RegExpandSZ => {
            v.string_data()?.trim_end_matches('\0').to_owned()
        }
        KeyValueDataType::RegDWord | KeyValueDataType::RegDWordBigEndian => {
            v.dword_data()?.to_string()
        }
        KeyValueDataType::RegQWord => v.qword_data()?.to_string(),
        KeyValueDataType::RegMultiSZ => {
            let parts: Result<Vec<String>, _> = v.multi_string_data()?.take(MAX_VALUES).collect();
            parts?.join("; ")
        }
        other => format!("<{other:?}, {} bytes>", v.data_size()),
    })
}

fn dword(node: &KeyNode<'_, &[u8]>, name: &str) -> Result<Option<u32>, NtHiveError> {
    match node.value(name).transpose()? {
        Some(v) => v.dword_data().map(Some),
        None => Ok(None),
    }
}

fn all_values(node: &KeyNode<'_, &[u8]>) -> Result<Pairs, NtHiveError> {
    let mut out = Vec::new();
    if let Some(values) = node.values().transpose()? {
        for v in values.take(MAX_VALUES) {
            let v = v?;
            let name = v.name()?.to_string_lossy();
            let text = value_to_text(&v).unwrap_or_else(|e| format!("<unreadable: {e}>"));
            out.push((
                if name.is_empty() {
                    "(default)".to_owned()
                } else {
                    name
                },
                text,
            ));
        }
    }
    Ok(Pairs(out))
}

fn subkeys<'h>(node: &KeyNode<'h, &'h [u8]>) -> Result<Vec<KeyNode<'h, &'h [u8]>>, NtHiveError> {
    let mut out = Vec::new();
    if let Some(list) = node.subkeys().transpose()? {
        for k in list.take(MAX_SUBKEYS) {
            out.push(k?);
        }
    }
    Ok(out)
}

fn update_record(node: &KeyNode<'_, &[u8]>, path: String) -> Result<UpdateRecord, NtHiveError> {
    let mut file_list = Vec::new();
    if let Some(list) = node.subkey("FileList").transpose()? {
        for f in subkeys(&list)? {
            file_list.push(all_values(&f)?);
        }
    }
    Ok(UpdateRecord {
        key: path,
        values: all_values(node)?,
        file_list,
    })
}

/// Every place Windows records an installed hotfix: `Microsoft\Updates\<product>\<KB>`,
/// `Microsoft\Updates\<product>\<SP>\<KB>`, and `Microsoft\Windows NT\CurrentVersion\HotFix\<KB>`.
fn find_update_records(root: KeyNode<&[u8]>, kb: &str) -> Result<Vec<UpdateRecord>, NtHiveError> {
    let mut out = Vec::new();
    if let Some(updates) = key(&root, "Microsoft\\Updates")? {
        for product in subkeys(&updates)? {
            let pname = product.name()?.to_string_lossy();
            if let Some(k) = product.subkey(kb).transpose()? {
                let kname = k.name()?.to_string_lossy();
                out.push(update_record(
                    &k,
                    format!("Microsoft\\Updates\\{pname}\\{kname}"),
                )?);
            }
            for level in subkeys(&product)? {
                let lname = level.name()?.to_string_lossy();
                if let Some(k) = level.subkey(kb).transpose()? {
                    let kname = k.name()?.to_string_lossy();
                    out.push(update_record(
                        &k,
                        format!("Microsoft\\Updates\\{pname}\\{lname}\\{kname}"),
                    )?);
                }
            }
        }
    }
    let hotfix = format!("Microsoft\\Windows NT\\CurrentVersion\\HotFix\\{kb}");
    if let Some(k) = key(&root, &hotfix)? {
        out.push(update_record(&k, hotfix)?);
    }
    Ok(out)
}

fn start_type(start: u32) -> Option<&'static str> {
    Some(match start {
        0 => "boot",
        1 => "system",
        2 => "automatic",
        3 => "manual",
        4 => "disabled",
        _ => return None,
    })
}

/// Reads the system evidence under the host folder `root` for every rule.
pub fn gather(root: &Path, rules: &[Rule], args: &HiveArgs) -> SystemEvidence {
    let mut fs = HostFs {
        root: root.to_path_buf(),
    };
    gather_in(&mut fs, rules, args)
}

/// Reads the system evidence of the file system `fs` (a host folder or a volume inside a disk
/// image) for every rule: hives are found and their bytes read through the [`Vfs`], and read
/// by the same code whatever the source.
pub fn gather_in<F: Vfs>(fs: &mut F, rules: &[Rule], args: &HiveArgs) -> SystemEvidence {
    let mut ev = SystemEvidence::default();
    let mut windirs = find_windirs_in(fs);
    if windirs.len() > 1 {
        let names: Vec<&str> = windirs.iter().map(|w| w.1.as_str()).collect();
        ev.notes.push(format!(
            "several Windows folders hold hives ({}); the first is used",
            names.join(", ")
        ));
    }
    windirs.truncate(1);
    let windir = windirs.pop();
    ev.windir = windir.as_ref().map(|w| w.1.clone());

    let locate =
        |fs: &mut F, arg: &Option<PathBuf>, name: &str| -> Option<(HiveInfo, Option<LoadedHive>)> {
            match arg {
                Some(p) => Some(load(
                    read_hive_bytes(p),
                    escape_bytes(p.as_os_str().as_encoded_bytes()),
                    "argument",
                )),
                None => {
                    let w = windir.as_ref()?;
                    let rel = ["system32", "config", name];
                    let node = path_ci(fs, w, &rel, false)?;
                    let shown = shown_path(fs, w, &rel);
                    let bytes = fs.read(&node, MAX_HIVE_SIZE).map_err(|e| e.to_string());
                    Some(load(bytes, shown, "found"))
                }
            }
        };
    let software = locate(fs, &args.software, "software");
    let system = locate(fs, &args.system, "system");

    for (hive, what) in [(&software, "SOFTWARE"), (&system, "SYSTEM")] {
        match hive {
            None => ev.notes.push(format!("no {what} hive found")),
            Some((info, _)) if !info.validated && info.error.is_none() => ev.notes.push(format!(
                "{what} hive failed header validation ({}); read without validation, .LOG files not replayed",
                info.validation_error.as_deref().unwrap_or("unknown reason")
            )),
            Some((info, _)) => {
                if let Some(e) = &info.error {
                    ev.notes.push(format!("{what} hive {}: {e}", info.path));
                }
            }
        }
    }

    if let Some((_, Some(h))) = &software {
        match h.with_root(|r| read_os(r, &mut ev.os)) {
            Ok(()) => {}
            Err(e) => ev.notes.push(format!(
                "SOFTWARE hive: reading the Windows version failed: {e}"
            )),
        }
    }
    if let Some((_, Some(h))) = &system {
        if let Err(e) = h.with_root(|r| read_product(r, &mut ev.os)) {
            ev.notes
                .push(format!("SYSTEM hive: reading the product type failed: {e}"));
        }
    }

    for rule in rules {
        let mut rr = RuleRegistry {
            rule: rule.id.clone(),
            kb: rule.kb.clone(),
            update_records: Vec::new(),
            services: Vec::new(),
            uninstall_dir: None,
        };
        if let Some((_, Some(h))) = &software {
            match h.with_root(|r| find_update_records(r, &rule.kb)) {
                Ok(recs) => rr.update_records = recs,
                Err(e) => ev.notes.push(format!(
                    "SOFTWARE hive: looking for {} failed: {e}",
                    rule.kb
                )),
            }
        }
        if let (Some((_, Some(h))), Some(cs)) = (&system, ev.os.control_set.clone()) {
            for file in &rule.files {
                let Some(name) = &file.service else { continue };
                let path = format!("{cs}\\Services\\{name}");
                let read = h.with_root(|r| {
                    Ok(match key(&r, &path)? {
                        None => None,
                        Some(k) => Some((value_text(&k, "ImagePath")?, dword(&k, "Start")?)),
                    })
                });
                match read {
                    Ok(Some((image_path, start))) => rr.services.push(ServiceFacts {
                        name: name.clone(),
                        file: file.name.clone(),
                        resolved_path: image_path.as_deref().and_then(|p| {
                            crate::reconcile::resolve_image_path(p, ev.windir.as_deref())
                        }),
                        image_path,
                        start,
                        start_type: start.and_then(start_type),
                    }),
                    Ok(None) => {}
                    Err(e) => ev.notes.push(format!("SYSTEM hive: service {name}: {e}")),
                }
            }
        }
        if let (Some(w), Some(dir)) = (&windir, &rule.uninstall_dir) {
            if path_ci(fs, w, &[dir.as_str()], true).is_some() {
                rr.uninstall_dir = Some(shown_path(fs, w, &[dir.as_str()]));
            }
        }
        ev.rules.push(rr);
    }
    ev.software_hive = software.map(|(i, _)| i);
    ev.system_hive = system.map(|(i, _)| i);
    ev
}

fn read_os(root: KeyNode<&[u8]>, os: &mut OsFacts) -> Result<(), NtHiveError> {
    if let Some(cv) = key(&root, "Microsoft\\Windows NT\\CurrentVersion")? {
        os.product_name = value_text(&cv, "ProductName")?;
        os.current_version = value_text(&cv, "CurrentVersion")?;
        os.build = value_text(&cv, "CurrentBuildNumber")?;
        os.csd_version = value_text(&cv, "CSDVersion")?;
    }
    Ok(())
}

fn read_product(root: KeyNode<&[u8]>, os: &mut OsFacts) -> Result<(), NtHiveError> {
    let current = match key(&root, "Select")? {
        Some(sel) => dword(&sel, "Current")?,
        None => None,
    };
    let Some(n) = current else { return Ok(()) };
    let cs = format!("ControlSet{n:03}");
    if let Some(po) = key(&root, &format!("{cs}\\Control\\ProductOptions"))? {
        os.product_type = value_text(&po, "ProductType")?;
    }
    os.control_set = Some(cs);
    Ok(())
}
