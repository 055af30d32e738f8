//! The words of a judgement: a file's status, a system's verdict, the reasons behind it and
//! the kinds of error. Each is an enum with one stable string form (the JSON and CSV names),
//! so the list in docs/judgement.md has one source.

use serde::Serialize;

/// What one candidate file means for one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Version below the fixed version.
    Vulnerable,
    /// Version at or above the fixed version.
    Patched,
    /// A PE whose version could not be determined, or that the rule cannot judge: a version
    /// outside the file's `product_line`, or below the fixed version of the rule it is
    /// `judged_by` when it has none of its own.
    UnknownVersion,
    /// Could not be read as a PE at all (I/O, not a PE, too large…).
    Error,
    /// Named like a target but not a regular file (directory, FIFO, link…): never opened.
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Vulnerable => "vulnerable",
            Status::Patched => "patched",
            Status::UnknownVersion => "unknown_version",
            Status::Error => "error",
            Status::Skipped => "skipped",
        }
    }
    /// A candidate that was opened but not judged.
    pub fn is_unjudged(self) -> bool {
        matches!(self, Status::UnknownVersion | Status::Error)
    }
}

/// What the copies under one root mean for the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Vulnerable,
    Inconclusive,
    Patched,
    NotInstalled,
    /// The advisory does not cover this Windows (from the registry), whatever the files say.
    NotApplicable,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Vulnerable => "vulnerable",
            Verdict::Patched => "patched",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotInstalled => "not_installed",
            Verdict::NotApplicable => "not_applicable",
        }
    }
}

/// Where the version used for the judgement came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionSource {
    /// `VS_FIXEDFILEINFO.dwFileVersion`: the authority.
    Fixed,
    /// The string table's `FileVersion`, used only when there is no fixed info.
    String,
}

impl VersionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionSource::Fixed => "fixed",
            VersionSource::String => "string",
        }
    }
}

/// Declares an enum whose variants each have one stable snake_case name, with `as_str`,
/// `ALL` (for the documentation) and serde serialization as that name.
macro_rules! coded {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $text:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($(#[$vm])* $var,)* }
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var,)*];
            /// The stable name used in JSON, CSV and the documentation.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $text,)* }
            }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

