//! From what was read about one candidate to its findings: one per rule file its name
//! matches, with the version chosen, the status against the fixed version, the location
//! class and the notes that explain them. Pure: the bytes were read before, by the source.
//!
//! Over 400 lines: turning evidence into a finding includes choosing among the version
//! resources Windows could read; both decide the status and belong together.

use crate::error::InspectError;
use crate::escape::escape_bytes;
use crate::model::pe::{PeVersionData, VersionResource};
use crate::model::rule::Target;

type FileEvidence = crate::model::pe::FileEvidence<InspectError>;
use crate::judge::{self, location, prose};
use crate::lineage;
use crate::model::time::Times;
use crate::model::{
    ErrorKind, FileFacts, FileVersion, Finding, Location, PeFacts, Status, VersionReading,
    VersionSource,
};
use crate::rules::{Rule, RuleFile, RuleSet};

/// What happened to one candidate before judgement.
#[derive(Debug)]
pub enum Outcome {
    /// Never opened (a directory, a device, a link not followed…): why, and the times and
    /// size the listing gave (none when they could not be had).
    Skipped {
        why: String,
        times: Times,
        size: Option<u64>,
    },
    /// Its metadata could not be read, so it was not opened.
    Failed(InspectError),
    /// Read: the times and size before reading, and what the bytes said.
    Inspected {
        times: Times,
        size: Option<u64>,
        evidence: FileEvidence,
    },
}

/// One candidate as the source found it.
#[derive(Debug)]
pub struct CandidateInput<'a> {
    /// Path components from the root down; the last is the entry's own name.
    pub parts: &'a [Vec<u8>],
    /// The root as shown joined with the path.
    pub abs_path: String,
    pub targets: &'a [Target],
    /// For a link: what it points to, as shown.
    pub link_target: Option<String>,
    pub outcome: Outcome,
    /// What the source's times mean; a judged finding carries it (and its note).
    pub time_basis: crate::model::time::TimeBasis,
}

/// `/`-separated, escaped text of path components.
pub fn parts_text(parts: &[Vec<u8>]) -> String {
    let v: Vec<String> = parts.iter().map(|p| escape_bytes(p)).collect();
    v.join("/")
}

/// Judges one candidate against every rule file its name matches.
pub fn findings_from(rules: &RuleSet, c: &CandidateInput<'_>) -> Vec<Finding> {
    let folders: &[Vec<u8>] = c.parts.split_last().map_or(&[], |(_, f)| f);
    let loc = location::classify(folders.iter().map(Vec::as_slice));
    let path = parts_text(c.parts);
    let name = escape_bytes(c.parts.last().map(Vec::as_slice).unwrap_or_default());
    c.targets
        .iter()
        .map(|t| {
            let rule = &rules.rules[t.rule];
            let file = &rule.files[t.file];
            let mut f = Finding {
                path: path.clone(),
                abs_path: c.abs_path.clone(),
                name: name.clone(),
                rule: rule.id.clone(),
                kb: rule.kb.clone(),
                target: file.name.clone(),
                status: Status::Skipped,
                comparison: crate::model::Comparison::Unjudged,
                counting: crate::model::Counting::COUNTED,
                location: loc.clone(),
                version: None,
                version_source: None,
                file_version: None,
                file_version_string: None,
                product_version: None,
                product_version_string: None,
                string_tables: Vec::new(),
                version_resources: Vec::new(),
                required_version: file.fixed.version(),
                published_size: file.size,
                file: FileFacts::default(),
                link_target: c.link_target.clone(),
                time_basis: Default::default(),
                si_backdated: None,
                service_image: None,
                lineage: None,
                notes: Vec::new(),
                error: None,
                error_kind: None,
            };
            match &c.outcome {
                Outcome::Skipped { why, times, size } => {
                    f.file.set_times(times);
                    f.file.size = *size;
                    f.notes.push(prose::not_opened(why));
                }
                Outcome::Failed(e) => {
                    f.status = Status::Error;
                    f.error = Some(e.to_string());
                    f.error_kind = Some(e.kind());
                }
                Outcome::Inspected {
                    times, evidence, ..
                } => {
                    f.file.set_times(times);
                    apply_evidence(&mut f, evidence, file);
                    judge_by_rule(&mut f, rules, rule, file);
                }
            }
            add_location_notes(&mut f, &loc, file.install_dir.as_deref(), folders);
            if f.status != Status::Skipped {
                f.time_basis = c.time_basis;
                f.notes.extend(c.time_basis.note().map(str::to_owned));
            }
            f
        })
        .collect()
}

