//! Runs a parsed command line: loads rules, scans, renders. Returns the exit code. With
//! `main.rs`, the only code that writes to standard error (messages, the progress line).

mod outfile;
mod progress;

use std::io;

use crate::cli::{Cli, Command, RulesArgs, ScanArgs, VersionArgs};
use crate::describe;
use crate::error::Error;
use crate::model::described::VersionReport;
use crate::model::{exit, Report, Summary, ToolInfo};
use crate::output;
use crate::rules::RuleSet;
use crate::scan::Scanner;
use outfile::{Inputs, Sink};
use progress::Progress;

pub fn run(cli: Cli) -> Result<i32, Error> {
    guard_standard_fds();
    match cli.command {
        Command::Scan(a) => run_scan(a),
        Command::Version(a) => run_version(a),
        Command::Rules(a) => run_rules(a),
    }
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
    // Checked and opened before the scan, so a refused or unwritable -o costs no scan time.
    let mut sink = Sink::open(a.output.output.as_deref(), &inputs)?;
    let rules = RuleSet::load_selected(&a.rules.rules, &a.rules.select)?;
    let scanner = Scanner::new(&rules, a.settings());
    let progress = Progress::new(a.quiet);
    let mut roots = Vec::with_capacity(a.roots.len());
    let mut images = Vec::new();
    for root in &a.roots {
        let shown = root.display().to_string();
        progress.root(&shown);
        let mut on_entries = |n| progress.entries(&shown, n);
        // A file is read as a disk image (detected by content); a folder is walked.
        let found = if crate::image::is_image(root) {
            let (volumes, image) = scanner.image(root, &mut on_entries);
            images.push(image);
            volumes
        } else {
            scanner.folder(root, &mut on_entries)
        };
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
            r.as_of = Some(crate::judge::installed::as_of(r, date));
        }
    }
    let summary = Summary::of(&roots);
    let report = Report {
        tool: ToolInfo::this(),
        rules: rules.rules.clone(),
        roots,
        images,
        summary,
    };
    let written = output::write_scan(&report, a.output.format.into(), sink.writer());
    sink.finish(written, &inputs)?;
    Ok(report.summary.exit_code)
}

fn run_version(a: VersionArgs) -> Result<i32, Error> {
    let mut inputs = Inputs::default();
    for f in &a.files {
        inputs.add(f, "the input file");
    }
    let mut sink = Sink::open(a.output.output.as_deref(), &inputs)?;
    let files: Vec<_> = a
        .files
        .iter()
        .map(|f| describe::describe_file(f, a.max_size))
        .collect();
    for f in &files {
        if let Some(e) = &f.error {
            eprintln!("kbscan: {}: {e}", f.path);
        }
    }
    let code = if files.iter().any(|f| f.error.is_some()) {
        exit::INCOMPLETE
    } else {
        exit::CLEAN
    };
    let report = VersionReport {
        tool: ToolInfo::this(),
        files,
    };
    let written = output::write_versions(&report, a.output.format.into(), sink.writer());
    sink.finish(written, &inputs)?;
    Ok(code)
}

fn run_rules(a: RulesArgs) -> Result<i32, Error> {
    let inputs = inputs_with_rules(&a.rules.rules);
    let mut sink = Sink::open(a.output.output.as_deref(), &inputs)?;
    let rules = RuleSet::load_selected(&a.rules.rules, &a.rules.select)?;
    let written = if a.lineage {
        output::write_lineage(
            crate::lineage::builtin(),
            a.output.format.into(),
            sink.writer(),
        )
    } else {
        output::write_rules(&rules, a.output.format.into(), sink.writer())
    };
    sink.finish(written, &inputs)?;
    Ok(exit::CLEAN)
}
