//! Command-line interface: the flags, and their translation into the library's settings
//! (`output::Format`, `scan::Settings`) before anything runs. Nothing below `app` sees a flag.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0  no root is vulnerable and every candidate file was judged
  1  at least one root is vulnerable (wins over errors)
  2  usage error, a root or folder could not be scanned, or a candidate could not be judged
     (and nothing is vulnerable)

Messages go to standard error; the report goes to standard output or to -o FILE.";

/// Offline, read-only check of Windows file trees for missing security updates.
///
/// kbscan reads mounted disk images and restored backups, finds the files a security update
/// replaces, reads their version resources and says, per file and per system, whether the
/// update is missing. Built in: MS04-008 / KB832359 (Windows Media Services 4.1).
#[derive(Debug, Parser)]
#[command(name = "kbscan", version, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan one or more roots (each the top of one Windows system) and judge them.
    #[command(after_help = EXIT_CODES)]
    Scan(ScanArgs),
    /// Print the version information of any PE file (an offline sigcheck).
    #[command(after_help = "Exit codes: 0 every file read, 2 a file could not be read.")]
    Version(VersionArgs),
    /// List the loaded rules (advisories).
    Rules(RulesArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Aligned text for people (fits 100 columns).
    Table,
    /// One row per finding, header row first.
    Csv,
    /// One JSON document.
    Json,
    /// One JSON object per line, each carrying its root.
    Jsonl,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
    /// Write the report to FILE instead of standard output (never inside a scanned root).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RuleArgs {
    /// Add the rules in FILE (TOML, see docs/rules.md); may be repeated.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
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
    /// Do not read candidate files larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = kbscan_default_max())]
    pub max_size: u64,
    /// Threads reading directories (default: one per core); 1 walks sequentially. The
    /// report is sorted, so it is the same whatever the number.
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
    /// No progress line and no per-path messages on standard error.
    #[arg(short, long)]
    pub quiet: bool,
}

fn kbscan_default_max() -> u64 {
    crate::evidence::inspect::DEFAULT_MAX_SIZE
}

impl From<FormatArg> for crate::output::Format {
    fn from(f: FormatArg) -> Self {
        use crate::output::Format;
        match f {
            FormatArg::Table => Format::Table,
            FormatArg::Csv => Format::Csv,
            FormatArg::Json => Format::Json,
            FormatArg::Jsonl => Format::Jsonl,
        }
    }
}

impl ScanArgs {
    /// The scan settings these flags ask for.
    pub fn settings(&self) -> crate::scan::Settings {
        crate::scan::Settings {
            max_size: self.max_size,
            hives: crate::registry::HiveArgs {
                software: self.software_hive.clone(),
                system: self.system_hive.clone(),
            },
            follow_symlinks: self.follow_symlinks,
            cross_mounts: self.cross_mounts,
            threads: self
                .threads
                .unwrap_or_else(crate::walk::default_threads)
                .max(1),
        }
    }
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// PE files to describe.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Do not read files larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = kbscan_default_max())]
    pub max_size: u64,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub rules: RuleArgs,
}
