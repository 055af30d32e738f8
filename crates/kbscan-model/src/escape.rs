//! The one lossless, terminal-safe escaper for every text that comes from evidence.
//!
//! File names on a Unix mount of a Windows disk, names inside images, PE version strings,
//! registry values, `--rules` files and container metadata can all hold bytes that are not
//! UTF-8, control characters (a newline or carriage return would forge a CSV row; an escape
//! sequence would drive the examiner's terminal), bidirectional controls and line separators
//! (which make a text read differently than it is). Every such byte or character is written as
//! an escape, so nothing drives a terminal, and the original bytes can always be recovered
//! with [`unescape`]: nothing is dropped or merged. The forms (docs/output.md, *Escaping*):
//!
//! - `\xNN` (two lower-case hex digits): an ASCII control character (U+0000–U+001F, U+007F) or
//!   a byte that is not part of valid UTF-8;
//! - `\u{NNNN}` (lower-case hex): any other control character (C1, U+0080–U+009F), the bidi
//!   controls U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069, the line and paragraph
//!   separators U+2028, U+2029, and an unpaired UTF-16 surrogate (U+D800–U+DFFF, from an NTFS
//!   name, carried as its 3-byte generalized UTF-8 form `ED A0 80`…);
//! - `\x5c`: a backslash, but only where the text after it would otherwise read as one of
//!   these escapes (`x` and two hex digits, or `u{`). Any other backslash is written as itself,
//!   so Windows paths (`C:\WINNT\system32`, `\\server\share`) read as they are.
//!
//! Reading it back: `\x` and two hex digits is that byte, `\u{…}` that code point, and every
//! other backslash is itself.
//!
//! Where it is applied: names are escaped when they enter the model (`host.rs`, `ntfs.rs`
//! entries → `judge::findings`, `scan.rs`, `registry/mod.rs`); every other text is escaped by
//! the printers, each through [`escape_str`]. Fields that already hold escaped names are
//! serialized through [`name`] / [`Name`], which the JSON printer leaves as they are (see
//! [`marking`]); every other string it writes, map keys included, is escaped.

use std::cell::Cell;
use std::fmt::Write;

use serde::Serializer;

/// Whether `c` is written as an escape.
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// Pushes `c`, or its escape when it is a control, bidi or separator character.
fn push_safe(out: &mut String, c: char) {
    if !needs_escape(c) {
        out.push(c);
    } else if c.is_ascii() {
        let _ = write!(out, "\\x{:02x}", c as u32);
    } else {
        let _ = write!(out, "\\u{{{:04x}}}", c as u32);
    }
}

/// The length of a generalized-UTF-8 surrogate (`ED A0..BF 80..BF`) at the start of `b`.
fn surrogate_at(b: &[u8]) -> Option<u32> {
    match b {
        [0xed, b1 @ 0xa0..=0xbf, b2 @ 0x80..=0xbf, ..] => {
            Some(0xd000 | (u32::from(b1 & 0x3f) << 6) | u32::from(b2 & 0x3f))
        }
        _ => None,
    }
}

/// Whether a backslash written before `rest` (the escaped text after it) would read as the
/// start of an escape, so must itself be written `\x5c`.
fn reads_as_escape(rest: &str) -> bool {
    let b = rest.as_bytes();
    rest.starts_with("u{")
        || (b.len() >= 3 && b[0] == b'x' && b[1].is_ascii_hexdigit() && b[2].is_ascii_hexdigit())
}

