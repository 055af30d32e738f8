//! When was it patched (issue 14)? From the times gathered (`installtime`) and the
//! findings' own times: per rule, `installed` = {earliest, latest, best} with a consistency
//! check (`install_time_conflict`), the note `timestamps_inconsistent` on back-dated NTFS
//! times, and the state at `--as-of DATE`. Pure functions of plain data; the rules of trust
//! are in docs/evidence.md, "When was it installed?".
//!
//! Over 400 lines with its tests (about 270: the bounds, conflicts and `--as-of` tables).

use crate::judge::prose;
use crate::model::installed::{
    AsOf, AsOfState, Bound, Installed, RuleAsOf, TimeEvidence, TimeField, TimeSource,
};
use crate::model::time::Timestamp;
use crate::model::{
    Finding, Reason, ReasonCode, RootReport, Rule, RuleVerdict, SystemEvidence, Verdict,
};
use crate::rules::RuleSet;

const SECOND: i128 = 1_000_000_000;
const DAY: i128 = 86_400 * SECOND;
/// Bounds closer than this are taken to agree (clock resolution, FAT's 2 s).
const TOLERANCE: i128 = 2 * SECOND;
/// An approximate time this close to the bounds agrees with them.
const AGREE: i128 = 3600 * SECOND;

// The arithmetic below is on Unix nanoseconds; the report's fields are `Timestamp`s.
fn nanos(t: Option<Timestamp>) -> Option<i128> {
    t.map(Timestamp::unix_nanos)
}
fn show_time(t: i128) -> String {
    Timestamp::from_unix_nanos(t).to_string()
}
fn lower(e: &TimeEvidence) -> Option<i128> {
    nanos(e.not_before)
}
fn upper(e: &TimeEvidence) -> Option<i128> {
    nanos(e.not_after)
}
fn at(e: &TimeEvidence) -> Option<i128> {
    Some(e.time.unix_nanos())
}
fn is_hard(e: &TimeEvidence) -> bool {
    matches!(e.bound, Bound::Moment | Bound::NotAfter)
}

/// The interval allowed by a set of hard evidence: (max of lower bounds, min of upper bounds).
fn interval<'a>(
    ev: impl Iterator<Item = &'a TimeEvidence> + Clone,
) -> (Option<i128>, Option<i128>) {
    (
        ev.clone().filter_map(lower).max(),
        ev.filter_map(upper).min(),
    )
}

fn holds(iv: (Option<i128>, Option<i128>)) -> bool {
    match iv {
        (Some(lo), Some(hi)) => lo <= hi + TOLERANCE,
        _ => true,
    }
}

/// The evidence a finding's times give: creation times approximate the install (update.exe
/// writes a new file; a copy moved into a backup folder gets a new `$FILE_NAME`), modification
/// times are the package's build times (context). SI times of a finding whose
/// `$STANDARD_INFORMATION` creation is earlier than its `$FILE_NAME` creation are never used.
pub fn finding_evidence(f: &Finding, fat_note: bool) -> Vec<TimeEvidence> {
    let live = f.is_live();
    let source = if live {
        TimeSource::LiveFile
    } else {
        TimeSource::BackupCopy
    };
    let backdated = timestamps_inconsistent(f).is_some();
    let mut out = Vec::new();
    let ff = &f.file;
    let mut push = |field: TimeField, value: &Option<Timestamp>, bound: Bound| {
        let Some(t) = *value else {
            return;
        };
        let si = matches!(field, TimeField::SiCreated | TimeField::SiModified);
        let bound = if si && backdated {
            Bound::Context
        } else {
            bound
        };
        out.push(TimeEvidence {
            source,
            time: t,
            field,
            bound,
            not_before: None,
            not_after: None,
            says: prose::time_says(field, live).to_owned(),
            path: f.path.clone(),
            note: if si && backdated {
                Some(prose::si_backdated_not_used())
            } else if fat_note {
                f.time_basis.note().map(str::to_owned)
            } else {
                None
            },
            line: None,
            times_run_backwards: false,
        });
    };
    let created_bound = if live {
        Bound::Approximate
    } else {
        Bound::Context
    };
    push(TimeField::SiCreated, &ff.created, created_bound);
    push(TimeField::SiModified, &ff.modified, Bound::Context);
    if let Some(n) = &ff.name_times {
        push(TimeField::FnCreated, &n.created, Bound::Approximate);
        push(TimeField::FnModified, &n.modified, Bound::Context);
    }
    out
}

/// `$STANDARD_INFORMATION` creation earlier than `$FILE_NAME` creation: the message, if so.
pub fn timestamps_inconsistent(f: &Finding) -> Option<String> {
    let si = nanos(f.file.created)?;
    let fname = nanos(f.file.name_times.as_ref()?.created)?;
    (si + TOLERANCE < fname).then(|| prose::timestamps_inconsistent(si, fname))
}

fn labels(ev: &[&TimeEvidence]) -> Vec<&'static str> {
    let mut v: Vec<(u8, &'static str)> = ev
        .iter()
        .map(|e| (e.source.trust_rank(), e.source.label()))
        .collect();
    v.sort();
    v.dedup();
    v.into_iter().map(|x| x.1).collect()
}

fn day(t: i128) -> String {
    Timestamp::from_unix_nanos(t).date_text()
}

