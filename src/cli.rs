//! Command-line interface: the flags, and their translation into the library's settings
//! (`kbscan_output::Format`, `scan::Settings`) before anything runs. Nothing below `app` sees a flag.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0  no root is vulnerable and every candidate file was judged
  1  at least one root is vulnerable (wins over errors)
  2  usage error, a root or folder could not be scanned, or a candidate could not be judged
     (and nothing is vulnerable)

A refused -o or a report that cannot be written (standard output closed, disk full) is exit 2
whatever the verdict; a reader that goes away (| head) ends kbscan quietly.

Messages go to standard error; the report goes to standard output or to -o FILE.";

/// Offline, read-only check of Windows file trees for missing security updates.
///
/// (The long description, naming the built-in rules, is set by [`command`].)
#[derive(Debug, Parser)]
#[command(
    name = "kbscan",
    version,
    after_help = EXIT_CODES,
    max_term_width = 100,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan one or more roots (each the top of one Windows system) and judge them.
    #[command(after_help = EXIT_CODES)]
    Scan(ScanArgs),
    /// Scan every evidence item of a case (a folder of images and trees, or a manifest) and
    /// write one JSON report per item and a matrix of systems × rules.
    #[command(after_help = CASE_HELP)]
    Case(CaseArgs),
    /// Audit every update the registry records: each file an update record lists, compared
    /// with the live file (an offline Qfecheck).
    #[command(after_help = UPDATES_HELP)]
    Updates(UpdatesArgs),
    /// Print the version information of any PE file (an offline sigcheck).
    ///
    /// For each file: size, SHA-256, SHA-1 and MD5, times, the PE header, every version
    /// resource, the Authenticode image hash (SHA-1 and SHA-256 over the file without its
    /// checksum field, certificate-table entry and certificate table, as catalogs list it), and
    /// whether the file carries an Authenticode signature, with the signer's subject, the
    /// signing time and a time-stamp's time as the signature states them: present, not
    /// verified (no trust decision is made offline).
    #[command(
        after_help = "Exit codes: 0 every file read as a PE (one without a version resource \
                      included: a fact, noted \"no version resource\"), 2 a file could not be \
                      read or is not a PE."
    )]
    Version(VersionArgs),
    /// List the loaded rules (advisories).
    Rules(RulesArgs),
    /// Print a shell completion script (bash, elvish, fish, powershell, zsh) to standard output.
    Completions(CompletionsArgs),
    /// Write the man pages (kbscan.1 and one per subcommand) into DIR.
    #[command(hide = true)]
    Man(ManArgs),
}

/// The command line as parsed and documented: `Cli`'s, with the long description naming the
/// rules built in, read from them (so `--help` and kbscan(1) never name fewer or more).
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    Cli::command().long_about(long_about())
}

/// `kbscan --help`'s description: what kbscan does and the built-in rules, by id and KB.
fn long_about() -> String {
    let builtin = match kbscan_core::rules::load(&[] as &[PathBuf]) {
        Ok(set) => set
            .rules
            .iter()
            .map(|r| format!("{} ({})", r.id, r.kb))
            .collect::<Vec<_>>()
            .join(", "),
        // Cannot happen with the tested built-in files; said rather than hidden.
        Err(e) => format!("(the built-in rules do not load: {e})"),
    };
    format!(
        "Offline, read-only check of Windows file trees for missing security updates.\n\n\
         kbscan reads mounted disk images and restored backups, finds the files a security \
         update replaces, reads their version resources and says, per file and per system, \
         whether the update is missing. Built in: {builtin} (`kbscan rules` lists them); more \
         with --rules FILE."
    )
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The folder the pages are written into (created when missing).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// `--color`: when the table's verdicts are coloured (ripgrep and fd's convention).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// Only when standard output is a terminal and NO_COLOR is not set.
    Auto,
    /// Always, even into a file or a pipe.
    Always,
    /// Never.
    Never,
}

