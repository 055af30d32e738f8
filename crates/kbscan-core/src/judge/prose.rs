//! The judgement's words: every reason message, note, summary and conflict text the judgement
//! writes, as one function per message taking the facts it names. Kept apart so the logic
//! files read as decisions and the wording can be reviewed (and kept stable) in one place.
//!
//! Over 400 lines: one short function per message, well over a hundred of them.

use crate::model::finding::LineageMatch;
use crate::model::installed::{TimeEvidence, TimeField};
use crate::model::pe::VersionResource;
use crate::model::rule::Branch;
use crate::model::system::{ServiceFacts, WrongTypeValue};
use crate::model::time::Timestamp;
use crate::model::{FileVersion, Status, Verdict, VersionReading};

/// Unix nanoseconds as the report shows a time.
fn show_time(t: i128) -> String {
    Timestamp::from_unix_nanos(t).to_string()
}

/// Unix nanoseconds as a day, `YYYY-MM-DD`.
fn day(t: i128) -> String {
    Timestamp::from_unix_nanos(t).date_text()
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// A version, or nothing when there is none (the reasons print an empty string then).
fn version_or_empty(v: Option<FileVersion>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn version_or_none(v: Option<FileVersion>) -> String {
    v.map_or_else(|| "no version".to_owned(), |v| v.to_string())
}

// --- Which version a file has (mod.rs: effective_version, size_note) ---

pub fn string_disagrees_with_fixed(text: &str, fixed: FileVersion) -> String {
    format!(
        "string FileVersion {text:?} disagrees with the numeric file version {fixed}; the numeric version is authoritative"
    )
}

pub fn string_not_a_version_fixed_used(text: &str, fixed: FileVersion) -> String {
    format!(
        "string FileVersion {text:?} is not a version number; the numeric version {fixed} is used"
    )
}

pub fn version_from_string(v: FileVersion, text: &str) -> String {
    format!("no numeric VS_FIXEDFILEINFO; version {v} taken from the string FileVersion {text:?}")
}

pub fn string_tables_disagree(other: &str, text: &str) -> String {
    format!("string tables disagree: {other:?} differs from {text:?}")
}

pub fn no_version_at_all() -> String {
    "no numeric VS_FIXEDFILEINFO and no FileVersion string".to_owned()
}

pub fn no_fixed_and_string_not_a_version(text: &str) -> String {
    format!("no numeric VS_FIXEDFILEINFO, and FileVersion {text:?} is not a version number")
}

pub fn size_differs(size: u64, published: u64) -> String {
    format!(
        "size {size} bytes differs from the {published} bytes published for the English build (other languages and later builds differ)"
    )
}

// --- One rule's file verdict (mod.rs: rule_verdict) ---

pub fn live_vulnerable(path: &str, version: Option<FileVersion>, required: FileVersion) -> String {
    format!(
        "live copy {path} is {}, below the fixed version {required}",
        version_or_empty(version)
    )
}

pub fn live_patched(path: &str, version: Option<FileVersion>, required: FileVersion) -> String {
    format!(
        "live copy {path} is {}, at or above the fixed version {required}",
        version_or_empty(version)
    )
}

pub fn live_unjudged(path: &str, error: Option<&str>) -> String {
    format!(
        "live copy {path} could not be judged: {}",
        error.unwrap_or("version unknown")
    )
}

/// `status` is the copy's own: it says whether the disagreeing readings still agree in outcome.
pub fn live_readings_disagree<'a>(
    path: &str,
    readings: impl Iterator<Item = &'a VersionReading>,
    status: Status,
) -> String {
    let list: Vec<String> = readings
        .map(|r| format!("{} in language {}", version_or_none(r.version), r.language))
        .collect();
    let outcome = match status {
        Status::Vulnerable => "every one is vulnerable",
        Status::Patched => "every one is patched",
        _ => "not every one is vulnerable: not judged",
    };
    format!(
        "live copy {path} has version resources Windows could read that disagree ({}); which one Windows reads depends on the machine's language, and {outcome}",
        list.join(", ")
    )
}

pub fn backups_ignored(n: usize) -> String {
    format!(
        "{n} {} in backup or cache folders reported but not counted: not the running service",
        plural(n, "copy", "copies")
    )
}

pub fn entries_skipped(n: usize) -> String {
    format!(
        "{n} {} named like a target: not a regular file, not opened",
        plural(n, "entry", "entries")
    )
}

pub fn tree_incomplete(unreadable: usize) -> String {
    format!("{unreadable} folder(s) or file(s) could not be read; a copy may be hidden there")
}

pub fn not_found(files: &str) -> String {
    format!("no live copy of {files} found")
}

// --- Where a copy lives (location.rs) ---

pub fn inactive_copy(what: &str) -> String {
    format!("inactive copy ({what}): reported, never counted in the verdict")
}

// --- From evidence to findings (findings.rs) ---

pub fn not_opened(why: &str) -> String {
    format!("not opened: {why}")
}

/// What a version resource says, for the notes about resources Windows does not read.
fn resource_says(r: &VersionResource) -> String {
    match &r.info {
        Ok(info) => match &info.fixed {
            Some(fx) => format!("says {}", fx.file_version),
            None => match info.string_tables.iter().find_map(|t| t.get("FileVersion")) {
                Some(s) => format!("no fixed version, string FileVersion {s:?}"),
                None => "no version".to_owned(),
            },
        },
        Err(e) => format!("unreadable ({e})"),
    }
}

pub fn resource_not_read_by_windows(r: &VersionResource) -> String {
    format!(
        "version resource {} (language {:04x}) is not the one Windows reads (GetFileVersionInfo reads id 1, VS_VERSION_INFO): {}; not judged",
        r.name,
        r.lang,
        resource_says(r)
    )
}

pub fn no_id1_resource(others: usize) -> String {
    format!(
        "no version resource with id 1 (VS_VERSION_INFO), the one Windows reads; {others} other version {} not read",
        plural(others, "resource", "resources")
    )
}

pub fn no_usable_version() -> String {
    "no usable version in the version resource".to_owned()
}

/// Why a resource Windows does not read was not judged (`unreadable`: why it could not be read).
pub fn resource_not_read(unreadable: Option<&dyn std::fmt::Display>) -> String {
    match unreadable {
        None => {
            "not read by Windows: GetFileVersionInfo reads only id 1 (VS_VERSION_INFO)".to_owned()
        }
        Some(e) => format!(
            "not read by Windows: GetFileVersionInfo reads only id 1 (VS_VERSION_INFO); unreadable: {e}"
        ),
    }
}

pub fn outside_product_line(v: FileVersion, line: &str) -> String {
    format!("version {v} is outside the product line {line}: not judged")
}

pub fn outside_product_line_of(v: FileVersion, line: &str, rule: &str) -> String {
    format!("version {v} is outside the product line {line} that {rule} covers: not judged")
}

pub fn implausible_reading(v: FileVersion) -> String {
    format!(
        "version {v} has a field of 65535 (0xFFFF), the largest value a field can hold: not a plausible build, not judged patched"
    )
}

pub fn implausible_note(v: FileVersion) -> String {
    format!(
        "version {v} has a field of 65535 (0xFFFF), the largest value a version field can hold: implausible for a real build"
    )
}

pub fn implausible_not_patched(v: FileVersion) -> String {
    format!("version {v} has a field of 65535 (0xFFFF): not a plausible build, not judged patched")
}

pub fn below_replacing_rule(v: FileVersion, required: FileVersion) -> String {
    format!(
        "{v} is below {required}, the fixed version of the rule that replaced this one: cannot tell"
    )
}

/// Several languages of resource 1 that all say the same version.
pub fn languages_agree(read: &[&VersionResource], version: Option<FileVersion>) -> String {
    let langs: Vec<String> = read.iter().map(|r| format!("{:04x}", r.lang)).collect();
    format!(
        "version resource 1 is present in {} languages ({}), all saying {}; Windows reads one of them depending on the machine's language",
        read.len(),
        langs.join(", "),
        version_or_none(version)
    )
}

/// Each language's reading: (language, version, status), for the disagreement texts below.
pub fn language_readings(
    readings: impl Iterator<Item = (u32, Option<FileVersion>, Status)>,
) -> String {
    readings
        .map(|(lang, v, status)| {
            format!(
                "language {lang:04x} says {} ({})",
                version_or_none(v),
                status.as_str()
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn languages_disagree_all(n: usize, list: &str, status: Status) -> String {
    format!(
        "version resource 1 is present in {n} languages and they disagree ({list}); Windows reads one of them depending on the machine's language, and every one is {}",
        status.as_str()
    )
}

pub fn languages_disagree_not_judged(n: usize, list: &str) -> String {
    format!(
        "version resource 1 is present in {n} languages and they disagree ({list}); which one Windows reads depends on the machine's language: not judged"
    )
}

pub fn resource_differs_from_first(
    name: &str,
    lang: u32,
    version: FileVersion,
    first: FileVersion,
) -> String {
    format!(
        "version resource {name} (language {lang:04x}) says {version}, the first one says {first}"
    )
}

pub fn resource_warning(name: &str, warning: &dyn std::fmt::Display) -> String {
    format!("version resource {name}: {warning}")
}

pub fn resource_unreadable(name: &str, lang: u32, e: &dyn std::fmt::Display) -> String {
    format!("version resource {name} (language {lang:04x}): {e}")
}

pub fn branch_of(v: Option<FileVersion>, b: &Branch) -> String {
    format!(
        "{} belongs to the {} branch ({} and later builds): fixed in {}",
        version_or_empty(v),
        b.name,
        b.from,
        b.fixed_version
    )
}

pub fn not_in_install_folder(dir: &str) -> String {
    format!("not in the expected install folder {dir}; judged as a live copy")
}

pub fn lineage(file: &str, m: &LineageMatch) -> String {
    format!("{file} {}", m.text)
}

pub fn judged_by_cannot_tell(
    rule: &str,
    file: &str,
    v: FileVersion,
    fixed: FileVersion,
    by: &str,
) -> String {
    format!(
        "{rule} has no sourced fixed version of {file}; {v} is below {fixed}, the fixed version of {by}, which replaced it, so whether this copy has the {rule} fix cannot be told (see {by})"
    )
}

pub fn judged_by(by: &str, rule: &str, file: &str, fixed: FileVersion) -> String {
    format!(
        "judged by {by}, which replaced {rule}: {file} {fixed} and later include the {rule} fix"
    )
}

/// A later update's build satisfies the rule by version; `official` when the bulletins say
/// that update (`by`) replaces the rule.
pub fn later_update_note(
    file: &str,
    m: &LineageMatch,
    rule: &str,
    by: &str,
    official: bool,
    fixed: FileVersion,
) -> String {
    let why = if official {
        format!("{by} supersedes {rule}")
    } else {
        format!(
            "by kbscan's version rule (at or above {fixed}); the bulletins do not say {by} replaces {rule}"
        )
    };
    format!(
        "{file} {}; includes the {rule} fix by version: {why}",
        m.text
    )
}

// --- A root's verdict (system.rs) ---

/// The rule-level reason for the same case as [`later_update_note`].
pub fn later_update_reason(
    target: &str,
    m: &LineageMatch,
    rule: &str,
    by: &str,
    official: bool,
    required: FileVersion,
) -> String {
    format!(
        "{target} {}; includes the {rule} fix by version{}",
        m.text,
        if official {
            format!(" ({by} supersedes {rule})")
        } else {
            format!(
                " (kbscan's rule: at or above {required}; the bulletins do not say {by} replaces {rule})"
            )
        }
    )
}

/// Live entries differing only in case: (path, version, status) of each, and whether every
/// reading agrees.
pub fn case_twins(
    twins: &[(&str, Option<FileVersion>, Status)],
    target: &str,
    agree: bool,
) -> String {
    let readings: Vec<String> = twins
        .iter()
        .map(|(path, version, status)| {
            format!(
                "{path} {}",
                match version {
                    Some(v) => format!("{v} ({})", status.as_str()),
                    None => status.as_str().to_owned(),
                }
            )
        })
        .collect();
    format!(
        "{} live entries differ only in case ({}): Windows opens names case-insensitively, so any of them could be the {target} that runs; {}",
        twins.len(),
        readings.join("; "),
        if agree {
            "every reading agrees"
        } else {
            "the readings disagree, so the verdict cannot be patched"
        }
    )
}

pub fn live_link_not_read(path: &str, link_target: Option<&str>) -> String {
    format!(
        "live {path} is a link that was not read ({}): the copy Windows would run there was not judged (see --follow-symlinks)",
        link_target.unwrap_or("target unknown"),
    )
}

pub fn link_on_install_path(link: &str, dir: &str, file: &str) -> String {
    format!(
        "{link} is a link on the install path {dir} of {file} and was not followed: a live copy may be there unread (see --follow-symlinks)"
    )
}

fn disabled_suffix(disabled: bool) -> &'static str {
    if disabled {
        " (the service is disabled)"
    } else {
        ""
    }
}

pub fn service_unresolved(svc: &ServiceFacts, why: &str, disabled: bool) -> String {
    format!(
        "service {} ({}) is configured to start {}, which kbscan could not place under the root ({why}): the copy it runs may be none of those judged{}",
        svc.name,
        svc.matched_by.as_text(),
        svc.image_path.as_deref().unwrap_or_default(),
        disabled_suffix(disabled)
    )
}

pub fn service_not_judged(svc: &ServiceFacts, on_disk: &str, disabled: bool) -> String {
    format!(
        "service {} ({}) is configured to start {on_disk}, which kbscan did not judge as {}: the copy Windows runs was not read{}",
        svc.name,
        svc.matched_by.as_text(),
        svc.file,
        disabled_suffix(disabled)
    )
}

pub fn root_unreadable() -> String {
    "the root could not be scanned".to_owned()
}

pub fn image_mismatch_error(detail: &str) -> String {
    format!("--verify-image: the image does not match its stored hash ({detail})")
}

pub fn image_mismatch(detail: &str) -> String {
    format!(
        "the image does not match the hash or checksum it stores ({detail}): its content cannot be trusted"
    )
}

pub fn reparse_point_not_walked(path: &str, files: &str, why: &str) -> String {
    format!(
        "{path} is on the install path of {files} and was not walked ({why}): a live copy may be hidden behind it"
    )
}

pub fn service_disabled(name: &str) -> String {
    format!("service {name} is disabled (Start = 4); the verdict stays with the files")
}

pub fn service_image_missing(name: &str, image_path: &str) -> String {
    format!(
        "service {name} is configured to start {image_path}, which was not found under the root"
    )
}

pub fn live_by_service(name: &str) -> String {
    format!("live: service {name} starts this copy, whatever folder it is in")
}

pub fn service_image(name: &str, image_path: &str) -> String {
    format!("the file service {name} starts (ImagePath {image_path})")
}

pub fn service_starts_others_count(name: &str, image: &str, others: usize, file: &str) -> String {
    format!(
        "service {name} starts {image}; {others} other live {} of {file} {} as well: a service never discounts a copy Windows could run",
        plural(others, "copy", "copies"),
        plural(others, "counts", "count"),
    )
}

// --- The registry against the files (reconcile.rs) ---

pub fn os_reading_build(build: &str) -> String {
    format!("CurrentBuildNumber {build}")
}

pub fn os_reading_name(name: &str) -> String {
    format!("ProductName \"{name}\"")
}

pub fn os_reading_version(cv: &str) -> String {
    format!("CurrentVersion {cv}")
}

pub fn os_version_conflict(cv: &str, what: &str, versions: &[&str]) -> String {
    format!(
        "CurrentVersion {cv} but {what} is NT {}",
        versions.join(" or ")
    )
}

pub fn os_readings_conflict(a: &str, va: &[&str], b: &str, vb: &[&str]) -> String {
    format!(
        "{a} is NT {} but {b} is NT {}",
        va.join(" or "),
        vb.join(" or ")
    )
}

pub fn os_product_type_conflict(pt: &str, name: &str) -> String {
    format!("ProductType {pt} but ProductName \"{name}\"")
}

pub fn os_conflicts(conflicts: &[String]) -> String {
    conflicts.join("; ")
}

/// `version_unknown`: CurrentVersion itself was of the wrong type, so applicability is unknown.
pub fn registry_wrong_type(values: &[WrongTypeValue], version_unknown: bool) -> String {
    let list: Vec<String> = values
        .iter()
        .map(|w| {
            format!(
                "{} is {} ({}), not {}",
                w.value, w.found, w.data, w.expected
            )
        })
        .collect();
    format!(
        "registry value{} of the wrong type, not used: {}{}",
        if list.len() == 1 { "" } else { "s" },
        list.join("; "),
        if version_unknown {
            "; applicability unknown: the file evidence decides"
        } else {
            ""
        }
    )
}

pub fn os_identity_conflict(why: &str, rule: &str) -> String {
    format!(
        "the registry's Windows identity is contradictory ({why}): applicability to {rule} is unknown and the file evidence decides"
    )
}

/// `affected`: the rule's own list of affected systems; `os_versions` are named when it is empty.
pub fn os_not_affected(
    os: &str,
    rule: &str,
    affected: &[String],
    os_versions: &[String],
) -> String {
    format!(
        "{os} is not affected by {rule}: it covers {}; file evidence is kept for reference",
        if affected.is_empty() {
            format!("NT {}", os_versions.join(", "))
        } else {
            affected.join("; ")
        }
    )
}

pub fn product_type_not_listed(pt: &str, listed: &[String]) -> String {
    let kind = match pt.to_ascii_lowercase().as_str() {
        "winnt" => " (workstation)",
        _ => "",
    };
    format!(
        "product type {pt}{kind} is not one the advisory covers ({}); the verdict stays with the files",
        listed.join(", ")
    )
}

pub fn service_pack_not_listed(sp: &str, listed: &[String]) -> String {
    format!(
        "{sp} is not among the service packs the advisory lists ({}); the verdict stays with the files",
        listed.join(", ")
    )
}

pub fn registry_keys(keys: &[String]) -> String {
    keys.join(", ")
}

pub fn registry_corroborates(kb: &str, keys: &str, same_as_withdrawn: bool) -> String {
    format!(
        "the registry records {kb} as installed ({keys}), and the live file agrees{}",
        if same_as_withdrawn {
            " (the keys alone cannot tell the re-release from the withdrawn release; the file version does)"
        } else {
            ""
        }
    )
}

pub fn registry_claims_update(kb: &str, keys: &str) -> String {
    format!("the registry claims {kb} is installed ({keys}), but the live file is older")
}

pub fn withdrawn_release_suspected(rule: &str, files: &str) -> String {
    format!(
        "{rule}'s bulletin says the re-released update writes the same registry keys as the withdrawn original release, which did not fix the flaw; with the live {files} below the fixed version, the withdrawn release is the likely explanation"
    )
}

pub fn no_record_but_patched(kb: &str) -> String {
    format!("no registry record of {kb}: the file was updated by a later update or by hand")
}

pub fn registry_claims_unverified(kb: &str, keys: &str) -> String {
    format!(
        "the registry records {kb} as installed ({keys}), but the live file could not be judged"
    )
}

pub fn registry_record_without_files(kb: &str, keys: &str, files: &str) -> String {
    format!("the registry records {kb} ({keys}), but no live copy of {files} was found")
}

pub fn no_record_old_file(kb: &str) -> String {
    format!("no registry record of {kb}, consistent with the old file")
}

pub fn registry_unavailable() -> String {
    "no readable SOFTWARE hive: the verdict rests on file evidence alone".to_owned()
}

pub fn uninstall_folder_present(dir: &str, kb: &str) -> String {
    format!("the update's uninstall folder {dir} exists: {kb} was installed at some time")
}

// --- When it was installed (installed.rs) ---

/// What a finding's time says, by field and by whether the copy is live.
pub fn time_says(field: TimeField, live: bool) -> &'static str {
    match (field, live) {
        (TimeField::SiCreated, true) => {
            "live file created (when the update wrote it, unless copied or back-dated)"
        }
        (TimeField::SiCreated, false) => {
            "backup copy created (the old file's own time, kept when it was moved)"
        }
        (TimeField::FnCreated, true) => "live file's name created ($FILE_NAME)",
        (TimeField::FnCreated, false) => {
            "backup copy's name created ($FILE_NAME: when it was moved there)"
        }
        (TimeField::FnModified, _) => "$FILE_NAME modified",
        _ => "file last modified (usually the build's own time, kept from the package)",
    }
}

pub fn si_backdated_not_used() -> String {
    "timestamps_inconsistent: $STANDARD_INFORMATION created before $FILE_NAME: possibly back-dated, not used".to_owned()
}

pub fn timestamps_inconsistent(si: i128, fname: i128) -> String {
    format!(
        "timestamps_inconsistent: $STANDARD_INFORMATION created {} is earlier than $FILE_NAME created {}: the SI times were probably back-dated; they are not used as install-time evidence",
        show_time(si),
        show_time(fname)
    )
}

pub fn no_install_time(verdict: Verdict, times: usize) -> String {
    format!(
        "no install time: the rule is {} ({} time{} read, listed as evidence; a record of the update dates a claim, a file's times when it was written)",
        verdict.as_str(),
        times,
        if times == 1 { "" } else { "s" }
    )
}

/// The end of an install summary: the sources that agree, disagree and were set aside.
pub fn summary_tail(agree: &[&str], disagree: &[&str], aside: &[&str]) -> String {
    let mut tail = String::new();
    if !agree.is_empty() {
        tail.push_str(&format!(
            "; {} agree{}",
            agree.join(", "),
            if agree.len() == 1 { "s" } else { "" }
        ));
    }
    if !disagree.is_empty() {
        tail.push_str(&format!(
            "; {} disagree{}",
            disagree.join(", "),
            if disagree.len() == 1 { "s" } else { "" }
        ));
    }
    if !aside.is_empty() {
        tail.push_str(&format!("; conflicting: {} set aside", aside.join(", ")));
    }
    tail
}

/// The word a summary uses for the install: a patched rule was patched, otherwise installed.
fn install_word(verdict: Verdict) -> &'static str {
    if verdict == Verdict::Patched {
        "patched"
    } else {
        "installed"
    }
}

pub fn installed_since(verdict: Verdict, best: i128, labels: &[&str], tail: &str) -> String {
    format!(
        "{} since {} ({}{tail})",
        install_word(verdict),
        day(best),
        labels.join(", ")
    )
}

pub fn installed_between(
    verdict: Verdict,
    l: i128,
    h: i128,
    labels: &[&str],
    tail: &str,
) -> String {
    format!(
        "{} between {} and {} ({}{tail})",
        install_word(verdict),
        show_time(l),
        show_time(h),
        labels.join(", ")
    )
}

pub fn installed_no_earlier(verdict: Verdict, l: i128, labels: &[&str], tail: &str) -> String {
    format!(
        "{} no earlier than {} ({}{tail})",
        install_word(verdict),
        show_time(l),
        labels.join(", ")
    )
}

pub fn installed_no_later(verdict: Verdict, h: i128, labels: &[&str], tail: &str) -> String {
    format!(
        "{} no later than {} ({}{tail})",
        install_word(verdict),
        day(h),
        labels.join(", ")
    )
}

pub fn file_written_around(t: i128, labels: &[&str]) -> String {
    format!(
        "file written around {}? (only file-system times, which say when a copy was written, not that the update was installed, and can be copied or back-dated: {})",
        day(t),
        labels.join(", ")
    )
}

pub fn no_install_time_found(times: usize) -> String {
    format!("no install time found ({times} times read, none dates the install)")
}

fn evidence_in_full(e: &TimeEvidence) -> String {
    format!("{} {} ({}, {})", e.source.label(), e.path, e.field, e.time)
}

pub fn install_time_conflict(
    rule: &str,
    aside: &[&TimeEvidence],
    trusted: &[&TimeEvidence],
    trusted_labels: &[&str],
    aside_labels: &[&str],
) -> String {
    format!(
        "the install-time evidence of {rule} cannot all hold: {} against {}; kbscan trusts {} (an update log states the moment itself; an InstalledDate value is written by the installer; a key's last-write time only bounds it and a restored or re-imported key can carry an older time) and sets aside {}",
        aside.iter().map(|e| evidence_in_full(e)).collect::<Vec<_>>().join(", "),
        trusted.iter().map(|e| evidence_in_full(e)).collect::<Vec<_>>().join(", "),
        trusted_labels.join(", "),
        aside_labels.join(", "),
    )
}

pub fn files_built_on(b: i128) -> String {
    format!("the fixed files were built on {}", day(b))
}

pub fn rule_published_on(rule: &str, p: i128) -> String {
    format!("{rule} was published on {}", day(p))
}

pub fn fixing_release_published_on(release: &str, rule: &str, p: i128) -> String {
    format!(
        "the fixing release {release} of {rule} was published on {}",
        day(p)
    )
}

/// A piece of time evidence named in a reason: its source, path and time.
pub fn evidence_named(e: &TimeEvidence) -> String {
    format!("{} {} ({})", e.source.label(), e.path, e.time)
}

pub fn dates_withdrawn_release_note(name: &str) -> String {
    format!(
        "dated before the fixing release, within the window of the withdrawn release {name}: it dates that release, not the fix"
    )
}

pub fn withdrawn_release_dated(
    rule: &str,
    what: &str,
    dated: &[String],
    name: &str,
    fixing: &str,
) -> String {
    format!(
        "install evidence of {rule} dated before {what} ({}) dates the withdrawn release {name}, which did not fix the flaw; the fix ({fixing}) was installed later, when is not recorded",
        dated.join(", ")
    )
}

pub fn dated_before_the_fix(rule: &str, what: &str, too_early: &[String]) -> String {
    format!(
        "install evidence of {rule} is dated before the fix existed ({what}): {}; it cannot be the install of the fix",
        too_early.join(", ")
    )
}

pub fn conflicts_joined(earlier: &str, text: &str) -> String {
    format!("{earlier}; {text}")
}

// --- The state at `--as-of` (installed.rs: rule_as_of) ---

pub fn not_yet_published(d: &str, p: i128) -> String {
    format!(
        "{d} is before the bulletin's publication on {}: no fix existed to be installed",
        day(p)
    )
}

pub fn vulnerable_now(d: &str) -> String {
    format!("vulnerable now, so not patched at {d} either")
}

pub fn verdict_now(verdict: Verdict) -> String {
    format!("the verdict now is {}", verdict.as_str())
}

pub fn patched_no_install_evidence() -> String {
    "patched now, but no install-time evidence was found".to_owned()
}

pub fn only_withdrawn_at_date(d: &str, what: &str, name: &str, fixing: &str) -> String {
    format!(
        "{d} is before {what}: at most the withdrawn release {name} could have been installed, and it did not fix the flaw ({fixing} does)"
    )
}

pub fn fix_not_yet_built(d: &str, what: &str) -> String {
    format!("{d} is before {what}: the fix could not have been installed")
}

pub fn removed_install_at_date(d: &str, install: &str, removed_at: Option<i128>) -> String {
    format!(
        "at {d} an earlier install ({install}) was in place that an uninstall run{} later removed; what it installed is not what the files say now",
        removed_at
            .map(|u| format!(" at {}", show_time(u)))
            .unwrap_or_default()
    )
}

pub fn every_source_after(d: &str) -> String {
    format!("every install-time source, though they conflict, dates the install after {d}")
}

pub fn conflict_at_date(d: &str, sources: &[String]) -> String {
    format!(
        "the install-time evidence conflicts ({}), so whether it was patched at {d} cannot be told",
        sources.join(", ")
    )
}

pub fn installed_before_date(h: i128, by: &str, d: &str) -> String {
    format!(
        "installed no later than {} ({by}), before {d}",
        show_time(h)
    )
}

pub fn uninstall_outcome_unknown(d: &str, install: &str, next: i128) -> String {
    format!(
        "the update log records an uninstall of the install ({install}) before {d} but not whether it succeeded; the next install is no earlier than {}",
        show_time(next)
    )
}

pub fn uninstalled_at_date(d: &str, install: &str, removed: i128, next: i128, by: &str) -> String {
    format!(
        "the update log records the install ({install}) uninstalled at {} (extended error code 0), and the next install no earlier than {} ({by}), after {d}",
        show_time(removed),
        show_time(next)
    )
}

pub fn installed_after_date(l: i128, by: &str, d: &str) -> String {
    format!(
        "installed no earlier than {} ({by}), after {d}",
        show_time(l)
    )
}

/// Nothing bounds the install: `times_read` whether any time was read, `best` the best guess.
pub fn nothing_bounds_install(times_read: bool, best: Option<Timestamp>) -> String {
    format!(
        "patched now, but nothing bounds the install moment ({})",
        if !times_read {
            "no times".to_owned()
        } else {
            format!(
                "only file-system times, which can be copied or back-dated; best guess {}",
                best.map_or_else(|| "none".to_owned(), |b| b.to_string())
            )
        }
    )
}

pub fn installed_no_later_than_date(h: i128, d: &str) -> String {
    format!(
        "installed no later than {} but nothing says how much earlier; {d} is before that",
        show_time(h)
    )
}

pub fn installed_no_earlier_open(l: i128) -> String {
    format!(
        "installed no earlier than {} but nothing says how much later",
        show_time(l)
    )
}

pub fn date_inside_bounds(l: i128, h: i128, d: &str) -> String {
    format!(
        "installed between {} and {}: {d} falls inside",
        show_time(l),
        show_time(h)
    )
}

pub(super) fn backup_set_incomplete(why: &str) -> String {
    format!(
        "the backup set is incomplete ({why}): a file it does not hold may decide, so no rule is clean"
    )
}

pub(super) fn awaiting_boot(installed_by: i128, first_boot: i128, date: i128) -> String {
    format!(
        "installed no later than {}, but a file in use is replaced at the next restart and the first boot after it the event log records is {}: whether the fix was running at {} cannot be told",
        show_time(installed_by),
        show_time(first_boot),
        show_time(date)
    )
}

// --- The event log as a second witness (installed.rs: event_log_conflicts) ---

pub(super) fn mention_before_the_log(e: &TimeEvidence, first_run: i128) -> String {
    format!(
        "{} record {} names the update at {}, more than a day before the first update.exe run its update log records ({})",
        e.path,
        e.line
            .as_deref()
            .and_then(|l| l.split(':').next())
            .unwrap_or("?"),
        e.time,
        show_time(first_run)
    )
}

pub(super) fn backwards_log_touches_install(log: &str) -> String {
    format!(
        "the times of {log} run backwards against its record numbers, and its records bear on the install (a record naming the update, or the boots after it): the order of its events is not trusted"
    )
}

pub(super) fn event_log_conflict(rule: &str, found: &[String]) -> String {
    format!(
        "the event log disagrees with the other install-time evidence of {rule}: {}; the witnesses are reported as they are, not averaged",
        found.join("; ")
    )
}
