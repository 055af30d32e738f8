//! The model: what a scan found, independent of how it was read or how it is printed. The
//! bottom layer of the house: no I/O, no command line, no evidence reader (this crate depends
//! on serde and time alone). The printers (`kbscan-output`) depend on this crate alone; the
//! JSON shape is a public interface documented in `docs/output.md`.

pub mod backup;
pub mod case;
pub mod container;
pub mod described;
pub mod escape;
pub mod examination;
pub mod file;
pub mod finding;
pub mod installed;
pub mod lineage;
pub mod pe;
pub mod rule;
pub mod system;
pub mod time;
pub mod updates;
pub mod verdict;
pub mod version;

use serde::Serialize;

pub use container::{ChainParent, ContainerMeta, Verification};
pub use examination::Examination;
pub use file::{FileFacts, PeFacts, StringTable};
pub use finding::{Finding, Location, LocationClass, VersionReading};
pub use rule::Rule;
pub use system::SystemEvidence;
pub use verdict::{
    combine, Comparison, CountState, CountWhy, Counting, ErrorKind, Reason, ReasonCode, Status,
    Verdict, VersionSource,
};
pub use version::FileVersion;

#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    pub name: &'static str,
    pub version: &'static str,
}

impl ToolInfo {
    pub fn this() -> Self {
        Self {
            name: "kbscan",
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// A whole scan.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tool: ToolInfo,
    /// Who ran the examination, when, where, with which program and rules (issue 15).
    pub examination: Examination,
    pub rules: Vec<Rule>,
    pub roots: Vec<RootReport>,
    /// One per disk image given as a root: its volumes (each a root above) and its verdict.
    pub images: Vec<ImageReport>,
    /// One per backup file given as a root: its sets (their volumes are roots above), each
    /// set's verdict at its write date, and each rule across the sets. Absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backups: Vec<backup::BackupReport>,
    pub summary: Summary,
}

/// The partition table of a disk image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PartitionTable {
    Mbr,
    Gpt,
    /// No table: the image is one volume.
    None,
}

impl PartitionTable {
    pub fn as_str(self) -> &'static str {
        match self {
            PartitionTable::Mbr => "mbr",
            PartitionTable::Gpt => "gpt",
            PartitionTable::None => "none",
        }
    }
}

/// Where a root's files came from when it is a volume inside a disk image.
#[derive(Debug, Clone, Serialize)]
pub struct ImageSource {
    /// The image as given on the command line (the first segment of a split set).
    #[serde(serialize_with = "crate::escape::name")]
    pub path: String,
    pub partition_table: PartitionTable,
    /// `p1`, `p5`…: the partition index (MBR: 1–4 primary, 5 on logical; GPT: entry number),
    /// or `whole` when the image is one volume.
    pub volume: String,
    /// Byte offset of the volume in the image.
    pub offset: u64,
    /// Length of the volume in bytes (as the partition table says).
    pub length: u64,
    /// `ntfs`, `fat12`, `fat16`, `fat32`.
    pub filesystem: &'static str,
    /// MBR partition type (`0x07`) or GPT type GUID.
    pub partition_type: Option<String>,
}

/// A disk image: its format, partition table, volumes and the disk's verdict (the most
/// urgent of its volumes' verdicts).
#[derive(Debug, Clone, Serialize)]
pub struct ImageReport {
    #[serde(serialize_with = "crate::escape::name")]
    pub path: String,
    /// `raw`, `split_raw`, the container read (`e01`, `vhd`…), or a compressed copy recognised
    /// and refused (`gzip-compressed`…).
    pub format: String,
    /// Number of files (segments) the image is made of.
    pub segments: usize,
    pub size: Option<u64>,
    pub partition_table: Option<PartitionTable>,
    /// The `root` names of the volumes scanned (also in `roots[]`).
    #[serde(serialize_with = "crate::escape::names")]
    pub volumes: Vec<String>,
    pub verdict: Verdict,
    /// Partitions skipped, tables damaged, a truncated image…
    pub notices: Vec<String>,
    /// Why the image could not be scanned at all.
    pub error: Option<String>,
    /// `raw`, `split-raw`, `e01`, `smart`, `vhd`, `vhdx`, `vmdk`, `qcow2`; for a refused
    /// container `ex01`, `l01`, `luks`.
    pub container: &'static str,
    /// What the container records about itself (absent for raw images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_metadata: Option<ContainerMeta>,
    /// The outcome of `--verify-image` (absent without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
}