/// `--format`'s values: every registered printer (`kbscan_output::FORMATS`) with its help line,
/// so the command line keeps no list of its own.
fn format_parser() -> impl clap::builder::TypedValueParser<Value = kbscan_output::Format> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(
        kbscan_output::FORMATS
            .iter()
            .map(|p| PossibleValue::new(p.name).help(p.help)),
    )
    .try_map(|name: String| kbscan_output::format(&name).ok_or("not a registered format"))
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(short, long, value_parser = format_parser(), default_value = kbscan_output::default_format().name)]
    pub format: kbscan_output::Format,
    /// Write the report to FILE instead of standard output. Refused when FILE is, links to or
    /// lies inside any input (root, image segment, hive, rule file), and when FILE exists
    /// unless --force; written to a temporary file beside it and moved into place only when
    /// the command succeeded.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace FILE given with -o (and a CSV report's FILE.examination.json) when it exists; by
    /// default an existing file is refused and left as it was.
    #[arg(long)]
    pub force: bool,
    /// CSV for spreadsheets: a UTF-8 byte order mark first (so Excel reads the text as
    /// UTF-8) and times as `YYYY-MM-DD hh:mm:ss` in UTC (which Excel parses as dates) instead
    /// of RFC 3339 with fractions; with -f csv only.
    #[arg(long)]
    pub excel: bool,
    /// Colour the table's verdicts: auto (only on a terminal, and not when NO_COLOR is set),
    /// always, never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
    /// Keep the table's lines within COLS columns (at least 40), wrapping at spaces and after
    /// a `/` in paths; 0: never wrap (one line per finding, for grep). Default: the
    /// terminal's width, or 100 into a file or a pipe.
    #[arg(long, value_name = "COLS", value_parser = clap::value_parser!(usize))]
    pub width: Option<usize>,
}

/// `--format` for `kbscan version` and `kbscan rules`: the registered printers that render
/// those reports (not the scan-only ones, which they would refuse).
fn listing_format_parser() -> impl clap::builder::TypedValueParser<Value = kbscan_output::Format> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(
        kbscan_output::FORMATS
            .iter()
            .filter(|p| !p.scan_only())
            .map(|p| PossibleValue::new(p.name).help(p.help)),
    )
    .try_map(|name: String| kbscan_output::format(&name).ok_or("not a registered format"))
}

/// The output flags of `kbscan version` and `kbscan rules`: `OutputArgs` without the
/// scan-only formats.
#[derive(Debug, Args)]
pub struct ListingOutputArgs {
    /// Output format.
    #[arg(short, long, value_parser = listing_format_parser(), default_value = kbscan_output::default_format().name)]
    pub format: kbscan_output::Format,
    /// Write the report to FILE instead of standard output. Refused when FILE is, links to or
    /// lies inside any input; refused too when FILE exists, unless --force.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace FILE given with -o when it exists (by default an existing file is refused).
    #[arg(long)]
    pub force: bool,
    /// Colour the table's verdicts: auto (only on a terminal, and not when NO_COLOR is set),
    /// always, never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
}

impl ListingOutputArgs {
    /// The same flags as `OutputArgs`, for the code they share.
    pub fn general(&self) -> OutputArgs {
        OutputArgs {
            format: self.format,
            output: self.output.clone(),
            force: self.force,
            color: self.color,
            excel: false,
            width: None,
        }
    }
}