/// Escapes raw bytes (a name, or text as UTF-8): the forms in the module documentation.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    // Where a raw backslash was written; made `\x5c` afterwards when what follows reads as an
    // escape. (What follows a backslash never starts with `x` or `u` because of a later fix-up,
    // which only turns `\` into `\x5c`.)
    let mut slashes = Vec::new();
    let mut push_valid = |out: &mut String, s: &str| {
        for c in s.chars() {
            if c == '\\' {
                slashes.push(out.len());
                out.push('\\');
            } else {
                push_safe(out, c);
            }
        }
    };
    let mut rest = bytes;
    while !rest.is_empty() {
        // Up to the next surrogate: ordinary UTF-8 decoding, bad bytes one by one.
        let cut = (0..rest.len())
            .find(|&i| surrogate_at(&rest[i..]).is_some())
            .unwrap_or(rest.len());
        for chunk in rest[..cut].utf8_chunks() {
            push_valid(&mut out, chunk.valid());
            for b in chunk.invalid() {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
        rest = &rest[cut..];
        if let Some(s) = surrogate_at(rest) {
            let _ = write!(out, "\\u{{{s:04x}}}");
            rest = &rest[3..];
        }
    }
    if slashes.is_empty() {
        return out;
    }
    let mut fixed = String::with_capacity(out.len() + 3 * slashes.len());
    let mut from = 0;
    for p in slashes {
        fixed.push_str(&out[from..=p]);
        if reads_as_escape(&out[p + 1..]) {
            fixed.push_str("x5c");
        }
        from = p + 1;
    }
    fixed.push_str(&out[from..]);
    fixed
}

/// Escapes text that is already valid Unicode (version strings, registry values, rule text,
/// messages): the same escaper as [`escape_bytes`].
pub fn escape_str(s: &str) -> String {
    if s.chars().any(|c| c == '\\' || needs_escape(c)) {
        escape_bytes(s.as_bytes())
    } else {
        s.to_owned()
    }
}

/// Reverses [`escape_bytes`] / [`escape_str`]: the original bytes (a surrogate comes back in
/// its generalized UTF-8 form). `None` for a text no escape of this module can give.
pub fn unescape(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let rest = &s[i + 1..];
        if reads_as_escape(rest) && rest.starts_with('x') {
            out.push(u8::from_str_radix(&rest[1..3], 16).ok()?);
            i += 4;
        } else if rest.starts_with("u{") {
            let end = rest.find('}')?;
            let cp = u32::from_str_radix(&rest[2..end], 16).ok()?;
            if (0xd800..=0xdfff).contains(&cp) {
                out.extend([
                    0xe0 | (cp >> 12) as u8,
                    0x80 | ((cp >> 6) & 0x3f) as u8,
                    0x80 | (cp & 0x3f) as u8,
                ]);
            } else {
                let c = char::from_u32(cp)?;
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            }
            i += 1 + end + 1;
        } else {
            out.push(b'\\');
            i += 1;
        }
    }
    Some(out)
}

/// Appends the generalized UTF-8 form of UTF-16 code units: valid text as UTF-8, an unpaired
/// surrogate as its 3-byte form, which [`escape_bytes`] writes as `\u{d800}`. For names read
/// from NTFS, so two names that differ only in an unpaired surrogate stay distinct.
pub fn utf16_to_bytes(units: impl IntoIterator<Item = u16>, out: &mut Vec<u8>) {
    for r in char::decode_utf16(units) {
        match r {
            Ok(c) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            Err(e) => {
                let s = e.unpaired_surrogate();
                out.extend([
                    0xe0 | (s >> 12) as u8,
                    0x80 | ((s >> 6) & 0x3f) as u8,
                    0x80 | (s & 0x3f) as u8,
                ]);
            }
        }
    }
}

/// How [`Name`] serializes: as its text, as the marker `true` (see [`marking`]), or as its text
/// with [`take_name_flag`] set for the JSON formatter.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Plain,
    Marking,
    Flagging,
}

thread_local! {
    static MODE: Cell<Mode> = const { Cell::new(Mode::Plain) };
    static NEXT_IS_NAME: Cell<bool> = const { Cell::new(false) };
}

fn with_mode<T>(mode: Mode, f: impl FnOnce() -> T) -> T {
    struct Reset(Mode);
    impl Drop for Reset {
        fn drop(&mut self) {
            MODE.with(|m| m.set(self.0));
            NEXT_IS_NAME.with(|n| n.set(false));
        }
    }
    let _reset = Reset(MODE.with(|m| m.replace(mode)));
    f()
}

/// Runs `f` with name fields serializing as the marker `true` instead of their text. The JSON
/// Lines printer builds each line twice, plainly and marked; a string whose marked twin is
/// `true` is an escaped name and written as it is, every other string is escaped. Evidence text
/// can never serialize as a boolean, so the marker cannot be forged.
pub fn marking<T>(f: impl FnOnce() -> T) -> T {
    with_mode(Mode::Marking, f)
}

/// Runs `f` (a serde_json serialization straight to a writer) with each name flagging itself
/// just before its string is written, for the JSON printer's formatter ([`take_name_flag`]).
pub fn flagging<T>(f: impl FnOnce() -> T) -> T {
    with_mode(Mode::Flagging, f)
}

/// Whether the string about to be written is an escaped name (and clears the flag). Only a
/// [`Name`] sets it, immediately before serializing its string.
pub fn take_name_flag() -> bool {
    NEXT_IS_NAME.with(|n| n.replace(false))
}

/// A string that already holds an escaped name (for `json!` in the printers).
#[derive(Debug, Clone, Copy)]
pub struct Name<'a>(pub &'a str);