/// One scanned root (one system).
#[derive(Debug, Clone, Serialize)]
pub struct RootReport {
    /// The root as given on the command line.
    #[serde(serialize_with = "crate::escape::name")]
    pub root: String,
    pub verdict: Verdict,
    pub reasons: Vec<Reason>,
    /// The verdict of each rule, when several rules are loaded.
    pub rule_verdicts: Vec<RuleVerdict>,
    pub findings: Vec<Finding>,
    /// Paths that could not be read; the walk went on without them.
    pub errors: Vec<PathMessage>,
    /// Things worth knowing that are not errors (links not followed…).
    pub notices: Vec<PathMessage>,
    pub stats: WalkStats,
    /// What the registry and the Windows folder say about this system.
    pub system: SystemEvidence,
    /// For a volume inside a disk image: where it is (null for a folder).
    pub image: Option<ImageSource>,
    /// For one of several Windows installations on a volume (`ROOT#WINNT`): the root entry
    /// of the volume it is on (`ROOT`). Absent for every other root.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::escape::name_opt"
    )]
    pub parent_root: Option<String>,
    /// issue 14: the state at `--as-of DATE` (absent without the flag).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<installed::AsOf>,
    /// For a volume of a backup set: the file, the set and when it was written (the moment
    /// this root's verdict describes). Absent for every other root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<backup::BackupOrigin>,
}

/// Counts of one walk, for the report.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct WalkStats {
    pub entries: u64,
    pub candidates: u64,
    pub errors: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleVerdict {
    pub rule: String,
    pub kb: String,
    pub verdict: Verdict,
    // issue 13 (rules branch): the reasons of this rule alone (the root's `reasons` hold all).
    pub reasons: Vec<Reason>,
    /// The reason that set `verdict` (one of `reasons`), recorded by the judgement where the
    /// verdict is decided, so a summary never shows a reason that did not decide it.
    #[serde(rename = "decisive_reason", skip_serializing_if = "Option::is_none")]
    pub decisive: Option<Reason>,
}