#[derive(Debug, Args)]
pub struct RuleArgs {
    /// Add the rules in FILE (TOML, see docs/rules.md; a regular file of at most 1 MiB); may
    /// be repeated.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Use only the rule ID (case-insensitive; all loaded rules by default); may be repeated.
    #[arg(long = "rule", value_name = "ID")]
    pub select: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Folders to scan, each judged as one system (e.g. a mounted C: drive), or raw disk
    /// images (whole disk, one partition, or the first file of a split set `disk.001`): each
    /// NTFS or FAT volume in an image is judged as one system, named IMAGE#pN.
    #[arg(required = true, value_name = "ROOT")]
    pub roots: Vec<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Follow symbolic links whose target stays inside the root (absolute links never).
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Walk folders that are mount points (another file system, a bind mount) inside a folder
    /// root; by default each is a notice and is not walked (find's and fd's `-xdev`).
    #[arg(long)]
    pub cross_mounts: bool,
    /// Read the SOFTWARE hive from FILE instead of <windir>/system32/config/SOFTWARE under each
    /// root (for hives exported separately; applies to every root).
    #[arg(long, value_name = "FILE")]
    pub software_hive: Option<PathBuf>,
    /// Read the SYSTEM hive from FILE instead of the one found under each root.
    #[arg(long, value_name = "FILE")]
    pub system_hive: Option<PathBuf>,
    /// Do not read candidate files larger than this: bytes, or with a suffix K, M, G, T
    /// (powers of 1024: 64M, 2G).
    #[arg(long, value_name = "SIZE", default_value = DEFAULT_MAX_SIZE, value_parser = parse_size)]
    pub max_size: u64,
    /// Threads reading directories, 1 to 256 (default: one per core); 1 walks sequentially.
    /// The report is sorted, so it is the same whatever the number.
    #[arg(short = 'j', long, value_name = "N", value_parser = parse_threads)]
    pub threads: Option<usize>,
    /// No progress line and no per-path messages on standard error.
    #[arg(short, long)]
    pub quiet: bool,
    /// Before scanning a container image, check its stored hashes (E01 MD5/SHA-1, reading the
    /// whole image) or checksums (VHD, VHDX); a mismatch makes its roots inconclusive.
    #[arg(long)]
    pub verify_image: bool,
    /// Also judge each root as it was at DATE (RFC 3339, or YYYY-MM-DD meaning
    /// midnight UTC) from the install-time evidence: exit 1 when a root was vulnerable then,
    /// 2 when none was but one cannot be told.
    #[arg(long, value_name = "DATE", value_parser = kbscan_core::model::installed::parse_as_of)]
    pub as_of: Option<kbscan_core::model::time::Timestamp>,
    /// Table: the summary and each root's findings table, without the evidence blocks.
    #[arg(long)]
    pub brief: bool,
    /// The case this examination belongs to, recorded in the report (at most 256 characters).
    #[arg(long = "case", value_name = "ID", value_parser = parse_label)]
    pub case: Option<String>,
    /// Who ran the examination, recorded in the report (at most 256 characters).
    #[arg(long, value_name = "NAME", value_parser = parse_label)]
    pub examiner: Option<String>,
}

/// The longest `--case` or `--examiner` text, in characters.
pub const MAX_LABEL: usize = 256;

/// `--case`, `--examiner`: any text of 1 to 256 characters (escaped in the report).
fn parse_label(s: &str) -> Result<String, String> {
    let n = s.chars().count();
    if n == 0 {
        return Err("must not be empty".to_owned());
    }
    if n > MAX_LABEL {
        return Err(format!(
            "is {n} characters long; at most {MAX_LABEL} are recorded in the report"
        ));
    }
    Ok(s.to_owned())
}

/// The most walking threads `-j` accepts.
pub const MAX_THREADS: usize = 256;

/// `-j N`: 1 to 256.
fn parse_threads(s: &str) -> Result<usize, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if (1..=MAX_THREADS as u64).contains(&n) => Ok(n as usize),
        _ => Err(format!(
            "expected a number of threads from 1 to {MAX_THREADS}"
        )),
    }
}

/// A size in bytes, optionally with a binary suffix: `1048576`, `64K`, `64M`, `2G`, `1T`
/// (also `KiB`, `MiB`, …, any case). Refused when it does not fit in 64 bits.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, suffix) = t.split_at(split);
    // `64 MiB` as `--help` shows the default: one space may stand before the unit.
    let suffix = suffix.strip_prefix(' ').unwrap_or(suffix);
    let shift = match suffix.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" => 10,
        "m" | "mib" => 20,
        "g" | "gib" => 30,
        "t" | "tib" => 40,
        _ => {
            return Err(format!(
                "{s:?} is not a size: bytes, or a number with K, M, G or T (e.g. 64M)"
            ))
        }
    };
    if digits.is_empty() {
        return Err(format!(
            "{s:?} is not a size: a number is needed (e.g. 64M)"
        ));
    }
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1u64 << shift))
        .ok_or_else(|| format!("{s:?} is too large (at most {} bytes)", u64::MAX))
}

/// `--max-size`'s default as people write it (the library's `DEFAULT_MAX_SIZE`; a test keeps
/// the two equal).
const DEFAULT_MAX_SIZE: &str = "64MiB";

impl ScanArgs {
    /// The scan settings these flags ask for.
    pub fn settings(&self) -> kbscan_core::scan::Settings {
        kbscan_core::scan::Settings {
            max_size: self.max_size,
            hives: kbscan_core::registry::HiveArgs {
                software: self.software_hive.clone(),
                system: self.system_hive.clone(),
            },
            follow_symlinks: self.follow_symlinks,
            cross_mounts: self.cross_mounts,
            threads: self
                .threads
                .unwrap_or_else(kbscan_core::walk::default_threads)
                .clamp(1, MAX_THREADS),
            verify_image: self.verify_image,
        }
    }
}

