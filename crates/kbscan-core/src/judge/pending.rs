//! Updates waiting for a reboot (`update_pending_reboot`): a pending file rename operation
//! that replaces, moves or deletes a live copy of a rule's file at the next boot. The verdict
//! never changes — the live file is what runs until that boot — the reason tells the examiner
//! why "update recorded, live file old" is what the image shows. Pure, no I/O: the operations
//! and the staged files' versions were read with the system facts (`registry::pending`).

use crate::model::installed::{TimeEvidence, TimeField, TimeSource};
use crate::model::system::{PendingRename, PendingRenames, SystemEvidence};
use crate::model::{Finding, Reason, ReasonCode, RuleVerdict, Status};
use crate::rules::RuleSet;

/// The first boot an event log records after the Session Manager key was last written, when
/// its times can be trusted: Windows carries out the operations at a boot and deletes the
/// value, writing the key, so a boot after the key's last write that left the value says the
/// operation was not carried out then (it failed, or a clock or the value was changed).
fn boot_after_registration(
    renames: &PendingRenames,
    system: &SystemEvidence,
    rule: &str,
) -> Option<String> {
    let written = renames.key_last_written?;
    let boots = system.for_rule(rule)?.installed.as_ref()?;
    let first = boots
        .evidence
        .iter()
        .filter(|e| e.source == TimeSource::EventLog && e.field == TimeField::Boot)
        .filter(|e| !e.times_run_backwards && e.time > written)
        .min_by_key(|e| e.time)?;
    Some(boot_text(first, written))
}

fn boot_text(boot: &TimeEvidence, written: crate::model::time::Timestamp) -> String {
    format!(
        "; yet {} records a boot at {} ({}), after the key's last write at {written}: the operation was not carried out at that boot (it failed, or a clock or the value was changed), and nothing says it will be at the next",
        boot.path, boot.time, boot.says
    )
}

/// What a pending operation is to one live copy.
fn says(
    op: &PendingRename,
    f: &Finding,
    rules: &RuleSet,
    renames: &PendingRenames,
) -> Option<String> {
    let live = f.version.map_or_else(
        || "of unknown version".to_owned(),
        |v| format!("version {v}"),
    );
    let registered = renames
        .key_last_written
        .map(|t| format!(", registered no later than {t} (the Session Manager key's last write)"))
        .unwrap_or_default();
    let which = format!("{} pair {}{registered}", renames.value, op.pair);
    if op.replaces(&f.path) {
        let staged = match &op.staged {
            Some(s) => match (s.version, &s.error) {
                (Some(v), _) => {
                    let fixed = rules
                        .get(&f.rule)
                        .and_then(|r| {
                            r.files
                                .iter()
                                .find(|x| x.name.eq_ignore_ascii_case(&f.target))
                        })
                        .map_or(f.required_version, |rf| rf.fixed_for(Some(v)));
                    let what = if v >= fixed {
                        format!("at or above the fixed {fixed}: the fix takes effect at that boot")
                    } else {
                        format!("below the fixed {fixed}: that boot does not fix it either")
                    };
                    format!("the staged file {}, version {v} ({what})", s.path)
                }
                (None, e) => format!(
                    "the staged file {} (version not read: {}; nothing is concluded from it)",
                    s.path,
                    e.as_deref().unwrap_or("unknown")
                ),
            },
            None => format!("{} (not read)", op.source),
        };
        return Some(format!(
            "{}: {live}, is replaced at the next boot by {staged}; a pending file rename operation ({which}) says no boot has happened since it was registered, so the live file is what runs and the verdict is its own",
            f.path
        ));
    }
    if op.removes(&f.path) {
        let fate = match (&op.target, &op.target_path) {
            (None, _) => "deleted".to_owned(),
            (Some(_), Some(p)) => format!("renamed to {p}"),
            (Some(t), None) => format!("renamed to {t}"),
        };
        return Some(format!(
            "{}: {live}, is {fate} at the next boot by a pending file rename operation ({which}); until then it is what runs, and the verdict is its own",
            f.path
        ));
    }
    None
}

/// Adds `update_pending_reboot` to every rule with a live copy that a pending operation
/// replaces, moves or deletes (to the rule's reasons and the root's). Verdicts unchanged.
pub fn attach(
    rules: &RuleSet,
    renames: Option<&PendingRenames>,
    system: &SystemEvidence,
    findings: &[Finding],
    rule_verdicts: &mut [RuleVerdict],
    reasons: &mut Vec<Reason>,
) {
    let Some(renames) = renames else { return };
    for rv in rule_verdicts.iter_mut() {
        let booted = boot_after_registration(renames, system, &rv.rule).unwrap_or_default();
        for f in findings
            .iter()
            .filter(|f| f.rule == rv.rule && f.is_live() && f.status != Status::Skipped)
        {
            for op in &renames.operations {
                if let Some(text) = says(op, f, rules, renames) {
                    let text = text + &booted;
                    let r = Reason::at(ReasonCode::UpdatePendingReboot, text, &f.path);
                    reasons.push(r.clone().of_rule(&rv.rule));
                    rv.reasons.push(r);
                }
            }
        }
        // A rename onto a rule's file that is not there: the file appears at the next boot.
        let Some(rule) = rules.get(&rv.rule) else {
            continue;
        };
        for op in renames
            .operations
            .iter()
            .filter(|o| o.target_path.is_none())
        {
            let (Some(target), Some(staged)) = (&op.target, &op.staged) else {
                continue;
            };
            let name = target.rsplit(['\\', '/']).next().unwrap_or(target);
            if !rule.files.iter().any(|f| f.name.eq_ignore_ascii_case(name)) {
                continue;
            }
            let version = staged.version.map_or_else(
                || "of unknown version".to_owned(),
                |v| format!("version {v}"),
            );
            let now = match &op.unresolved {
                Some(u) => format!("is not placed under the root ({u})"),
                None => "is not there now".to_owned(),
            };
            let text = format!(
                "{target} {now}; a pending file rename operation ({} pair {}) puts the staged file {} ({version}) there at the next boot. Until that boot it is not a live copy, and nothing is concluded from it{booted}",
                renames.value, op.pair, staged.path
            );
            let r = Reason::new(ReasonCode::UpdatePendingReboot, text);
            reasons.push(r.clone().of_rule(&rv.rule));
            rv.reasons.push(r);
        }
    }
}

/// `--as-of`: the pending operations named in a rule's reasons, repeated at the date: the
/// staged file had not replaced the live one at any date before the image (no boot has
/// processed the operation), so it never makes the date patched.
pub fn as_of_reasons(rv: &RuleVerdict, date: &str) -> Vec<Reason> {
    rv.reasons
        .iter()
        .filter(|r| r.code == ReasonCode::UpdatePendingReboot)
        .map(|r| {
            let mut r = r.clone();
            r.message = format!(
                "at {date}: {} — the operation was still waiting when the image was taken, so at {date} the file that ran was the live one, never the staged one",
                r.message
            );
            r
        })
        .collect()
}