fn apply_evidence(f: &mut Finding, ev: &FileEvidence, file: &RuleFile) {
    f.file.size = ev.size;
    f.file.sha256.clone_from(&ev.sha256);
    f.file.md5.clone_from(&ev.md5);
    match &ev.pe {
        Ok(pe) => apply_pe(f, pe, file),
        Err(e) => {
            f.status = if e.is_version_problem() {
                Status::UnknownVersion
            } else {
                Status::Error
            };
            f.error = Some(e.to_string());
            f.error_kind = Some(e.kind());
        }
    }
}

/// Reads the version the way `GetFileVersionInfo` does: only `RT_VERSION` id 1
/// (`VS_VERSION_INFO`), in the language the loader picks — which depends on the machine, so
/// every language of id 1 is a reading Windows could use. Several readings that disagree are
/// judged by the rule "ambiguity never favours patched": `vulnerable` when every one is,
/// otherwise not judged (`version_resources_disagree`). Every resource is kept as evidence.
fn apply_pe(f: &mut Finding, pe: &PeVersionData, file: &RuleFile) {
    f.file.pe = Some(PeFacts::from(&pe.header));
    let read: Vec<&VersionResource> = pe.resources.iter().filter(|r| r.windows_reads()).collect();
    let readings: Vec<Reading> = read.iter().map(|r| reading(r, file)).collect();
    if pe.resources.len() > 1 || read.len() != pe.resources.len() {
        let mut judged = readings.iter();
        f.version_resources = pe
            .resources
            .iter()
            .map(|r| {
                let j = if r.windows_reads() {
                    judged.next()
                } else {
                    None
                };
                evidence_row(r, j)
            })
            .collect();
    }
    for r in pe.resources.iter().filter(|r| !r.windows_reads()) {
        f.notes.push(prose::resource_not_read_by_windows(r));
    }
    match readings.len() {
        0 if !pe.resources.is_empty() => {
            f.status = Status::UnknownVersion;
            f.error_kind = Some(ErrorKind::NoVersionResource);
            f.error = Some(prose::no_id1_resource(pe.resources.len()));
        }
        0 | 1 => apply_one(f, &read, file),
        _ => apply_several(f, &read, &readings, file),
    }
    if let Some(n) = f
        .file
        .size
        .and_then(|s| judge::size_note(f.status, s, file.size))
    {
        f.notes.push(n);
    }
}

/// One reading Windows could use, judged alone against the rule file.
#[derive(Debug, Clone)]
struct Reading {
    version: Option<FileVersion>,
    source: Option<VersionSource>,
    status: Status,
    error: Option<String>,
}

/// One version resource's reading, judged against the fixed version of the branch its own
/// version belongs to.
fn reading(r: &VersionResource, file: &RuleFile) -> Reading {
    let (fixed, strings): (Option<FileVersion>, Vec<&str>) = match &r.info {
        Ok(info) => (
            info.fixed.as_ref().map(|x| x.file_version),
            info.string_tables
                .iter()
                .filter_map(|t| t.get("FileVersion"))
                .collect(),
        ),
        Err(_) => (None, Vec::new()),
    };
    let eff = judge::effective_version(fixed, &strings);
    let (status, error) = rule_status(eff.version, file.fixed_for(eff.version), file);
    let error = error.or_else(|| match (&r.info, eff.version) {
        (Err(e), _) => Some(e.to_string()),
        (Ok(_), None) => Some(prose::no_usable_version()),
        _ => None,
    });
    Reading {
        version: eff.version,
        source: eff.source,
        status,
        error,
    }
}