const CASE_HELP: &str = "\
Output folder:
  items/ID.json   each item's report: kbscan scan -f json's document plus `case_item`
                  (the evidence's identity, the settings, the item's rows)
  case.txt, case.csv, case.json, case.html
                  the matrix of systems x rules (the table is also printed)

A re-run skips every item whose report records the same evidence (size and modification
time of each file, an E01's stored hashes, a folder's metadata digest) and the same
settings, scans the others, and says which. An item that cannot be scanned is a row
\"failed\" with its error.

Exit codes: the worst item's: 1 if any system is vulnerable, else 2 if any item failed or
was incomplete, else 0; 2 also for a usage error or a summary that cannot be written.";

#[derive(Debug, Args)]
pub struct CaseArgs {
    /// A folder whose entries are the evidence items: each subfolder a tree (one system,
    /// like `kbscan scan DIR`), each file a disk image (segments and extents of another
    /// entry's set are part of it, not items of their own).
    #[arg(
        value_name = "DIR",
        required_unless_present = "manifest",
        conflicts_with = "manifest"
    )]
    pub dir: Option<PathBuf>,
    /// The evidence items listed in FILE instead: one path per line (blank lines and lines
    /// starting with # ignored), or CSV whose header names an `id` and a `path` column;
    /// relative paths are taken from FILE's folder.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// The output folder (created when missing); refused when it is, or lies inside, any
    /// evidence item, the case folder, the manifest or a rule file.
    #[arg(short = 'o', long = "output-dir", value_name = "OUT")]
    pub output_dir: PathBuf,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Evidence items scanned at once, 1 to 256 (default: one per core, at most one per
    /// item). Memory is at most the sum of the running items' own bounds.
    #[arg(short = 'J', long, value_name = "N", value_parser = parse_threads)]
    pub jobs: Option<usize>,
    /// Threads per item, 1 to 256 (default: the cores divided by the jobs, at least 1).
    #[arg(short = 'j', long, value_name = "N", value_parser = parse_threads)]
    pub threads: Option<usize>,
    /// Scan every item again, even one whose report matches its evidence.
    #[arg(long)]
    pub rescan: bool,
    /// Follow symbolic links whose target stays inside a folder item (absolute links never).
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Walk folders that are mount points inside a folder item.
    #[arg(long)]
    pub cross_mounts: bool,
    /// Do not read candidate files larger than this (64M, 2G).
    #[arg(long, value_name = "SIZE", default_value = DEFAULT_MAX_SIZE, value_parser = parse_size)]
    pub max_size: u64,
    /// Check each container's stored hashes or checksums before scanning it (reads the whole
    /// image).
    #[arg(long)]
    pub verify_image: bool,
    /// Also judge each system as it was at DATE (RFC 3339, or YYYY-MM-DD meaning midnight
    /// UTC); the matrix shows each rule's state at that date.
    #[arg(long, value_name = "DATE", value_parser = kbscan_core::model::installed::parse_as_of)]
    pub as_of: Option<kbscan_core::model::time::Timestamp>,
    /// The case this examination belongs to, recorded in every report.
    #[arg(long = "case", value_name = "ID", value_parser = parse_label)]
    pub case: Option<String>,
    /// Who ran the examination, recorded in every report.
    #[arg(long, value_name = "NAME", value_parser = parse_label)]
    pub examiner: Option<String>,
    /// No progress line and no per-item messages on standard error.
    #[arg(short, long)]
    pub quiet: bool,
    /// Colour the printed table's verdicts: auto, always, never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
}

impl CaseArgs {
    /// The scan settings of every item, with `threads` walking threads each.
    pub fn settings(&self, threads: usize) -> kbscan_core::scan::Settings {
        kbscan_core::scan::Settings {
            max_size: self.max_size,
            hives: kbscan_core::registry::HiveArgs::default(),
            follow_symlinks: self.follow_symlinks,
            cross_mounts: self.cross_mounts,
            threads: threads.clamp(1, MAX_THREADS),
            verify_image: self.verify_image,
        }
    }
}

const UPDATES_HELP: &str = "\
Per file: current (the recorded version), older (the record claims a version the live file
does not have), newer (a later file; the update that records it is named), missing,
unjudged (no version recorded or readable, a path that cannot be placed under the root).
Per update: consistent, replaced, contradicted, file_missing, unjudged, no_file_list.

