//! One root from walk to verdict: walk → candidate → inspect → judge → `RootReport`.

use std::path::Path;

use crate::error::InspectError;
use crate::escape::escape_bytes;
use crate::filter::{NameMatcher, Target};
use crate::inspect::{self, FileEvidence, Times};
use crate::judge::{self, CandidateFacts, Reason, Status, Verdict};
use crate::location::{self, Location};
use crate::pe::PeVersionData;
use crate::reconcile::{self, RuleSystemFacts};
use crate::registry::{self, HiveArgs, SystemEvidence};
use crate::report::{Finding, PathMessage, PeFacts, RootReport, RuleVerdict};
use crate::rules::RuleSet;
use crate::walk::{self, Candidate, Event, WalkOptions, WalkStats};

#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub walk: WalkOptions,
    pub max_size: u64,
    /// Hives given on the command line instead of found under the root.
    pub hives: HiveArgs,
    // [containers hook] check a container's stored hashes before scanning it.
    pub verify_image: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            walk: WalkOptions::default(),
            max_size: inspect::DEFAULT_MAX_SIZE,
            hives: HiveArgs::default(),
            verify_image: false,
        }
    }
}

/// The walk's counts; or, when the root itself could not be read, a root-level error
/// (empty path) saying `what`, which makes the root `root_unreadable`.
pub(crate) fn stats_or_root_error<E: std::fmt::Display>(
    result: Result<WalkStats, E>,
    errors: &mut Vec<PathMessage>,
    what: &str,
) -> WalkStats {
    result.unwrap_or_else(|e| {
        errors.push(PathMessage {
            path: String::new(),
            message: format!("{what}: {e}"),
        });
        WalkStats {
            errors: 1,
            ..Default::default()
        }
    })
}

/// `/`-separated, escaped text of a relative path.
pub fn rel_text(rel: &Path) -> String {
    let parts: Vec<String> = rel
        .components()
        .map(|c| escape_bytes(c.as_os_str().as_encoded_bytes()))
        .collect();
    parts.join("/")
}

/// Scans one root. Never fails: a root that cannot be walked gives an `inconclusive` report
/// carrying the error, so one bad root does not stop a scan of many.
pub fn scan_root(
    root: &Path,
    rules: &RuleSet,
    matcher: &NameMatcher,
    opts: &ScanOptions,
    progress: &mut dyn FnMut(u64),
) -> RootReport {
    let mut findings = Vec::new();
    let mut errors = Vec::new();
    let mut notices = Vec::new();
    let result = walk::walk_root(root, matcher, opts.walk, &mut |event| match event {
        Event::Candidate(c) => findings.extend(judge_candidate(root, rules, &c, opts)),
        Event::Error { rel, message } => errors.push(PathMessage {
            path: rel_text(&rel),
            message,
        }),
        Event::Notice { rel, message } => notices.push(PathMessage {
            path: rel_text(&rel),
            message,
        }),
        Event::Progress { entries } => progress(entries),
    });
    let stats = stats_or_root_error(result, &mut errors, "cannot scan this root");
    let root_name = escape_bytes(root.as_os_str().as_encoded_bytes());
    finish_root(root_name, rules, findings, errors, notices, stats, || {
        registry::gather(root, &rules.rules, &opts.hives)
    })
}

/// Everything after the walk, shared by folders and disk-image volumes: sorting, registry
/// evidence (`system` reads it; not called when the root itself could not be read), service
/// images, verdict.
pub fn finish_root(
    root: String,
    rules: &RuleSet,
    mut findings: Vec<Finding>,
    mut errors: Vec<PathMessage>,
    mut notices: Vec<PathMessage>,
    stats: WalkStats,
    system: impl FnOnce() -> SystemEvidence,
) -> RootReport {
    // Deterministic order whatever the directory order was.
    findings.sort_by(|a, b| (&a.path, &a.rule, &a.target).cmp(&(&b.path, &b.rule, &b.target)));
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    notices.sort_by(|a, b| a.path.cmp(&b.path));
    let root_failed = result_failed(&stats, &errors);
    let system = if root_failed {
        SystemEvidence::default()
    } else {
        system()
    };
    let service_reasons = mark_service_images(&mut findings, &system);
    let (verdict, mut reasons, rule_verdicts) =
        verdict_for(rules, &findings, errors.len(), root_failed, &system);
    reasons.extend(service_reasons);
    RootReport {
        root,
        verdict,
        reasons,
        rule_verdicts,
        findings,
        errors,
        notices,
        stats,
        system,
        image: None,
    }
}