/// The status of one version for the rule file, with the product line, the implausible
/// 0xFFFF fields and a borrowed fixed version (`judged_by`) taken into account, and why it
/// is not judged when it is not.
fn rule_status(
    v: Option<FileVersion>,
    required: FileVersion,
    file: &RuleFile,
) -> (Status, Option<String>) {
    let status = judge::status_for(v, required);
    let Some(v) = v else {
        return (status, None);
    };
    if !file.in_product_line(v) {
        return (
            Status::UnknownVersion,
            Some(prose::outside_product_line(
                v,
                file.product_line.as_deref().unwrap_or_default(),
            )),
        );
    }
    if status == Status::Patched && judge::implausible(v) {
        return (Status::UnknownVersion, Some(prose::implausible_reading(v)));
    }
    if status == Status::Vulnerable && file.fixed.judged_by().is_some() {
        return (
            Status::UnknownVersion,
            Some(prose::below_replacing_rule(v, required)),
        );
    }
    (status, None)
}

fn evidence_row(r: &VersionResource, judged: Option<&Reading>) -> VersionReading {
    let info = r.info.as_ref().ok();
    VersionReading {
        name: r.name.clone(),
        language: format!("{:04x}", r.lang),
        fixed_version: info.and_then(|i| i.fixed.as_ref().map(|x| x.file_version)),
        file_version_string: info.and_then(|i| {
            i.string_tables
                .iter()
                .find_map(|t| t.get("FileVersion"))
                .map(str::to_owned)
        }),
        version: judged.and_then(|j| j.version),
        windows_reads: r.windows_reads(),
        status: judged.map(|j| j.status),
        error: match judged {
            Some(j) => j.error.clone(),
            None => Some(prose::resource_not_read(
                r.info.as_ref().err().map(|e| e as &dyn std::fmt::Display),
            )),
        },
    }
}

/// Id 1 in several languages: which one Windows reads depends on the machine's language.
fn apply_several(
    f: &mut Finding,
    read: &[&VersionResource],
    readings: &[Reading],
    file: &RuleFile,
) {
    let first = readings[0].version;
    if readings.iter().all(|r| r.version == first) {
        apply_one(f, &read[..1], file);
        f.notes.push(prose::languages_agree(read, first));
        return;
    }
    let list = prose::language_readings(
        read.iter()
            .zip(readings)
            .map(|(r, j)| (r.lang, j.version, j.status)),
    );
    for res in read {
        if let Ok(info) = &res.info {
            f.string_tables.extend(info.string_tables.iter().cloned());
        }
    }
    f.file_version_string = f
        .string_tables
        .iter()
        .find_map(|t| t.get("FileVersion"))
        .map(str::to_owned);
    f.product_version_string = f
        .string_tables
        .iter()
        .find_map(|t| t.get("ProductVersion"))
        .map(str::to_owned);
    let all = |s: Status| readings.iter().all(|r| r.status == s);
    // The reading reported: the highest of all-vulnerable ones, the lowest of all-patched ones.
    let pick = if all(Status::Vulnerable) {
        readings.iter().enumerate().max_by_key(|(_, r)| r.version)
    } else if all(Status::Patched) {
        readings.iter().enumerate().min_by_key(|(_, r)| r.version)
    } else {
        None
    };
    match pick {
        Some((i, r)) => {
            f.status = r.status;
            f.version = r.version;
            f.version_source = r.source;
            if let Ok(info) = &read[i].info {
                if let Some(fx) = &info.fixed {
                    f.file_version = Some(fx.file_version);
                    f.product_version = Some(fx.product_version);
                }
            }
            f.notes
                .push(prose::languages_disagree_all(read.len(), &list, r.status));
        }
        None => {
            f.status = Status::UnknownVersion;
            f.error_kind = Some(ErrorKind::VersionResourcesDisagree);
            f.error = Some(prose::languages_disagree_not_judged(read.len(), &list));
        }
    }
}

