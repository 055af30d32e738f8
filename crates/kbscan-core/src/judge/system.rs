//! A root's verdict from its findings and its registry evidence: which copy a service starts
//! (it is live wherever it is; every other live copy still counts), each rule's file verdict,
//! the reconciliation with the registry, and the root's verdict, the most urgent of its
//! rules'. Pure functions of plain data.
//!
//! Over 400 lines with its tests (about 200: the root-verdict table), and the install-path
//! checks for links and reparse points not walked.

use std::collections::BTreeMap;

use crate::judge::reconcile::{self, RuleSystemFacts};
use crate::judge::{self, location, prose, CandidateFacts};
use crate::model::{
    Comparison, CountWhy, Counting, Finding, PathMessage, Reason, ReasonCode, RootReport,
    RuleVerdict, Status, SystemEvidence, Verdict,
};
use crate::rules::RuleSet;

/// How the walk of a root ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootOutcome {
    /// Walked; `unreadable` folders or files could not be read on the way; `unfollowed` are
    /// the paths of links kbscan did not follow (or follow into) that sit on a rule's install
    /// path (issue 10 case 6: a live copy may be behind them).
    Scanned {
        unreadable: usize,
        unfollowed: Vec<String>,
    },
    /// The root itself could not be read.
    Unreadable,
}

/// A root's verdict, its reasons and each rule's verdict.
#[derive(Debug, Clone)]
pub struct RootJudgement {
    pub verdict: Verdict,
    pub reasons: Vec<Reason>,
    pub rule_verdicts: Vec<RuleVerdict>,
}

/// Judges one root. Marks in `findings` the copies services start, and notes the copies
/// they supersede.
pub fn judge_root(
    rules: &RuleSet,
    findings: &mut [Finding],
    outcome: &RootOutcome,
    system: &SystemEvidence,
) -> RootJudgement {
    let (unreadable, unfollowed) = match outcome {
        RootOutcome::Unreadable => return unreadable_root(rules),
        RootOutcome::Scanned {
            unreadable,
            unfollowed,
        } => (*unreadable, unfollowed.as_slice()),
    };
    let service_reasons = mark_service_images(findings, system);
    let mut reasons = Vec::new();
    let mut rule_verdicts = Vec::new();
    for rule in &rules.rules {
        let mine: Vec<&Finding> = findings.iter().filter(|f| f.rule == rule.id).collect();
        // Every live copy counts: a service can only add the copy it starts (live wherever it
        // is), never discount another (verdict integrity round 3, case 1: the update's own
        // folder holding the old file while a service starts a patched copy elsewhere is
        // still a copy Windows could run).
        // Readings kbscan cannot choose between (issue 10 cases 2 and 6): twins differing only
        // in case, links not read on the live path. They are kept out of the file verdict and
        // then allowed only to make it vulnerable-or-inconclusive, never patched.
        let counted = |f: &Finding| f.is_live();
        let (ambiguous_paths, mut unsure) = ambiguous_readings(&mine, &counted);
        unsure.extend(unfollowed_on_install_path(rule, unfollowed));
        unsure.extend(services_not_judged(&rule.id, system, &mine));
        let facts: Vec<CandidateFacts<'_>> = mine
            .iter()
            .map(|f| CandidateFacts {
                path: &f.path,
                status: f.status,
                live: f.is_live(),
                kept_out: f.is_live() && ambiguous_paths.contains(&f.path.as_str()),
                version: f.version,
                required: f.required_version,
                error: f.error.as_deref(),
                readings: &f.version_resources,
            })
            .collect();
        let (mut file_verdict, mut rule_reasons, mut decisive) =
            judge::rule_verdict(&rule.file_names(), &facts, unreadable);
        let undecided = unsure.iter().find(|u| u.undecided);
        if let (Some(u), Verdict::Patched | Verdict::NotInstalled) = (undecided, file_verdict) {
            // One reading Windows could use is not known to be patched: never `patched`; that
            // reading decides.
            rule_reasons.retain(|r| r.code != ReasonCode::NotFound);
            file_verdict = Verdict::Inconclusive;
            decisive = Some(u.reason.clone());
        }
        rule_reasons.extend(unsure.into_iter().map(|u| u.reason));
        for f in &mine {
            let counted = f.is_live();
            if let (true, Status::Patched, Some(m)) = (counted, f.status, &f.lineage) {
                let Some(kb) =
                    m.kb.as_deref()
                        .filter(|kb| !kb.eq_ignore_ascii_case(&rule.kb))
                else {
                    continue;
                };
                if f.version.is_some_and(|v| v > f.required_version) {
                    let by = m.bulletin.as_deref().unwrap_or(kb);
                    let official = rules.supersedes(by, rule);
                    rule_reasons.push(Reason::at(
                        ReasonCode::LaterUpdateIncludesFix,
                        prose::later_update_reason(
                            &f.target,
                            m,
                            &rule.id,
                            by,
                            official,
                            f.required_version,
                        ),
                        &f.path,
                    ));
                }
            }
        }
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
        let (v, rec_reasons) = reconcile::reconcile(rule, file_verdict, &sys_facts);
        if v != file_verdict {
            // The registry overrode the files (`os_not_affected`): its reason decides.
            decisive = rec_reasons
                .iter()
                .find(|r| r.code == ReasonCode::OsNotAffected)
                .cloned();
        }
        rule_reasons.extend(rec_reasons);
        // Each reason merged into the root's names the rule that gave it.
        reasons.extend(rule_reasons.iter().cloned().map(|r| r.of_rule(&rule.id)));
        rule_verdicts.push(RuleVerdict {
            rule: rule.id.clone(),
            kb: rule.kb.clone(),
            verdict: v,
            reasons: rule_reasons,
            decisive,
        });
    }
    reasons.extend(service_reasons);
    count_findings(findings, &rule_verdicts);
    RootJudgement {
        verdict: judge::combine(rule_verdicts.iter().map(|r| r.verdict)),
        reasons,
        rule_verdicts,
    }
}