/// Marks the live copy each service starts (its `ImagePath`). When a service names one of
/// several live copies, that copy decides and the others are noted and not counted.
fn mark_service_images(findings: &mut [Finding], system: &SystemEvidence) -> Vec<Reason> {
    let mut reasons = Vec::new();
    for rr in &system.rules {
        for svc in &rr.services {
            let Some(want) = &svc.resolved_path else {
                continue;
            };
            let same_target = |f: &Finding| f.rule == rr.rule && f.target == svc.file;
            let hit = findings.iter().position(|f| {
                same_target(f)
                    && f.location == location::LocationClass::Live
                    && f.path.to_ascii_lowercase() == *want
            });
            match hit {
                Some(i) => {
                    let image = findings[i].path.clone();
                    findings[i].service_image = Some(svc.name.clone());
                    findings[i].notes.push(format!(
                        "the file service {} starts (ImagePath {})",
                        svc.name,
                        svc.image_path.as_deref().unwrap_or_default()
                    ));
                    let mut others = 0;
                    for f in findings.iter_mut() {
                        if same_target(f)
                            && f.location == location::LocationClass::Live
                            && f.service_image.is_none()
                        {
                            others += 1;
                            f.notes.push(format!(
                                "not the file service {} starts ({image}): not counted in the verdict",
                                svc.name
                            ));
                        }
                    }
                    if others > 0 {
                        reasons.push(Reason {
                            code: "service_image_decides",
                            message: format!(
                                "service {} starts {image}; {others} other live {} of {} not counted",
                                svc.name,
                                if others == 1 { "copy" } else { "copies" },
                                svc.file
                            ),
                            path: Some(image),
                        });
                    }
                }
                None => reasons.push(Reason {
                    code: "service_image_missing",
                    message: format!(
                        "service {} is configured to start {}, which was not found under the root",
                        svc.name,
                        svc.image_path.as_deref().unwrap_or_default()
                    ),
                    path: None,
                }),
            }
            if svc.start == Some(4) {
                reasons.push(Reason {
                    code: "service_disabled",
                    message: format!(
                        "service {} is disabled (Start = 4); the verdict stays with the files",
                        svc.name
                    ),
                    path: None,
                });
            }
        }
    }
    reasons
}

fn result_failed(stats: &WalkStats, errors: &[PathMessage]) -> bool {
    stats.entries == 0 && errors.iter().any(|e| e.path.is_empty())
}

fn verdict_for(
    rules: &RuleSet,
    findings: &[Finding],
    unreadable: usize,
    root_failed: bool,
    system: &SystemEvidence,
) -> (Verdict, Vec<Reason>, Vec<RuleVerdict>) {
    if root_failed {
        let reason = Reason {
            code: "root_unreadable",
            message: "the root could not be scanned".to_owned(),
            path: None,
        };
        let rv = rules
            .rules
            .iter()
            .map(|r| RuleVerdict {
                rule: r.id.clone(),
                kb: r.kb.clone(),
                verdict: Verdict::Inconclusive,
            })
            .collect();
        return (Verdict::Inconclusive, vec![reason], rv);
    }
    let mut all_reasons = Vec::new();
    let mut rule_verdicts = Vec::new();
    for rule in &rules.rules {
        let mine: Vec<&Finding> = findings.iter().filter(|f| f.rule == rule.id).collect();
        // A live copy is not counted when a service names another copy of the same file.
        let superseded = |f: &Finding| {
            f.service_image.is_none()
                && mine
                    .iter()
                    .any(|o| o.target == f.target && o.service_image.is_some())
        };
        let facts: Vec<CandidateFacts<'_>> = mine
            .iter()
            .map(|f| CandidateFacts {
                path: &f.path,
                status: f.status,
                live: f.location == location::LocationClass::Live,
                superseded: f.location == location::LocationClass::Live && superseded(f),
                version: f.version,
                required: f.required_version,
                error: f.error.as_deref(),
            })
            .collect();
        let (file_verdict, reasons) = judge::rule_verdict(&rule.file_names(), &facts, unreadable);
        all_reasons.extend(reasons);
        let rr = system.for_rule(&rule.id);
        let keys: Vec<String> = rr
            .map(|r| r.update_records.iter().map(|u| u.key.clone()).collect())
            .unwrap_or_default();
        let sys_facts = RuleSystemFacts {
            software_read: system.software_read(),
            os: &system.os,
            update_keys: &keys,
            uninstall_dir: rr.and_then(|r| r.uninstall_dir.as_deref()),
        };
        let (v, reasons) = reconcile::reconcile(rule, file_verdict, &sys_facts);
        all_reasons.extend(reasons);
        rule_verdicts.push(RuleVerdict {
            rule: rule.id.clone(),
            kb: rule.kb.clone(),
            verdict: v,
        });
    }
    let verdict = judge::combine(rule_verdicts.iter().map(|r| r.verdict));
    (verdict, all_reasons, rule_verdicts)
}