impl serde::Serialize for Name<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match MODE.with(Cell::get) {
            Mode::Marking => s.serialize_bool(true),
            Mode::Flagging => {
                NEXT_IS_NAME.with(|n| n.set(true));
                s.serialize_str(self.0)
            }
            Mode::Plain => s.serialize_str(self.0),
        }
    }
}

/// `#[serde(serialize_with = "crate::escape::name")]` for a field holding an escaped name.
pub fn name<S: Serializer>(v: &str, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&Name(v), s)
}

/// [`name`] for an optional field.
pub fn name_opt<S: Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&v.as_deref().map(Name), s)
}

/// [`name`] for a list.
pub fn names<S: Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|n| Name(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_unchanged() {
        assert_eq!(
            escape_bytes(b"WINNT/system32/Windows Media/Server/Nscm.exe"),
            "WINNT/system32/Windows Media/Server/Nscm.exe"
        );
        assert_eq!(
            escape_bytes("Stationsdienst für Tests".as_bytes()),
            "Stationsdienst für Tests"
        );
        assert_eq!(
            escape_str(r"C:\WINNT\system32\Windows Media\Server\nscm.exe"),
            r"C:\WINNT\system32\Windows Media\Server\nscm.exe"
        );
    }

    #[test]
    fn hostile_bytes_are_escaped_losslessly() {
        let cases: &[(&[u8], &str)] = &[
            (b"nscm\xff.exe", "nscm\\xff.exe"),
            (b"a\nb", "a\\x0ab"),
            (b"\x1b[31mred", "\\x1b[31mred"),
            (b"back\\slash", "back\\slash"),
            (b"\\xff", "\\x5cxff"),
            (b"\\x4g", "\\x4g"),
            (b"\\u{41}", "\\x5cu{41}"),
            (b"a\\\\b", "a\\\\b"),
            (b"\\\\x41", "\\\\x5cx41"),
            (b"end\\", "end\\"),
            (b"\\\x1b", "\\\\x1b"),
            (b"\\\xff", "\\\\xff"),
            ("evil\u{202e}exe.txt".as_bytes(), "evil\\u{202e}exe.txt"),
            (
                "a\u{2028}b\u{2029}c\u{85}d\u{9f}".as_bytes(),
                "a\\u{2028}b\\u{2029}c\\u{0085}d\\u{009f}",
            ),
            (
                "\u{2066}\u{2069}\u{061c}".as_bytes(),
                "\\u{2066}\\u{2069}\\u{061c}",
            ),
            (b"\xc3", "\\xc3"),
            (b"X\xed\xa0\x80", "X\\u{d800}"),
            (b"X\xed\xb0\x80", "X\\u{dc00}"),
            (b"\xed\x9f\xbf", "\u{d7ff}"),
        ];
        for (raw, want) in cases {
            let got = escape_bytes(raw);
            assert_eq!(&got, want);
            assert_eq!(unescape(&got).unwrap(), *raw, "{got}");
        }
        // Every single byte value, and every pair, survives a round trip.
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(unescape(&escape_bytes(&all)).unwrap(), all);
        for a in [b'\\', b'x', b'u', b'{', b'a', 0x1b, 0xff, 0xed] {
            for b in 0..=255u8 {
                for c in [b'\\', b'0', b'f', b'{', 0xa0, 0x80] {
                    let raw = [b'\\', a, b, c, b'\\'];
                    assert_eq!(unescape(&escape_bytes(&raw)).unwrap(), raw, "{raw:?}");
                }
            }
        }
        assert_eq!(escape_str("a\u{7}b"), "a\\x07b");
    }

    #[test]
    fn no_escaped_text_holds_a_control() {
        let mut all = String::new();
        for c in (0..0x3000).filter_map(char::from_u32) {
            all.push(c);
        }
        let e = escape_str(&all);
        assert!(!e.chars().any(needs_escape));
        assert_eq!(unescape(&e).unwrap(), all.as_bytes());
    }

    #[test]
    fn utf16_keeps_unpaired_surrogates() {
        let mut a = Vec::new();
        utf16_to_bytes([0x58, 0xd800], &mut a);
        let mut b = Vec::new();
        utf16_to_bytes([0x58, 0xdc00], &mut b);
        let mut ok = Vec::new();
        utf16_to_bytes("Nscm.exe \u{1F600}".encode_utf16(), &mut ok);
        assert_eq!(escape_bytes(&a), "X\\u{d800}");
        assert_eq!(escape_bytes(&b), "X\\u{dc00}");
        assert_eq!(ok, "Nscm.exe \u{1F600}".as_bytes());
    }
}