/// Sets each finding's own comparison with the fixed version and whether it counts: a copy in
/// a backup or cache folder never counts (the rule's verdict only reports it), nor an entry that
/// is not a file (a link on a live path counts: it keeps the rule from `patched`), and no copy
/// of a rule the registry says does not apply to this Windows does.
fn count_findings(findings: &mut [Finding], rule_verdicts: &[RuleVerdict]) {
    for f in findings.iter_mut() {
        f.comparison = Comparison::of(f.status);
        let os_not_affected = rule_verdicts.iter().any(|rv| {
            rv.rule == f.rule
                && rv.verdict == Verdict::NotApplicable
                && rv
                    .decisive
                    .as_ref()
                    .is_some_and(|d| d.code == ReasonCode::OsNotAffected)
        });
        f.counting = if os_not_affected {
            Counting::not_applicable()
        } else if !f.is_live() {
            Counting::not_counted(location::count_why(&f.location))
        } else if f.status == Status::Skipped && f.link_target.is_none() {
            Counting::not_counted(CountWhy::NotAFile)
        } else {
            Counting::COUNTED
        };
    }
}

/// A reading of a rule's live file that kbscan cannot settle, with its reason; `undecided`
/// when it keeps the rule from `patched` (every reading agreeing is only a note).
struct Unsure {
    reason: Reason,
    undecided: bool,
}

