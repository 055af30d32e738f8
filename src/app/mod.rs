//! Runs a parsed command line: loads rules, scans, renders. Returns the exit code. With
//! `main.rs`, the only code that writes to standard error (messages, the progress line).

mod progress;

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::cli::{Cli, Command, OutputArgs, RulesArgs, ScanArgs, VersionArgs};
use crate::describe;
use crate::error::Error;
use crate::model::described::VersionReport;
use crate::model::{exit, Report, Summary, ToolInfo};
use crate::output;
use crate::rules::RuleSet;
use crate::scan::Scanner;
use progress::Progress;

pub fn run(cli: Cli) -> Result<i32, Error> {
    match cli.command {
        Command::Scan(a) => run_scan(a),
        Command::Version(a) => run_version(a),
        Command::Rules(a) => run_rules(a),
    }
}

/// Refuses an output file inside any root: the report must never be written into evidence.
fn check_output_outside(output: &Path, roots: &[PathBuf]) -> Result<(), Error> {
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Ok(out_dir) = fs::canonicalize(&parent) else {
        return Ok(()); // The create will fail with a clear message.
    };
    let out_file = output
        .file_name()
        .map(|n| out_dir.join(n))
        .unwrap_or_default();
    for root in roots {
        // A disk image (or a segment of a split set) must not be the report file either.
        if crate::image::is_image(root) {
            for seg in crate::image::reader::segment_paths(root) {
                if fs::canonicalize(&seg).is_ok_and(|s| s == out_file) {
                    return Err(Error::Output {
                        path: output.to_path_buf(),
                        source: io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!(
                                "it is the scanned image {}; kbscan never writes into evidence",
                                seg.display()
                            ),
                        ),
                    });
                }
            }
            continue;
        }
        if let Ok(r) = fs::canonicalize(root) {
            if out_dir.starts_with(&r) {
                return Err(Error::Output {
                    path: output.to_path_buf(),
                    source: io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "it is inside the scanned root {}; kbscan never writes into evidence",
                            root.display()
                        ),
                    ),
                });
            }
        }
    }
    Ok(())
}

fn open_output(args: &OutputArgs) -> Result<Box<dyn Write>, Error> {
    match &args.output {
        None => Ok(Box::new(BufWriter::new(io::stdout().lock()))),
        Some(path) => {
            let f = File::create(path).map_err(|source| Error::Output {
                path: path.clone(),
                source,
            })?;
            Ok(Box::new(BufWriter::new(f)))
        }
    }
}

fn finish(mut w: Box<dyn Write>, args: &OutputArgs) -> Result<(), Error> {
    w.flush().map_err(|source| match &args.output {
        Some(path) => Error::Output {
            path: path.clone(),
            source,
        },
        None => Error::Write(source),
    })
}

fn run_scan(a: ScanArgs) -> Result<i32, Error> {
    let rules = RuleSet::load_selected(&a.rules.rules, &a.rules.select)?;
    if let Some(out) = &a.output.output {
        check_output_outside(out, &a.roots)?;
    }
    let mut w = open_output(&a.output)?;
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
    let summary = Summary::of(&roots);
    let report = Report {
        tool: ToolInfo::this(),
        rules: rules.rules.clone(),
        roots,
        images,
        summary,
    };
    output::write_scan(&report, a.output.format.into(), &mut w)?;
    finish(w, &a.output)?;
    Ok(report.summary.exit_code)
}

fn run_version(a: VersionArgs) -> Result<i32, Error> {
    let mut w = open_output(&a.output)?;
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
    output::write_versions(&report, a.output.format.into(), &mut w)?;
    finish(w, &a.output)?;
    Ok(code)
}

fn run_rules(a: RulesArgs) -> Result<i32, Error> {
    let rules = RuleSet::load_selected(&a.rules.rules, &a.rules.select)?;
    let mut w = open_output(&a.output)?;
    if a.lineage {
        output::write_lineage(crate::lineage::builtin(), a.output.format.into(), &mut w)?;
    } else {
        output::write_rules(&rules, a.output.format.into(), &mut w)?;
    }
    finish(w, &a.output)?;
    Ok(exit::CLEAN)
}
