//! Lossless, terminal-safe text for names taken from evidence.
//!
//! File names on a Unix mount of a Windows disk can hold bytes that are not UTF-8, control
//! characters (a newline would forge a CSV row; an escape sequence would drive the examiner's
//! terminal) and bidirectional overrides (which make a name read differently than it is).
//! Every such byte or character is written as an escape, and `\` itself is doubled, so the
//! original bytes can always be recovered from the text: nothing is dropped or merged.

use std::fmt::Write;

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Pushes `c`, or its escape when it is a control or bidi character.
fn push_safe(out: &mut String, c: char) {
    if !needs_escape(c) {
        out.push(c);
    } else if c.is_ascii() {
        let _ = write!(out, "\\x{:02x}", c as u32);
    } else {
        let _ = write!(out, "\\u{{{:04x}}}", c as u32);
    }
}

/// Escapes raw name bytes: `\\` for `\`, `\xNN` for a byte that is not UTF-8 or is an ASCII
/// control, `\u{NNNN}` for other control and bidi characters.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                push_safe(&mut out, c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Makes text safe for a terminal without the backslash doubling: for messages and registry
/// strings shown to people (`C:\WINNT\…` stays readable). Not reversible; JSON and CSV carry
/// the exact text.
pub fn escape_display(s: &str) -> String {
    if !s.chars().any(needs_escape) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        push_safe(&mut out, c);
    }
    out
}

/// Escapes text that is already valid Unicode (strings read from a version resource).
pub fn escape_str(s: &str) -> String {
    if s.chars().any(|c| c == '\\' || needs_escape(c)) {
        escape_bytes(s.as_bytes())
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reverses `escape_bytes`, to prove nothing is lost.
    fn unescape(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let mut it = s.chars().peekable();
        while let Some(c) = it.next() {
            if c != '\\' {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            match it.next() {
                Some('\\') => out.push(b'\\'),
                Some('x') => {
                    let h: String = it.by_ref().take(2).collect();
                    out.push(u8::from_str_radix(&h, 16).unwrap());
                }
                Some('u') => {
                    let h: String = it.by_ref().skip(1).take_while(|&c| c != '}').collect();
                    let c = char::from_u32(u32::from_str_radix(&h, 16).unwrap()).unwrap();
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                other => panic!("bad escape {other:?}"),
            }
        }
        out
    }

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
    }

    #[test]
    fn hostile_bytes_are_escaped_losslessly() {
        let cases: &[(&[u8], &str)] = &[
            (b"nscm\xff.exe", "nscm\\xff.exe"),
            (b"a\nb", "a\\x0ab"),
            (b"\x1b[31mred", "\\x1b[31mred"),
            (b"back\\slash", "back\\\\slash"),
            (b"\\xff", "\\\\xff"),
            ("evil\u{202e}exe.txt".as_bytes(), "evil\\u{202e}exe.txt"),
            (b"\xc3", "\\xc3"),
        ];
        for (raw, want) in cases {
            let got = escape_bytes(raw);
            assert_eq!(&got, want);
            assert_eq!(unescape(&got), *raw, "{got}");
        }
        // Every single byte value survives a round trip.
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(unescape(&escape_bytes(&all)), all);
        assert_eq!(escape_str("a\u{7}b"), "a\\x07b");
        assert_eq!(escape_display("C:\\WINNT\u{1b}"), "C:\\WINNT\\x1b");
        assert_eq!(escape_display(r"C:\WINNT"), r"C:\WINNT");
    }
}