Exit codes: 1 when a record is contradicted by an older file, else 2 when anything could not
be compared (a file unjudged, a root or hive not read, bounds met), else 0; 2 also for a
usage error or a report that cannot be written.";

#[derive(Debug, Args)]
pub struct UpdatesArgs {
    /// Folders, disk images or backups to audit, as `kbscan scan` reads them: each Windows
    /// folder found (with its hives) is one system.
    #[arg(required = true, value_name = "ROOT")]
    pub roots: Vec<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Follow symbolic links whose target stays inside the root (absolute links never).
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Walk folders that are mount points inside a folder root.
    #[arg(long)]
    pub cross_mounts: bool,
    /// Read the SOFTWARE hive from FILE instead of the one found under each root.
    #[arg(long, value_name = "FILE")]
    pub software_hive: Option<PathBuf>,
    /// Do not read listed files larger than this (64M, 2G).
    #[arg(long, value_name = "SIZE", default_value = DEFAULT_MAX_SIZE, value_parser = parse_size)]
    pub max_size: u64,
    /// Threads reading directories, 1 to 256 (default: one per core).
    #[arg(short = 'j', long, value_name = "N", value_parser = parse_threads)]
    pub threads: Option<usize>,
    /// No progress line and no per-path messages on standard error.
    #[arg(short, long)]
    pub quiet: bool,
    /// Check each container's stored hashes or checksums before reading it.
    #[arg(long)]
    pub verify_image: bool,
    /// The case this examination belongs to, recorded in the report.
    #[arg(long = "case", value_name = "ID", value_parser = parse_label)]
    pub case: Option<String>,
    /// Who ran the examination, recorded in the report.
    #[arg(long, value_name = "NAME", value_parser = parse_label)]
    pub examiner: Option<String>,
}

impl UpdatesArgs {
    /// The scan settings these flags ask for.
    pub fn settings(&self) -> kbscan_core::scan::Settings {
        kbscan_core::scan::Settings {
            max_size: self.max_size,
            hives: kbscan_core::registry::HiveArgs {
                software: self.software_hive.clone(),
                system: None,
            },
            follow_symlinks: self.follow_symlinks,
            cross_mounts: self.cross_mounts,
            threads: self
                .threads
                .unwrap_or_else(kbscan_core::walk::default_threads)
                .clamp(1, MAX_THREADS),
            verify_image: self.verify_image,
        }
    }
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// PE files to describe (with -r, folders too).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Describe every PE file (one that begins with MZ) under each FOLDER given, in path order:
    /// links are not followed and nothing outside the folder is read.
    #[arg(short = 'r', long)]
    pub recurse: bool,
    #[command(flatten)]
    pub output: ListingOutputArgs,
    /// Do not read files larger than this: bytes, or with a suffix K, M, G, T (64M, 2G).
    #[arg(long, value_name = "SIZE", default_value = DEFAULT_MAX_SIZE, value_parser = parse_size)]
    pub max_size: u64,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(flatten)]
    pub output: ListingOutputArgs,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Print the build lineage table (which update shipped which build) instead of the rules.
    #[arg(long)]
    pub lineage: bool,
}

/// The man pages, generated from these definitions: `kbscan.1` and one page per visible
/// subcommand (`kbscan-scan.1`…), written into `dir` (`kbscan man DIR`; the committed copies
/// in `man/` are checked to be current by `tests/cli/man_completions.rs`).
pub fn write_man_pages(dir: &std::path::Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut cmd = command();
    cmd.build();
    let mut written = Vec::new();
    let mut page =
        |c: clap::Command, file: String, extra: &[(&str, &str)]| -> std::io::Result<()> {
            let mut buf = Vec::new();
            let man = clap_mangen::Man::new(c.clone());
            man.render_title(&mut buf)?;
            man.render_name_section(&mut buf)?;
            man.render_synopsis_section(&mut buf)?;
            man.render_description_section(&mut buf)?;
            man.render_options_section(&mut buf)?;
            if c.has_subcommands() {
                man.render_subcommands_section(&mut buf)?;
            }
            for (title, body) in extra {
                buf.extend_from_slice(format!(".SH \"{title}\"\n{body}").as_bytes());
            }
            man.render_version_section(&mut buf)?;
            let path = dir.join(file);
            std::fs::write(&path, buf)?;
            written.push(path);
            Ok(())
        };
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        // The page's name (`kbscan-scan`), leaked: clap keeps names as `&'static str`.
        let name: &'static str = format!("kbscan-{}", sub.get_name()).leak();
        let extra = man_sections(sub.get_name());
        page(
            sub.clone().name(name).version(env!("CARGO_PKG_VERSION")),
            format!("{name}.1"),
            &extra,
        )?;
    }
    page(cmd, "kbscan.1".to_owned(), &man_sections(""))?;
    Ok(written)
}