/// The counted live copies of a rule that Windows could read more than one way: paths that
/// differ only in case (`case_twins`: Windows opens names case-insensitively, so either could
/// run) and links to a candidate that were not read (`live_copy_not_read`). Returns the paths
/// to keep out of the file verdict (twins that disagree) and the reasons.
fn ambiguous_readings<'f>(
    mine: &[&'f Finding],
    counted: &dyn Fn(&Finding) -> bool,
) -> (Vec<&'f str>, Vec<Unsure>) {
    let mut out = Vec::new();
    let mut keep_out = Vec::new();
    let mut groups: BTreeMap<(String, String), Vec<&'f Finding>> = BTreeMap::new();
    for f in mine.iter().copied().filter(|f| counted(f)) {
        groups
            .entry((f.target.clone(), f.path.to_ascii_lowercase()))
            .or_default()
            .push(f);
    }
    for twins in groups.values().filter(|g| g.len() > 1) {
        let all = |s: Status| twins.iter().all(|f| f.status == s);
        let agree = all(Status::Vulnerable) || all(Status::Patched);
        let readings: Vec<_> = twins
            .iter()
            .map(|f| (f.path.as_str(), f.version, f.status))
            .collect();
        let message = prose::case_twins(&readings, &twins[0].target, agree);
        if !agree {
            keep_out.extend(twins.iter().map(|f| f.path.as_str()));
        }
        out.push(Unsure {
            reason: Reason::at(ReasonCode::CaseTwins, message, &twins[0].path),
            undecided: !agree,
        });
    }
    for f in mine
        .iter()
        .filter(|f| counted(f) && f.status == Status::Skipped && f.link_target.is_some())
    {
        out.push(Unsure {
            reason: Reason::at(
                ReasonCode::LiveCopyNotRead,
                prose::live_link_not_read(&f.path, f.link_target.as_deref()),
                &f.path,
            ),
            undecided: true,
        });
    }
    (keep_out, out)
}

/// Links on a rule's install path (`system32/Windows Media/Server`) that kbscan did not walk
/// into: a live copy may be behind them. A service starting a copy found elsewhere does not
/// excuse them: every live copy counts, and the one behind the link was not read.
fn unfollowed_on_install_path(rule: &crate::model::Rule, unfollowed: &[String]) -> Vec<Unsure> {
    let mut out = Vec::new();
    for link in unfollowed {
        let parts: Vec<&[u8]> = link.split('/').map(str::as_bytes).collect();
        for file in &rule.files {
            let Some(dir) = file.install_dir.as_deref() else {
                continue;
            };
            if !location::on_install_path(parts.iter().copied(), dir) {
                continue;
            }
            out.push(Unsure {
                reason: Reason::at(
                    ReasonCode::LiveCopyNotRead,
                    prose::link_on_install_path(link, dir, &file.name),
                    link,
                ),
                undecided: true,
            });
        }
    }
    out
}

/// Services of a rule whose copy kbscan did not judge: a program it could not place under the
/// root, or a file it found there but did not judge as the rule's file (issue 13: a service
/// found by its name may start a copy under another name, `nsum_old.exe`, or one the walk did
/// not reach). Windows runs that copy, unread: the rule cannot be `patched`. A disabled
/// service does not run, so it only notes it.
fn services_not_judged(rule: &str, system: &SystemEvidence, mine: &[&Finding]) -> Vec<Unsure> {
    let Some(rr) = system.for_rule(rule) else {
        return Vec::new();
    };
    // A program kbscan could not place (another drive, a network path, a variable the hives do
    // not give, an 8.3 alias the volume does not record): Windows runs a copy that may be none
    // of those judged.
    let unplaced = rr.services.iter().filter_map(|svc| {
        let why = svc.unresolved.as_deref()?;
        Some(Unsure {
            reason: Reason::new(
                ReasonCode::ServiceImageUnresolved,
                prose::service_unresolved(svc, why, svc.start.is_disabled()),
            ),
            undecided: !svc.start.is_disabled(),
        })
    });
    let not_judged = rr
        .services
        .iter()
        .filter(|svc| svc.unresolved.is_none() && !svc.on_disk.is_empty())
        .filter(|svc| {
            !mine.iter().any(|f| {
                f.target == svc.file && f.service_image.as_deref() == Some(svc.name.as_str())
            })
        })
        .map(|svc| Unsure {
            reason: Reason::at(
                ReasonCode::ServiceImageNotJudged,
                prose::service_not_judged(svc, &svc.on_disk[0], svc.start.is_disabled()),
                &svc.on_disk[0],
            ),
            undecided: !svc.start.is_disabled(),
        });
    unplaced.chain(not_judged).collect()
}