fn apply_one(f: &mut Finding, resources: &[&VersionResource], file: &RuleFile) {
    let mut fixed = None;
    let mut corrupt = Vec::new();
    for res in resources {
        match &res.info {
            Ok(info) => {
                if let Some(fx) = &info.fixed {
                    match fixed {
                        None => {
                            fixed = Some(fx.file_version);
                            f.product_version = Some(fx.product_version);
                        }
                        Some(first) if first != fx.file_version => {
                            f.notes.push(prose::resource_differs_from_first(
                                &res.name,
                                res.lang,
                                fx.file_version,
                                first,
                            ))
                        }
                        Some(_) => {}
                    }
                }
                for w in &info.warnings {
                    f.notes.push(prose::resource_warning(&res.name, w));
                }
                f.string_tables.extend(info.string_tables.iter().cloned());
            }
            Err(e) => corrupt.push(prose::resource_unreadable(&res.name, res.lang, e)),
        }
    }
    f.file_version = fixed;
    f.file_version_string = f
        .string_tables
        .iter()
        .find_map(|t| t.get("FileVersion"))
        .map(str::to_owned);
    f.product_version_string = f
        .string_tables
        .iter()
        .find_map(|t| t.get("ProductVersion"))
        .map(str::to_owned);
    let strings: Vec<&str> = f
        .string_tables
        .iter()
        .filter_map(|t| t.get("FileVersion"))
        .collect();
    let eff = judge::effective_version(fixed, &strings);
    f.version = eff.version;
    f.version_source = eff.source;
    f.notes.extend(eff.notes);
    // The fixed version of the copy's branch (GDR/QFE, platform), when the rule gives several.
    f.required_version = file.fixed_for(eff.version);
    if let Some(b) = eff.version.and_then(|v| file.branch_for(v)) {
        f.notes.push(prose::branch_of(eff.version, b));
    }
    f.status = judge::status_for(eff.version, f.required_version);
    if f.status == Status::UnknownVersion {
        let err = if resources.is_empty() {
            InspectError::NoVersionResource
        } else if corrupt.is_empty() {
            InspectError::CorruptVersion(prose::no_usable_version())
        } else {
            InspectError::CorruptVersion(corrupt.join("; "))
        };
        f.error_kind = Some(err.kind());
        f.error = Some(err.to_string());
    } else {
        f.notes.extend(corrupt);
    }
}

fn add_location_notes(
    f: &mut Finding,
    loc: &Location,
    install_dir: Option<&str>,
    folders: &[Vec<u8>],
) {
    if loc.rule.is_some() {
        f.notes.extend(location::inactive_note(loc));
    } else if let Some(dir) = install_dir {
        if f.status != Status::Skipped
            && !location::ends_with_dir(folders.iter().map(Vec::as_slice), dir)
        {
            f.notes.push(prose::not_in_install_folder(dir));
        }
    }
}

/// What the rule file adds to a judged copy: the product line (a version outside it is not
/// judged), a fixed version borrowed from a later rule (`judged_by`: below it, this rule cannot
/// tell), and the lineage of the build, explaining when a later update's build satisfies the rule.
fn judge_by_rule(f: &mut Finding, rules: &RuleSet, rule: &Rule, file: &RuleFile) {
    let Some(v) = f.version else { return };
    if !matches!(f.status, Status::Vulnerable | Status::Patched) {
        return;
    }
    if let Some(m) = lineage::builtin().lookup(&file.name, v) {
        f.notes.push(prose::lineage(&file.name, &m));
        f.lineage = Some(m);
    }
    if judge::implausible(v) {
        f.notes.push(prose::implausible_note(v));
    }
    if !file.in_product_line(v) {
        f.status = Status::UnknownVersion;
        f.error = Some(prose::outside_product_line_of(
            v,
            file.product_line.as_deref().unwrap_or_default(),
            &rule.id,
        ));
        return;
    }
    if f.status == Status::Patched && judge::implausible(v) {
        f.status = Status::UnknownVersion;
        f.error = Some(prose::implausible_not_patched(v));
        return;
    }
    let fixed = f.required_version;
    if let Some(by) = file.fixed.judged_by() {
        if f.status == Status::Vulnerable {
            f.status = Status::UnknownVersion;
            f.error = Some(prose::judged_by_cannot_tell(
                &rule.id, &file.name, v, fixed, by,
            ));
        } else {
            f.notes
                .push(prose::judged_by(by, &rule.id, &file.name, fixed));
        }
        return;
    }
    // A build a later update shipped satisfies this rule by version: say so, and whether the
    // bulletins say that update replaces this one.
    if let (Status::Patched, Some(m)) = (f.status, &f.lineage) {
        let later =
            m.kb.as_deref()
                .is_some_and(|kb| !kb.eq_ignore_ascii_case(&rule.kb));
        if later && v > fixed {
            let by = m
                .bulletin
                .clone()
                .unwrap_or_else(|| m.kb.clone().unwrap_or_default());
            let official = rules.supersedes(&by, rule);
            f.notes.push(prose::later_update_note(
                &file.name, m, &rule.id, &by, official, fixed,
            ));
        }
    }
}
