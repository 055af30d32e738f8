//! Offline registry evidence: find the SOFTWARE and SYSTEM hives of the Windows under a root
//! and read the facts the rules need, read-only. Loading a hive (bounded, contained,
//! validated or not) is `hive`; the facts read from it are `facts`. `.LOG` files are never
//! replayed: a hive left unclean (common on seized servers) is read without validation and
//! said so. A damaged hive becomes a note and the verdict falls back to the file evidence.

pub mod facts;
pub mod hive;
pub mod pending;
pub mod services;
pub mod times;

use std::path::PathBuf;

use crate::escape::escape_bytes;
use crate::model::system::{HiveInfo, RuleRegistry, SystemEvidence};
use crate::model::Rule;
use crate::source::{self, Entry, EntryKind, Source};
use facts::{find_update_records, read_os, read_product};
use hive::{load, read_hive_bytes, LoadedHive, MAX_HIVE_SIZE};

/// Most services kept per rule (a hive may list thousands that all start `nscm.exe`).
const MAX_SERVICES_PER_RULE: usize = 64;

/// Hives named on the command line instead of found under the root.
#[derive(Debug, Clone, Default)]
pub struct HiveArgs {
    pub software: Option<PathBuf>,
    pub system: Option<PathBuf>,
}

/// The display path of entries found below `base` (a Windows folder as shown), each name as
/// the file system spells it.
pub(crate) fn shown_path<N>(base: &str, found: &[Entry<N>]) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !base.is_empty() && base != "." {
        parts.push(base.to_owned());
    }
    parts.extend(found.iter().map(|e| escape_bytes(&e.name)));
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

/// A Windows folder under a root: its node and its display path relative to the root
/// (`.` for the root itself, `WINNT`, `Windows`…, escaped).
pub type Windir<N> = (N, String);

/// Finds Windows folders: the root itself or a folder directly below it holding
/// `system32/config/SOFTWARE` or `SYSTEM` (matched by structure, not by the name `WINNT` or
/// `Windows`), as (node, display path relative to the root), the root first, then by name.
pub fn find_windirs<S: Source>(src: &S) -> Vec<Windir<S::Node>> {
    let Ok((root, _)) = src.root() else {
        return Vec::new();
    };
    let has_hive = |d: &S::Node| {
        source::path_ci(src, d, &["system32", "config", "software"], false).is_some()
            || source::path_ci(src, d, &["system32", "config", "system"], false).is_some()
    };
    let mut dirs: Vec<(Vec<u8>, S::Node)> = src
        .list(&root)
        .map(|v| {
            v.into_iter()
                .filter(|e| e.kind == EntryKind::Dir)
                .map(|e| (e.name, e.node))
                .collect()
        })
        .unwrap_or_default();
    let mut found = Vec::new();
    if has_hive(&root) {
        found.push((root, ".".to_owned()));
    }
    dirs.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, node) in dirs {
        if has_hive(&node) {
            found.push((node, escape_bytes(&name)));
        }
    }
    found
}

/// Reads the system evidence of a source (a host folder or a volume inside a disk image) for
/// every rule: hives are found and their bytes read through the [`Source`], and read by the
/// same code whatever the source.
pub fn gather<S: Source>(src: &S, rules: &[Rule], args: &HiveArgs) -> SystemEvidence {
    let mut windirs = find_windirs(src);
    let mut notes = Vec::new();
    if windirs.len() > 1 {
        let names: Vec<&str> = windirs.iter().map(|w| w.1.as_str()).collect();
        notes.push(format!(
            "several Windows folders hold hives ({}); the first is used",
            names.join(", ")
        ));
    }
    windirs.truncate(1);
    let mut ev = gather_at(src, rules, args, windirs.pop()).evidence;
    notes.append(&mut ev.notes);
    ev.notes = notes;
    ev
}