/// A root that could not be read is `inconclusive` for every rule: nothing under it was seen.
fn unreadable_root(rules: &RuleSet) -> RootJudgement {
    let why = Reason::new(ReasonCode::RootUnreadable, prose::root_unreadable());
    RootJudgement {
        verdict: Verdict::Inconclusive,
        reasons: vec![why.clone()],
        rule_verdicts: rules
            .rules
            .iter()
            .map(|r| RuleVerdict {
                rule: r.id.clone(),
                kb: r.kb.clone(),
                verdict: Verdict::Inconclusive,
                reasons: vec![why.clone()],
                decisive: Some(why.clone()),
            })
            .collect(),
    }
}

/// A root read from an image that does not match the hash or checksum its container stores
/// (`--verify-image`, `detail` says what was compared): `inconclusive` for the root and every
/// rule whatever was found, with the reason `image_hash_mismatch`, and an error on the root
/// itself so the exit code says the scan is not to be relied on.
pub fn distrust_image(root: &mut RootReport, detail: &str) {
    root.errors.push(PathMessage {
        path: String::new(),
        message: prose::image_mismatch_error(detail),
    });
    root.verdict = Verdict::Inconclusive;
    let why = Reason::new(ReasonCode::ImageHashMismatch, prose::image_mismatch(detail));
    for rv in &mut root.rule_verdicts {
        rv.decide(Verdict::Inconclusive, why.clone());
    }
    root.reasons.push(why);
}

/// A root of a backup set that is not whole: the files that are missing may hold the copy
/// that decides, so no rule is clean. A rule already `vulnerable` stays so (the old copy the
/// set holds was there); every other becomes `inconclusive`.
pub fn incomplete_backup_set(root: &mut RootReport, why: &str) {
    let message = prose::backup_set_incomplete(why);
    for rv in &mut root.rule_verdicts {
        if rv.verdict != Verdict::Vulnerable {
            rv.decide(
                Verdict::Inconclusive,
                Reason::new(ReasonCode::BackupSetIncomplete, message.clone()),
            );
        }
    }
    root.verdict = root.verdict.min(Verdict::Inconclusive);
    root.reasons
        .push(Reason::new(ReasonCode::BackupSetIncomplete, message));
}

/// Links and reparse points the walk did not enter (`not_walked`, by path) that lie on a
/// rule's install path — the Windows folder, a folder of a file's `install_dir` below it, or
/// the file itself — hide where the live copy would be: that rule (unless already
/// `vulnerable`) and the root become `inconclusive`, with the reason
/// `reparse_point_not_walked`. When the Windows folder is unknown, a path ending with the
/// start of `install_dir` (`…/system32/Windows Media`) counts.
pub fn links_on_install_paths(root: &mut RootReport, rules: &RuleSet, not_walked: &[PathMessage]) {
    let lower = |s: &str| s.to_ascii_lowercase();
    let windir: Vec<String> = root
        .system
        .windir
        .as_deref()
        .map(|w| w.split('/').filter(|p| !p.is_empty()).map(lower).collect())
        .unwrap_or_default();
    let mut changed = false;
    for rule in &rules.rules {
        let mut hits: Vec<&PathMessage> = Vec::new();
        for f in &rule.files {
            let Some(dir) = f.install_dir.as_deref() else {
                continue;
            };
            let mut install: Vec<String> = dir
                .split('/')
                .filter(|p| !p.is_empty())
                .map(lower)
                .collect();
            install.push(lower(&f.name));
            for nw in not_walked {
                let p: Vec<String> = nw.path.split('/').map(lower).collect();
                let on_path = if windir.is_empty() {
                    (1..=install.len().min(p.len())).any(|k| p.ends_with(&install[..k]))
                } else {
                    let full: Vec<String> = windir.iter().chain(&install).cloned().collect();
                    !p.is_empty() && full.starts_with(&p)
                };
                if on_path && !hits.iter().any(|h| h.path == nw.path) {
                    hits.push(nw);
                }
            }
        }
        if hits.is_empty() {
            continue;
        }
        changed = true;
        let Some(rv) = root.rule_verdicts.iter_mut().find(|rv| rv.rule == rule.id) else {
            continue;
        };
        let mut first = None;
        for h in hits {
            let reason = Reason::at(
                ReasonCode::ReparsePointNotWalked,
                prose::reparse_point_not_walked(&h.path, &rule.file_names(), &h.message),
                &h.path,
            );
            rv.reasons.push(reason.clone());
            first.get_or_insert_with(|| reason.clone());
            root.reasons.push(reason.of_rule(&rule.id));
        }
        if rv.verdict != Verdict::Vulnerable {
            rv.verdict = Verdict::Inconclusive;
            rv.decisive = first;
        }
    }
    if changed {
        root.verdict = judge::combine(root.rule_verdicts.iter().map(|r| r.verdict));
    }
}

