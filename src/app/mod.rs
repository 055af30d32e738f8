//! Runs a parsed command line: loads rules, scans, renders. Returns the exit code. With
//! `main.rs`, the only code that writes to standard error (messages, the progress line).

mod case;
mod outfile;
mod progress;
mod record;
mod updates;

use std::io;

use crate::cli::{Cli, Command, RulesArgs, ScanArgs, VersionArgs};
use crate::error::Error;
use kbscan_core::describe;
use kbscan_core::model::described::VersionReport;
use kbscan_core::model::{exit, Report, Summary, ToolInfo};
use kbscan_core::scan::Scanner;
use outfile::{Existing, Inputs, Sink};
use progress::Progress;

pub fn run(cli: Cli) -> Result<i32, Error> {
    guard_standard_fds();
    match cli.command {
        Command::Scan(a) => run_scan(a),
        Command::Case(a) => case::run_case(a),
        Command::Updates(a) => updates::run_updates(a),
        Command::Version(a) => run_version(a),
        Command::Rules(a) => run_rules(a),
        Command::Completions(a) => run_completions(a),
        Command::Man(a) => run_man(a),
    }
}

/// How the table is laid out: colours only for a terminal on standard output (`--color
/// always` colours anywhere; `NO_COLOR` set and not empty turns `auto` off); lines within the
/// terminal's width, or 100 columns into a file or a pipe, or `--width`.
fn style(o: &crate::cli::OutputArgs, brief: bool) -> kbscan_output::Style {
    use std::io::IsTerminal;
    let terminal = o.output.is_none() && io::stdout().is_terminal();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color = match o.color {
        crate::cli::ColorArg::Always => true,
        crate::cli::ColorArg::Never => false,
        crate::cli::ColorArg::Auto => {
            terminal && !no_color && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
        }
    };
    // `--width N` (0: never wrap), else the terminal's width, else (a file, a pipe) 100.
    let width = match o.width {
        Some(0) => None,
        Some(n) => Some(n.max(40)),
        None if terminal => Some(
            terminal_size::terminal_size_of(io::stdout())
                .map_or(kbscan_output::WIDTH, |(w, _)| usize::from(w.0).max(40)),
        ),
        None => Some(kbscan_output::WIDTH),
    };
    kbscan_output::Style {
        color,
        width,
        brief,
        excel: o.excel,
    }
}

/// `kbscan scan -f html` and friends need a scan: refuse before anything is opened.
fn scan_only_formats(o: &crate::cli::OutputArgs) -> Result<(), Error> {
    if o.format.scan_only() {
        return Err(kbscan_output::scan_only(o.format).into());
    }
    Ok(())
}