/// Reads the system facts of one Windows folder under a source (or of none: then only hives
/// given as arguments are read): the hives, the OS, the services, and per rule its update
/// records, the services that run its files and its uninstall folder. The driver calls it
/// once per Windows folder when a volume holds several, then runs the install-time gatherers.
pub fn gather_at<S: Source>(
    src: &S,
    rules: &[Rule],
    args: &HiveArgs,
    windir: Option<Windir<S::Node>>,
) -> Facts<S::Node> {
    let mut ev = SystemEvidence {
        windir: windir.as_ref().map(|w| w.1.clone()),
        ..SystemEvidence::default()
    };
    let software = locate_hive(src, windir.as_ref(), &args.software, "software");
    let system = locate_hive(src, windir.as_ref(), &args.system, "system");
    note_hives(&software, &system, &mut ev);
    let software_h = software.as_ref().and_then(|s| s.1.as_ref());
    let system_h = system.as_ref().and_then(|s| s.1.as_ref());
    read_os_facts(software_h, system_h, &mut ev);
    let service_env = read_service_env(software_h, &mut ev);
    let service_keys = read_service_keys(src, system_h, &service_env, &mut ev);
    for rule in rules {
        let rr = rule_facts(
            src,
            rule,
            software_h,
            &service_keys,
            &service_env,
            windir.as_ref(),
            &mut ev,
        );
        ev.rules.push(rr);
    }
    let mut pending_value = None;
    // The system's time zone, which turns the local times of install-time evidence into UTC.
    if let (Some(h), Some(cs)) = (system_h, ev.os.control_set.clone()) {
        ev.time_zone = times::read_time_zone(h, &cs);
        // Renames and deletions waiting for the next boot (updates that replace a file in use).
        if let Some(value) = pending::read_pending_value(h, &cs) {
            ev.notes.extend(value.notes.iter().cloned());
            let mut notes = Vec::new();
            ev.pending_renames = Some(pending::place(src, &service_env, &value, rules, &mut notes));
            ev.notes.append(&mut notes);
            pending_value = Some(value);
        }
    }
    let (software_info, software) = match software {
        Some((i, h)) => (Some(i), h),
        None => (None, None),
    };
    ev.software_hive = software_info;
    ev.system_hive = system.map(|(i, _)| i);
    Facts {
        evidence: ev,
        pending: pending_value,
        software,
        windir,
    }
}

/// A hive given as an argument, or `system32/config/<name>` under the Windows folder: its
/// description and, when it loaded, the hive (`None` when there is neither).
fn locate_hive<S: Source>(
    src: &S,
    windir: Option<&Windir<S::Node>>,
    arg: &Option<PathBuf>,
    name: &str,
) -> Option<(HiveInfo, Option<LoadedHive>)> {
    match arg {
        Some(p) => Some(load(
            read_hive_bytes(p),
            escape_bytes(p.as_os_str().as_encoded_bytes()),
            "argument",
        )),
        None => {
            let w = windir.as_ref()?;
            let rel = ["system32", "config", name];
            let found = source::path_ci(src, &w.0, &rel, false)?;
            let shown = shown_path(&w.1, &found);
            let node = &found.last()?.node;
            let bytes = src.stat(node).map_err(|e| e.to_string()).and_then(|st| {
                match st.size.unwrap_or(0) {
                    // Refused before a byte is read.
                    n if n > MAX_HIVE_SIZE => Err(format!("too large ({n} bytes)")),
                    n => src.read(node, n, MAX_HIVE_SIZE).map_err(|e| e.to_string()),
                }
            });
            Some(load(bytes, shown, "found"))
        }
    }
}