/// Marks the copy each service starts (its `ImagePath`). The copy a service starts is live
/// whatever folder it is in; the other live copies still count (a service only adds the copy
/// it starts, it never discounts another: Windows, a user or another service could run them) (`live:service`, issue 10 case 3); when the
/// `ImagePath` names several entries that differ only in case, each is marked (the twins are
/// judged together, see [`ambiguous_readings`]). An `ImagePath` that could not be resolved is a
/// reason and decides nothing.
fn mark_service_images(findings: &mut [Finding], system: &SystemEvidence) -> Vec<Reason> {
    let mut reasons = Vec::new();
    for rr in &system.rules {
        for svc in &rr.services {
            mark_one(findings, &rr.rule, svc, &mut reasons);
            if svc.start.is_disabled() {
                reasons.push(
                    Reason::new(
                        ReasonCode::ServiceDisabled,
                        prose::service_disabled(&svc.name),
                    )
                    .of_rule(&rr.rule),
                );
            }
        }
    }
    reasons
}

/// One service of [`mark_service_images`].
fn mark_one(
    findings: &mut [Finding],
    rule: &str,
    svc: &crate::model::system::ServiceFacts,
    reasons: &mut Vec<Reason>,
) {
    {
        {
            let image_path = svc.image_path.as_deref().unwrap_or_default();
            // Not placed: a rule-level reason (`services_not_judged`); it marks no copy.
            if svc.unresolved.is_some() {
                return;
            }
            let Some(want) = &svc.resolved_path else {
                return;
            };
            let same_target = |f: &Finding| f.rule == rule && f.target == svc.file;
            let hits: Vec<usize> = findings
                .iter()
                .enumerate()
                .filter(|(_, f)| {
                    same_target(f)
                        && (svc.on_disk.contains(&f.path) || f.path.to_ascii_lowercase() == *want)
                })
                .map(|(i, _)| i)
                .collect();
            let Some(&first) = hits.first() else {
                // Found under the root but not judged as the rule's file: a rule-level reason
                // (`services_not_judged`), not a note.
                if !svc.on_disk.is_empty() {
                    return;
                }
                reasons.push(
                    Reason::new(
                        ReasonCode::ServiceImageMissing,
                        prose::service_image_missing(&svc.name, image_path),
                    )
                    .of_rule(rule),
                );
                return;
            };
            for &i in &hits {
                let f = &mut findings[i];
                if !f.is_live() {
                    if let Some(inactive) = location::inactive_note(&f.location) {
                        f.notes.retain(|n| *n != inactive);
                    }
                    f.location = location::started_by_service(&f.location);
                    f.notes.push(prose::live_by_service(&svc.name));
                }
                f.service_image = Some(svc.name.clone());
                f.notes.push(prose::service_image(&svc.name, image_path));
            }
            let image = findings[first].path.clone();
            let others = findings
                .iter()
                .filter(|f| same_target(f) && f.is_live() && f.service_image.is_none())
                .count();
            if others > 0 {
                reasons.push(
                    Reason::at(
                        ReasonCode::ServiceImageStarted,
                        prose::service_starts_others_count(&svc.name, &image, others, &svc.file),
                        &image,
                    )
                    .of_rule(rule),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::system::{RuleRegistry, ServiceFacts};
    use crate::model::{FileFacts, FileVersion, Location, LocationClass, Status};

    const LIVE: &str = "WINNT/system32/Windows Media/Server/Nscm.exe";

    fn rules() -> RuleSet {
        crate::rules::load_selected(&[] as &[&std::path::Path], &["MS04-008"]).unwrap()
    }

    fn finding(path: &str, status: Status, live: bool, version: (u16, u16)) -> Finding {
        Finding {
            path: path.to_owned(),
            abs_path: path.to_owned(),
            name: "Nscm.exe".to_owned(),
            rule: "MS04-008".to_owned(),
            kb: "KB832359".to_owned(),
            target: "Nscm.exe".to_owned(),
            status,
            comparison: crate::model::Comparison::Unjudged,
            counting: crate::model::Counting::COUNTED,
            location: if live {
                Location::live()
            } else {
                Location {
                    class: LocationClass::Backup,
                    rule: Some("ntuninstall"),
                    folder: Some("$NTUninstallKB832359$".to_owned()),
                }
            },
            version: Some(FileVersion::new(4, 1, version.0, version.1)),
            version_source: None,
            file_version: None,
            file_version_string: None,
            product_version: None,
            product_version_string: None,
            string_tables: Vec::new(),
            version_resources: Vec::new(),
            required_version: FileVersion::new(4, 1, 0, 3934),
            published_size: None,
            file: FileFacts::default(),
            link_target: None,
            time_basis: Default::default(),
            si_backdated: None,
            service_image: None,
            lineage: None,
            notes: Vec::new(),
            error: None,
            error_kind: None,
        }
    }

    fn with_service(resolved: &str, start: u32) -> SystemEvidence {
        SystemEvidence {
            rules: vec![RuleRegistry {
                rule: "MS04-008".to_owned(),
                kb: "KB832359".to_owned(),
                update_records: Vec::new(),
                services: vec![ServiceFacts {
                    name: "nsstation".to_owned(),
                    file: "Nscm.exe".to_owned(),
                    matched_by: crate::model::system::ServiceMatch::ImageName,
                    image_path: Some(resolved.to_owned()),
                    start: crate::model::system::StartFacts(Some(
                        crate::model::system::ServiceStart::from_value(start),
                    )),
                    resolved_path: Some(resolved.to_ascii_lowercase()),
                    unresolved: None,
                    on_disk: Vec::new(),
                }],
                uninstall_dir: None,
                installed: None,
            }],
            ..Default::default()
        }
    }

    fn codes(j: &RootJudgement) -> Vec<&'static str> {
        j.reasons.iter().map(|r| r.code.as_str()).collect()
    }

    #[test]
    fn root_verdict_table() {
        use Status::*;
        let ok = RootOutcome::Scanned {
            unreadable: 0,
            unfollowed: Vec::new(),
        };
        let other = "Program Files/Old/Nscm.exe";
        // (findings, outcome, system, verdict, a reason code that must be given)
        let cases: Vec<(Vec<Finding>, RootOutcome, SystemEvidence, Verdict, &str)> = vec![
            (
                vec![],
                RootOutcome::Unreadable,
                SystemEvidence::default(),
                Verdict::Inconclusive,
                "root_unreadable",
            ),
            (
                vec![],
                ok.clone(),
                SystemEvidence::default(),
                Verdict::NotInstalled,
                "not_found",
            ),
            (
                vec![],
                RootOutcome::Scanned {
                    unreadable: 1,
                    unfollowed: Vec::new(),
                },
                SystemEvidence::default(),
                Verdict::Inconclusive,
                "tree_incomplete",
            ),
            (
                vec![finding(LIVE, Patched, true, (0, 3934))],
                ok.clone(),
                SystemEvidence::default(),
                Verdict::Patched,
                "live_patched",
            ),
            (
                vec![
                    finding(LIVE, Patched, true, (0, 3934)),
                    finding(other, Vulnerable, true, (0, 3917)),
                ],
                ok.clone(),
                SystemEvidence::default(),
                Verdict::Vulnerable,
                "live_vulnerable",
            ),
            // The service starts the patched copy: the other live copy still counts (a service
            // never discounts a copy Windows could run).
            (
                vec![
                    finding(LIVE, Patched, true, (0, 3934)),
                    finding(other, Vulnerable, true, (0, 3917)),
                ],
                ok.clone(),
                with_service(LIVE, 2),
                Verdict::Vulnerable,
                "service_image_started",
            ),
            (
                vec![
                    finding(LIVE, Vulnerable, true, (0, 3917)),
                    finding(other, Patched, true, (0, 3934)),
                ],
                ok.clone(),
                with_service(other, 2),
                Verdict::Vulnerable,
                "service_image_started",
            ),
            // The service starts the old copy: vulnerable whatever else is there.
            (
                vec![
                    finding(LIVE, Patched, true, (0, 3934)),
                    finding(other, Vulnerable, true, (0, 3917)),
                ],
                ok.clone(),
                with_service(other, 2),
                Verdict::Vulnerable,
                "service_image_started",
            ),
            (
                vec![finding(LIVE, Patched, true, (0, 3934))],
                ok.clone(),
                with_service("WINNT/elsewhere/nscm.exe", 4),
                Verdict::Patched,
                "service_image_missing",
            ),
            (
                vec![finding(LIVE, Patched, true, (0, 3934))],
                ok.clone(),
                with_service(LIVE, 4),
                Verdict::Patched,
                "service_disabled",
            ),
            // Backup copies never decide.
            (
                vec![finding(
                    "WINNT/$NTUninstallKB832359$/Nscm.exe",
                    Vulnerable,
                    false,
                    (0, 3917),
                )],
                ok.clone(),
                SystemEvidence::default(),
                Verdict::NotInstalled,
                "backup_ignored",
            ),
        ];
        for (i, (mut findings, outcome, system, want, code)) in cases.into_iter().enumerate() {
            let j = judge_root(&rules(), &mut findings, &outcome, &system);
            assert_eq!(j.verdict, want, "case {i}: {:?}", codes(&j));
            assert!(codes(&j).contains(&code), "case {i}: {:?}", codes(&j));
            assert_eq!(j.rule_verdicts.len(), 1);
        }
    }

    /// Verdict integrity round 3, case 1: a patched copy a service starts never hides an old
    /// live copy, nor a copy that could not be judged.
    #[test]
    fn a_service_never_discounts_a_live_copy() {
        let ok = RootOutcome::Scanned {
            unreadable: 0,
            unfollowed: Vec::new(),
        };
        for other in [Status::Vulnerable, Status::UnknownVersion, Status::Error] {
            let mut findings = vec![
                finding(LIVE, other, true, (0, 3917)),
                finding(
                    "Program Files/WMS 4.1 copy/Nscm.exe",
                    Status::Patched,
                    true,
                    (0, 3934),
                ),
            ];
            let j = judge_root(
                &rules(),
                &mut findings,
                &ok,
                &with_service("Program Files/WMS 4.1 copy/Nscm.exe", 2),
            );
            let want = if other == Status::Vulnerable {
                Verdict::Vulnerable
            } else {
                Verdict::Inconclusive
            };
            assert_eq!(j.verdict, want, "{other:?}: {:?}", codes(&j));
            assert!(codes(&j).contains(&"service_image_started"));
        }
    }

    #[test]
    fn the_started_copy_is_marked_and_the_others_are_noted() {
        let mut findings = vec![
            finding(LIVE, Status::Patched, true, (0, 3934)),
            finding("Temp/Nscm.exe", Status::Vulnerable, true, (0, 3917)),
        ];
        let j = judge_root(
            &rules(),
            &mut findings,
            &RootOutcome::Scanned {
                unreadable: 0,
                unfollowed: Vec::new(),
            },
            &with_service(LIVE, 2),
        );
        assert_eq!(j.verdict, Verdict::Vulnerable, "the old live copy counts");
        assert_eq!(findings[0].service_image.as_deref(), Some("nsstation"));
        assert!(findings[1].notes.is_empty(), "{:?}", findings[1].notes);
    }
}