/// Whether standard output was closed when kbscan started (`>&-`).
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub(crate) fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Notes whether standard output is closed, then fills any closed standard descriptor with
/// `/dev/null`: otherwise the first file kbscan opens (an evidence file, the report) would get
/// that number, and messages or the report would be written to it.
///
/// The Rust runtime already fills a closed 0, 1 or 2 with `/dev/null` opened read-write
/// before `main` (on Linux and most Unixes), so a closed standard output shows up as
/// `/dev/null` open for reading and writing, which a shell redirection (`>/dev/null`, write
/// only) never gives; that is taken as closed (`1<>/dev/null` would be taken so too).
fn guard_standard_fds() {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        for fd in 0..=2 {
            // SAFETY: fcntl(F_GETFD) only queries the descriptor table.
            let closed = unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1
                && io::Error::last_os_error().raw_os_error() == Some(libc::EBADF);
            if !closed {
                continue;
            }
            if fd == 1 {
                STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            // SAFETY: a constant NUL-terminated path; the lowest free descriptor is `fd`.
            let got =
                unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
            if got >= 0 && got != fd {
                // SAFETY: `got` was just opened here and is closed once.
                unsafe { libc::close(got) };
            }
        }
        // SAFETY: fcntl(F_GETFL) only queries the descriptor's flags.
        let flags = unsafe { libc::fcntl(1, libc::F_GETFL) };
        let is_null = |m: &std::fs::Metadata| m.file_type().is_char_device();
        use std::os::fd::FromRawFd;
        // SAFETY: descriptor 1 is open (filled above); ManuallyDrop never closes it.
        let stdout = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(1) });
        let stdout_is_null = stdout
            .metadata()
            .ok()
            .zip(std::fs::metadata("/dev/null").ok())
            .is_some_and(|(o, n)| is_null(&o) && is_null(&n) && o.rdev() == n.rdev());
        if flags != -1 && flags & libc::O_ACCMODE == libc::O_RDWR && stdout_is_null {
            STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// The inputs of a command that reads rule files, and those files.
fn inputs_with_rules(rules: &[std::path::PathBuf]) -> Inputs {
    let mut inputs = Inputs::default();
    for r in rules {
        inputs.add(r, "the rule file");
    }
    inputs
}

fn run_scan(a: ScanArgs) -> Result<i32, Error> {
    let mut inputs = inputs_with_rules(&a.rules.rules);
    for root in &a.roots {
        inputs.add_root(root);
    }
    if let Some(h) = &a.software_hive {
        inputs.add(h, "the --software-hive file");
    }
    if let Some(h) = &a.system_hive {
        inputs.add(h, "the --system-hive file");
    }
    let mut record = record::start(a.case.as_deref(), a.examiner.as_deref());
    let (mut sink, mut sidecar) = open_report(&a.output, &inputs)?;
    let rules = kbscan_core::rules::load_selected(&a.rules.rules, &a.rules.select)?;
    let scanner = Scanner::new(&rules, a.settings());
    let progress = Progress::new(a.quiet);
    let mut roots = Vec::with_capacity(a.roots.len());
    let mut images = Vec::new();
    let mut backups = Vec::new();
    for root in &a.roots {
        let shown = root.display().to_string();
        progress.root(&shown);
        let mut on_entries = |n| progress.entries(&shown, n);
        let scanned = scan_root(&scanner, root, &mut on_entries);
        images.extend(scanned.image);
        backups.extend(scanned.backup);
        let found = scanned.roots;
        for r in found {
            if !a.quiet {
                for e in &r.errors {
                    let sep = if e.path.is_empty() { "" } else { "/" };
                    progress.message(&format!("kbscan: {}{sep}{}: {}", r.root, e.path, e.message));
                }
            }
            roots.push(r);
        }
    }
    progress.finish();
    // issue 14: --as-of, judged per root from its install-time evidence.
    if let Some(date) = a.as_of {
        for r in &mut roots {
            r.as_of = Some(kbscan_core::judge::installed::as_of(r, &rules, date));
        }
    }
    record::finish(&mut record, &rules, &images);
    let summary = Summary::of(&roots);
    let report = Report {
        tool: ToolInfo::this(),
        examination: record,
        rules: rules.rules.clone(),
        roots,
        images,
        backups,
        summary,
    };
    let style = style(&a.output, a.brief);
    let written = kbscan_output::write_scan(&report, a.output.format, style, sink.writer());
    sink.finish(written, &inputs)?;
    if let Some(mut side) = sidecar.take() {
        let written = kbscan_output::write_examination(&report.examination, side.writer());
        side.finish(written, &inputs)?;
    } else if a.output.format.sidecar && a.output.output.is_none() {
        // A CSV report on standard output has no file to put the record beside: it goes to
        // standard error, one JSON line after the report (even with -q: it is part of the
        // report, not a message).
        eprintln!("{}", kbscan_output::examination_line(&report.examination)?);
    }
    Ok(report.summary.exit_code)
}

/// What one root given on the command line gave: its roots, and the report of the image or
/// backup it was.
pub(crate) struct Scanned {
    pub roots: Vec<kbscan_core::model::RootReport>,
    pub image: Option<kbscan_core::model::ImageReport>,
    pub backup: Option<kbscan_core::model::backup::BackupReport>,
}

/// One root through the scanner, as `kbscan scan` and each item of `kbscan case` read it: a
/// file is a backup or a disk image (detected by content), with its report; a folder is
/// walked.
pub(crate) fn scan_root(
    scanner: &Scanner,
    root: &std::path::Path,
    progress: &mut dyn FnMut(u64),
) -> Scanned {
    if kbscan_core::backup::is_backup(root) {
        let (roots, backup) = scanner.backup(root, progress);
        Scanned {
            roots,
            image: None,
            backup: Some(backup),
        }
    } else if kbscan_core::image::is_image(root) {
        let (roots, image) = scanner.image(root, progress);
        Scanned {
            roots,
            image: Some(image),
            backup: None,
        }
    } else {
        Scanned {
            roots: scanner.folder(root, progress),
            image: None,
            backup: None,
        }
    }
}

/// Where a CSV report's examination record goes: `FILE.examination.json` beside `-o FILE`.
pub fn examination_path(output: &std::path::Path) -> std::path::PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".examination.json");
    name.into()
}

