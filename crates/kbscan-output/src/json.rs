//! JSON (one document) and JSON Lines (one object per line).
//!
//! Every string written, map keys included, goes through `escape::escape_str`, except the
//! fields that already hold escaped names (serialized through `escape::Name`): the document
//! through [`Escaping`], a formatter, the lines through [`escaped`], on their `Value`s.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter, PrettyFormatter};
use serde_json::{json, Map, Value};

use crate::escape::{self, escape_str, Name};

use crate::model::described::VersionReport;
use crate::model::Report;
use crate::Error;

pub(crate) fn encode(e: serde_json::Error) -> Error {
    if e.is_io() {
        Error::Write(e.into())
    } else {
        Error::Encode(e.to_string())
    }
}

/// A pretty formatter that escapes every string it writes, unless the string is an escaped
/// name (flagged by `escape::Name` just before it).
struct Escaping<F> {
    pretty: F,
    /// The string being written, raw, when it is to be escaped at its end.
    text: Option<String>,
}

impl<F: Formatter> Formatter for Escaping<F> {
    fn begin_string<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if !escape::take_name_flag() {
            self.text = Some(String::new());
        }
        self.pretty.begin_string(w)
    }
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        match &mut self.text {
            Some(t) => {
                t.push_str(fragment);
                Ok(())
            }
            None => self.pretty.write_string_fragment(w, fragment),
        }
    }
    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        e: CharEscape,
    ) -> io::Result<()> {
        let Some(t) = &mut self.text else {
            return self.pretty.write_char_escape(w, e);
        };
        t.push(match e {
            CharEscape::Quote => '"',
            CharEscape::ReverseSolidus => '\\',
            CharEscape::Solidus => '/',
            CharEscape::Backspace => '\u{8}',
            CharEscape::FormFeed => '\u{c}',
            CharEscape::LineFeed => '\n',
            CharEscape::CarriageReturn => '\r',
            CharEscape::Tab => '\t',
            CharEscape::AsciiControl(b) => char::from(b),
        });
        Ok(())
    }
    fn end_string<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if let Some(t) = self.text.take() {
            // The escaped text holds no control character: only `"` and `\` need JSON's escape.
            let e = escape_str(&t);
            let mut start = 0;
            for (i, c) in e.char_indices() {
                let esc = match c {
                    '"' => CharEscape::Quote,
                    '\\' => CharEscape::ReverseSolidus,
                    _ => continue,
                };
                self.pretty.write_string_fragment(w, &e[start..i])?;
                self.pretty.write_char_escape(w, esc)?;
                start = i + 1;
            }
            self.pretty.write_string_fragment(w, &e[start..])?;
        }
        self.pretty.end_string(w)
    }
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.pretty.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.pretty.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object_value(w)
    }
}

/// Serializes `value` with `inner`'s layout, every string escaped but the names.
fn write_escaped<T: Serialize, F: Formatter>(
    value: &T,
    inner: F,
    w: &mut dyn Write,
) -> Result<(), Error> {
    let formatter = Escaping {
        pretty: inner,
        text: None,
    };
    let mut ser = serde_json::Serializer::with_formatter(&mut *w, formatter);
    escape::flagging(|| value.serialize(&mut ser)).map_err(encode)?;
    writeln!(w)?;
    Ok(())
}

/// One pretty JSON document, every string escaped but the names.
pub fn document<T: Serialize>(value: &T, w: &mut dyn Write) -> Result<(), Error> {
    write_escaped(value, PrettyFormatter::new(), w)
}

/// `build`'s value with every string and key escaped but the names: `build` runs twice, the
/// second time with names marked (`escape::marking`).
pub(crate) fn escaped(build: impl Fn() -> Result<Value, Error>) -> Result<Value, Error> {
    let plain = build()?;
    let marked = escape::marking(&build)?;
    Ok(merge(plain, &marked))
}

