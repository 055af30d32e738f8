//! From what was read about one candidate to its findings: one per rule file its name
//! matches, with the version chosen, the status against the fixed version, the location
//! class and the notes that explain them. Pure: the bytes were read before, by the source.

use crate::error::InspectError;
use crate::escape::escape_bytes;
use crate::evidence::inspect::FileEvidence;
use crate::evidence::pe::PeVersionData;
use crate::filter::Target;
use crate::judge::{self, location};
use crate::lineage;
use crate::model::time::Times;
use crate::model::{FileFacts, Finding, Location, PeFacts, Status};
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
    /// A note every judged finding of this source carries (FAT's local times).
    pub source_note: Option<&'static str>,
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
                location: loc.clone(),
                version: None,
                version_source: None,
                file_version: None,
                file_version_string: None,
                product_version: None,
                product_version_string: None,
                string_tables: Vec::new(),
                required_version: file.fixed_version,
                published_size: file.size,
                file: FileFacts::default(),
                link_target: c.link_target.clone(),
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
                    f.notes.push(format!("not opened: {why}"));
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
                    apply_evidence(&mut f, evidence, file.size);
                    judge_by_rule(&mut f, rules, rule, file);
                }
            }
            add_location_notes(&mut f, &loc, file.install_dir.as_deref(), folders);
            if let (Some(note), false) = (c.source_note, f.status == Status::Skipped) {
                f.notes.push(note.to_owned());
            }
            f
        })
        .collect()
}

fn apply_evidence(f: &mut Finding, ev: &FileEvidence, published: Option<u64>) {
    f.file.size = ev.size;
    f.file.sha256.clone_from(&ev.sha256);
    f.file.md5.clone_from(&ev.md5);
    match &ev.pe {
        Ok(pe) => apply_pe(f, pe, published),
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

fn apply_pe(f: &mut Finding, pe: &PeVersionData, published: Option<u64>) {
    f.file.pe = Some(PeFacts::from(&pe.header));
    let mut fixed = None;
    let mut corrupt = Vec::new();
    for res in &pe.resources {
        match &res.info {
            Ok(info) => {
                if let Some(fx) = &info.fixed {
                    match fixed {
                        None => {
                            fixed = Some(fx.file_version);
                            f.product_version = Some(fx.product_version);
                        }
                        Some(first) if first != fx.file_version => f.notes.push(format!(
                            "version resource {} (language {:04x}) says {}, the first one says {first}",
                            res.name, res.lang, fx.file_version
                        )),
                        Some(_) => {}
                    }
                }
                for w in &info.warnings {
                    f.notes.push(format!("version resource {}: {w}", res.name));
                }
                f.string_tables.extend(info.string_tables.iter().cloned());
            }
            Err(e) => corrupt.push(format!(
                "version resource {} (language {:04x}): {e}",
                res.name, res.lang
            )),
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
    f.status = judge::status_for(eff.version, f.required_version);
    if f.status == Status::UnknownVersion {
        let err = if pe.resources.is_empty() {
            InspectError::NoVersionResource
        } else if corrupt.is_empty() {
            InspectError::CorruptVersion("no usable version in the version resource".to_owned())
        } else {
            InspectError::CorruptVersion(corrupt.join("; "))
        };
        f.error_kind = Some(err.kind());
        f.error = Some(err.to_string());
    } else {
        f.notes.extend(corrupt);
    }
    if let Some(n) = f
        .file
        .size
        .and_then(|s| judge::size_note(f.status, s, published))
    {
        f.notes.push(n);
    }
}

fn add_location_notes(
    f: &mut Finding,
    loc: &Location,
    install_dir: Option<&str>,
    folders: &[Vec<u8>],
) {
    if let Some(rule) = loc.rule {
        let what = location::describe(rule).unwrap_or(rule);
        f.notes.push(format!(
            "inactive copy ({what}): reported, never counted in the verdict"
        ));
    } else if let Some(dir) = install_dir {
        if f.status != Status::Skipped
            && !location::ends_with_dir(folders.iter().map(Vec::as_slice), dir)
        {
            f.notes.push(format!(
                "not in the expected install folder {dir}; judged as a live copy"
            ));
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
        f.notes.push(format!("{} {}", file.name, m.text));
        f.lineage = Some(m);
    }
    if !file.in_product_line(v) {
        f.status = Status::UnknownVersion;
        f.error = Some(format!(
            "version {v} is outside the product line {} that {} covers: not judged",
            file.product_line.as_deref().unwrap_or_default(),
            rule.id
        ));
        return;
    }
    let fixed = file.fixed_version;
    if let Some(by) = &file.judged_by {
        if f.status == Status::Vulnerable {
            f.status = Status::UnknownVersion;
            f.error = Some(format!(
                "{} has no sourced fixed version of {}; {v} is below {fixed}, the fixed version of {by}, which replaced it, so whether this copy has the {} fix cannot be told (see {by})",
                rule.id, file.name, rule.id
            ));
        } else {
            f.notes.push(format!(
                "judged by {by}, which replaced {}: {} {fixed} and later include the {} fix",
                rule.id, file.name, rule.id
            ));
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
            let official = rule
                .superseded_by
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&by))
                || rules.get(&by).is_some_and(|o| {
                    o.supersedes
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(&rule.id))
                });
            let why = if official {
                format!("{by} supersedes {}", rule.id)
            } else {
                format!(
                    "by kbscan's version rule (at or above {fixed}); the bulletins do not say {by} replaces {}",
                    rule.id
                )
            };
            f.notes.push(format!(
                "{} {}; includes the {} fix by version: {why}",
                file.name, m.text, rule.id
            ));
        }
    }
}