/// Computes `installed` from the evidence (sorted by time here). `verdict` is the rule's
/// verdict now (it words the summary). Returns the conflict reason, if any.
pub fn judge_installed(inst: &mut Installed, verdict: Verdict, rule: &str) -> Option<Reason> {
    inst.evidence.sort_by(|a, b| {
        (at(a), a.source, a.field.as_str(), &a.path).cmp(&(
            at(b),
            b.source,
            b.field.as_str(),
            &b.path,
        ))
    });
    // Nothing claims an install that did not happen: a vulnerable or not-installed rule has
    // no install time, whatever records and file times say (they stay listed as evidence).
    if matches!(verdict, Verdict::Vulnerable | Verdict::NotInstalled) {
        inst.earliest = None;
        inst.latest = None;
        inst.best = None;
        inst.best_source = None;
        inst.consistent = true;
        inst.conflict = None;
        inst.summary = prose::no_install_time(verdict, inst.evidence.len());
        return None;
    }
    let hard: Vec<&TimeEvidence> = inst.evidence.iter().filter(|e| is_hard(e)).collect();
    // Trust: add sources most trusted first; a source that cannot hold with those already
    // trusted is set aside.
    let mut by_trust = hard.clone();
    by_trust.sort_by_key(|e| (e.source.trust_rank(), at(e)));
    let mut trusted: Vec<&TimeEvidence> = Vec::new();
    let mut aside: Vec<&TimeEvidence> = Vec::new();
    for e in by_trust {
        let mut with = trusted.clone();
        with.push(e);
        if holds(interval(with.iter().copied())) {
            trusted = with;
        } else {
            aside.push(e);
        }
    }
    let (lo, hi) = interval(trusted.iter().copied());
    inst.earliest = lo.map(Timestamp::from_unix_nanos);
    inst.latest = hi.map(Timestamp::from_unix_nanos);
    inst.consistent = aside.is_empty();
    // Best: the most trusted moment; else an approximate time within the bounds; else the
    // upper bound; else the earliest approximate time.
    let approx: Vec<&TimeEvidence> = inst
        .evidence
        .iter()
        .filter(|e| e.bound == Bound::Approximate)
        .collect();
    let within = |t: i128| lo.is_none_or(|l| t + AGREE >= l) && hi.is_none_or(|h| t <= h + AGREE);
    let moment = trusted.iter().find(|e| e.bound == Bound::Moment);
    let best = if let Some(m) = moment {
        at(m).map(|t| (t, m.source))
    } else if let Some(a) = approx
        .iter()
        .filter(|e| !hard.is_empty() && at(e).is_some_and(within))
        .min_by_key(|e| (e.source.trust_rank(), at(e)))
    {
        at(a).map(|t| (t, a.source))
    } else if let (Some(h), Some(e)) = (hi, trusted.iter().min_by_key(|e| upper(e))) {
        Some((h, e.source))
    } else {
        approx
            .iter()
            .filter_map(|e| at(e).map(|t| (t, e.source)))
            .min_by_key(|x| x.0)
    };
    inst.best = best.map(|b| Timestamp::from_unix_nanos(b.0));
    inst.best_source = best.map(|b| b.1);

    let hard_labels = labels(&trusted);
    let agree: Vec<&TimeEvidence> = approx
        .iter()
        .copied()
        .filter(|e| !trusted.is_empty() && at(e).is_some_and(within))
        .collect();
    let disagree: Vec<&TimeEvidence> = approx
        .iter()
        .copied()
        .filter(|e| !trusted.is_empty() && !at(e).is_some_and(within))
        .collect();
    let agree_l: Vec<&str> = labels(&agree)
        .into_iter()
        .filter(|l| !labels(&disagree).contains(l))
        .collect();
    let tail = prose::summary_tail(&agree_l, &labels(&disagree), &labels(&aside));
    inst.summary = match (moment, lo, hi) {
        (Some(_), _, _)
            if lo
                .zip(hi)
                .is_some_and(|(l, h)| h - l <= 2 * 86_400 * SECOND && day(l) == day(h))
                || best.is_some() && lo == hi =>
        {
            prose::installed_since(verdict, best.map_or(0, |b| b.0), &hard_labels, &tail)
        }
        (Some(_), Some(l), Some(h)) => prose::installed_between(verdict, l, h, &hard_labels, &tail),
        (Some(_), Some(l), None) => prose::installed_no_earlier(verdict, l, &hard_labels, &tail),
        (_, _, Some(h)) => prose::installed_no_later(verdict, h, &hard_labels, &tail),
        _ => match best {
            Some((t, _)) => prose::file_written_around(t, &labels(&approx)),
            None => prose::no_install_time_found(inst.evidence.len()),
        },
    };
    if aside.is_empty() {
        inst.conflict = None;
        return None;
    }
    let text =
        prose::install_time_conflict(rule, &aside, &trusted, &labels(&trusted), &labels(&aside));
    inst.conflict = Some(text.clone());
    Some(Reason::new(ReasonCode::InstallTimeConflict, text))
}

/// When the rule's fix existed, from the rule file's sourced dates (docs/evidence.md, "What
/// time can prove"). Dates are days (midnight UTC); the zone of a file table's date is
/// seldom stated, so evidence is compared with a day's slack.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FixDates {
    /// The bulletin's first publication: before it, no fix existed (`not_yet_published`).
    pub published: Option<i128>,
    /// No install of the fix before this, and what it is (the fixed files' build date, else
    /// the publication; the fixing release's publication when a withdrawn release came first).
    pub floor: Option<(i128, String)>,
    /// A withdrawn release that did not fix the flaw and wrote the same records: its name and
    /// publication, and the fixing release's name.
    pub withdrawn: Option<(String, i128, String)>,
}

fn rule_day(s: &str) -> Option<i128> {
    Timestamp::parse(&format!("{}T00:00:00Z", s.trim())).map(Timestamp::unix_nanos)
}

