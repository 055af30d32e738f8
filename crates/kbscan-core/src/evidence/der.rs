//! A minimal DER reader (ITU-T X.690), enough to read a PKCS#7 SignedData offline: one
//! tag-length-value at a time over a byte slice, definite lengths only (DER has no other), tags
//! of one byte (every tag PKCS#7, X.509 and Authenticode use), lengths bounded by the slice, and
//! a nesting depth the caller bounds. Nothing here allocates but the text it returns.

use thiserror::Error;

/// Why bytes are not the DER kbscan expected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DerError {
    #[error("DER: data ends inside an element")]
    Truncated,
    #[error("DER: {0}")]
    Malformed(&'static str),
    #[error("DER: expected {expected}, found tag 0x{found:02x}")]
    Unexpected { expected: &'static str, found: u8 },
    #[error("DER: {0} is missing")]
    Missing(&'static str),
}

/// Tags used by PKCS#7, X.509 and Authenticode.
pub mod tag {
    pub const INTEGER: u8 = 0x02;
    pub const OCTET_STRING: u8 = 0x04;
    pub const NULL: u8 = 0x05;
    pub const OID: u8 = 0x06;
    pub const UTF8_STRING: u8 = 0x0c;
    pub const PRINTABLE_STRING: u8 = 0x13;
    pub const T61_STRING: u8 = 0x14;
    pub const IA5_STRING: u8 = 0x16;
    pub const UTC_TIME: u8 = 0x17;
    pub const GENERALIZED_TIME: u8 = 0x18;
    pub const BMP_STRING: u8 = 0x1e;
    pub const SEQUENCE: u8 = 0x30;
    pub const SET: u8 = 0x31;
    /// `[n]` constructed, context-specific.
    pub const fn context(n: u8) -> u8 {
        0xa0 | n
    }
}

/// One element: its tag, its content and the whole encoding (tag and length included, which a
/// comparison of names needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub raw: &'a [u8],
}

impl<'a> Element<'a> {
    /// The content read as a sequence of elements.
    pub fn children(&self) -> Reader<'a> {
        Reader::new(self.content)
    }
    /// Fails unless the tag is `want`.
    pub fn expect(self, want: u8, what: &'static str) -> Result<Self, DerError> {
        if self.tag == want {
            Ok(self)
        } else {
            Err(DerError::Unexpected {
                expected: what,
                found: self.tag,
            })
        }
    }
}

/// Elements one after the other over a slice.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
    /// The next element, `None` at the end.
    pub fn next_element(&mut self) -> Result<Option<Element<'a>>, DerError> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let all = self.rest;
        let t = all[0];
        if t & 0x1f == 0x1f {
            return Err(DerError::Malformed("multi-byte tag"));
        }
        let first = *all.get(1).ok_or(DerError::Truncated)?;
        let (len, head) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 {
                return Err(DerError::Malformed("indefinite length"));
            }
            if n > 4 {
                return Err(DerError::Malformed("length longer than 4 bytes"));
            }
            let bytes = all.get(2..2 + n).ok_or(DerError::Truncated)?;
            let len = bytes.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b));
            (len, 2 + n)
        };
        let end = head.checked_add(len).ok_or(DerError::Truncated)?;
        let raw = all.get(..end).ok_or(DerError::Truncated)?;
        self.rest = &all[end..];
        Ok(Some(Element {
            tag: t,
            content: &raw[head..],
            raw,
        }))
    }
    /// The next element, which must exist.
    pub fn need(&mut self, what: &'static str) -> Result<Element<'a>, DerError> {
        self.next_element()?.ok_or(DerError::Missing(what))
    }
    /// The next element if it has tag `t` (an OPTIONAL field), else nothing is consumed.
    pub fn optional(&mut self, t: u8) -> Result<Option<Element<'a>>, DerError> {
        match self.rest.first() {
            Some(&x) if x == t => self.next_element(),
            _ => Ok(None),
        }
    }
}

/// Dotted text of an OBJECT IDENTIFIER's content (`1.2.840.113549.1.7.2`).
pub fn oid_text(content: &[u8]) -> Result<String, DerError> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut v: u64 = 0;
    let mut pending = false;
    for &b in content {
        if v > (u64::MAX >> 7) {
            return Err(DerError::Malformed("object identifier arc too large"));
        }
        v = (v << 7) | u64::from(b & 0x7f);
        pending = true;
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (v / 40).min(2);
                arcs.push(first);
                arcs.push(v - first * 40);
            } else {
                arcs.push(v);
            }
            v = 0;
            pending = false;
        }
    }
    if pending || arcs.is_empty() {
        return Err(DerError::Malformed("object identifier"));
    }
    Ok(arcs
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join("."))
}

