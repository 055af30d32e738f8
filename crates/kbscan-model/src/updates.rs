//! The update audit (`kbscan updates`): every update record of the SOFTWARE hive with the
//! files it lists, each compared with the live file under the root — an offline Qfecheck.
//! Plain data (texts raw, printers escape them; `path` an escaped name): the audit is `kbscan_core::updates`, the printers are `kbscan-output`'s.

use serde::Serialize;

use crate::examination::Examination;
use crate::ToolInfo;

/// Most update records audited per system; more are counted in a notice, not read.
pub const MAX_RECORDS: usize = 4096;
/// Most listed files audited per system; more are counted in a notice, not read.
pub const MAX_FILES: usize = 16384;

/// What the live file says about one file an update record lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// The live file has the version the record names.
    Current,
    /// The live file is older than the record says: the record claims a version the file
    /// does not have.
    Older,
    /// The live file is newer than the record says (a later update replaced it).
    Newer,
    /// No file at the recorded place.
    Missing,
    /// Not compared: no version recorded or readable, a path that cannot be placed under the
    /// root, a value of another type… (`reason` says which).
    Unjudged,
}

impl FileStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Current => "current",
            FileStatus::Older => "older",
            FileStatus::Newer => "newer",
            FileStatus::Missing => "missing",
            FileStatus::Unjudged => "unjudged",
        }
    }
}

/// One update record as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateStatus {
    /// Every listed file is live at the recorded version.
    Consistent,
    /// Every listed file is live at the recorded version or a later one, at least one later.
    Replaced,
    /// At least one listed file is older than the record says.
    Contradicted,
    /// At least one listed file is not there (and none is older, none unjudged).
    FileMissing,
    /// At least one listed file could not be compared (and none is older).
    Unjudged,
    /// The record lists no file: nothing to compare.
    NoFileList,
}

impl UpdateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateStatus::Consistent => "consistent",
            UpdateStatus::Replaced => "replaced",
            UpdateStatus::Contradicted => "contradicted",
            UpdateStatus::FileMissing => "file_missing",
            UpdateStatus::Unjudged => "unjudged",
            UpdateStatus::NoFileList => "no_file_list",
        }
    }

    /// The status of a record listing files of these statuses: an older file decides, then
    /// a file not compared, then a missing one; `newer` only when all others are current.
    pub fn of(files: &[FileStatus]) -> Self {
        let has = |s| files.contains(&s);
        if files.is_empty() {
            UpdateStatus::NoFileList
        } else if has(FileStatus::Older) {
            UpdateStatus::Contradicted
        } else if has(FileStatus::Unjudged) {
            UpdateStatus::Unjudged
        } else if has(FileStatus::Missing) {
            UpdateStatus::FileMissing
        } else if has(FileStatus::Newer) {
            UpdateStatus::Replaced
        } else {
            UpdateStatus::Consistent
        }
    }
}

/// One file an update record lists, and the live file it was compared with.
#[derive(Debug, Clone, Serialize)]
pub struct AuditedFile {
    /// The numbered subkey of the record's file list (`0`, `1`…).
    pub entry: String,
    /// The file name as recorded.
    pub name: Option<String>,
    /// The folder as recorded (`%SystemRoot%\system32`).
    pub location: Option<String>,
    /// The version as recorded (text; unparsable text is kept and the file unjudged).
    pub recorded_version: Option<String>,
    /// The live file under the root, as the file system spells it (`/`-separated).
    #[serde(serialize_with = "crate::escape::name_opt")]
    pub path: Option<String>,
    /// The live file's version (`VS_FIXEDFILEINFO`), when read.
    pub live_version: Option<String>,
    pub status: FileStatus,
    /// For `newer`: the update record that lists the live version for this file.
    pub newer_by: Option<String>,
    /// Why the file is `missing` or `unjudged`, or what else was noticed.
    pub reason: Option<String>,
    /// A rename waiting for the next boot that replaces or removes this file
    /// (`PendingFileRenameOperations`): until that boot the live file is the one that runs,
    /// so the status stays the live file's; this says what comes after the reboot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_reboot: Option<PendingReplacement>,
}

