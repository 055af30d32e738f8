//! qcow2 (v2 and v3, compressed clusters included) through `qcow2-core`, given our read-only
//! handle. Overlays with a backing file are refused naming it; encrypted images are refused.

use std::fs::File;
use std::io::{Seek, SeekFrom};

use qcow2_core::Qcow2Reader;

use super::{
    pread_exact, qemu_convert, ContainerError, ContainerMeta, Opened, SeekSource, Verification,
};
use crate::contain::contained;

fn damaged(e: impl std::fmt::Display) -> ContainerError {
    ContainerError::damaged("qcow2", e)
}

fn be32(b: &[u8], o: usize) -> u32 {
    u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

pub fn open(mut file: File) -> Result<Opened, ContainerError> {
    let h = pread_exact(&mut file, 0, 72, "header")?;
    let version = be32(&h, 4);
    let backing_off = (u64::from(be32(&h, 8)) << 32) | u64::from(be32(&h, 12));
    let backing_len = be32(&h, 16).min(1023) as usize;
    let crypt = be32(&h, 32);
    if backing_off != 0 {
        let name = pread_exact(&mut file, backing_off, backing_len, "backing file name")
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|_| "(unreadable)".to_owned());
        return Err(ContainerError::Refused(format!(
            "format not supported: this is a qcow2 overlay whose backing file is \"{name}\"; \
             kbscan does not read backing chains. Merge it first, with the backing file in place: \
             {}, then scan disk.raw",
            qemu_convert(std::path::Path::new("OVERLAY.qcow2"))
        )));
    }
    if crypt != 0 {
        return Err(ContainerError::Refused(
            "format not supported: this qcow2 image is encrypted; decrypt it with qemu-img (it \
             needs the secret) and scan the raw result"
                .to_owned(),
        ));
    }
    file.seek(SeekFrom::Start(0))?;
    let reader = contained(|| Qcow2Reader::from_reader(file))
        .ok_or_else(|| damaged("the qcow2 reader failed on a damaged structure"))?
        .map_err(damaged)?;
    let len = reader.virtual_disk_size();
    Ok(Opened {
        kind: "qcow2",
        segments: 1,
        meta: ContainerMeta {
            subformat: Some(format!("v{version}")),
            virtual_size: Some(len),
            ..ContainerMeta::default()
        },
        notices: Vec::new(),
        src: Box::new(SeekSource {
            inner: reader,
            len,
            name: "qcow2",
        }),
        verify: Box::new(|| {
            Verification::none("qcow2 stores no hash or checksum of the disk's data".to_owned())
        }),
    })
}

pub(crate) const QCOW2: super::Container = super::Container {
    name: "qcow2",
    display: "qcow2",
    detect: |p| p.starts(b"QFI\xfb"),
    reading: super::Reading::Read(|_, f| open(f)),
    companions: super::no_companions,
    companion: "a segment of the scanned image",
};