impl FixDates {
    pub fn of(rule: &Rule) -> FixDates {
        let published = rule.published.as_deref().and_then(rule_day);
        let built = rule
            .files
            .iter()
            .filter_map(|f| f.date.as_deref().and_then(rule_day))
            .max();
        let mut floor = match (built, published) {
            (Some(b), _) => Some((b, prose::files_built_on(b))),
            (None, Some(p)) => Some((p, prose::rule_published_on(&rule.id, p))),
            _ => None,
        };
        let bad = rule
            .releases
            .iter()
            .find(|r| r.fixes_vulnerability == Some(false));
        let fixing = rule.releases.iter().find(|r| {
            r.fixes_vulnerability == Some(true)
                && r.published.as_deref().and_then(rule_day).is_some()
        });
        let mut withdrawn = None;
        if let (Some(bad), Some(fix)) = (bad, fixing) {
            let from = bad.published.as_deref().and_then(rule_day).or(published);
            let fix_day = fix.published.as_deref().and_then(rule_day);
            if let (Some(from), Some(fix_day)) = (from, fix_day) {
                if floor.as_ref().is_none_or(|f| f.0 < fix_day) {
                    floor = Some((
                        fix_day,
                        prose::fixing_release_published_on(&fix.name, &rule.id, fix_day),
                    ));
                }
                withdrawn = Some((bad.name.clone(), from, fix.name.clone()));
            }
        }
        FixDates {
            published,
            floor,
            withdrawn,
        }
    }
}

/// Install evidence dated before the fixing release but within a withdrawn release's window
/// dates that release, not the fix: kept as context, with `withdrawn_release_dated`. Runs
/// before [`judge_installed`].
fn date_withdrawn(inst: &mut Installed, fix: &FixDates, rule: &str) -> Option<Reason> {
    let (Some((floor, what)), Some((name, from, fixing))) = (&fix.floor, &fix.withdrawn) else {
        return None;
    };
    let mut dated = Vec::new();
    for e in inst.evidence.iter_mut().filter(|e| is_hard(e)) {
        let Some(u) = upper(e).or_else(|| at(e)) else {
            continue;
        };
        if u < *floor && u + DAY >= *from {
            dated.push(prose::evidence_named(e));
            e.bound = Bound::Context;
            e.note = Some(prose::dates_withdrawn_release_note(name));
        }
    }
    (!dated.is_empty()).then(|| {
        Reason::new(
            ReasonCode::WithdrawnReleaseDated,
            prose::withdrawn_release_dated(rule, what, &dated, name, fixing),
        )
    })
}

/// Install evidence dated before the fix existed cannot be the install of the fix:
/// `install_time_conflict`, and `installed` is not consistent. Runs after [`judge_installed`].
fn before_the_fix(inst: &mut Installed, fix: &FixDates, rule: &str) -> Option<Reason> {
    let (floor, what) = fix.floor.as_ref()?;
    let too_early: Vec<String> = inst
        .evidence
        .iter()
        .filter(|e| is_hard(e))
        .filter(|e| upper(e).or_else(|| at(e)).is_some_and(|u| u + DAY < *floor))
        .map(prose::evidence_named)
        .collect();
    if too_early.is_empty() {
        return None;
    }
    let text = prose::dated_before_the_fix(rule, what, &too_early);
    inst.consistent = false;
    inst.conflict = Some(match inst.conflict.take() {
        Some(c) => prose::conflicts_joined(&c, &text),
        None => text.clone(),
    });
    Some(Reason::new(ReasonCode::InstallTimeConflict, text))
}

/// How far before the first update.exe run the update log records a record naming the update
/// may be before the two witnesses are taken to disagree: the log's local times are converted
/// with the system's zone (or known only within ±14 h without one), and a clock may drift.
pub const EVENT_MENTION_TOLERANCE: i128 = DAY;

/// The event log against the rest (docs/evidence.md, "The event log as a witness"): two
/// witnesses that disagree are reported, not averaged. `install_time_conflict` when
/// - a record naming the update is dated more than [`EVENT_MENTION_TOLERANCE`] before the
///   first update.exe run its update log records (the log named the update before any run of
///   its installer), or
/// - a log whose times run backwards against its record numbers gives evidence that touches
///   the install: a record naming the update, or a boot no earlier than the install's lower
///   bound (the boots `--as-of` reads to tell when the fix was running).
///
/// Either makes `installed` not consistent (never toward clean: `--as-of` then says
/// `unknown_at_date` unless the date is before every bound). Runs after [`judge_installed`].
fn event_log_conflicts(inst: &mut Installed, rule: &str) -> Option<Reason> {
    let first_run = inst
        .evidence
        .iter()
        .filter(|e| e.source == TimeSource::UpdateLog)
        .filter(|e| {
            matches!(
                e.field,
                TimeField::LogHeader
                    | TimeField::LogHeaderRemoved
                    | TimeField::LogHeaderRemovedUnconfirmed
            )
        })
        .filter_map(|e| lower(e).or_else(|| at(e)))
        .min();
    let mut found: Vec<String> = Vec::new();
    if let Some(first) = first_run {
        for e in inst
            .evidence
            .iter()
            .filter(|e| e.source == TimeSource::EventLog && e.field == TimeField::EventMention)
        {
            if at(e).is_some_and(|t| t + EVENT_MENTION_TOLERANCE < first) {
                found.push(prose::mention_before_the_log(e, first));
            }
        }
    }
    let from = nanos(inst.earliest).or(nanos(inst.best));
    let mut logs: Vec<&str> = Vec::new();
    for e in inst.evidence.iter().filter(|e| e.times_run_backwards) {
        let touches = e.field == TimeField::EventMention
            || (e.field == TimeField::Boot && from.is_some_and(|f| at(e).is_some_and(|t| t >= f)));
        if touches && !logs.contains(&e.path.as_str()) {
            logs.push(&e.path);
        }
    }
    for log in logs {
        found.push(prose::backwards_log_touches_install(log));
    }
    if found.is_empty() {
        return None;
    }
    let text = prose::event_log_conflict(rule, &found);
    inst.consistent = false;
    inst.conflict = Some(match inst.conflict.take() {
        Some(c) => prose::conflicts_joined(&c, &text),
        None => text.clone(),
    });
    Some(Reason::new(ReasonCode::InstallTimeConflict, text))
}

