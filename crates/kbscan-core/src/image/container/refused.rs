//! Containers kbscan recognises and does not read: an encrypted container, a format without a
//! reader here, and compressed copies or archives of an image (not disks at all). Each is
//! refused by name with what to do instead.

use super::{no_companions, Container, Reading};

pub(crate) const LUKS: Container = Container {
    name: "luks",
    display: "LUKS",
    detect: |p| p.starts(b"LUKS\xba\xbe"),
    reading: Reading::Refused(|_| {
        "format not supported: this is a LUKS-encrypted container; open it with \
         `cryptsetup open --readonly` and scan the decrypted device"
            .to_owned()
    }),
    companions: no_companions,
    companion: "a segment of the scanned image",
};

/// VirtualBox's disk image: the signature at byte 0x40 of its header.
pub(crate) const VDI: Container = Container {
    name: "vdi",
    display: "VDI",
    detect: |p| p.head.get(0x40..0x44) == Some(&[0x7f, 0x10, 0xda, 0xbe][..]),
    reading: Reading::Refused(|_| super::unsupported("VDI")),
    companions: no_companions,
    companion: "a segment of the scanned image",
};

/// A compressed copy or archive, common in evidence lockers, recognised by its magic.
macro_rules! not_a_disk {
    ($id:ident, $name:literal, $display:literal, $magic:literal) => {
        pub(crate) const $id: Container = Container {
            name: $name,
            display: $display,
            detect: |p| p.starts($magic),
            reading: Reading::NotADisk,
            companions: no_companions,
            companion: "a segment of the scanned image",
        };
    };
}

not_a_disk!(GZIP, "gzip", "gzip-compressed", b"\x1f\x8b");
not_a_disk!(XZ, "xz", "xz-compressed", b"\xfd7zXZ\x00");
not_a_disk!(BZIP2, "bzip2", "bzip2-compressed", b"BZh");
not_a_disk!(ZSTD, "zstd", "zstd-compressed", b"\x28\xb5\x2f\xfd");
not_a_disk!(SEVEN_ZIP, "7z", "7-Zip archive", b"7z\xbc\xaf\x27\x1c");
not_a_disk!(ZIP, "zip", "ZIP archive", b"PK\x03\x04");
