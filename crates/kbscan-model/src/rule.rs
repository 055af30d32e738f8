//! Advisories as data: the shape of a rule (one advisory) as the report carries it. Parsing
//! and validation of rule files live in `rules.rs`.

use serde::{Deserialize, Serialize};

use super::version::FileVersion;

/// One advisory.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub id: String,
    pub kb: String,
    pub cves: Vec<String>,
    pub title: String,
    pub published: Option<String>,
    pub severity: Option<String>,
    pub summary: Option<String>,
    pub affected: Vec<String>,
    pub not_affected: Vec<String>,
    pub uninstall_dir: Option<String>,
    /// Which Windows the advisory covers, when the registry can tell.
    pub applies_to: Option<AppliesTo>,
    pub files: Vec<RuleFile>,
    /// Where the rule came from: `built-in:…` or the path given with `--rules`.
    pub source: String,
    /// The format version the file was written for (1 or 2).
    pub schema: u32,
    /// Last revision of the bulletin.
    pub updated: Option<String>,
    /// Rules whose fix this update officially replaces (from the bulletin).
    pub supersedes: Vec<String>,
    /// Rules that officially replace this one.
    pub superseded_by: Vec<String>,
    /// The registry keys the update writes (looked up besides the generic KB search).
    pub registry_records: Vec<RegistryRecordSpec>,
    /// The bulletin says a withdrawn release wrote the same registry records: a record without
    /// the fixed live file then suggests the withdrawn release.
    pub registry_same_as_withdrawn: bool,
    pub releases: Vec<Release>,
    /// The documents the facts are quoted from.
    pub sources: Vec<SourceDoc>,
    /// The sources of the top-level facts.
    pub citations: Vec<Citation>,
    /// Lower-case hex SHA-256 of the rule file's text (for the examination record; issue 15).
    #[serde(skip)]
    pub text_sha256: String,
}

/// What decides whether a copy of a file is fixed.
#[derive(Debug, Clone)]
pub enum Fixed {
    /// One fixed build for every copy.
    Version(FileVersion),
    /// A fixed build per branch or platform (GDR/QFE, or one platform's builds), when the
    /// bulletin gives several; non-empty, sorted by `from`.
    Branches(Vec<Branch>),
    /// No sourced fixed version of its own: the rule (in `superseded_by`) whose fix of the
    /// same file decides, and that fix (a `Version` or `Branches`, copied when the rule set is
    /// loaded). A copy at or above it is patched; below, this rule cannot tell
    /// (`unknown_version`).
    JudgedBy { rule: String, fix: Box<Fixed> },
}

impl Fixed {
    /// The branches that decide (none for a single version).
    pub fn branches(&self) -> &[Branch] {
        match self {
            Fixed::Version(_) => &[],
            Fixed::Branches(b) => b,
            Fixed::JudgedBy { fix, .. } => fix.branches(),
        }
    }
    /// The one fixed version: a single version's, or the lowest branch's (the one a copy
    /// below every branch is judged against).
    pub fn version(&self) -> FileVersion {
        match self {
            Fixed::Version(v) => *v,
            Fixed::Branches(b) => b
                .first()
                .map_or(FileVersion::new(0, 0, 0, 0), |b| b.fixed_version),
            Fixed::JudgedBy { fix, .. } => fix.version(),
        }
    }
    /// The rule whose fix decides, when it is not the file's own.
    pub fn judged_by(&self) -> Option<&str> {
        match self {
            Fixed::JudgedBy { rule, .. } => Some(rule),
            _ => None,
        }
    }
}

/// One file the update replaces.
#[derive(Debug, Clone)]
pub struct RuleFile {
    pub name: String,
    pub description: Option<String>,
    pub fixed: Fixed,
    /// Size of the fixed English build, as published (a note when a patched copy differs).
    pub size: Option<u64>,
    pub date: Option<String>,
    /// Folder the live copy is installed in, relative to `%SystemRoot%`, `/`-separated.
    pub install_dir: Option<String>,
    /// Name of the service that runs this file (its key under `Services`).
    pub service: Option<String>,
    /// The versions of the product this file belongs to (`4.1.*`); a copy outside it is not
    /// judged (`unknown_version`).
    pub product_line: Option<String>,
    /// The quoted rows the file facts come from.
    pub sources: Vec<Cite>,
}