coded! {
    /// Why a root or a rule got its verdict.
    ReasonCode {
        /// A live copy is below the fixed version.
        LiveVulnerable = "live_vulnerable",
        /// A live copy is at or above the fixed version.
        LivePatched = "live_patched",
        /// A live copy could not be judged.
        LiveUnjudged = "live_unjudged",
        /// Copies in backup or cache folders were reported, not counted.
        BackupIgnored = "backup_ignored",
        /// Entries named like a target that are not regular files.
        Skipped = "skipped",
        /// Part of the tree could not be read.
        TreeIncomplete = "tree_incomplete",
        /// No live copy was found.
        NotFound = "not_found",
        /// The root itself could not be scanned.
        RootUnreadable = "root_unreadable",
        /// `--verify-image`: the image does not match the hash or checksum its container
        /// stores, so nothing read from it is trusted.
        ImageHashMismatch = "image_hash_mismatch",
        /// A backup set that does not end as a whole set does (no `ESET`, aborted, damaged,
        /// continued on another medium): what is missing may hold the copy that decides, so
        /// no rule of it is clean.
        BackupSetIncomplete = "backup_set_incomplete",
        /// A link or reparse point on a rule's install path (a folder of `install_dir`, or a
        /// candidate itself) was not walked (an NTFS junction or symbolic link): what it hides
        /// was not seen.
        ReparsePointNotWalked = "reparse_point_not_walked",
        /// A service starts one of several live copies; every one of them counts.
        ServiceImageStarted = "service_image_started",
        /// A service's ImagePath names a file not found under the root.
        ServiceImageMissing = "service_image_missing",
        /// The service is disabled (Start = 4).
        ServiceDisabled = "service_disabled",
        /// The registry says this Windows is not one the advisory covers.
        OsNotAffected = "os_not_affected",
        /// The product type is not one the advisory lists (a note).
        ProductTypeNotListed = "product_type_not_listed",
        /// The service pack is not one the advisory lists (a note).
        ServicePackNotListed = "service_pack_not_listed",
        /// The registry records the update and the live file agrees.
        RegistryCorroborates = "registry_corroborates",
        /// The registry records the update but the live file is older.
        RegistryClaimsUpdate = "registry_claims_update",
        /// No registry record of the update.
        NoRegistryRecord = "no_registry_record",
        /// The registry records the update; the live file could not be judged.
        RegistryClaimsUpdateUnverified = "registry_claims_update_unverified",
        /// The registry records the update; no live copy was found.
        RegistryRecordWithoutFiles = "registry_record_without_files",
        /// No readable SOFTWARE hive.
        RegistryUnavailable = "registry_unavailable",
        /// The update's uninstall folder exists.
        UninstallFolderPresent = "uninstall_folder_present",
        /// The registry records the update but the live file is below the fixed version, and the
        /// bulletin says a withdrawn release wrote the same records (`registry_same_as_withdrawn`):
        /// the withdrawn release, which did not fix the flaw, is the likely explanation.
        WithdrawnReleaseSuspected = "withdrawn_release_suspected",
        /// A live copy satisfies the rule because it is a build a later update shipped (from the
        /// lineage table); the message says whether the bulletins call that update a replacement.
        LaterUpdateIncludesFix = "later_update_includes_fix",
        /// A live copy holds several version resources Windows could read (id 1 in several
        /// languages: which one is read depends on the machine's language) and they do not say
        /// the same version: `vulnerable` if every one of them is vulnerable, else `inconclusive`.
        VersionResourcesDisagree = "version_resources_disagree",
        /// Live copies whose paths differ only in case (issue 10 case 2): Windows opens paths
        /// case-insensitively, so any of them could be the one that runs.
        CaseTwins = "case_twins",
        /// A live candidate name, or a folder on a rule's install path, is a link kbscan did not
        /// follow (issue 10 case 6): a live copy may be there unread.
        LiveCopyNotRead = "live_copy_not_read",
        /// A service of a rule starts a file under the root that kbscan did not judge as the
        /// rule's file (another name, or not walked): the copy Windows runs was not read, so
        /// the rule cannot be `patched` (issue 13).
        ServiceImageNotJudged = "service_image_not_judged",
        /// A service that runs a rule's file has an ImagePath kbscan could not resolve to a path
        /// under the root (issue 10 case 9): it marks no copy, and the copy it runs was not
        /// judged, so the rule cannot be `patched` (a note when the service is disabled).
        ServiceImageUnresolved = "service_image_unresolved",
        /// A registry value kbscan reads has a type other than the documented one: it is not
        /// used (issue 10 case 5).
        RegistryValueWrongType = "registry_value_wrong_type",
        /// CurrentVersion, CurrentBuildNumber, ProductName and ProductType name different
        /// Windows: applicability is unknown and the file evidence decides.
        OsIdentityConflict = "os_identity_conflict",
        /// The volume holds several Windows folders with hives: each is judged as its own
        /// system (`ROOT#WINNT`, `ROOT#WINDOWS`).
        MultipleWindowsInstallations = "multiple_windows_installations",
        /// Copies outside every Windows folder of a volume with several: judged on file
        /// evidence alone, no installation's registry applies to them.
        OutsideWindowsFolders = "outside_windows_folders",
        // issue 14: install times.
        /// A live file's `$STANDARD_INFORMATION` creation time is earlier than its `$FILE_NAME`
        /// creation time (NTFS): probably back-dated; its SI times are not used (also a note
        /// on the finding).
        TimestampsInconsistent = "timestamps_inconsistent",
        /// The install-time bounds cannot all hold; the message names the sources, which are
        /// trusted and why.
        InstallTimeConflict = "install_time_conflict",
        /// `--as-of`: the rule was vulnerable at the date.
        VulnerableAtDate = "vulnerable_at_date",
        /// `--as-of`: the rule was patched at the date.
        PatchedAtDate = "patched_at_date",
        /// `--as-of`: whether it was patched at the date cannot be told.
        UnknownAtDate = "unknown_at_date",
        /// `--as-of`: the rule's files are not installed, or the rule does not apply.
        NotAffectedAtDate = "not_affected_at_date",
        /// `--as-of`: the date is before the bulletin's publication; no fix existed. Left out
        /// of the root's state and exit code.
        NotYetPublished = "not_yet_published",
        /// `--as-of`: the date is before the fixed files were built (or the bulletin
        /// published, when no build date is sourced): never patched at that date.
        FixNotYetBuilt = "fix_not_yet_built",
        /// `--as-of`: the date is before the fixing release; only a withdrawn release that did
        /// not fix the flaw could have been installed.
        WithdrawnReleaseAtDate = "withdrawn_release_at_date",
        /// Install evidence dated inside a withdrawn release's window dates that release, not
        /// the fix; it is kept as context.
        WithdrawnReleaseDated = "withdrawn_release_dated",
        /// `--as-of`: the update log records an uninstall (ended with extended error code 0)
        /// after an earlier install, and the current install is later than the date.
        UninstalledAtDate = "uninstalled_at_date",
        /// `--as-of`: at the date an earlier install was in place that a recorded uninstall
        /// later removed, or an uninstall whose outcome the log does not give came before it.
        RemovedInstallAtDate = "removed_install_at_date",
        /// A pending file rename operation (SYSTEM `PendingFileRenameOperations`) replaces, moves
        /// or deletes a live copy at the next boot: the message names the live and the staged
        /// versions. The verdict is the live file's (it is what runs until that boot); under
        /// `--as-of`, the staged file never counts before a boot that has not happened.
        UpdatePendingReboot = "update_pending_reboot",
    }
}