/// Adds the findings' times to every rule's install-time evidence, notes back-dated NTFS
/// times on the findings, judges `installed`, and adds the reasons to the rule's and the
/// root's (the verdicts do not change).
pub fn attach(
    rules: &RuleSet,
    system: &mut SystemEvidence,
    findings: &mut [Finding],
    rule_verdicts: &mut [RuleVerdict],
    reasons: &mut Vec<Reason>,
) {
    for f in findings.iter_mut() {
        if let Some(note) = timestamps_inconsistent(f) {
            f.notes.push(note.clone());
            f.si_backdated = Some(note);
        }
    }
    for rr in &mut system.rules {
        let mut evidence = rr.installed.take().map(|i| i.evidence).unwrap_or_default();
        let mut new_reasons = Vec::new();
        for f in findings.iter().filter(|f| f.rule == rr.rule) {
            let fat = f.time_basis.is_local();
            evidence.extend(finding_evidence(f, fat));
            if f.is_live() {
                if let Some(note) = timestamps_inconsistent(f) {
                    new_reasons.push(Reason::at(
                        ReasonCode::TimestampsInconsistent,
                        note,
                        &f.path,
                    ));
                }
            }
        }
        if evidence.is_empty() {
            continue;
        }
        let verdict = rule_verdicts
            .iter()
            .find(|v| v.rule == rr.rule)
            .map_or(Verdict::Inconclusive, |v| v.verdict);
        let mut inst = Installed {
            evidence,
            ..Default::default()
        };
        let fix = rules.get(&rr.rule).map(FixDates::of).unwrap_or_default();
        let dates_fix = matches!(verdict, Verdict::Patched | Verdict::Inconclusive);
        if dates_fix {
            new_reasons.extend(date_withdrawn(&mut inst, &fix, &rr.rule));
        }
        new_reasons.extend(judge_installed(&mut inst, verdict, &rr.rule));
        if dates_fix {
            new_reasons.extend(before_the_fix(&mut inst, &fix, &rr.rule));
            new_reasons.extend(event_log_conflicts(&mut inst, &rr.rule));
        }
        rr.installed = Some(inst);
        if let Some(v) = rule_verdicts.iter_mut().find(|v| v.rule == rr.rule) {
            v.reasons.extend(new_reasons.iter().cloned());
        }
        reasons.extend(new_reasons);
    }
}

