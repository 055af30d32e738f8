//! The judgement: which version a file has, what that means for the rule, and what the
//! copies found under one root mean for that system. Pure functions of plain data,
//! table-tested; no I/O. `findings` turns inspected evidence into findings, `location`
//! classes a copy by its folders, `system` decides a root's verdict (services, case twins
//! copies, registry), `reconcile` weighs the registry against the files, `prose` words it all.
//!
//! Over 400 lines with its tests (the verdict and version tables are about half of it).

pub mod findings;
pub mod installed; // issue 14
pub mod location;
pub mod pending;
mod prose;
pub mod reconcile;
pub mod system;

pub use crate::model::combine;
use crate::model::{
    FileVersion, Reason, ReasonCode, Status, Verdict, VersionReading, VersionSource,
};

/// The version a file is judged by, with the notes explaining the choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveVersion {
    pub version: Option<FileVersion>,
    pub source: Option<VersionSource>,
    pub notes: Vec<String>,
}

/// Picks the version to judge by: the numeric fixed version when present, else the first
/// `FileVersion` string that parses. A string that disagrees with the fixed version is a note.
pub fn effective_version(fixed: Option<FileVersion>, strings: &[&str]) -> EffectiveVersion {
    let mut notes = Vec::new();
    let parsed: Vec<(&str, Result<FileVersion, _>)> = strings
        .iter()
        .map(|s| (*s, FileVersion::parse_lenient(s)))
        .collect();
    if let Some(fixed) = fixed {
        for (text, p) in &parsed {
            match p {
                Ok(v) if *v != fixed => notes.push(prose::string_disagrees_with_fixed(text, fixed)),
                Ok(_) => {}
                Err(_) => notes.push(prose::string_not_a_version_fixed_used(text, fixed)),
            }
        }
        return EffectiveVersion {
            version: Some(fixed),
            source: Some(VersionSource::Fixed),
            notes,
        };
    }
    match parsed
        .iter()
        .find_map(|(t, p)| p.as_ref().ok().map(|v| (*t, *v)))
    {
        Some((text, v)) => {
            notes.push(prose::version_from_string(v, text));
            for (other, p) in &parsed {
                if let Ok(o) = p {
                    if *o != v {
                        notes.push(prose::string_tables_disagree(other, text));
                    }
                }
            }
            EffectiveVersion {
                version: Some(v),
                source: Some(VersionSource::String),
                notes,
            }
        }
        None => {
            if parsed.is_empty() {
                notes.push(prose::no_version_at_all());
            } else {
                for (text, _) in &parsed {
                    notes.push(prose::no_fixed_and_string_not_a_version(text));
                }
            }
            EffectiveVersion {
                version: None,
                source: None,
                notes,
            }
        }
    }
}

/// A version with a field of 65535 (0xFFFF), the largest a field can hold: no real build
/// carries one, a forged resource can (`65535.65535.65535.65535` compares above every fix).
pub fn implausible(v: FileVersion) -> bool {
    [v.major, v.minor, v.build, v.revision].contains(&u16::MAX)
}

/// The status of a file of known (or unknown) version against the fixed version.
pub fn status_for(version: Option<FileVersion>, fixed: FileVersion) -> Status {
    match version {
        Some(v) if v < fixed => Status::Vulnerable,
        Some(_) => Status::Patched,
        None => Status::UnknownVersion,
    }
}

/// A note when a patched copy's size differs from the size the bulletin published for the
/// English build: other languages and later builds differ legitimately, so it never changes
/// the status.
pub fn size_note(status: Status, size: u64, published: Option<u64>) -> Option<String> {
    match published {
        Some(p) if status == Status::Patched && size != p => Some(prose::size_differs(size, p)),
        _ => None,
    }
}

fn reason(code: ReasonCode, message: String, path: Option<&str>) -> Reason {
    Reason {
        rule: None,
        code,
        message,
        path: path.map(str::to_owned),
    }
}

/// The facts about one finding that the verdict looks at.
#[derive(Debug, Clone, Copy)]
pub struct CandidateFacts<'a> {
    pub path: &'a str,
    pub status: Status,
    pub live: bool,
    /// A live copy judged elsewhere, not here: a case twin whose readings disagree (the twins'
    /// own reason keeps the rule from `patched`). A service never discounts a live copy.
    pub kept_out: bool,
    pub version: Option<FileVersion>,
    pub required: FileVersion,
    pub error: Option<&'a str>,
    /// Every version resource's reading when the file has several (empty otherwise).
    pub readings: &'a [VersionReading],
}