coded! {
    /// Why one candidate file could not be judged.
    ErrorKind {
        /// Reading failed (including metadata).
        Io = "io",
        /// Too short to be a PE.
        TooShort = "too_short",
        /// Larger than `--max-size`: not read.
        TooLarge = "too_large",
        /// Not a PE file.
        NotPe = "not_pe",
        /// A PE whose headers are damaged.
        MalformedPe = "malformed_pe",
        /// A PE without a version resource.
        NoVersionResource = "no_version_resource",
        /// A version resource that cannot be read.
        CorruptVersionResource = "corrupt_version_resource",
        /// The file changed while it was read.
        Changed = "changed",
        /// A damaged file-system structure inside a disk image.
        Filesystem = "filesystem",
        /// NTFS-compressed data that is not decompressed.
        Compressed = "compressed",
        /// A feature not supported (encrypted data…).
        Unsupported = "unsupported",
        /// More `RT_VERSION` entries than kbscan reads in one file (a crafted resource directory).
        TooManyResources = "too_many_resources",
        /// The version resources Windows could read disagree, and not every reading is vulnerable.
        VersionResourcesDisagree = "version_resources_disagree",
    }
}

coded! {
    /// A finding's own comparison with the fixed version of its branch, apart from whether the
    /// copy counts for the verdict: a backup copy below the fixed version is `below_fixed`
    /// without making the system vulnerable.
    Comparison {
        /// Its version is below the fixed version (status `vulnerable`).
        BelowFixed = "below_fixed",
        /// Its version is at or above the fixed version (status `patched`).
        AtOrAbove = "at_or_above",
        /// Not compared: no version, a version the rule cannot judge, not read, not a file.
        Unjudged = "unjudged",
    }
}

coded! {
    /// Whether a finding counts for its rule's verdict.
    CountState {
        /// A live copy: it decides, or takes part in deciding, the rule's verdict.
        Counted = "counted",
        /// Reported, never counted: a copy in a backup or cache folder, or an entry that is
        /// not a regular file.
        NotCounted = "not_counted",
        /// The rule does not apply to this system (the registry says the advisory does not
        /// cover this Windows): the copy's comparison says nothing about the system.
        NotApplicable = "not_applicable",
    }
}

coded! {
    /// Why a finding does not count.
    CountWhy {
        /// In a hotfix or service pack uninstall backup (`$NTUninstall…$`,
        /// `$NTServicePackUninstall$`, `$hf_mig$`).
        BackupCopy = "backup_copy",
        /// In a folder Windows keeps inactive copies in (file protection cache, installation
        /// or service pack sources, the update download cache).
        InactiveCopy = "inactive_copy",
        /// Named like a target but not a regular file, and not a link on a live path.
        NotAFile = "not_a_file",
        /// The registry says the advisory does not cover this Windows (`os_not_affected`).
        OsNotAffected = "os_not_affected",
    }
}

/// Whether a finding counts, and why not (JSON `counts`, `counts_why`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counting {
    #[serde(rename = "counts")]
    pub state: CountState,
    #[serde(rename = "counts_why")]
    pub why: Option<CountWhy>,
}

impl Default for Counting {
    fn default() -> Self {
        Self::COUNTED
    }
}

