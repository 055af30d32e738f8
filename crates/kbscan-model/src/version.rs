//! Windows file versions: four 16-bit numbers, compared field by field.
//!
//! pelite's `VS_VERSION` orders its fields Minor, Major, … so its derived ordering is wrong;
//! every comparison in kbscan goes through [`FileVersion`] instead.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// A Windows file or product version `major.minor.build.revision` (Microsoft's terms), e.g.
/// `4.1.0.3934`. The derived ordering compares major, then minor, then build, then revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileVersion {
    pub major: u16,
    pub minor: u16,
    pub build: u16,
    pub revision: u16,
}

impl FileVersion {
    pub const fn new(major: u16, minor: u16, build: u16, revision: u16) -> Self {
        Self {
            major,
            minor,
            build,
            revision,
        }
    }

    /// Builds a version from the two DWORDs of `VS_FIXEDFILEINFO` (`dwFileVersionMS`/`LS`).
    pub const fn from_ms_ls(ms: u32, ls: u32) -> Self {
        Self::new(
            (ms >> 16) as u16,
            (ms & 0xffff) as u16,
            (ls >> 16) as u16,
            (ls & 0xffff) as u16,
        )
    }

    /// Parses the free-text `FileVersion` string of a string table.
    ///
    /// Accepts what Microsoft's build tools actually wrote: `4.1.0.3934`, `4, 1, 0, 3934`,
    /// `4.1.0.3934 (srv_wms.040115-1200)`, `4.1.00.3917`. Two to four numbers separated by `.`
    /// or `,` (spaces allowed around separators); missing trailing numbers are zero; anything
    /// after the last number must start with white space or `(`.
    pub fn parse_lenient(text: &str) -> Result<Self, VersionParseError> {
        let err = |reason| VersionParseError {
            text: text.to_owned(),
            reason,
        };
        let mut parts = [0u16; 4];
        let mut count = 0usize;
        let bytes = text.trim_start().as_bytes();
        let mut i = 0usize;
        loop {
            // One number.
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if start == i {
                return Err(err(if count == 0 {
                    "does not start with a number"
                } else {
                    "separator not followed by a number"
                }));
            }
            if count == 4 {
                return Err(err("more than four numbers"));
            }
            // Leading zeros are allowed (`4.1.00.3917`); the value must fit 16 bits.
            let mut value: u32 = 0;
            for &b in &bytes[start..i] {
                value = value * 10 + u32::from(b - b'0');
                if value > u32::from(u16::MAX) {
                    return Err(err("a number is larger than 65535"));
                }
            }
            parts[count] = value as u16;
            count += 1;
            // A separator, possibly surrounded by spaces, or the end of the version.
            let mut j = i;
            while j < bytes.len() && bytes[j] == b' ' {
                j += 1;
            }
            if j < bytes.len() && (bytes[j] == b'.' || bytes[j] == b',') {
                j += 1;
                while j < bytes.len() && bytes[j] == b' ' {
                    j += 1;
                }
                i = j;
                continue;
            }
            // End: nothing, or a suffix after white space or an opening parenthesis.
            let rest = &bytes[i..];
            let suffix_ok =
                rest.is_empty() || rest[0].is_ascii_whitespace() || rest[0] == b'(' || rest[0] == 0;
            if !suffix_ok {
                return Err(err("unexpected character after the version"));
            }
            break;
        }
        if count < 2 {
            return Err(err("fewer than two numbers"));
        }
        Ok(Self::new(parts[0], parts[1], parts[2], parts[3]))
    }
}

impl fmt::Display for FileVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}.{}.{}",
            self.major, self.minor, self.build, self.revision
        )
    }
}

impl FromStr for FileVersion {
    type Err = VersionParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_lenient(s)
    }
}

impl Serialize for FileVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A version string that could not be read as a version. (Display written out: the model
/// depends on serde and time alone.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionParseError {
    pub text: String,
    pub reason: &'static str,
}

impl fmt::Display for VersionParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot read {:?} as a version: {}",
            self.text, self.reason
        )
    }
}

impl std::error::Error for VersionParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: u16, b: u16, c: u16, d: u16) -> FileVersion {
        FileVersion::new(a, b, c, d)
    }

    #[test]
    fn parses_the_forms_microsoft_wrote() {
        let cases = [
            ("4.1.0.3934", v(4, 1, 0, 3934)),
            ("4, 1, 0, 3934", v(4, 1, 0, 3934)),
            ("4,1,0,3934", v(4, 1, 0, 3934)),
            ("4.1.0.3934 (build suffix)", v(4, 1, 0, 3934)),
            ("4.1.0.3934(srv.040115-1200)", v(4, 1, 0, 3934)),
            ("4.1.00.3917", v(4, 1, 0, 3917)),
            ("  5.00.2195.6717 ", v(5, 0, 2195, 6717)),
            ("4.1", v(4, 1, 0, 0)),
            ("6.0.3790", v(6, 0, 3790, 0)),
            ("65535.65535.65535.65535", v(65535, 65535, 65535, 65535)),
            ("4.1.0.3934\0", v(4, 1, 0, 3934)),
        ];
        for (text, want) in cases {
            assert_eq!(FileVersion::parse_lenient(text), Ok(want), "{text:?}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_version() {
        for text in [
            "",
            "   ",
            "v4.1.0.3934",
            "4",
            "4.1.0.3934.1",
            "4.1.0.65536",
            "4.1.0.99999999999999999999",
            "4..1",
            "4.1.",
            "4.1.0.3934a",
            "4.1-beta",
            "four.one",
        ] {
            assert!(FileVersion::parse_lenient(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn orders_field_by_field_major_first() {
        // The ordering pelite's VS_VERSION gets wrong: major must dominate minor.
        assert!(v(5, 1, 0, 0) < v(6, 0, 0, 0));
        assert!(v(4, 1, 0, 3917) < v(4, 1, 0, 3934));
        assert!(v(4, 1, 0, 3934) < v(4, 1, 1, 0));
        assert!(v(4, 1, 0, 65535) < v(4, 2, 0, 0));
        assert!(v(4, 0, 9999, 9999) < v(4, 1, 0, 0));
        assert_eq!(
            v(4, 1, 0, 3934).cmp(&v(4, 1, 0, 3934)),
            std::cmp::Ordering::Equal
        );
    }

    #[test]
    fn builds_from_fixed_info_dwords() {
        assert_eq!(
            FileVersion::from_ms_ls(0x0004_0001, 0x0000_0F5E),
            v(4, 1, 0, 3934)
        );
        assert_eq!(
            FileVersion::from_ms_ls(0x0005_0000, 0x0893_1A3D),
            v(5, 0, 2195, 6717)
        );
    }

    #[test]
    fn display_round_trips() {
        let x = v(4, 1, 0, 3934);
        assert_eq!(x.to_string(), "4.1.0.3934");
        assert_eq!(x.to_string().parse::<FileVersion>(), Ok(x));
        assert_eq!(serde_json::to_string(&x).unwrap(), "\"4.1.0.3934\"");
    }
}
