//! Evidence from one file's bytes: the streamed hashes (`inspect`), the PE headers and
//! version resources (`pe`; of a large file only the parts needed, `partial`), and the
//! `VS_VERSIONINFO` block (`versioninfo`). Turns bytes into facts; judges nothing.

pub mod authenticode;
pub mod der;
pub mod evt;
pub mod inspect;
pub mod partial;
pub mod pe;
pub mod updatelog; // issue 14
pub mod versioninfo;