/// The report's shape of a file: `fixed_version` (the one version, or the lowest branch's),
/// `judged_by`, and `branches` when there are any, where they always were.
impl Serialize for RuleFile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let branches = self.fixed.branches();
        let mut st = s.serialize_struct("RuleFile", 11)?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("description", &self.description)?;
        st.serialize_field("fixed_version", &self.fixed.version())?;
        st.serialize_field("size", &self.size)?;
        st.serialize_field("date", &self.date)?;
        st.serialize_field("install_dir", &self.install_dir)?;
        st.serialize_field("service", &self.service)?;
        st.serialize_field("product_line", &self.product_line)?;
        st.serialize_field("judged_by", &self.fixed.judged_by())?;
        st.serialize_field("sources", &self.sources)?;
        if branches.is_empty() {
            st.skip_field("branches")?;
        } else {
            st.serialize_field("branches", branches)?;
        }
        st.end()
    }
}

/// One branch's fixed build of a file. A copy belongs to the branch with the highest `from` at
/// or below its version (below every branch, to the lowest): the branches' version ranges are
/// how Microsoft's GDR and QFE builds (and the builds of different platforms) are told apart,
/// so the copy's own version, not the registry, picks the branch.
#[derive(Debug, Clone, Serialize)]
pub struct Branch {
    /// `GDR`, `QFE`, `Windows 2000`…
    pub name: String,
    /// The lowest build of the branch.
    pub from: FileVersion,
    /// Below this, a copy of the branch is vulnerable.
    pub fixed_version: FileVersion,
    pub sources: Vec<Cite>,
}

impl RuleFile {
    /// The branch a copy at `v` belongs to (none without branches).
    pub fn branch_for(&self, v: FileVersion) -> Option<&Branch> {
        let branches = self.fixed.branches();
        branches
            .iter()
            .rev()
            .find(|b| b.from <= v)
            .or(branches.first())
    }

    /// The fixed version as printers show it: `4.1.0.3934`, or per branch
    /// `GDR (5.0.2195.0+): 5.0.2195.6824; QFE (5.0.2195.7000+): 5.0.2195.7017`.
    pub fn fixed_text(&self) -> String {
        let branches = self.fixed.branches();
        if branches.is_empty() {
            return self.fixed.version().to_string();
        }
        branches
            .iter()
            .map(|b| format!("{} ({}+): {}", b.name, b.from, b.fixed_version))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The fixed version a copy at `v` is judged against: its branch's, or `fixed_version`.
    pub fn fixed_for(&self, v: Option<FileVersion>) -> FileVersion {
        v.and_then(|v| self.branch_for(v))
            .map_or(self.fixed.version(), |b| b.fixed_version)
    }

    /// Whether `v` is inside the file's product line (always, without one).
    pub fn in_product_line(&self, v: FileVersion) -> bool {
        match &self.product_line {
            None => true,
            Some(line) => product_line_matches(line, v),
        }
    }
}

/// `4.1.*` matches 4.1.x.y; `4.1.0.*` matches 4.1.0.y; `4.1.0.3934` only itself. The pattern is
/// validated when the rule is loaded (numbers, then at most one trailing `*`).
pub fn product_line_matches(line: &str, v: FileVersion) -> bool {
    let parts = [v.major, v.minor, v.build, v.revision];
    for (i, p) in line.split('.').enumerate() {
        if p == "*" {
            return true;
        }
        match (p.parse::<u16>(), parts.get(i)) {
            (Ok(n), Some(&have)) if n == have => {}
            _ => return false,
        }
    }
    true
}

/// A document a rule's facts come from (a `[[sources]]` table).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceDoc {
    /// The name citations use (`ref`), unique within the file.
    pub id: String,
    /// The bulletin (or KB article) the document is.
    pub bulletin: Option<String>,
    /// `owner/name` of a repository holding the document …
    pub repo: Option<String>,
    pub commit: Option<String>,
    /// … and its path there.
    pub path: Option<String>,
    /// Or the document's address.
    pub url: Option<String>,
    pub language: Option<String>,
    /// `microsoft-bulletin`, `third-party …`: how much weight the document carries.
    pub authority: Option<String>,
}

impl SourceDoc {
    /// `repo:path@commit` or the URL, for tables.
    pub fn location(&self) -> String {
        match (&self.repo, &self.path, &self.url) {
            (Some(r), Some(p), _) => format!("{r}:{p}"),
            (_, _, Some(u)) => u.clone(),
            (Some(r), None, None) => r.clone(),
            _ => String::new(),
        }
    }
}