/// What a pending rename does to an audited file at the next boot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingReplacement {
    /// The pair's position in `PendingFileRenameOperations`, from 1.
    pub pair: usize,
    /// The file is moved away or deleted (it is the operation's source), not replaced.
    pub removes: bool,
    /// The staged file that replaces it, and its version when read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staged: Option<crate::system::StagedFile>,
}

impl PendingReplacement {
    /// One line for the printers: `update_pending_reboot: …`.
    pub fn describe(&self) -> String {
        if self.removes {
            return format!(
                "update_pending_reboot: pending rename {} moves or deletes this file at the next boot",
                self.pair
            );
        }
        let staged = match &self.staged {
            Some(s) => match (&s.version, &s.error) {
                (Some(v), _) => format!("{} (version {v})", s.path),
                (None, Some(e)) => format!("{} (no version: {e})", s.path),
                (None, None) => s.path.clone(),
            },
            None => "a staged file (not read)".to_owned(),
        };
        format!(
            "update_pending_reboot: pending rename {} replaces this file with {staged} at the next boot",
            self.pair
        )
    }
}

/// One update record (`Microsoft\Updates\<product>[\<level>]\<update>`, or a `HotFix`
/// record that lists files) and its files.
#[derive(Debug, Clone, Serialize)]
pub struct AuditedUpdate {
    /// The key below SOFTWARE, as the hive spells it.
    pub key: String,
    /// The update's name: the key's last component (`KB832359`, `KB952068_WM41`).
    pub update: String,
    /// The product key (`Windows Media Services 4.1`); `HotFix` for a HotFix record.
    pub product: String,
    /// The level key between product and update (`SP0`, `SP5`), when there is one.
    pub level: Option<String>,
    /// The record's `Description` value, when it is a string.
    pub description: Option<String>,
    /// The record's `InstalledDate` value as recorded (local text, not interpreted).
    pub installed_date: Option<String>,
    pub status: UpdateStatus,
    pub files: Vec<AuditedFile>,
}

/// The counts of one system's audit (or of all of them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AuditCounts {
    pub recorded: usize,
    pub consistent: usize,
    pub replaced: usize,
    pub contradicted: usize,
    pub file_missing: usize,
    pub unjudged: usize,
    pub no_file_list: usize,
}

impl AuditCounts {
    pub fn of(updates: &[AuditedUpdate]) -> Self {
        let mut c = AuditCounts {
            recorded: updates.len(),
            ..Default::default()
        };
        for u in updates {
            c.add(u.status);
        }
        c
    }

    fn add(&mut self, s: UpdateStatus) {
        let n = match s {
            UpdateStatus::Consistent => &mut self.consistent,
            UpdateStatus::Replaced => &mut self.replaced,
            UpdateStatus::Contradicted => &mut self.contradicted,
            UpdateStatus::FileMissing => &mut self.file_missing,
            UpdateStatus::Unjudged => &mut self.unjudged,
            UpdateStatus::NoFileList => &mut self.no_file_list,
        };
        *n += 1;
    }

    pub fn plus(self, o: Self) -> Self {
        Self {
            recorded: self.recorded + o.recorded,
            consistent: self.consistent + o.consistent,
            replaced: self.replaced + o.replaced,
            contradicted: self.contradicted + o.contradicted,
            file_missing: self.file_missing + o.file_missing,
            unjudged: self.unjudged + o.unjudged,
            no_file_list: self.no_file_list + o.no_file_list,
        }
    }