impl CandidateFacts<'_> {
    /// The readings Windows could use (id 1, any language).
    fn windows_readings(&self) -> impl Iterator<Item = &VersionReading> {
        self.readings.iter().filter(|r| r.windows_reads)
    }
    /// Several readings Windows could use that do not say the same version.
    pub fn readings_disagree(&self) -> bool {
        let mut versions = self.windows_readings().map(|r| r.version);
        match versions.next() {
            Some(first) => versions.any(|v| v != first),
            None => false,
        }
    }
    /// A reading Windows could use is vulnerable, whatever the copy's status says.
    pub fn possibly_vulnerable(&self) -> bool {
        self.status == Status::Vulnerable
            || self
                .windows_readings()
                .any(|r| r.status == Some(Status::Vulnerable))
    }
}

/// The verdict for one rule under one root.
///
/// `vulnerable` if any live copy is vulnerable; else `inconclusive` if a live candidate could
/// not be judged (a patched copy beside it does not outweigh it: Windows could run either) or,
/// with no live copy judged, part of the tree could not be read; else `patched` if a live copy
/// is patched; else `not_installed`. Backup copies and skipped entries are explained, never
/// counted. The third value is the reason that decided the verdict (also among the reasons).
pub fn rule_verdict(
    files: &str,
    candidates: &[CandidateFacts<'_>],
    unreadable: usize,
) -> (Verdict, Vec<Reason>, Option<Reason>) {
    let live = || candidates.iter().filter(|c| c.live && !c.kept_out);
    let mut reasons = Vec::new();
    let vulnerable: Vec<_> = live().filter(|c| c.status == Status::Vulnerable).collect();
    let patched: Vec<_> = live().filter(|c| c.status == Status::Patched).collect();
    let unjudged: Vec<_> = live().filter(|c| c.status.is_unjudged()).collect();
    // A copy one of whose readings is vulnerable, the others not: never outweighed by a
    // patched copy (ambiguity never favours patched).
    let ambiguous = live().any(|c| c.status != Status::Vulnerable && c.possibly_vulnerable());
    for c in &vulnerable {
        reasons.push(reason(
            ReasonCode::LiveVulnerable,
            prose::live_vulnerable(c.path, c.version, c.required),
            Some(c.path),
        ));
    }
    for c in &patched {
        reasons.push(reason(
            ReasonCode::LivePatched,
            prose::live_patched(c.path, c.version, c.required),
            Some(c.path),
        ));
    }
    for c in &unjudged {
        reasons.push(reason(
            ReasonCode::LiveUnjudged,
            prose::live_unjudged(c.path, c.error),
            Some(c.path),
        ));
    }
    for c in live().filter(|c| c.readings_disagree()) {
        reasons.push(reason(
            ReasonCode::VersionResourcesDisagree,
            prose::live_readings_disagree(c.path, c.windows_readings(), c.status),
            Some(c.path),
        ));
    }

    let backups = candidates
        .iter()
        .filter(|c| !c.live && !c.kept_out && c.status != Status::Skipped)
        .count();
    if backups > 0 {
        reasons.push(reason(
            ReasonCode::BackupIgnored,
            prose::backups_ignored(backups),
            None,
        ));
    }
    let skipped = candidates
        .iter()
        .filter(|c| c.status == Status::Skipped)
        .count();
    if skipped > 0 {
        reasons.push(reason(
            ReasonCode::Skipped,
            prose::entries_skipped(skipped),
            None,
        ));
    }
    if unreadable > 0 {
        reasons.push(reason(
            ReasonCode::TreeIncomplete,
            prose::tree_incomplete(unreadable),
            None,
        ));
    }

    // Each branch names the codes of the reasons that decide it, first found first.
    let (verdict, deciding): (Verdict, &[ReasonCode]) = if !vulnerable.is_empty() {
        (Verdict::Vulnerable, &[ReasonCode::LiveVulnerable])
    } else if ambiguous || !unjudged.is_empty() {
        (
            Verdict::Inconclusive,
            &[
                ReasonCode::LiveUnjudged,
                ReasonCode::VersionResourcesDisagree,
            ],
        )
    } else if !patched.is_empty() {
        (Verdict::Patched, &[ReasonCode::LivePatched])
    } else if unreadable > 0 {
        (Verdict::Inconclusive, &[ReasonCode::TreeIncomplete])
    } else {
        reasons.push(reason(ReasonCode::NotFound, prose::not_found(files), None));
        (Verdict::NotInstalled, &[ReasonCode::NotFound])
    };
    let decisive = reasons.iter().find(|r| deciding.contains(&r.code)).cloned();
    (verdict, reasons, decisive)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXED: FileVersion = FileVersion::new(4, 1, 0, 3934);
    const OLD: FileVersion = FileVersion::new(4, 1, 0, 3917);
    const NEWER: FileVersion = FileVersion::new(4, 1, 0, 3936);

    fn c(status: Status, live: bool, version: Option<FileVersion>) -> CandidateFacts<'static> {
        CandidateFacts {
            path: "WINNT/system32/Windows Media/Server/Nscm.exe",
            status,
            live,
            kept_out: false,
            version,
            required: FIXED,
            error: None,
            readings: &[],
        }
    }

    #[test]
    fn status_against_the_fixed_version() {
        assert_eq!(status_for(Some(OLD), FIXED), Status::Vulnerable);
        assert_eq!(
            status_for(Some(FileVersion::new(4, 1, 0, 3933)), FIXED),
            Status::Vulnerable
        );
        assert_eq!(status_for(Some(FIXED), FIXED), Status::Patched);
        assert_eq!(status_for(Some(NEWER), FIXED), Status::Patched);
        assert_eq!(
            status_for(Some(FileVersion::new(9, 0, 0, 0)), FIXED),
            Status::Patched
        );
        assert_eq!(
            status_for(Some(FileVersion::new(3, 9, 9999, 9999)), FIXED),
            Status::Vulnerable
        );
        assert_eq!(status_for(None, FIXED), Status::UnknownVersion);
    }

    #[test]
    fn the_numeric_version_is_the_authority() {
        let e = effective_version(Some(OLD), &["4.1.0.3934"]);
        assert_eq!(e.version, Some(OLD));
        assert_eq!(e.source, Some(VersionSource::Fixed));
        assert!(e.notes[0].contains("disagrees"), "{:?}", e.notes);

        let e = effective_version(Some(FIXED), &["4, 1, 0, 3934", "4.1.0.3934 (srv.0401)"]);
        assert_eq!(e.version, Some(FIXED));
        assert!(e.notes.is_empty(), "{:?}", e.notes);

        let e = effective_version(Some(FIXED), &["build 12"]);
        assert!(e.notes[0].contains("not a version number"));
    }

    #[test]
    fn the_string_is_only_a_fallback() {
        let e = effective_version(None, &["4.1.00.3934 (srv_wms.040115-1200)"]);
        assert_eq!(e.version, Some(FIXED));
        assert_eq!(e.source, Some(VersionSource::String));
        assert!(e.notes[0].contains("no numeric"));

        let e = effective_version(None, &["junk", "4.1.0.3917"]);
        assert_eq!(e.version, Some(OLD));

        let e = effective_version(None, &["4.1.0.3934", "4.1.0.3917"]);
        assert_eq!(e.version, Some(FIXED));
        assert!(e.notes.iter().any(|n| n.contains("disagree")));

        let e = effective_version(None, &[]);
        assert_eq!(e.version, None);
        assert_eq!(e.source, None);
        let e = effective_version(None, &["n/a"]);
        assert_eq!(e.version, None);
    }

    #[test]
    fn size_is_a_note_never_a_verdict() {
        assert!(size_note(Status::Patched, 222_384, Some(222_384)).is_none());
        assert!(size_note(Status::Patched, 1000, Some(222_384))
            .unwrap()
            .contains("222384"));
        assert!(size_note(Status::Vulnerable, 1000, Some(222_384)).is_none());
        assert!(size_note(Status::Patched, 1000, None).is_none());
    }

    #[test]
    fn verdict_table() {
        use Status::*;
        use Verdict as V;
        let cases: Vec<(Vec<CandidateFacts>, usize, Verdict)> = vec![
            (vec![], 0, V::NotInstalled),
            (vec![c(Vulnerable, true, Some(OLD))], 0, V::Vulnerable),
            (vec![c(Patched, true, Some(FIXED))], 0, V::Patched),
            // A vulnerable live copy wins over a patched one.
            (
                vec![
                    c(Patched, true, Some(FIXED)),
                    c(Vulnerable, true, Some(OLD)),
                ],
                0,
                V::Vulnerable,
            ),
            // Backup copies never decide: old files in $NTUninstall$ beside a patched live copy.
            (
                vec![
                    c(Patched, true, Some(FIXED)),
                    c(Vulnerable, false, Some(OLD)),
                ],
                0,
                V::Patched,
            ),
            (vec![c(Vulnerable, false, Some(OLD))], 0, V::NotInstalled),
            (vec![c(Error, false, None)], 0, V::NotInstalled),
            // Unjudged live candidates.
            (vec![c(Error, true, None)], 0, V::Inconclusive),
            (vec![c(UnknownVersion, true, None)], 0, V::Inconclusive),
            // A live copy that could not be judged keeps the rule from patched: Windows could
            // run it (verdict integrity round 3, case 2).
            (
                vec![c(Patched, true, Some(FIXED)), c(Error, true, None)],
                0,
                V::Inconclusive,
            ),
            (
                vec![c(Patched, true, Some(FIXED)), c(UnknownVersion, true, None)],
                0,
                V::Inconclusive,
            ),
            // A backup copy that could not be judged is not Windows' copy.
            (
                vec![c(Patched, true, Some(FIXED)), c(Error, false, None)],
                0,
                V::Patched,
            ),
            (
                vec![c(Vulnerable, true, Some(OLD)), c(Error, true, None)],
                0,
                V::Vulnerable,
            ),
            // Skipped entries are explained, never counted.
            (vec![c(Skipped, true, None)], 0, V::NotInstalled),
            // Part of the tree unreadable: not_installed would be a lie.
            (vec![], 1, V::Inconclusive),
            (vec![c(Patched, true, Some(FIXED))], 3, V::Patched),
            (vec![c(Vulnerable, true, Some(OLD))], 3, V::Vulnerable),
        ];
        for (i, (cands, unreadable, want)) in cases.into_iter().enumerate() {
            let (got, reasons, decisive) = rule_verdict("Nscm.exe, Nspmon.exe", &cands, unreadable);
            assert_eq!(got, want, "case {i}");
            assert!(!reasons.is_empty(), "case {i} has no reason");
            // The decisive reason is one of the reasons, and one that gives this verdict.
            let d = decisive.unwrap_or_else(|| panic!("case {i} has no decisive reason"));
            assert!(reasons.contains(&d), "case {i}");
            let fits = match got {
                V::Vulnerable => d.code == ReasonCode::LiveVulnerable,
                V::Patched => d.code == ReasonCode::LivePatched,
                V::NotInstalled => d.code == ReasonCode::NotFound,
                V::Inconclusive => matches!(
                    d.code,
                    ReasonCode::LiveUnjudged
                        | ReasonCode::VersionResourcesDisagree
                        | ReasonCode::TreeIncomplete
                ),
                V::NotApplicable => false,
            };
            assert!(fits, "case {i}: {got:?} decided by {}", d.code);
        }
    }

    #[test]
    fn reasons_name_the_evidence() {
        let cands = [
            c(Status::Vulnerable, true, Some(OLD)),
            c(Status::Vulnerable, false, Some(OLD)),
        ];
        let (_, reasons, _) = rule_verdict("Nscm.exe", &cands, 0);
        assert_eq!(reasons[0].code.as_str(), "live_vulnerable");
        assert!(reasons[0].message.contains("4.1.0.3917"));
        assert!(reasons[0].message.contains("4.1.0.3934"));
        assert_eq!(reasons[0].path.as_deref(), Some(cands[0].path));
        assert!(reasons.iter().any(|r| r.code.as_str() == "backup_ignored"));
    }

    #[test]
    fn combining_rules_keeps_the_most_urgent() {
        use Verdict::*;
        assert_eq!(combine([Patched, Vulnerable, NotInstalled]), Vulnerable);
        assert_eq!(combine([Patched, Inconclusive]), Inconclusive);
        assert_eq!(combine([NotInstalled, Patched]), Patched);
        assert_eq!(combine([NotInstalled]), NotInstalled);
        assert_eq!(combine([NotApplicable, NotInstalled]), NotInstalled);
        assert_eq!(combine([NotApplicable]), NotApplicable);
        assert_eq!(combine([]), NotInstalled);
    }
}
