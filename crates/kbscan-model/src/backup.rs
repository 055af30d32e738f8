//! A backup file read in place (NTBackup `.bkf`): each data set is a point in time, its
//! volumes are roots (`backup.bkf#set1`), and each rule gets one line across the sets
//! ("vulnerable in sets 1–2 …, patched from set 3 …"). Plain data, filled in by the scan
//! driver, reported in `backups[]`.

use serde::Serialize;

use crate::time::Timestamp;
use crate::verdict::Verdict;

/// `backups[]`: one backup file.
#[derive(Debug, Clone, Serialize)]
pub struct BackupReport {
    /// The file as given on the command line.
    #[serde(serialize_with = "crate::escape::name")]
    pub path: String,
    /// `mtf` (Microsoft Tape Format, NTBackup).
    pub format: &'static str,
    pub size: Option<u64>,
    pub sets: Vec<BackupSet>,
    /// One line per rule across the sets, in set order.
    pub rules: Vec<RuleAcrossSets>,
    /// The most urgent verdict of the sets' roots.
    pub verdict: Verdict,
    /// What could not be read outside any set (damaged blocks, data past the end…).
    pub notices: Vec<String>,
    /// Why the file could not be read at all.
    pub error: Option<String>,
}

/// `roots[].backup`: where a root read from a backup comes from.
#[derive(Debug, Clone, Serialize)]
pub struct BackupOrigin {
    /// The backup file as given.
    #[serde(serialize_with = "crate::escape::name")]
    pub path: String,
    /// The set's place in the file (1 for the first).
    pub set: u16,
    pub written: Option<Timestamp>,
}

/// One data set: who wrote it, when, what it holds, and its verdict.
#[derive(Debug, Clone, Serialize)]
pub struct BackupSet {
    /// The set's number in the file (`SSET` Data Set Number).
    pub number: u16,
    /// As recorded (escaped).
    #[serde(serialize_with = "crate::escape::name_opt")]
    pub name: Option<String>,
    #[serde(serialize_with = "crate::escape::name_opt")]
    pub description: Option<String>,
    #[serde(serialize_with = "crate::escape::name_opt")]
    pub user: Option<String>,
    /// When the set was written: the latest moment its state can describe.
    pub written: Option<Timestamp>,
    /// What the set's times mean (local times of an unknown zone when it says so; the note
    /// is among `notices`).
    #[serde(skip)]
    pub time_basis: crate::time::TimeBasis,
    /// `normal`, `copy`, `differential`, `incremental`, `daily`, as the set records it.
    pub operation: Option<&'static str>,
    /// The volumes backed up, as each `VOLB` records them; each a root below.
    pub volumes: Vec<BackupVolume>,
    /// The roots of this set (also in `roots[]`).
    #[serde(serialize_with = "crate::escape::names")]
    pub roots: Vec<String>,
    /// False when the set does not end with its `ESET` or data ran past the file: what is
    /// missing may hold the copy that decides, so no rule of the set is clean (nor of an
    /// incremental, differential or daily set, which holds only what changed).
    pub complete: bool,
    pub verdict: Verdict,
    /// Each rule's verdict in this set (the most urgent of its roots').
    pub rule_verdicts: Vec<SetRuleVerdict>,
    pub notices: Vec<String>,
}

/// One volume of a set as its `VOLB` records it (escaped).
#[derive(Debug, Clone, Serialize)]
pub struct BackupVolume {
    /// `C:`, or a UNC name.
    #[serde(serialize_with = "crate::escape::name")]
    pub device: String,
    /// The volume's label.
    #[serde(serialize_with = "crate::escape::name_opt")]
    pub volume: Option<String>,
    /// The machine it was backed up from.
    #[serde(serialize_with = "crate::escape::name_opt")]
    pub machine: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SetRuleVerdict {
    pub rule: String,
    pub verdict: Verdict,
}

/// One rule across the sets of a file, oldest set first.
#[derive(Debug, Clone, Serialize)]
pub struct RuleAcrossSets {
    pub rule: String,
    /// `vulnerable in sets 1–2 (2004-01-10, 2004-02-07), patched from set 3 (2004-03-20)`.
    pub text: String,
    /// Runs of consecutive sets with one verdict.
    pub runs: Vec<SetRun>,
}

/// Consecutive sets (in the file's order) with the same verdict of one rule.
#[derive(Debug, Clone, Serialize)]
pub struct SetRun {
    pub verdict: Verdict,
    pub first_set: u16,
    pub last_set: u16,
    /// The sets' write dates, in order.
    pub written: Vec<Option<Timestamp>>,
}

impl RuleAcrossSets {
    /// The runs of `per_set` (set number, write date, verdict), in the given order, and the
    /// line that says them.
    pub fn of(rule: &str, per_set: &[(u16, Option<Timestamp>, Verdict)]) -> Self {
        let mut runs: Vec<SetRun> = Vec::new();
        for &(n, written, verdict) in per_set {
            match runs.last_mut() {
                Some(r) if r.verdict == verdict => {
                    r.last_set = n;
                    r.written.push(written);
                }
                _ => runs.push(SetRun {
                    verdict,
                    first_set: n,
                    last_set: n,
                    written: vec![written],
                }),
            }
        }
        let dates = |r: &SetRun| {
            r.written
                .iter()
                .map(|w| w.map_or_else(|| "date unknown".to_owned(), |t| t.date_text()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let last = runs.len().saturating_sub(1);
        let text = runs
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let sets = if r.first_set == r.last_set {
                    format!("set {}", r.first_set)
                } else {
                    format!("sets {}–{}", r.first_set, r.last_set)
                };
                // The newest run, after an older one: "from" that set on.
                if i == last && i > 0 {
                    format!(
                        "{} from set {} ({})",
                        r.verdict.as_str(),
                        r.first_set,
                        dates(r)
                    )
                } else {
                    format!("{} in {sets} ({})", r.verdict.as_str(), dates(r))
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        RuleAcrossSets {
            rule: rule.to_owned(),
            text,
            runs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_read_as_a_history() {
        let d = |s: &str| Timestamp::parse(&format!("{s}T12:00:00Z"));
        let line = RuleAcrossSets::of(
            "MS04-008",
            &[
                (1, d("2004-01-10"), Verdict::Vulnerable),
                (2, d("2004-02-07"), Verdict::Vulnerable),
                (3, d("2004-03-20"), Verdict::Patched),
            ],
        );
        assert_eq!(
            line.text,
            "vulnerable in sets 1–2 (2004-01-10, 2004-02-07), patched from set 3 (2004-03-20)"
        );
        assert_eq!(line.runs.len(), 2);
        let one = RuleAcrossSets::of("X", &[(4, None, Verdict::Inconclusive)]);
        assert_eq!(one.text, "inconclusive in set 4 (date unknown)");
        // A later regression is a run of its own, not hidden by the earlier fix.
        let back = RuleAcrossSets::of(
            "X",
            &[
                (1, d("2004-01-10"), Verdict::Patched),
                (2, d("2004-02-07"), Verdict::Vulnerable),
            ],
        );
        assert_eq!(
            back.text,
            "patched in set 1 (2004-01-10), vulnerable from set 2 (2004-02-07)"
        );
    }
}