/// The text of a directory string (PrintableString, UTF8String, IA5String, T61String read as
/// Latin-1, BMPString as UTF-16BE); bytes that are not text are replaced, never trusted.
pub fn string_text(e: &Element<'_>) -> Option<String> {
    match e.tag {
        tag::PRINTABLE_STRING | tag::UTF8_STRING | tag::IA5_STRING => {
            Some(String::from_utf8_lossy(e.content).into_owned())
        }
        tag::T61_STRING => Some(e.content.iter().map(|&b| char::from(b)).collect()),
        tag::BMP_STRING => {
            let units: Vec<u16> = e
                .content
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        _ => None,
    }
}

/// A UTCTime (`YYMMDDHHMMSSZ`, years 50–99 are 19xx, X.509) or GeneralizedTime
/// (`YYYYMMDDHHMMSS[.f]Z`) as Unix seconds. Only the UTC (`Z`) forms DER allows.
pub fn time_secs(e: &Element<'_>) -> Result<i64, DerError> {
    let s = std::str::from_utf8(e.content).map_err(|_| DerError::Malformed("time"))?;
    let s = s
        .strip_suffix('Z')
        .ok_or(DerError::Malformed("time not in UTC"))?;
    let (year, rest) = match e.tag {
        tag::UTC_TIME => {
            let yy: i32 = num(s.get(0..2))?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &s[2..])
        }
        tag::GENERALIZED_TIME => (num(s.get(0..4))?, &s[4..]),
        _ => {
            return Err(DerError::Unexpected {
                expected: "a time",
                found: e.tag,
            })
        }
    };
    // Fractions of a second (GeneralizedTime) are dropped.
    let rest = rest.split('.').next().unwrap_or_default();
    if rest.len() != 10 {
        return Err(DerError::Malformed("time"));
    }
    let month: u8 = num(rest.get(0..2))?;
    let day: u8 = num(rest.get(2..4))?;
    let (h, m, sec): (u8, u8, u8) = (
        num(rest.get(4..6))?,
        num(rest.get(6..8))?,
        num(rest.get(8..10))?,
    );
    let month = time::Month::try_from(month).map_err(|_| DerError::Malformed("time"))?;
    let date = time::Date::from_calendar_date(year, month, day)
        .map_err(|_| DerError::Malformed("time"))?;
    let t = time::Time::from_hms(h, m, sec).map_err(|_| DerError::Malformed("time"))?;
    Ok(time::PrimitiveDateTime::new(date, t)
        .assume_utc()
        .unix_timestamp())
}

fn num<T: std::str::FromStr>(s: Option<&str>) -> Result<T, DerError> {
    s.filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse().ok())
        .ok_or(DerError::Malformed("time"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_elements_and_refuses_what_der_forbids() {
        // SEQUENCE { INTEGER 5, OID 1.2.840.113549.1.7.2 }
        let b = [
            0x30, 0x0e, 0x02, 0x01, 0x05, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
            0x07, 0x02,
        ];
        let mut r = Reader::new(&b);
        let seq = r.need("seq").unwrap().expect(tag::SEQUENCE, "seq").unwrap();
        assert!(r.is_empty());
        let mut c = seq.children();
        assert_eq!(c.need("int").unwrap().content, &[5]);
        let oid = c.need("oid").unwrap();
        assert_eq!(oid_text(oid.content).unwrap(), "1.2.840.113549.1.7.2");
        // A length past the end, an indefinite length, a five-byte length.
        assert_eq!(
            Reader::new(&[0x30, 0x05, 0x00]).next_element(),
            Err(DerError::Truncated)
        );
        assert!(Reader::new(&[0x30, 0x80, 0, 0]).next_element().is_err());
        assert!(Reader::new(&[0x30, 0x85, 1, 1, 1, 1, 1])
            .next_element()
            .is_err());
    }

    #[test]
    fn times_are_utc_only() {
        let utc = Element {
            tag: tag::UTC_TIME,
            content: b"040125030640Z",
            raw: &[],
        };
        assert_eq!(time_secs(&utc).unwrap(), 1_075_000_000);
        let gen = Element {
            tag: tag::GENERALIZED_TIME,
            content: b"20040125030640.123Z",
            raw: &[],
        };
        assert_eq!(time_secs(&gen).unwrap(), 1_075_000_000);
        let local = Element {
            tag: tag::UTC_TIME,
            content: b"040125030640+0100",
            raw: &[],
        };
        assert!(time_secs(&local).is_err());
        let bad = Element {
            tag: tag::UTC_TIME,
            content: b"041325030640Z",
            raw: &[],
        };
        assert!(time_secs(&bad).is_err());
    }
}