/// Opens the report `-o` names (or standard output) and, for a format whose examination
/// record goes beside it (CSV), `FILE.examination.json`: every refusal before anything is
/// opened and before the scan starts. Beside a device or a FIFO (`-o /dev/null`,
/// `-o >(gzip …)`) there is no place for that record: refused (a FIFO would block the open
/// until a reader came), never a file made beside /dev/null. The record's file is checked
/// before the report is opened, so a refusal leaves nothing behind.
fn open_report(o: &crate::cli::OutputArgs, inputs: &Inputs) -> Result<(Sink, Option<Sink>), Error> {
    if o.excel && o.format.name != "csv" {
        return Err(Error::Usage(format!(
            "--excel shapes CSV for spreadsheets; it does nothing with -f {}",
            o.format.name
        )));
    }
    let existing = existing(o);
    let f = o.format;
    if let (Some(out), true) = (&o.output, f.sidecar) {
        if std::fs::metadata(out).is_ok_and(|m| !m.is_file()) {
            return Err(Error::Usage(format!(
                "-f {} -o {}: a {} report has no place for the examination record, which \
                 goes beside the report as FILE.examination.json, and nothing can be written \
                 beside a device or a pipe; write the report to a regular file, or choose -f json",
                f.name,
                out.display(),
                f.name
            )));
        }
        outfile::check(&examination_path(out), inputs, existing)?;
    }
    let sink = Sink::open(o.output.as_deref(), inputs, existing)?;
    let sidecar = match (&o.output, f.sidecar) {
        (Some(out), true) => Some(Sink::open(Some(&examination_path(out)), inputs, existing)?),
        _ => None,
    };
    Ok((sink, sidecar))
}

/// Whether `-o` may replace an existing file: only with `--force`.
fn existing(o: &crate::cli::OutputArgs) -> Existing {
    if o.force {
        Existing::Replace
    } else {
        Existing::Refuse
    }
}

fn run_version(a: VersionArgs) -> Result<i32, Error> {
    let output = a.output.general();
    scan_only_formats(&output)?;
    let mut inputs = Inputs::default();
    for f in &a.files {
        inputs.add(f, "the input file");
    }
    let mut sink = Sink::open(output.output.as_deref(), &inputs, existing(&output))?;
    let mut files = Vec::new();
    let mut tree_errors = false;
    for f in &a.files {
        if a.recurse && f.is_dir() {
            let tree = describe::describe_tree(f, a.max_size);
            for e in &tree.errors {
                eprintln!("kbscan: {e}");
            }
            if tree.not_pe > 0 || tree.not_files > 0 {
                eprintln!(
                    "kbscan: {}: {} file(s) that are not PE images and {} entries that are not \
                     regular files (links are not followed) were not described",
                    f.display(),
                    tree.not_pe,
                    tree.not_files
                );
            }
            if tree.truncated {
                eprintln!(
                    "kbscan: {}: stopped after {} files",
                    f.display(),
                    describe::MAX_TREE_FILES
                );
            }
            tree_errors |= !tree.errors.is_empty() || tree.truncated;
            files.extend(tree.files);
        } else {
            files.push(describe::describe_file(f, a.max_size));
        }
    }
    for f in &files {
        if let Some(e) = &f.error {
            eprintln!("kbscan: {}: {e}", f.path);
        }
    }
    let code = if tree_errors || files.iter().any(|f| f.error.is_some()) {
        exit::INCOMPLETE
    } else {
        exit::CLEAN
    };
    let report = VersionReport {
        tool: ToolInfo::this(),
        files,
    };
    let written = kbscan_output::write_versions(&report, a.output.format, sink.writer());
    sink.finish(written, &inputs)?;
    Ok(code)
}

fn run_rules(a: RulesArgs) -> Result<i32, Error> {
    let output = a.output.general();
    scan_only_formats(&output)?;
    let inputs = inputs_with_rules(&a.rules.rules);
    let mut sink = Sink::open(output.output.as_deref(), &inputs, existing(&output))?;
    let rules = kbscan_core::rules::load_selected(&a.rules.rules, &a.rules.select)?;
    let written = if a.lineage {
        kbscan_output::write_lineage(
            kbscan_core::lineage::builtin(),
            a.output.format,
            sink.writer(),
        )
    } else {
        kbscan_output::write_rules(&rules, a.output.format, sink.writer())
    };
    sink.finish(written, &inputs)?;
    Ok(exit::CLEAN)
}

/// `kbscan completions SHELL`: the completion script on standard output.
fn run_completions(a: crate::cli::CompletionsArgs) -> Result<i32, Error> {
    let mut sink = Sink::open(None, &Inputs::default(), Existing::Refuse)?;
    let mut cmd = crate::cli::command();
    clap_complete::generate(a.shell, &mut cmd, "kbscan", sink.writer());
    sink.finish(Ok(()), &Inputs::default())?;
    Ok(exit::CLEAN)
}

/// `kbscan man DIR`: the man pages, generated from the command-line definitions.
fn run_man(a: crate::cli::ManArgs) -> Result<i32, Error> {
    crate::cli::write_man_pages(&a.dir).map_err(|source| Error::Output {
        path: a.dir.clone(),
        source,
    })?;
    Ok(exit::CLEAN)
}