/// One quoted row or sentence backing a fact: which source, where, and the words.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cite {
    /// The `id` of one of the file's `[[sources]]`.
    #[serde(rename = "ref")]
    pub source: String,
    /// Line in the source document, when it is a file.
    pub line: Option<u32>,
    /// The row or sentence, quoted in the source's language.
    pub quote: String,
}

/// The sources of one of the rule's top-level facts (`[[citations]]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Citation {
    /// The field the citation backs (`published`, `registry_same_as_withdrawn`, …).
    pub field: String,
    pub sources: Vec<Cite>,
    pub note: Option<String>,
}

/// One release of the update (the first one and re-releases), informative.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    pub name: String,
    pub bulletin_version: Option<String>,
    pub package: Option<String>,
    pub published: Option<String>,
    /// When the release was withdrawn, if it was.
    pub withdrawn: Option<String>,
    /// Whether installing this release fixes the flaw.
    pub fixes_vulnerability: Option<bool>,
    pub note: Option<String>,
}

/// Where an update records itself in the SOFTWARE hive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RecordForm {
    /// `…\Windows NT\CurrentVersion\HotFix\…`.
    HotFix,
    /// `…\Microsoft\Updates\…`.
    Updates,
}

impl RecordForm {
    /// The rule file's spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "HotFix" => Some(RecordForm::HotFix),
            "Updates" => Some(RecordForm::Updates),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            RecordForm::HotFix => "HotFix",
            RecordForm::Updates => "Updates",
        }
    }
}

impl std::fmt::Display for RecordForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A registry key the update writes when it installs.
#[derive(Debug, Clone, Serialize)]
pub struct RegistryRecordSpec {
    pub form: RecordForm,
    /// As the bulletin writes it, `HKLM\SOFTWARE\…`.
    pub key: String,
    /// The same key relative to the SOFTWARE hive (`Microsoft\…`), as the reader looks it up.
    pub hive_path: String,
    pub value: Option<String>,
    pub value_type: Option<String>,
    pub data: Option<String>,
    pub note: Option<String>,
    pub sources: Vec<Cite>,
}

/// The Windows an advisory covers, compared with the offline registry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliesTo {
    /// `CurrentVersion` values (NT version) covered, e.g. `["5.0"]`; others are `not_applicable`.
    #[serde(default)]
    pub os_versions: Vec<String>,
    /// `ProductType` values covered (`ServerNT`, `LanmanNT`); others get a note.
    #[serde(default)]
    pub product_types: Vec<String>,
    /// `CSDVersion` values covered (`Service Pack 4`); others get a note.
    #[serde(default)]
    pub service_packs: Vec<String>,
}

impl Rule {
    /// `Nscm.exe, Nspmon.exe`: the file names, for messages.
    pub fn file_names(&self) -> String {
        self.files
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The rules a scan uses: the built-in ones plus any given with `--rules`.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
}

// Where a link hides an install folder is a name test both the walker and the judgement
// make: it lives here, below both.
/// True when the trailing folders of `parts` (a path from the root, `/`-separated components)
/// equal a leading part of `install_dir` (e.g. `…/system32/Windows Media` for
/// `system32/Windows Media/Server`), compared ASCII-case-insensitively: a link there hides the
/// rule's install folder (issue 10 case 6).
pub fn on_install_path<'a, I>(parts: I, install_dir: &str) -> bool
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let parts: Vec<&[u8]> = parts.into_iter().collect();
    let want: Vec<&str> = install_dir.split('/').filter(|s| !s.is_empty()).collect();
    (1..=want.len().min(parts.len())).any(|k| {
        parts[parts.len() - k..]
            .iter()
            .zip(&want[..k])
            .all(|(p, w)| p.eq_ignore_ascii_case(w.as_bytes()))
    })
}

/// A (rule, file) pair a candidate's name stands for: indexes into `RuleSet::rules` and
/// `Rule::files`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub rule: usize,
    pub file: usize,
}

impl RuleSet {
    /// The rule called `id` (case-insensitive).
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id.eq_ignore_ascii_case(id))
    }

    /// Whether the bulletins say `later` replaces `earlier`: `earlier` lists it in
    /// `superseded_by`, or `later` (when loaded) lists `earlier` in `supersedes`.
    pub fn supersedes(&self, later: &str, earlier: &Rule) -> bool {
        earlier
            .superseded_by
            .iter()
            .any(|s| s.eq_ignore_ascii_case(later))
            || self.get(later).is_some_and(|o| {
                o.supersedes
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(&earlier.id))
            })
    }
}