fn merge(v: Value, marked: &Value) -> Value {
    match v {
        Value::String(s) if *marked == Value::Bool(true) => Value::String(s),
        Value::String(s) => Value::String(escape_str(&s)),
        Value::Array(a) => Value::Array(
            a.into_iter()
                .enumerate()
                .map(|(i, x)| merge(x, marked.get(i).unwrap_or(&Value::Null)))
                .collect(),
        ),
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, x) in o {
                let m = marked.get(&k).unwrap_or(&Value::Null);
                out.insert(escape_str(&k), merge(x, m));
            }
            Value::Object(out)
        }
        other => other,
    }
}

/// One JSON object per line, every string escaped but the names.
pub fn lines<'a, T: Serialize + 'a>(
    items: impl Iterator<Item = &'a T>,
    w: &mut dyn Write,
) -> Result<(), Error> {
    for item in items {
        write_escaped(item, CompactFormatter, w)?;
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

/// A `record: "examination"` line, then `record: "finding"` lines (each with its `root`), then one `record: "root"` line per root
/// (verdict, reasons, errors), then one `record: "summary"` line.
pub fn scan_lines(report: &Report, w: &mut dyn Write) -> Result<(), Error> {
    let Value::Array(records) = escaped(|| records(report))? else {
        unreachable!("records() gives an array")
    };
    for v in &records {
        serde_json::to_writer(&mut *w, v).map_err(encode)?;
        writeln!(w)?;
    }
    Ok(())
}

/// The scan's JSON Lines records, not yet escaped.
fn records(report: &Report) -> Result<Value, Error> {
    // issue 15: the examination record comes first, a record of its own.
    let mut out = vec![with_fields(
        &report.examination,
        &[("record", json!("examination"))],
    )?];
    for root in &report.roots {
        for f in &root.findings {
            out.push(with_fields(
                f,
                &[
                    ("record", json!("finding")),
                    ("root", json!(Name(&root.root))),
                    ("root_verdict", json!(root.verdict)),
                ],
            )?);
        }
    }
    for root in &report.roots {
        let mut line = json!({
            "record": "root",
            "root": Name(&root.root),
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
            map.insert("parent_root".to_owned(), json!(Name(parent)));
        }
        // A volume of a backup set: the file, the set, its write date.
        if let (Some(b), Value::Object(map)) = (&root.backup, &mut line) {
            map.insert(
                "backup".to_owned(),
                serde_json::to_value(b).map_err(encode)?,
            );
        }
        out.push(line);
    }
    for image in &report.images {
        out.push(with_fields(image, &[("record", json!("image"))])?);
    }
    for b in &report.backups {
        out.push(with_fields(b, &[("record", json!("backup"))])?);
    }
    out.push(with_fields(
        &report.summary,
        &[("record", json!("summary")), ("tool", json!(report.tool))],
    )?);
    Ok(Value::Array(out))
}

pub fn version_lines(report: &VersionReport, w: &mut dyn Write) -> Result<(), Error> {
    lines(report.files.iter(), w)
}

/// One JSON document.
pub(crate) const DOCUMENT: crate::Printer = crate::Printer {
    name: "json",
    help: "One JSON document",
    scan: |r, _, w| document(r, w),
    versions: Some(|r, w| document(r, w)),
    rules: Some(|r, w| document(&serde_json::json!({ "rules": r }), w)),
    lineage: Some(|l, w| document(&serde_json::json!({ "lineage": l }), w)),
    updates: Some(|r, _, w| crate::updates::document(r, w)),
    sidecar: false,
};

/// JSON Lines: one object per line, each carrying its root.
pub(crate) const LINES: crate::Printer = crate::Printer {
    name: "jsonl",
    help: "One JSON object per line, each carrying its root",
    scan: |r, _, w| scan_lines(r, w),
    versions: Some(version_lines),
    rules: Some(|r, w| lines(r.rules.iter(), w)),
    lineage: Some(|l, w| lines(l.builds.iter(), w)),
    updates: Some(|r, _, w| crate::updates::lines(r, w)),
    sidecar: false,
};