impl RuleVerdict {
    /// Sets the verdict and the reason that decided it (kept in `reasons` too).
    pub fn decide(&mut self, verdict: Verdict, why: Reason) {
        self.verdict = verdict;
        self.reasons.push(why.clone());
        self.decisive = Some(why);
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PathMessage {
    /// Relative to the root, `/`-separated, escaped (empty for the root itself).
    #[serde(serialize_with = "crate::escape::name")]
    pub path: String,
    pub message: String,
}

/// Counts over the whole scan.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub roots: usize,
    pub verdicts: VerdictCounts,
    pub findings: StatusCounts,
    /// How often each reason code was given, over all roots.
    pub reasons: std::collections::BTreeMap<&'static str, usize>,
    pub errors: usize,
    pub exit_code: i32,
    /// `--as-of`: the roots' states at the date, the answer the exit code follows. Absent
    /// without `--as-of`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<AsOfCounts>,
}

/// `summary.as_of`: the date and how many roots were in each state at it.
#[derive(Debug, Clone, Serialize)]
pub struct AsOfCounts {
    pub date: time::Timestamp,
    pub vulnerable_at_date: usize,
    pub unknown_at_date: usize,
    pub patched_at_date: usize,
    pub not_affected_at_date: usize,
    pub not_yet_published: usize,
}

impl AsOfCounts {
    /// `as of DATE: 2 vulnerable at the date, …`.
    pub fn sentence(&self, roots: usize) -> String {
        format!(
            "as of {}: {} root(s): {} vulnerable at the date, {} unknown at the date, \
             {} patched at the date, {} not affected at the date, {} not yet published",
            self.date,
            roots,
            self.vulnerable_at_date,
            self.unknown_at_date,
            self.patched_at_date,
            self.not_affected_at_date,
            self.not_yet_published
        )
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct VerdictCounts {
    pub vulnerable: usize,
    pub patched: usize,
    pub inconclusive: usize,
    pub not_installed: usize,
    pub not_applicable: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct StatusCounts {
    /// Counted findings by status (a live copy; `vulnerable` is then a copy that decides); the
    /// findings that do not count are in `not_counted` and `not_applicable` alone.
    pub vulnerable: usize,
    pub patched: usize,
    pub unknown_version: usize,
    pub error: usize,
    pub skipped: usize,
    /// Copies reported but not counted (backup or cache folders, entries that are not files).
    pub not_counted: usize,
    /// Copies of a rule that does not apply to their system.
    pub not_applicable: usize,
    /// Of `not_counted` and `not_applicable`, the ones below the fixed version: old copies
    /// that do not alarm.
    pub below_fixed_not_counted: usize,
}

/// Exit codes, documented in `--help` and the README.
pub mod exit {
    /// No root vulnerable and every candidate judged.
    pub const CLEAN: i32 = 0;
    /// At least one root vulnerable (wins over errors).
    pub const VULNERABLE: i32 = 1;
    /// Usage error, a root that could not be scanned, or a candidate not judged.
    pub const INCOMPLETE: i32 = 2;
}

impl Summary {
    /// The counts in one sentence, as the table and the HTML report print them. With
    /// `--as-of` the states at the date lead, and today's verdicts follow as such.
    pub fn sentence(&self) -> String {
        match &self.as_of {
            Some(a) => format!(
                "{}; today: {}",
                a.sentence(self.roots),
                self.today_sentence()
            ),
            None => self.today_sentence(),
        }
    }

    /// The counts of today's verdicts and of the findings.
    fn today_sentence(&self) -> String {
        format!(
            "{} root(s): {} vulnerable, {} patched, {} inconclusive, {} not installed, \
             {} not applicable; \
             findings: {} vulnerable, {} patched, {} unknown version, {} error, {} skipped, \
             {} not counted, {} not applicable ({} of these below fixed); \
             {} path error(s); exit code {}",
            self.roots,
            self.verdicts.vulnerable,
            self.verdicts.patched,
            self.verdicts.inconclusive,
            self.verdicts.not_installed,
            self.verdicts.not_applicable,
            self.findings.vulnerable,
            self.findings.patched,
            self.findings.unknown_version,
            self.findings.error,
            self.findings.skipped,
            self.findings.not_counted,
            self.findings.not_applicable,
            self.findings.below_fixed_not_counted,
            self.errors,
            self.exit_code
        )
    }

    pub fn of(roots: &[RootReport]) -> Self {
        let mut s = Summary {
            roots: roots.len(),
            ..Default::default()
        };
        let (mut unjudged, mut unreadable) = (false, false);
        for r in roots {
            match r.verdict {
                Verdict::Vulnerable => s.verdicts.vulnerable += 1,
                Verdict::Patched => s.verdicts.patched += 1,
                Verdict::Inconclusive => s.verdicts.inconclusive += 1,
                Verdict::NotInstalled => s.verdicts.not_installed += 1,
                Verdict::NotApplicable => s.verdicts.not_applicable += 1,
            }
            for reason in &r.reasons {
                *s.reasons.entry(reason.code.as_str()).or_default() += 1;
            }
            s.errors += r.errors.len();
            for f in &r.findings {
                // The exit code's "every candidate file was judged" covers every copy, counted
                // or not: a file not read is not judged, whatever it would have counted for.
                unreadable |= f.status == Status::Error;
                unjudged |= matches!(f.status, Status::Error | Status::UnknownVersion);
                match f.counting.state {
                    CountState::Counted => {}
                    state => {
                        if state == CountState::NotCounted {
                            s.findings.not_counted += 1;
                        } else {
                            s.findings.not_applicable += 1;
                        }
                        if f.comparison == Comparison::BelowFixed {
                            s.findings.below_fixed_not_counted += 1;
                        }
                        continue;
                    }
                }
                match f.status {
                    Status::Vulnerable => s.findings.vulnerable += 1,
                    Status::Patched => s.findings.patched += 1,
                    Status::UnknownVersion => s.findings.unknown_version += 1,
                    Status::Error => s.findings.error += 1,
                    Status::Skipped => s.findings.skipped += 1,
                }
            }
        }
        let dated: Vec<&installed::AsOf> = roots.iter().filter_map(|r| r.as_of.as_ref()).collect();
        s.as_of = dated.first().map(|first| {
            let mut c = AsOfCounts {
                date: first.date,
                vulnerable_at_date: 0,
                unknown_at_date: 0,
                patched_at_date: 0,
                not_affected_at_date: 0,
                not_yet_published: 0,
            };
            for a in &dated {
                match a.state {
                    installed::AsOfState::VulnerableAtDate => c.vulnerable_at_date += 1,
                    installed::AsOfState::UnknownAtDate => c.unknown_at_date += 1,
                    installed::AsOfState::PatchedAtDate => c.patched_at_date += 1,
                    installed::AsOfState::NotAffectedAtDate => c.not_affected_at_date += 1,
                    installed::AsOfState::NotYetPublished => c.not_yet_published += 1,
                }
            }
            c
        });
        // issue 14: with --as-of, the state at that date decides: vulnerable then is 1,
        // none vulnerable but one unknown is 2.
        let as_of = |st: installed::AsOfState| {
            roots
                .iter()
                .any(|r| r.as_of.as_ref().is_some_and(|a| a.state == st))
        };
        let any_as_of = roots.iter().any(|r| r.as_of.is_some());
        s.exit_code = if any_as_of && as_of(installed::AsOfState::VulnerableAtDate) {
            exit::VULNERABLE
        } else if any_as_of && as_of(installed::AsOfState::UnknownAtDate) {
            exit::INCOMPLETE
        } else if any_as_of && s.errors == 0 && !unreadable {
            exit::CLEAN
        } else if s.verdicts.vulnerable > 0 {
            exit::VULNERABLE
        } else if s.errors > 0
            || unjudged
            // An inconclusive root (issue 10: readings kbscan cannot choose between, a live
            // copy not read) never exits 0: 0 means every candidate file was judged.
            || s.verdicts.inconclusive > 0
        {
            exit::INCOMPLETE
        } else {
            exit::CLEAN
        };
        s
    }
}
