//! Facts about one file as read from evidence, shared by scan findings and `kbscan version`
//! output (flattened into both, so their JSON keeps one shape).

use serde::Serialize;

use super::time::Timestamp;

/// Size, hashes, times and PE header of a file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileFacts {
    pub size: Option<u64>,
    pub sha256: Option<String>,
    pub md5: Option<String>,
    pub modified: Option<Timestamp>,
    pub accessed: Option<Timestamp>,
    pub created: Option<Timestamp>,
    pub changed: Option<Timestamp>,
    pub pe: Option<PeFacts>,
    /// issue 14: NTFS `$FILE_NAME` times (the times above are `$STANDARD_INFORMATION`'s);
    /// absent outside NTFS images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_times: Option<super::time::Times>,
}

impl FileFacts {
    /// Copies the file-system times in.
    pub fn set_times(&mut self, t: &super::time::Times) {
        self.modified = t.modified;
        self.accessed = t.accessed;
        self.created = t.created;
        self.changed = t.changed;
    }
}

/// PE header facts.
#[derive(Debug, Clone, Serialize)]
pub struct PeFacts {
    /// `PE32` or `PE32+`.
    pub format: &'static str,
    pub machine: String,
    /// Link time from the COFF header; null when the header holds 0 (not set).
    pub link_time: Option<Timestamp>,
    /// The raw COFF `TimeDateStamp` (some linkers write a hash there, not a time).
    pub link_timestamp_raw: u32,
}

impl PeFacts {
    /// `PE32 i386, linked 2004-01-15T…` for one-line displays.
    pub fn summary(&self) -> String {
        let time = self
            .link_time
            .map_or_else(|| "(no link time)".to_string(), |t| t.to_string());
        format!("{} {}, linked {time}", self.format, self.machine)
    }
}

/// One `StringFileInfo` table, kept with its own language and code page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StringTable {
    /// The table's key as written, normally 8 hex digits such as `040904b0`.
    pub key: String,
    /// Language id as 4 hex digits (`0409`), when the key is well formed.
    pub lang: Option<String>,
    /// Code page as 4 hex digits (`04b0` = Unicode), when the key is well formed.
    pub codepage: Option<String>,
    /// Name/value pairs in file order (duplicates kept, as found).
    #[serde(serialize_with = "serialize_pairs")]
    pub strings: Vec<(String, String)>,
}

impl StringTable {
    /// The first value stored under `name` (compared case-insensitively, as Windows does).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.strings
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One `Translation` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Translation {
    pub lang: u16,
    pub codepage: u16,
}

/// Serializes name/value pairs as a JSON object in their order (duplicates kept).
pub fn serialize_pairs<S: serde::Serializer>(
    pairs: &[(String, String)],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(pairs.len()))?;
    for (k, v) in pairs {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

/// Name/value pairs in their order, serialized as a JSON object.
#[derive(Debug, Clone, Default)]
pub struct Pairs(pub Vec<(String, String)>);

impl Serialize for Pairs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_pairs(&self.0, s)
    }
}
