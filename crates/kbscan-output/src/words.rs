//! The report's shared phrasing: the sentences more than one printer shows (the decisive
//! reason, the summary matrix's cells, a hive's line), written once so the table and the HTML page say
//! the same thing.

use crate::escape::escape_str as esc;
use crate::model::system::HiveInfo;
use crate::model::{Report, RootReport, Verdict};

/// A hive's line: path, format version, whether it validated (or why it could not be read).
pub(crate) fn hive_text(h: &HiveInfo) -> String {
    match &h.error {
        Some(e) => format!("{}: {}", h.path, esc(e)),
        None => format!(
            "{} (regf {}, {})",
            h.path,
            esc(h.format_version.as_deref().unwrap_or("?")),
            if h.validated {
                "validated"
            } else {
                "NOT validated: read as found"
            }
        ),
    }
}

/// The first reason that is not context, else the first: for a root whose verdict no rule
/// gave (a root with no rule loaded).
fn first_deciding(reasons: &[crate::model::Reason]) -> Option<&crate::model::Reason> {
    reasons
        .iter()
        .find(|r| !r.code.is_context())
        .or_else(|| reasons.first())
}

/// The decisive reason of a root: the reason the judgement recorded as deciding the verdict of
/// the first rule whose verdict is the root's (the root's verdict is the most urgent of its
/// rules'), naming the other rules with the same verdict so one rule is not read as the only
/// one; else the root's first deciding reason.
pub(crate) fn decisive(root: &RootReport) -> String {
    let mut same = root
        .rule_verdicts
        .iter()
        .filter(|rv| rv.verdict == root.verdict);
    let by_rule = same
        .next()
        .and_then(|rv| rv.decisive.as_ref().map(|r| (Some(&rv.rule), r)));
    let others: Vec<String> = same.map(|rv| esc(&rv.rule)).collect();
    let also = match others.len() {
        0 => String::new(),
        n => format!(
            " (and {n} more rule{} {}: {})",
            if n == 1 { "" } else { "s" },
            root.verdict.as_str(),
            others.join(", ")
        ),
    };
    match by_rule.or_else(|| first_deciding(&root.reasons).map(|r| (None, r))) {
        Some((rule, r)) => format!(
            "{}{}: {}{also}",
            rule.map(|id| format!("{} ", esc(id))).unwrap_or_default(),
            r.code.as_str(),
            esc(&r.message)
        ),
        None => "-".to_owned(),
    }
}

/// The summary matrix's column heads, one per loaded rule: `MS04-008 (KB832359)`.
pub(crate) fn rule_heads(report: &Report) -> Vec<(String, String)> {
    report
        .rules
        .iter()
        .map(|r| (esc(&r.id), format!("({})", esc(&r.kb))))
        .collect()
}

/// A root's cell in the summary matrix for `rule`: its verdict for that rule (with the
/// withdrawn-release warning), `-` when the rule gave none.
pub(crate) fn rule_cell(root: &RootReport, rule: &str) -> (String, Option<Verdict>) {
    match root.rule_verdicts.iter().find(|rv| rv.rule == rule) {
        Some(rv) => (rule_verdict_text(rv), Some(rv.verdict)),
        None => ("-".to_owned(), None),
    }
}

/// `vulnerable (withdrawn release suspected)`, or the verdict alone.
fn rule_verdict_text(rv: &crate::model::RuleVerdict) -> String {
    let withdrawn = rv
        .reasons
        .iter()
        .any(|r| r.code == crate::model::ReasonCode::WithdrawnReleaseSuspected);
    format!(
        "{}{}",
        rv.verdict.as_str(),
        if withdrawn {
            " (withdrawn release suspected)"
        } else {
            ""
        }
    )
}

/// `MS03-022 patched · MS10-025 vulnerable (withdrawn release suspected)`.
pub(crate) fn rule_verdicts_line(rvs: &[crate::model::RuleVerdict]) -> String {
    rvs.iter()
        .map(|rv| format!("{} {}", esc(&rv.rule), rule_verdict_text(rv)))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// `kbscan version`'s Authenticode lines (label, text), as the table and HTML show them: the
/// image hash, then the signature, always "present, not verified" when there is one.
pub(crate) fn authenticode_lines(
    a: &crate::model::described::Authenticode,
) -> Vec<(&'static str, String)> {
    let mut v = Vec::new();
    if let Some(h) = &a.image_sha256 {
        v.push(("image sha256", h.clone()));
    }
    if let Some(h) = &a.image_sha1 {
        v.push(("image sha1", h.clone()));
    }
    let s = &a.signature;
    v.push(("signature", s.state.as_str().to_owned()));
    let opt = |label: &'static str, x: &Option<String>, v: &mut Vec<(&'static str, String)>| {
        if let Some(x) = x {
            v.push((label, x.clone()));
        }
    };
    opt("signer", &s.signer_subject, &mut v);
    opt("issuer", &s.signer_issuer, &mut v);
    opt("serial", &s.signer_serial, &mut v);
    if let Some(t) = s.signing_time {
        v.push((
            "signing time",
            format!("{t} (signingTime attribute, as the signer stated it)"),
        ));
    }
    if let Some(t) = s.timestamp_time {
        v.push((
            "time-stamp",
            format!("{t} ({})", s.timestamp_kind.unwrap_or("counter-signature")),
        ));
    }
    if let (Some(alg), Some(d)) = (&s.digest_algorithm, &s.signed_digest) {
        let agrees = match s.digest_matches {
            Some(true) => " (equals the image hash: this is the file that was signed)",
            Some(false) => " (DIFFERS from the image hash: the file was changed after signing)",
            None => "",
        };
        v.push(("signed digest", format!("{alg} {d}{agrees}")));
    }
    opt("error", &s.error, &mut v);
    for n in &a.notes {
        v.push(("note", n.clone()));
    }
    v
}