impl Counting {
    pub const COUNTED: Counting = Counting {
        state: CountState::Counted,
        why: None,
    };
    pub fn not_counted(why: CountWhy) -> Self {
        Self {
            state: CountState::NotCounted,
            why: Some(why),
        }
    }
    pub fn not_applicable() -> Self {
        Self {
            state: CountState::NotApplicable,
            why: Some(CountWhy::OsNotAffected),
        }
    }
    pub fn counted(self) -> bool {
        self.state == CountState::Counted
    }
    /// `counted`, `not counted: backup copy`, `not applicable: os not affected`.
    pub fn label(self) -> String {
        match self.why {
            Some(w) => format!(
                "{}: {}",
                self.state.as_str().replace('_', " "),
                w.as_str().replace('_', " ")
            ),
            None => self.state.as_str().replace('_', " "),
        }
    }
}

impl Comparison {
    /// The comparison a status states.
    pub fn of(status: Status) -> Self {
        match status {
            Status::Vulnerable => Comparison::BelowFixed,
            Status::Patched => Comparison::AtOrAbove,
            _ => Comparison::Unjudged,
        }
    }
}

impl ReasonCode {
    /// True for a reason that gives context (a note on the registry, backups reported, a
    /// service's start type…) rather than one that decides a verdict: summaries show a deciding
    /// reason first.
    pub fn is_context(self) -> bool {
        use ReasonCode::*;
        matches!(
            self,
            BackupIgnored
                | Skipped
                | ServiceDisabled
                | ServiceImageMissing
                | ProductTypeNotListed
                | ServicePackNotListed
                | RegistryCorroborates
                | NoRegistryRecord
                | RegistryUnavailable
                | UninstallFolderPresent
                | LaterUpdateIncludesFix
                | RegistryValueWrongType
                | MultipleWindowsInstallations
                | TimestampsInconsistent
                | InstallTimeConflict
                | ServiceImageStarted
                | WithdrawnReleaseDated
                | UpdatePendingReboot
        )
    }
}

/// One reason behind a verdict, as data: a stable code, a sentence, the path it is about, and
/// (in a root's list) the rule whose judgement gave it, so a reader never has to guess.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// The rule whose judgement produced the reason; `None` for a reason about the root as a
    /// whole (root unreadable, several Windows folders, an image that does not verify…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub code: ReasonCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::escape::name_opt")]
    pub path: Option<String>,
}

impl Reason {
    pub fn new(code: ReasonCode, message: String) -> Self {
        Self {
            rule: None,
            code,
            message,
            path: None,
        }
    }
    pub fn at(code: ReasonCode, message: String, path: &str) -> Self {
        Self {
            rule: None,
            code,
            message,
            path: Some(path.to_owned()),
        }
    }
    /// The reason as given by `rule`'s judgement.
    pub fn of_rule(mut self, rule: &str) -> Self {
        self.rule = Some(rule.to_owned());
        self
    }
    /// `MS04-008:` before the text when the reason belongs to a rule.
    pub fn rule_prefix(&self) -> String {
        self.rule
            .as_deref()
            .map(|r| format!("{r}: "))
            .unwrap_or_default()
    }
}

/// Combines verdicts (of several rules, or of a disk's volumes): the most urgent wins
/// (`vulnerable` > `inconclusive` > `patched` > `not_installed` > `not_applicable`).
pub fn combine(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
    verdicts.into_iter().min().unwrap_or(Verdict::NotInstalled)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reason table in docs/judgement.md and the error-kind table are generated by hand
    /// from these enums: each code must have its row.
    #[test]
    fn docs_list_every_reason_code_and_error_kind() {
        let doc = include_str!("../../../docs/judgement.md");
        for code in ReasonCode::ALL {
            assert!(
                doc.contains(&format!("| `{}` |", code.as_str())),
                "docs/judgement.md has no row for reason {code}"
            );
        }
        for kind in ErrorKind::ALL {
            assert!(
                doc.contains(&format!("| `{}` |", kind.as_str())),
                "docs/judgement.md has no row for error kind {kind}"
            );
        }
    }

    #[test]
    fn codes_serialize_as_their_names() {
        for code in ReasonCode::ALL {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
        let names: std::collections::HashSet<_> =
            ReasonCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), ReasonCode::ALL.len(), "duplicate reason names");
    }
}