/// What a source (a host folder or a disk-image volume) learnt about one candidate, before
/// judgement: the judgement below does not know where the bytes came from.
pub struct CandidateInput<'a> {
    /// Path components from the root down; the last is the entry's own name.
    pub parts: Vec<&'a [u8]>,
    /// The root as shown joined with the path.
    pub abs_path: String,
    pub targets: &'a [Target],
    pub link_target: Option<String>,
    /// Times and, for a regular file, the size, from the directory or file system; or why
    /// they could not be had.
    pub meta: Result<(Times, Option<u64>), String>,
    /// Set when the entry must not be opened, with the reason.
    pub skip: Option<String>,
    /// The inspection of the file's bytes, when it was read.
    pub evidence: Option<FileEvidence>,
}

/// `/`-separated, escaped text of path components.
pub fn parts_text(parts: &[&[u8]]) -> String {
    let v: Vec<String> = parts.iter().map(|p| escape_bytes(p)).collect();
    v.join("/")
}

/// Inspects a host candidate once and judges it against every rule file its name matches.
fn judge_candidate(
    root: &Path,
    rules: &RuleSet,
    c: &Candidate<'_>,
    opts: &ScanOptions,
) -> Vec<Finding> {
    let evidence: Option<FileEvidence> = match (&c.skip, &c.metadata) {
        (None, Ok(meta)) => Some(inspect::inspect_file(&c.open_path, meta, opts.max_size)),
        _ => None,
    };
    let input = CandidateInput {
        parts: c
            .rel
            .components()
            .map(|p| p.as_os_str().as_encoded_bytes())
            .collect(),
        abs_path: escape_bytes(root.join(&c.rel).as_os_str().as_encoded_bytes()),
        targets: c.targets,
        link_target: c.link.as_ref().map(|l| {
            let text = escape_bytes(l.target_text.as_os_str().as_encoded_bytes());
            match &l.resolved_rel {
                Some(r) => format!("{text} (resolves to {} in the root)", rel_text(r)),
                None => text,
            }
        }),
        meta: c
            .metadata
            .as_ref()
            .map(|m| (inspect::times_of(m), m.is_file().then_some(m.len())))
            .map_err(Clone::clone),
        skip: c.skip.clone(),
        evidence,
    };
    findings_from(rules, &input)
}

/// Judges one candidate against every rule file its name matches.
pub fn findings_from(rules: &RuleSet, c: &CandidateInput<'_>) -> Vec<Finding> {
    let folders: &[&[u8]] = c.parts.split_last().map_or(&[], |(_, f)| f);
    let loc = location::classify(folders.iter().copied());
    let path = parts_text(&c.parts);
    let name = escape_bytes(c.parts.last().copied().unwrap_or_default());
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
                location: loc.class,
                location_rule: loc.rule,
                location_folder: loc.folder.clone(),
                version: None,
                version_source: None,
                file_version: None,
                file_version_string: None,
                product_version: None,
                product_version_string: None,
                string_tables: Vec::new(),
                required_version: file.fixed_version,
                published_size: file.size,
                size: None,
                sha256: None,
                md5: None,
                modified: None,
                accessed: None,
                created: None,
                changed: None,
                pe: None,
                link_target: c.link_target.clone(),
                service_image: None,
                notes: Vec::new(),
                error: None,
                error_kind: None,
            };
            if let Ok((times, size)) = &c.meta {
                f.modified.clone_from(&times.modified);
                f.accessed.clone_from(&times.accessed);
                f.created.clone_from(&times.created);
                f.changed.clone_from(&times.changed);
                f.size = *size;
            }
            match (&c.skip, &c.meta, &c.evidence) {
                (Some(why), _, _) => f.notes.push(format!("not opened: {why}")),
                (None, Err(e), _) => {
                    f.status = Status::Error;
                    f.error = Some(format!("cannot read file metadata: {e}"));
                    f.error_kind = Some("io");
                }
                (None, Ok(_), Some(ev)) => apply_evidence(&mut f, ev, file.size),
                (None, Ok(_), None) => {}
            }
            add_location_notes(&mut f, &loc, file.install_dir.as_deref(), folders);
            f
        })
        .collect()
}

fn apply_evidence(f: &mut Finding, ev: &FileEvidence, published: Option<u64>) {
    f.size = ev.size;
    f.sha256.clone_from(&ev.sha256);
    f.md5.clone_from(&ev.md5);
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
    f.pe = Some(PeFacts::of(&pe.header));
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
    folders: &[&[u8]],
) {
    if let Some(rule) = loc.rule {
        let what = location::describe(rule).unwrap_or(rule);
        f.notes.push(format!(
            "inactive copy ({what}): reported, never counted in the verdict"
        ));
    } else if let Some(dir) = install_dir {
        if f.status != Status::Skipped && !location::ends_with_dir(folders.iter().copied(), dir) {
            f.notes.push(format!(
                "not in the expected install folder {dir}; judged as a live copy"
            ));
        }
    }
}