/// The hand-written sections of a man page (roff): examples, exit status, environment and
/// files, for the page of `sub` (`""`: kbscan(1) itself).
fn man_sections(sub: &str) -> Vec<(&'static str, &'static str)> {
    const SCAN_EXAMPLES: &str = r#".TP
\fBkbscan scan /mnt/server1\fR
Judge the Windows system mounted at /mnt/server1 with every built\-in rule; a table on the terminal.
.TP
\fBkbscan scan \-f html \-o report.html \-\-case 2024\-017 \-\-examiner "A. Jones" server1.E01\fR
Read an E01 image in place (every NTFS and FAT volume in it is a system) and write a printable report with the examination record.
.TP
\fBkbscan scan \-\-rule MS04\-008 \-\-as\-of 2004\-03\-01 /mnt/server1\fR
Was MS04\-008 missing on 1 March 2004? Exit 1 if it was, 2 if it cannot be told.
.TP
\fBkbscan scan \-f jsonl /mnt/images/* | jq 'select(.record=="root")'\fR
One JSON object per line, for a pipeline.
.TP
\fBkbscan scan \-f timeline \-o server1.jsonl server1.vhd\fR
Every time read, as Timesketch\-ready JSON Lines.
"#;
    const VERSION_EXAMPLES: &str = r#".TP
\fBkbscan version "/mnt/server1/WINNT/system32/Windows Media/Server/nscm.exe"\fR
The file's numeric and string versions, every version resource, hashes and PE header facts, its Authenticode image hash and signature (present, not verified).
.TP
\fBkbscan version \-r \-f csv \-o system32.csv /mnt/server1/WINNT/system32\fR
Every PE file under the folder (links not followed), one row per string, with SHA\-1, the image hashes and the signer, for a hash set or a catalog.
"#;
    const RULES_EXAMPLES: &str = r#".TP
\fBkbscan rules\fR
The built\-in advisories: files, fixed versions, sources.
.TP
\fBkbscan rules \-\-rules site.toml \-f json\fR
With a rule file of your own, as JSON.
"#;
    const CASE_EXAMPLES: &str = r#".TP
\fBkbscan case \-o /cases/2024\-017/kbscan \-\-case 2024\-017 /evidence/2024\-017\fR
Every image and tree in /evidence/2024\-017 scanned, one JSON report per item and the matrix of systems \(mu rules in case.txt, case.csv, case.json and case.html; run it again after adding images and only the new or changed ones are scanned.
.TP
\fBkbscan case \-\-manifest items.csv \-o out \-\-as\-of 2004\-03\-01 \-J 4\fR
The items listed in items.csv (columns id and path), four at a time, with each rule's state on 1 March 2004.
"#;
    const CASE_EXIT_STATUS: &str = r#".TP
\fB0\fR
No system of any item is vulnerable and every item was judged completely.
.TP
\fB1\fR
A system of some item is vulnerable (with \-\-as\-of, vulnerable at that date): the worst item's code wins.
.TP
\fB2\fR
An item failed or could not be judged completely, and nothing vulnerable; also a usage error, a refused output folder, or a summary that could not be written.
"#;
    const CASE_FILES: &str = r#".TP
\fIOUT/items/ID.json\fR
Each item's report: the document of \fBkbscan scan \-f json\fR with a \fBcase_item\fR record first: the evidence's identity (size and modification time of every file of an image's set, the MD5/SHA\-1 an E01 stores, a folder's metadata digest), a hash of the settings, and the item's rows. A re\-run reuses the report when both still match, and scans the item again otherwise, saying which on standard error and in the \fBrun\fR column.
.TP
\fIOUT/case.txt\fR, \fIcase.csv\fR, \fIcase.json\fR, \fIcase.html\fR
The matrix of systems \(mu rules: one row per system of every item (one row \fBfailed\fR, with its error, for an item that could not be scanned), one column per rule with its verdict and, with \-\-as\-of, its state at the date. The table is also printed on standard output.
"#;
    const UPDATES_EXAMPLES: &str = r#".TP
\fBkbscan updates /mnt/server1\fR
Every update record of the system mounted at /mnt/server1, each listed file compared with the live file; a table, one line per update.
.TP
\fBkbscan updates \-f html \-o audit.html \-\-case 2024\-017 server1.E01\fR
The same for every Windows system in an E01 image, as a printable page with the examination record.
"#;
    const UPDATES_EXIT_STATUS: &str = r#".TP
\fB0\fR
Every listed file was compared and none is older than its record says.
.TP
\fB1\fR
A record is contradicted: a listed file is older than the version the record claims.
.TP
\fB2\fR
Something could not be compared (a file unjudged, a root or SOFTWARE hive not read, records beyond the bounds) and nothing is contradicted; also a usage error or a report that could not be written.
"#;
    const COMPLETIONS_EXAMPLES: &str = r#".TP
\fBkbscan completions bash > ~/.local/share/bash\-completion/completions/kbscan\fR
Install bash completions for one user (the Debian package installs them for everyone).
"#;
    const EXIT_STATUS: &str = r#".TP
\fB0\fR
No root is vulnerable and every candidate file was judged.
.TP
\fB1\fR
At least one root is vulnerable (wins over errors); with \-\-as\-of, vulnerable at that date.
.TP
\fB2\fR
A usage error, a root or folder that could not be scanned, or a candidate that could not be judged, and nothing vulnerable. Also, whatever the verdict, a refused \-o or a report that could not be written (standard output closed, disk full). A reader that goes away (| head) ends kbscan quietly with the verdict's code.
"#;
    const ENVIRONMENT: &str = r#".TP
\fBNO_COLOR\fR
When set and not empty, the table is not coloured with \-\-color auto (the default).
.TP
\fBTERM\fR
\fBdumb\fR turns colour off with \-\-color auto.
"#;
    const FILES: &str = r#".TP
\fI/usr/share/doc/kbscan/README.md\fR
The bulletins, the verdicts, what kbscan promises an examiner.
.TP
\fIFILE.examination.json\fR
Beside a CSV report written with \-o FILE: the examination record, which CSV has no place for (refused, like FILE, when it exists, unless \-\-force). A CSV report on standard output gets the record on standard error instead, one JSON line beginning {"examination":.
"#;
    let examples = match sub {
        "scan" | "" => SCAN_EXAMPLES,
        "version" => VERSION_EXAMPLES,
        "rules" => RULES_EXAMPLES,
        "case" => CASE_EXAMPLES,
        "updates" => UPDATES_EXAMPLES,
        _ => COMPLETIONS_EXAMPLES,
    };
    let mut v = vec![("EXAMPLES", examples)];
    if matches!(sub, "scan" | "") {
        v.push(("EXIT STATUS", EXIT_STATUS));
        v.push(("ENVIRONMENT", ENVIRONMENT));
        v.push(("FILES", FILES));
    }
    if sub == "updates" {
        v.push(("EXIT STATUS", UPDATES_EXIT_STATUS));
    }
    if sub == "case" {
        v.push(("EXIT STATUS", CASE_EXIT_STATUS));
        v.push(("FILES", CASE_FILES));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_max_size_default_is_the_librarys() {
        assert_eq!(
            parse_size(DEFAULT_MAX_SIZE),
            Ok(kbscan_core::evidence::inspect::DEFAULT_MAX_SIZE)
        );
    }

    #[test]
    fn sizes_take_binary_suffixes_and_never_wrap() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("64mib"), Ok(64 << 20));
        assert_eq!(parse_size("64 MiB"), Ok(64 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
        for bad in [
            "",
            "M",
            "12X",
            "-1",
            "1.5G",
            "18446744073709551616",
            "16777216T",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn labels_are_bounded() {
        assert_eq!(parse_label("2024-017"), Ok("2024-017".to_owned()));
        assert!(parse_label("").is_err());
        assert_eq!(parse_label(&"é".repeat(256)).map(|s| s.len()), Ok(512));
        let long = parse_label(&"x".repeat(257)).unwrap_err();
        assert!(long.contains("at most 256"), "{long}");
    }

    #[test]
    fn threads_are_1_to_256() {
        assert_eq!(parse_threads("1"), Ok(1));
        assert_eq!(parse_threads("256"), Ok(256));
        for bad in ["0", "257", "1000", "18446744073709551615", "-1", "x"] {
            assert!(parse_threads(bad).is_err(), "{bad}");
        }
    }
}