/// One rule's state at `date` (Unix nanoseconds), from its verdict now and `installed`.
pub fn rule_as_of(
    verdict: Verdict,
    installed: Option<&Installed>,
    fix: &FixDates,
    date: i128,
) -> (AsOfState, Vec<Reason>) {
    let d = show_time(date);
    let r = |code, m: String| vec![Reason::new(code, m)];
    // Before the bulletin no fix existed: its own state, left out of the root's.
    if let Some(p) = fix.published.filter(|p| date < *p) {
        return (
            AsOfState::NotYetPublished,
            r(ReasonCode::NotYetPublished, prose::not_yet_published(&d, p)),
        );
    }
    match verdict {
        Verdict::Vulnerable => {
            return (
                AsOfState::VulnerableAtDate,
                r(ReasonCode::VulnerableAtDate, prose::vulnerable_now(&d)),
            )
        }
        Verdict::Inconclusive => {
            return (
                AsOfState::UnknownAtDate,
                r(ReasonCode::UnknownAtDate, prose::verdict_now(verdict)),
            )
        }
        Verdict::NotInstalled | Verdict::NotApplicable => {
            return (
                AsOfState::NotAffectedAtDate,
                r(ReasonCode::NotAffectedAtDate, prose::verdict_now(verdict)),
            )
        }
        Verdict::Patched => {}
    }
    let Some(inst) = installed else {
        return (
            AsOfState::UnknownAtDate,
            r(
                ReasonCode::UnknownAtDate,
                prose::patched_no_install_evidence(),
            ),
        );
    };
    // Never patched before the fix existed.
    if let Some((floor, what)) = fix.floor.as_ref().filter(|f| date < f.0) {
        let _ = floor;
        return match &fix.withdrawn {
            Some((name, _, fixing)) => (
                AsOfState::VulnerableAtDate,
                r(
                    ReasonCode::WithdrawnReleaseAtDate,
                    prose::only_withdrawn_at_date(&d, what, name, fixing),
                ),
            ),
            None => (
                AsOfState::VulnerableAtDate,
                r(
                    ReasonCode::FixNotYetBuilt,
                    prose::fix_not_yet_built(&d, what),
                ),
            ),
        };
    }
    let hard: Vec<&TimeEvidence> = inst.evidence.iter().filter(|e| is_hard(e)).collect();
    let name = prose::evidence_named;
    // An earlier install that a recorded uninstall removed: while it was in place, whether
    // its files were the fix is not what the files now say; after the uninstall and before
    // the current install, vulnerable (unknown when the uninstall's outcome is unclear).
    let removed: Vec<(&TimeEvidence, i128, Option<i128>)> = inst
        .evidence
        .iter()
        .filter(|e| e.bound == Bound::Removed)
        .filter_map(|e| lower(e).or_else(|| at(e)).map(|l| (e, l, upper(e))))
        .collect();
    if let Some((e, _, end)) = removed
        .iter()
        .find(|(_, l, u)| date + TOLERANCE >= *l && u.is_none_or(|u| date < u + TOLERANCE))
    {
        return (
            AsOfState::UnknownAtDate,
            r(
                ReasonCode::RemovedInstallAtDate,
                prose::removed_install_at_date(&d, &name(e), *end),
            ),
        );
    }
    let uninstalled_before = removed
        .iter()
        .filter_map(|(e, _, u)| u.filter(|u| *u <= date + TOLERANCE).map(|u| (*e, u)))
        .max_by_key(|x| x.1);
    if !inst.consistent {
        // Before every bound of every source: all of them say later.
        let first = hard.iter().filter_map(|e| lower(e).or(upper(e))).min();
        if first.is_some_and(|f| date + TOLERANCE < f) && hard.iter().all(|e| lower(e).is_some()) {
            return (
                AsOfState::VulnerableAtDate,
                r(ReasonCode::VulnerableAtDate, prose::every_source_after(&d)),
            );
        }
        return (
            AsOfState::UnknownAtDate,
            r(
                ReasonCode::InstallTimeConflict,
                prose::conflict_at_date(&d, &hard.iter().map(|e| name(e)).collect::<Vec<_>>()),
            ),
        );
    }
    let lo = nanos(inst.earliest);
    let hi = nanos(inst.latest);
    let by = |pick: &dyn Fn(&TimeEvidence) -> Option<i128>, t: i128| {
        hard.iter()
            .filter(|e| pick(e).is_some_and(|x| (x - t).abs() <= TOLERANCE))
            .map(|e| name(e))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(h) = hi.filter(|h| date >= *h) {
        // A file in use is replaced at the next restart: when the event log shows the boots,
        // the fix ran for certain only from the first boot after the install.
        if let Some(why) = awaiting_boot(inst, h, date) {
            return (AsOfState::UnknownAtDate, r(ReasonCode::UnknownAtDate, why));
        }
        return (
            AsOfState::PatchedAtDate,
            r(
                ReasonCode::PatchedAtDate,
                prose::installed_before_date(h, &by(&upper, h), &d),
            ),
        );
    }
    if let Some(l) = lo.filter(|l| date < *l) {
        if let Some((e, _)) =
            uninstalled_before.filter(|(e, _)| e.field != TimeField::LogHeaderRemoved)
        {
            return (
                AsOfState::UnknownAtDate,
                r(
                    ReasonCode::RemovedInstallAtDate,
                    prose::uninstall_outcome_unknown(&d, &name(e), l),
                ),
            );
        }
        if let Some((e, u)) = uninstalled_before {
            return (
                AsOfState::VulnerableAtDate,
                r(
                    ReasonCode::UninstalledAtDate,
                    prose::uninstalled_at_date(&d, &name(e), u, l, &by(&lower, l)),
                ),
            );
        }
        return (
            AsOfState::VulnerableAtDate,
            r(
                ReasonCode::VulnerableAtDate,
                prose::installed_after_date(l, &by(&lower, l), &d),
            ),
        );
    }
    let why = match (lo, hi) {
        (None, None) => prose::nothing_bounds_install(!inst.evidence.is_empty(), inst.best),
        (None, Some(h)) => prose::installed_no_later_than_date(h, &d),
        (Some(l), None) => prose::installed_no_earlier_open(l),
        (Some(l), Some(h)) => prose::date_inside_bounds(l, h, &d),
    };
    (AsOfState::UnknownAtDate, r(ReasonCode::UnknownAtDate, why))
}

/// With the boots known from an event log: why the fix installed by `installed_by` may not
/// have been running at `date`, if so. Files in use are replaced at the next restart, so
/// when the log records a boot after the install but later than `date`, the fix may still
/// have been waiting. No boot after the install says nothing against the install moment:
/// either the log ends before it, or the files (patched now) were replaced without a restart.
fn awaiting_boot(inst: &Installed, installed_by: i128, date: i128) -> Option<String> {
    let first_after = inst
        .evidence
        .iter()
        .filter(|e| e.source == TimeSource::EventLog && e.field == TimeField::Boot)
        .filter_map(at)
        .filter(|b| *b > installed_by)
        .min()?;
    (first_after > date).then(|| prose::awaiting_boot(installed_by, first_after, date))
}

/// `roots[].as_of` at `date`. A rule not yet published at `date` is left out of the root's
/// state.
pub fn as_of(root: &RootReport, rules: &RuleSet, at_date: Timestamp) -> AsOf {
    let date = at_date.unix_nanos();
    let rule_states: Vec<RuleAsOf> = root
        .rule_verdicts
        .iter()
        .map(|rv| {
            let inst = root
                .system
                .for_rule(&rv.rule)
                .and_then(|r| r.installed.as_ref());
            let fix = rules.get(&rv.rule).map(FixDates::of).unwrap_or_default();
            let (state, mut reasons) = rule_as_of(rv.verdict, inst, &fix, date);
            reasons.extend(crate::judge::pending::as_of_reasons(rv, &show_time(date)));
            RuleAsOf {
                rule: rv.rule.clone(),
                state,
                reasons,
            }
        })
        .collect();
    AsOf {
        date: at_date,
        state: rule_states
            .iter()
            .map(|r| r.state)
            .filter(|s| *s != AsOfState::NotYetPublished)
            .min()
            .unwrap_or(if rule_states.is_empty() {
                AsOfState::NotAffectedAtDate
            } else {
                AsOfState::NotYetPublished
            }),
        rules: rule_states,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> i128 {
        Timestamp::parse(s).unwrap().unix_nanos()
    }

    fn e(
        source: TimeSource,
        time: &str,
        bound: Bound,
        nb: Option<&str>,
        na: Option<&str>,
    ) -> TimeEvidence {
        TimeEvidence {
            source,
            time: Timestamp::parse(time).unwrap(),
            field: TimeField::LogHeader,
            bound,
            not_before: nb.map(|x| Timestamp::parse(x).unwrap()),
            not_after: na.map(|x| Timestamp::parse(x).unwrap()),
            says: String::new(),
            path: "p".to_owned(),
            note: None,
            line: None,
            times_run_backwards: false,
        }
    }

    const LOG: &str = "2004-03-17T09:15:02Z";
    const KEY: &str = "2004-03-17T09:16:40Z";

    fn consistent() -> Installed {
        let mut i = Installed {
            evidence: vec![
                e(
                    TimeSource::UpdateLog,
                    LOG,
                    Bound::Moment,
                    Some(LOG),
                    Some(LOG),
                ),
                e(
                    TimeSource::RegistryKey,
                    KEY,
                    Bound::NotAfter,
                    None,
                    Some(KEY),
                ),
                e(
                    TimeSource::UninstallFolder,
                    "2004-03-17T09:15:30Z",
                    Bound::Approximate,
                    None,
                    None,
                ),
            ],
            ..Default::default()
        };
        assert!(judge_installed(&mut i, Verdict::Patched, "MS04-008").is_none());
        i
    }

    #[test]
    fn bounds_give_earliest_latest_best_and_the_summary() {
        let i = consistent();
        assert_eq!(i.earliest.map(|t| t.to_string()).as_deref(), Some(LOG));
        assert_eq!(i.latest.map(|t| t.to_string()).as_deref(), Some(LOG));
        assert_eq!(i.best.map(|t| t.to_string()).as_deref(), Some(LOG));
        assert_eq!(i.best_source, Some(TimeSource::UpdateLog));
        assert!(i.consistent);
        assert_eq!(
            i.summary,
            "patched since 2004-03-17 (update log, registry key; uninstall folder agrees)"
        );
    }

    #[test]
    fn as_of_before_between_and_after_the_evidence() {
        // Time zone unknown: the log allows ±14 h; the key bounds from above.
        let lo = "2004-03-16T19:15:02Z";
        let hi = "2004-03-17T23:15:02Z";
        let mut i = Installed {
            evidence: vec![
                e(
                    TimeSource::UpdateLog,
                    LOG,
                    Bound::Moment,
                    Some(lo),
                    Some(hi),
                ),
                e(
                    TimeSource::RegistryKey,
                    KEY,
                    Bound::NotAfter,
                    None,
                    Some(KEY),
                ),
            ],
            ..Default::default()
        };
        assert!(judge_installed(&mut i, Verdict::Patched, "R").is_none());
        let at = |d| rule_as_of(Verdict::Patched, Some(&i), &FixDates::default(), t(d)).0;
        assert_eq!(at("2004-03-01T00:00:00Z"), AsOfState::VulnerableAtDate);
        assert_eq!(at("2004-03-17T00:00:00Z"), AsOfState::UnknownAtDate);
        assert_eq!(at("2004-03-18T00:00:00Z"), AsOfState::PatchedAtDate);
        // With the zone known, the moment decides.
        let c = consistent();
        let at = |d| rule_as_of(Verdict::Patched, Some(&c), &FixDates::default(), t(d)).0;
        assert_eq!(at("2004-03-17T09:15:01Z"), AsOfState::VulnerableAtDate);
        assert_eq!(at("2004-03-17T09:15:02Z"), AsOfState::PatchedAtDate);
        // Nothing known, or vulnerable now.
        assert_eq!(
            rule_as_of(Verdict::Patched, None, &FixDates::default(), 0).0,
            AsOfState::UnknownAtDate
        );
        assert_eq!(
            rule_as_of(Verdict::Vulnerable, None, &FixDates::default(), 0).0,
            AsOfState::VulnerableAtDate
        );
        assert_eq!(
            rule_as_of(Verdict::NotInstalled, None, &FixDates::default(), 0).0,
            AsOfState::NotAffectedAtDate
        );
    }

    #[test]
    fn a_conflict_is_named_trusts_the_log_and_is_never_patched_at_date() {
        // The key was last written a week before the install the log records.
        let mut i = Installed {
            evidence: vec![
                e(
                    TimeSource::UpdateLog,
                    LOG,
                    Bound::Moment,
                    Some(LOG),
                    Some(LOG),
                ),
                e(
                    TimeSource::RegistryKey,
                    "2004-03-10T00:00:00Z",
                    Bound::NotAfter,
                    None,
                    Some("2004-03-10T00:00:00Z"),
                ),
            ],
            ..Default::default()
        };
        let reason = judge_installed(&mut i, Verdict::Patched, "MS04-008").unwrap();
        assert_eq!(reason.code, ReasonCode::InstallTimeConflict);
        assert!(
            reason.message.contains("trusts update log"),
            "{}",
            reason.message
        );
        assert!(reason.message.contains("sets aside registry key"));
        assert!(!i.consistent);
        assert_eq!(i.best.map(|t| t.to_string()).as_deref(), Some(LOG));
        for d in [
            "2004-03-12T00:00:00Z",
            "2004-03-18T00:00:00Z",
            "2010-01-01T00:00:00Z",
        ] {
            let (s, r) = rule_as_of(Verdict::Patched, Some(&i), &FixDates::default(), t(d));
            assert_eq!(s, AsOfState::UnknownAtDate, "{d}");
            assert_eq!(r[0].code, ReasonCode::InstallTimeConflict);
        }
    }

    #[test]
    fn back_dated_si_times_give_the_note_and_are_not_used() {
        use crate::model::time::Times;
        use crate::model::{FileFacts, FileVersion, Location, Status};
        let mut f = Finding {
            path: "WINNT/system32/Windows Media/Server/Nscm.exe".to_owned(),
            abs_path: String::new(),
            name: "Nscm.exe".to_owned(),
            rule: "MS04-008".to_owned(),
            kb: "KB832359".to_owned(),
            target: "Nscm.exe".to_owned(),
            status: Status::Patched,
            comparison: crate::model::Comparison::Unjudged,
            counting: crate::model::Counting::COUNTED,
            location: Location::live(),
            version: None,
            version_source: None,
            file_version: None,
            file_version_string: None,
            product_version: None,
            product_version_string: None,
            string_tables: Vec::new(),
            required_version: FileVersion::new(4, 1, 0, 3934),
            published_size: None,
            file: FileFacts {
                created: Timestamp::parse("2003-01-01T00:00:00Z"),
                modified: Timestamp::parse("2003-01-01T00:00:00Z"),
                name_times: Some(Times {
                    created: Timestamp::parse(LOG),
                    ..Default::default()
                }),
                ..Default::default()
            },
            link_target: None,
            time_basis: Default::default(),
            si_backdated: None,
            service_image: None,
            lineage: None,
            notes: Vec::new(),
            error: None,
            error_kind: None,
            version_resources: Vec::new(),
        };
        assert!(timestamps_inconsistent(&f).is_some());
        let ev = finding_evidence(&f, false);
        let si = ev.iter().find(|e| e.field == TimeField::SiCreated).unwrap();
        assert_eq!(si.bound, Bound::Context, "never silently used");
        assert!(si
            .note
            .as_deref()
            .unwrap()
            .starts_with("timestamps_inconsistent"));
        let fname = ev.iter().find(|e| e.field == TimeField::FnCreated).unwrap();
        assert_eq!(fname.bound, Bound::Approximate);
        let mut system = SystemEvidence {
            rules: vec![crate::model::system::RuleRegistry {
                rule: "MS04-008".to_owned(),
                kb: "KB832359".to_owned(),
                update_records: Vec::new(),
                services: Vec::new(),
                uninstall_dir: None,
                installed: None,
            }],
            ..Default::default()
        };
        let mut rvs = vec![RuleVerdict {
            rule: "MS04-008".to_owned(),
            kb: "KB832359".to_owned(),
            verdict: Verdict::Patched,
            reasons: Vec::new(),
            decisive: None,
        }];
        let mut reasons = Vec::new();
        attach(
            &RuleSet { rules: Vec::new() },
            &mut system,
            std::slice::from_mut(&mut f),
            &mut rvs,
            &mut reasons,
        );
        assert!(f.notes[0].starts_with("timestamps_inconsistent:"));
        assert_eq!(reasons[0].code, ReasonCode::TimestampsInconsistent);
        assert_eq!(rvs[0].reasons[0].code, ReasonCode::TimestampsInconsistent);
        // Consistent times: no note.
        f.file.created = Timestamp::parse(LOG);
        assert!(timestamps_inconsistent(&f).is_none());
    }

    #[test]
    fn approximate_times_alone_never_decide() {
        let mut i = Installed {
            evidence: vec![e(TimeSource::LiveFile, LOG, Bound::Approximate, None, None)],
            ..Default::default()
        };
        judge_installed(&mut i, Verdict::Patched, "R");
        assert!(
            i.summary.contains("only file-system times"),
            "{}",
            i.summary
        );
        assert_eq!(i.best.map(|t| t.to_string()).as_deref(), Some(LOG));
        for d in ["2000-01-01T00:00:00Z", "2010-01-01T00:00:00Z"] {
            assert_eq!(
                rule_as_of(Verdict::Patched, Some(&i), &FixDates::default(), t(d)).0,
                AsOfState::UnknownAtDate
            );
        }
    }

    /// Round 3, cases 3, 6, 7 and 8 as tables over plain data.
    #[test]
    fn what_time_can_prove() {
        // Case 3: a vulnerable rule has no install time, whatever its records say.
        let mut i = consistent();
        judge_installed(&mut i, Verdict::Vulnerable, "MS08-076");
        assert!(i.best.is_none() && i.earliest.is_none() && i.latest.is_none());
        assert!(i.summary.starts_with("no install time"), "{}", i.summary);
        // Only file-system times: "file written", never installed or patched.
        let mut i = Installed {
            evidence: vec![e(TimeSource::LiveFile, LOG, Bound::Approximate, None, None)],
            ..Default::default()
        };
        judge_installed(&mut i, Verdict::Patched, "MS04-008");
        assert!(
            i.summary.starts_with("file written around"),
            "{}",
            i.summary
        );

        let ms04 = FixDates {
            published: Some(t("2004-03-09T00:00:00Z")),
            floor: Some((t("2004-01-15T00:00:00Z"), "built".to_owned())),
            withdrawn: None,
        };
        // Case 8: before publication, its own state.
        let i = consistent();
        let (s, r) = rule_as_of(Verdict::Patched, Some(&i), &ms04, t("2004-03-01T00:00:00Z"));
        assert_eq!(s, AsOfState::NotYetPublished);
        assert_eq!(r[0].code, ReasonCode::NotYetPublished);
        // Case 6: install evidence before the floor is a conflict, never patched.
        let early = "2003-06-01T12:00:00Z";
        let mut i = Installed {
            evidence: vec![e(
                TimeSource::UpdateLog,
                early,
                Bound::Moment,
                Some(early),
                Some(early),
            )],
            ..Default::default()
        };
        judge_installed(&mut i, Verdict::Patched, "MS04-008");
        let r = before_the_fix(&mut i, &ms04, "MS04-008").expect("conflict");
        assert_eq!(r.code, ReasonCode::InstallTimeConflict);
        assert!(!i.consistent);
        for d in ["2004-03-10T00:00:00Z", "2005-01-01T00:00:00Z"] {
            let (s, _) = rule_as_of(Verdict::Patched, Some(&i), &ms04, t(d));
            assert_ne!(s, AsOfState::PatchedAtDate, "{d}");
        }
        // A floor after the publication (no build date): fix_not_yet_built.
        let late = FixDates {
            published: Some(t("2004-01-01T00:00:00Z")),
            floor: Some((t("2004-06-01T00:00:00Z"), "built".to_owned())),
            withdrawn: None,
        };
        let (s, r) = rule_as_of(
            Verdict::Patched,
            Some(&consistent()),
            &late,
            t("2004-04-01T00:00:00Z"),
        );
        assert_eq!(
            (s, r[0].code),
            (AsOfState::VulnerableAtDate, ReasonCode::FixNotYetBuilt)
        );
        // Case 7: inside the withdrawn window, the evidence dates the withdrawn release.
        let ms10 = FixDates {
            published: Some(t("2010-04-13T00:00:00Z")),
            floor: Some((t("2010-04-27T00:00:00Z"), "v2".to_owned())),
            withdrawn: Some(("v1".to_owned(), t("2010-04-13T00:00:00Z"), "v2".to_owned())),
        };
        let w = "2010-04-14T12:00:00Z";
        let mut i = Installed {
            evidence: vec![e(
                TimeSource::RegistryValue,
                w,
                Bound::Moment,
                Some(w),
                Some(w),
            )],
            ..Default::default()
        };
        let r = date_withdrawn(&mut i, &ms10, "MS10-025").expect("dated");
        assert_eq!(r.code, ReasonCode::WithdrawnReleaseDated);
        judge_installed(&mut i, Verdict::Patched, "MS10-025");
        assert!(before_the_fix(&mut i, &ms10, "MS10-025").is_none());
        let (s, r) = rule_as_of(Verdict::Patched, Some(&i), &ms10, t("2010-04-20T00:00:00Z"));
        assert_eq!(
            (s, r[0].code),
            (
                AsOfState::VulnerableAtDate,
                ReasonCode::WithdrawnReleaseAtDate
            )
        );
        let (s, _) = rule_as_of(Verdict::Patched, Some(&i), &ms10, t("2010-05-01T00:00:00Z"));
        assert_eq!(s, AsOfState::UnknownAtDate);
    }

    /// An event-log piece of evidence: a record naming the update, or a boot.
    fn event(field: TimeField, time: &str, record: u32, backwards: bool) -> TimeEvidence {
        let mut x = e(TimeSource::EventLog, time, Bound::Context, None, None);
        x.field = field;
        x.path = "WINNT/system32/config/SysEvent.Evt".to_owned();
        x.line = Some(format!("{record}: KB832359"));
        x.times_run_backwards = backwards;
        x
    }

    #[test]
    fn the_event_log_as_a_second_witness() {
        let fix = FixDates::default();
        let after = t("2004-06-01T00:00:00Z");
        // A mention after the install, a boot after it, a clean log: nothing to say.
        let mut i = consistent();
        i.evidence.push(event(
            TimeField::EventMention,
            "2004-03-17T09:15:30Z",
            3,
            false,
        ));
        i.evidence
            .push(event(TimeField::Boot, "2004-03-18T08:00:00Z", 4, false));
        assert!(event_log_conflicts(&mut i, "MS04-008").is_none());
        assert!(i.consistent);
        assert_eq!(
            rule_as_of(Verdict::Patched, Some(&i), &fix, after).0,
            AsOfState::PatchedAtDate
        );
        // Within the tolerance before the first run: still nothing.
        let mut i = consistent();
        i.evidence.push(event(
            TimeField::EventMention,
            "2004-03-16T10:00:00Z",
            3,
            false,
        ));
        assert!(event_log_conflicts(&mut i, "MS04-008").is_none());
        // A mention more than a day before every run of the update log: a conflict, and
        // `--as-of` after both is no longer patched_at_date.
        let mut i = consistent();
        i.evidence.push(event(
            TimeField::EventMention,
            "2004-03-10T09:00:00Z",
            3,
            false,
        ));
        let r = event_log_conflicts(&mut i, "MS04-008").unwrap();
        assert_eq!(r.code, ReasonCode::InstallTimeConflict);
        assert!(r.message.contains("record 3"), "{}", r.message);
        assert!(!i.consistent);
        assert!(i.conflict.as_deref().unwrap().contains("not averaged"));
        assert_eq!(
            rule_as_of(Verdict::Patched, Some(&i), &fix, after).0,
            AsOfState::UnknownAtDate
        );
        // A log whose times run backwards: a conflict when its evidence touches the install
        // (a boot after it, or a mention), not for boots long before it.
        let mut i = consistent();
        i.evidence
            .push(event(TimeField::Boot, "2004-01-01T08:00:00Z", 1, true));
        assert!(event_log_conflicts(&mut i, "MS04-008").is_none());
        i.evidence
            .push(event(TimeField::Boot, "2004-03-20T08:00:00Z", 9, true));
        let r = event_log_conflicts(&mut i, "MS04-008").unwrap();
        assert!(r.message.contains("run backwards"), "{}", r.message);
        assert!(!i.consistent);
        let mut i = consistent();
        i.evidence.push(event(
            TimeField::EventMention,
            "2004-03-17T09:20:00Z",
            5,
            true,
        ));
        assert!(event_log_conflicts(&mut i, "MS04-008").is_some());
        // Without an update log a mention contradicts nothing.
        let mut i = Installed {
            evidence: vec![event(
                TimeField::EventMention,
                "2004-03-10T09:00:00Z",
                3,
                false,
            )],
            ..Default::default()
        };
        assert!(event_log_conflicts(&mut i, "MS04-008").is_none());
    }
}