/// A note per hive that is missing, failed validation or could not be read.
fn note_hives(
    software: &Option<(HiveInfo, Option<LoadedHive>)>,
    system: &Option<(HiveInfo, Option<LoadedHive>)>,
    ev: &mut SystemEvidence,
) {
    for (hive, what) in [(software, "SOFTWARE"), (system, "SYSTEM")] {
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
}

/// The Windows version, service pack (SOFTWARE) and product type (SYSTEM).
fn read_os_facts(
    software: Option<&LoadedHive>,
    system: Option<&LoadedHive>,
    ev: &mut SystemEvidence,
) {
    if let Some(h) = software {
        match h.with_root(|r| read_os(r, &mut ev.os)) {
            Ok(()) => {}
            Err(e) => ev.notes.push(format!(
                "SOFTWARE hive: reading the Windows version failed: {e}"
            )),
        }
    }
    if let Some(h) = system {
        if let Err(e) = h.with_root(|r| read_product(r, &mut ev.os)) {
            ev.notes
                .push(format!("SYSTEM hive: reading the product type failed: {e}"));
        }
    }
}

/// What a service's ImagePath variables mean here.
fn read_service_env(
    software: Option<&LoadedHive>,
    ev: &mut SystemEvidence,
) -> services::ServiceEnv {
    let mut service_env = services::ServiceEnv {
        windir: ev.windir.clone(),
        ..Default::default()
    };
    if let Some(h) = software {
        if let Err(e) = h.with_root(|r| services::read_env(r, &mut service_env)) {
            ev.notes.push(format!(
                "SOFTWARE hive: reading ProgramFilesDir/SystemRoot failed: {e}"
            ));
        }
    }
    service_env
}

/// Every service of the current control set, read once (which of them runs a rule's file is
/// decided per file), with the programs named by 8.3 aliases looked up on the volume (bounded).
fn read_service_keys<S: Source>(
    src: &S,
    system: Option<&LoadedHive>,
    service_env: &services::ServiceEnv,
    ev: &mut SystemEvidence,
) -> Vec<facts::ServiceKey> {
    let mut service_keys = Vec::new();
    if let (Some(h), Some(cs)) = (system, ev.os.control_set.clone()) {
        let mut notes = Vec::new();
        match h.with_root(|r| facts::read_services(r, &cs, &mut notes)) {
            Ok(keys) => service_keys = keys,
            Err(e) => ev
                .notes
                .push(format!("SYSTEM hive: reading {cs}\\Services failed: {e}")),
        }
        ev.notes.append(&mut notes);
    }
    // Programs named by 8.3 aliases, looked up on the volume once each (bounded).
    let mut lookups = 0;
    for sk in &mut service_keys {
        let Some(p) = sk.image_path.as_deref() else {
            continue;
        };
        if !services::image_file_name(p).contains('~') {
            continue;
        }
        lookups += 1;
        if lookups > services::MAX_ALIAS_LOOKUPS {
            ev.notes.push(format!(
                "SYSTEM hive: more than {} services start programs named by 8.3 aliases; the rest are not looked up",
                services::MAX_ALIAS_LOOKUPS
            ));
            break;
        }
        sk.alias_names = services::alias_targets(src, service_env, p);
    }
    service_keys
}

/// One rule's registry facts: its update records (found by KB, and the keys the rule names),
/// the services that run its files, its uninstall folder.
fn rule_facts<S: Source>(
    src: &S,
    rule: &Rule,
    software: Option<&LoadedHive>,
    service_keys: &[facts::ServiceKey],
    service_env: &services::ServiceEnv,
    windir: Option<&Windir<S::Node>>,
    ev: &mut SystemEvidence,
) -> RuleRegistry {
    let mut rr = RuleRegistry {
        rule: rule.id.clone(),
        kb: rule.kb.clone(),
        update_records: Vec::new(),
        services: Vec::new(),
        uninstall_dir: None,
        installed: None, // filled by the install-time gatherers after these facts
    };
    if let Some(h) = software {
        match h.with_root(|r| find_update_records(r, &rule.kb)) {
            Ok(recs) => rr.update_records = recs,
            Err(e) => ev.notes.push(format!(
                "SOFTWARE hive: looking for {} failed: {e}",
                rule.kb
            )),
        }
        // The exact keys the rule says the update writes (issue 13), unless the generic
        // search already found them or a key above them.
        for spec in &rule.registry_records {
            let want = spec.hive_path.to_ascii_lowercase();
            let covered = rr.update_records.iter().any(|u| {
                let have = u.key.to_ascii_lowercase();
                want == have || want.starts_with(&format!("{have}\\"))
            });
            if covered {
                continue;
            }
            match h.with_root(|r| facts::declared_record(r, &spec.hive_path)) {
                Ok(Some(rec)) => rr.update_records.push(rec),
                Ok(None) => {}
                Err(e) => ev.notes.push(format!(
                    "SOFTWARE hive: looking for {} failed: {e}",
                    spec.key
                )),
            }
        }
    }
    // The services that run the rule's files: by the file's sourced service name, or by
    // the file their ImagePath starts, whatever they are called.
    for file in &rule.files {
        for sk in service_keys {
            let mut notes = Vec::new();
            let Some(by) =
                services::runs_file(&sk.name, sk.image_path.as_deref(), &sk.alias_names, file)
            else {
                continue;
            };
            let svc = services::service_facts(
                src,
                service_env,
                &sk.name,
                &file.name,
                by,
                sk.image_path.clone(),
                sk.start,
                &mut notes,
            );
            if rr.services.len() >= MAX_SERVICES_PER_RULE {
                ev.notes.push(format!(
                    "SYSTEM hive: more than {MAX_SERVICES_PER_RULE} services run files of {}; the rest are not read",
                    rule.id
                ));
                break;
            }
            if !ev.os.wrong_type.iter().any(|w| sk.start_wrong.contains(w)) {
                ev.os.wrong_type.extend(sk.start_wrong.iter().cloned());
            }
            ev.notes.append(&mut notes);
            rr.services.push(svc);
        }
    }
    if let (Some(w), Some(dir)) = (windir, &rule.uninstall_dir) {
        if let Some(found) = source::path_ci(src, &w.0, &[dir.as_str()], true) {
            rr.uninstall_dir = Some(shown_path(&w.1, &found));
        }
    }
    rr
}

/// The system facts of one Windows folder, with what the install-time gatherers read next:
/// the loaded SOFTWARE hive (key times) and the Windows folder (the update log, the
/// uninstall folder).
pub struct Facts<N> {
    pub evidence: SystemEvidence,
    /// `PendingFileRenameOperations` as recorded, for the update audit (which reads the
    /// staged file of any audited target, not only of a rule's).
    pub pending: Option<pending::PendingValue>,
    pub software: Option<LoadedHive>,
    pub windir: Option<Windir<N>>,
}
