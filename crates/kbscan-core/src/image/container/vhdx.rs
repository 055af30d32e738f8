//! VHDX through `vhdx-core` (never the `vhdx` crate, which opens the file read-write and
//! replays the log into it). `vhdx-core` is given our read-only handle (`Backing::File`); a
//! dirty log is replayed into an in-memory overlay, never into the file. The crate checks the
//! CRC-32C of the headers when it opens the file (not those of the region table or metadata).

use std::fs::File;

use vhdx_core::{Backing, VhdxError, VhdxReader};

use super::{qemu_convert, ContainerError, ContainerMeta, Opened, SeekSource, Verification};
use crate::contain::contained;

pub fn open(file: File) -> Result<Opened, ContainerError> {
    let reader = contained(|| VhdxReader::from_backing(Backing::File(file), None))
        .ok_or_else(|| ContainerError::damaged("VHDX", "the VHDX reader failed on a damaged structure"))?
        .map_err(|e| match e {
            VhdxError::DifferencingNotSupported => ContainerError::Refused(format!(
                "format not supported: this is a differencing VHDX (its data is split with a parent \
                 disk); merge it first, with the parent beside it: {}, then scan disk.raw",
                qemu_convert(std::path::Path::new("CHILD.vhdx"))
            )),
            other => ContainerError::damaged("VHDX", other),
        })?;
    let len = reader.virtual_disk_size();
    Ok(Opened {
        kind: "vhdx",
        segments: 1,
        meta: ContainerMeta {
            virtual_size: Some(len),
            ..ContainerMeta::default()
        },
        notices: Vec::new(),
        src: Box::new(SeekSource {
            inner: reader,
            len,
            name: "VHDX",
        }),
        verify: Box::new(|| {
            Verification::verified(
                "the active header's CRC-32C was checked when opened (the region table and metadata checksums are not checked; VHDX stores no hash of the disk's data)"
                    .to_owned(),
            )
        }),
    })
}

pub(crate) const VHDX: super::Container = super::Container {
    name: "vhdx",
    display: "VHDX",
    detect: |p| p.starts(b"vhdxfile"),
    reading: super::Reading::Read(|_, f| open(f)),
    companions: super::no_companions,
    companion: "a segment of the scanned image",
};
