//! JSON (one document) and JSON Lines (one object per line).

use std::io::Write;

use serde::Serialize;
use serde_json::{json, Value};

use crate::error::Error;
use crate::model::described::VersionReport;
use crate::model::Report;

fn encode(e: serde_json::Error) -> Error {
    if e.is_io() {
        Error::Write(e.into())
    } else {
        Error::Encode(e.to_string())
    }
}

pub fn document<T: Serialize>(value: &T, w: &mut dyn Write) -> Result<(), Error> {
    serde_json::to_writer_pretty(&mut *w, value).map_err(encode)?;
    writeln!(w)?;
    Ok(())
}

pub fn lines<'a, T: Serialize + 'a>(
    items: impl Iterator<Item = &'a T>,
    w: &mut dyn Write,
) -> Result<(), Error> {
    for item in items {
        serde_json::to_writer(&mut *w, item).map_err(encode)?;
        writeln!(w)?;
    }
    Ok(())
}

fn with_fields(value: impl Serialize, fields: &[(&str, Value)]) -> Result<Value, Error> {
    let mut v = serde_json::to_value(value).map_err(encode)?;
    if let Value::Object(map) = &mut v {
        for (k, val) in fields {
            map.insert((*k).to_owned(), val.clone());
        }
    }
    Ok(v)
}

/// `record: "finding"` lines (each with its `root`), then one `record: "root"` line per root
/// (verdict, reasons, errors), then one `record: "summary"` line.
pub fn scan_lines(report: &Report, w: &mut dyn Write) -> Result<(), Error> {
    let mut out = Vec::new();
    for root in &report.roots {
        for f in &root.findings {
            out.push(with_fields(
                f,
                &[
                    ("record", json!("finding")),
                    ("root", json!(root.root)),
                    ("root_verdict", json!(root.verdict)),
                ],
            )?);
        }
    }
    for root in &report.roots {
        let mut line = json!({
            "record": "root",
            "root": root.root,
            "verdict": root.verdict,
            "reasons": root.reasons,
            "rule_verdicts": root.rule_verdicts,
            "errors": root.errors,
            "notices": root.notices,
            "stats": root.stats,
            "system": root.system,
            "image": root.image,
        });
        // One of several Windows installations on a volume: the volume's root entry.
        if let (Some(parent), Value::Object(map)) = (&root.parent_root, &mut line) {
            map.insert("parent_root".to_owned(), json!(parent));
        }
        out.push(line);
    }
    for image in &report.images {
        out.push(with_fields(image, &[("record", json!("image"))])?);
    }
    out.push(with_fields(
        &report.summary,
        &[("record", json!("summary")), ("tool", json!(report.tool))],
    )?);
    lines(out.iter(), w)
}

pub fn version_lines(report: &VersionReport, w: &mut dyn Write) -> Result<(), Error> {
    lines(report.files.iter(), w)
}
