//! Evidence from one file's bytes: the streamed hashes (`inspect`), the PE headers and
//! version resources (`pe`; of a large file only the parts needed, `partial`), and the
//! `VS_VERSIONINFO` block (`versioninfo`). Turns bytes into facts; judges nothing.

pub mod evt;
pub mod inspect;
pub mod partial;
pub mod pe;
pub mod updatelog; // issue 14
pub mod versioninfo;

use crate::model::time::Timestamp;
use crate::model::PeFacts;

impl From<&pe::PeHeader> for PeFacts {
    fn from(h: &pe::PeHeader) -> Self {
        Self {
            format: h.format.as_str(),
            machine: h.machine_name().to_owned(),
            link_time: (h.timestamp != 0)
                .then(|| Timestamp::from_unix_secs(i64::from(h.timestamp))),
            link_timestamp_raw: h.timestamp,
        }
    }
}