    /// "142 updates recorded, 139 consistent, 2 contradicted by older files, 1 file missing":
    /// the consistent count always, the others when not zero.
    pub fn sentence(&self) -> String {
        let plural = if self.recorded == 1 { "" } else { "s" };
        let mut parts = vec![
            format!("{} update{plural} recorded", self.recorded),
            format!("{} consistent", self.consistent),
        ];
        for (n, what) in [
            (self.replaced, "replaced by later files"),
            (self.contradicted, "contradicted by older files"),
            (self.file_missing, "file missing"),
            (self.unjudged, "unjudged"),
            (self.no_file_list, "without a file list"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        parts.join(", ")
    }
}

/// One system's audit.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SystemAudit {
    /// False when no update record could be read (no SOFTWARE hive, an unreadable one, a
    /// root that could not be read): nothing was compared, and the audit cannot say clean.
    pub audited: bool,
    /// True when records or files beyond the bounds were left out (counted in `notes`).
    pub truncated: bool,
    pub updates: Vec<AuditedUpdate>,
    pub counts: AuditCounts,
    /// Records or files beyond the bounds, forged paths, values of another type…
    pub notes: Vec<String>,
}

impl SystemAudit {
    /// True when a listed file is older than its record says.
    pub fn contradicted(&self) -> bool {
        self.counts.contradicted > 0
    }
    /// True when something could not be compared (a file unjudged, or no audit at all).
    pub fn incomplete(&self) -> bool {
        !self.audited || self.truncated || self.counts.unjudged > 0
    }
}

/// One root's audit as `kbscan updates` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct AuditedRoot {
    #[serde(serialize_with = "crate::escape::name")]
    pub root: String,
    /// The Windows folder whose hives were read.
    #[serde(serialize_with = "crate::escape::name_opt")]
    pub windir: Option<String>,
    /// Errors reading the root itself.
    pub errors: Vec<String>,
    pub audit: SystemAudit,
}

/// `kbscan updates`' report.
#[derive(Debug, Clone, Serialize)]
pub struct UpdatesReport {
    pub tool: ToolInfo,
    pub examination: Examination,
    pub roots: Vec<AuditedRoot>,
    pub counts: AuditCounts,
    pub exit_code: i32,
}

impl UpdatesReport {
    /// The exit code: 1 when a record is contradicted by an older file, else 2 when anything
    /// was not compared, else 0.
    pub fn exit_code_of(roots: &[AuditedRoot]) -> i32 {
        if roots.iter().any(|r| r.audit.contradicted()) {
            crate::exit::VULNERABLE
        } else if roots
            .iter()
            .any(|r| r.audit.incomplete() || !r.errors.is_empty())
        {
            crate::exit::INCOMPLETE
        } else {
            crate::exit::CLEAN
        }
    }

    /// The report of these roots, its counts and exit code computed.
    pub fn new(tool: ToolInfo, examination: Examination, roots: Vec<AuditedRoot>) -> Self {
        let counts = roots
            .iter()
            .fold(AuditCounts::default(), |a, r| a.plus(r.audit.counts));
        let exit_code = Self::exit_code_of(&roots);
        Self {
            tool,
            examination,
            roots,
            counts,
            exit_code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_file_decides_a_record() {
        use FileStatus::*;
        assert_eq!(UpdateStatus::of(&[]), UpdateStatus::NoFileList);
        assert_eq!(UpdateStatus::of(&[Current]), UpdateStatus::Consistent);
        assert_eq!(UpdateStatus::of(&[Current, Newer]), UpdateStatus::Replaced);
        assert_eq!(
            UpdateStatus::of(&[Newer, Missing]),
            UpdateStatus::FileMissing
        );
        assert_eq!(
            UpdateStatus::of(&[Missing, Unjudged]),
            UpdateStatus::Unjudged
        );
        assert_eq!(
            UpdateStatus::of(&[Unjudged, Older, Current]),
            UpdateStatus::Contradicted
        );
    }

    #[test]
    fn the_sentence_names_what_is_not_zero() {
        let c = AuditCounts {
            recorded: 142,
            consistent: 139,
            contradicted: 2,
            file_missing: 1,
            ..Default::default()
        };
        assert_eq!(
            c.sentence(),
            "142 updates recorded, 139 consistent, 2 contradicted by older files, 1 file missing"
        );
    }
}
