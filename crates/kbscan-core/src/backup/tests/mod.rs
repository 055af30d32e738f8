//! The MTF reader and the backup source, on `.bkf` files made by the test writer (`writer`,
//! from the specification; proven against mtftar, docs/images.md *Backups*): several sets,
//! ANSI and UTF-16 names, a 60-level path, a System State-like set, a file over 4 GiB, and
//! hostile files (damaged checksums, a block pointing into itself, lengths that overflow or
//! run past the end, missing `ESET`, huge string fields, truncation every 29 bytes).
//!
//! Over 400 lines: one test per part of the reader's contract.

mod writer;

use std::path::PathBuf;

use super::mtf::block::{MtfDateTime, MtfString, StringType};
use super::mtf::stream::{fs_attr, media_attr};
use super::mtf::{
    Backup, DataError, DataSet, File, MtfError, NoticeKind, Operation, ReadError, SetEnd, TimeZone,
};
use super::source::{BackupSource, Scope};
use crate::model::time::TimeBasis;
use crate::source::{path_ci, EntryKind, ReadAt, Source, SourceErrorKind};
use writer::{
    date, fix_block_checksum, fix_stream_checksum, Data, FileSpec, Stream, Writer, ANSI, UNICODE,
};

const KB: u64 = 1024;

fn open(bytes: Vec<u8>) -> Backup<Vec<u8>> {
    let len = bytes.len() as u64;
    match Backup::open(bytes, len) {
        Ok(b) => b,
        Err(e) => panic!("the backup should open: {e}"),
    }
}

fn texts(v: &[MtfString]) -> Vec<String> {
    v.iter().map(|s| s.text()).collect()
}

fn file<'a>(set: &'a DataSet, name: &str) -> &'a File {
    set.files
        .iter()
        .find(|f| f.name.as_ref().is_some_and(|n| n.text() == name))
        .unwrap_or_else(|| panic!("no file {name} in set {}", set.number()))
}

fn path_of(set: &DataSet, f: &File) -> Vec<String> {
    let d = set.dir_of(f).expect("a directory");
    texts(d.path.as_ref().expect("a path"))
}

fn content(b: &Backup<Vec<u8>>, f: &File) -> Vec<u8> {
    let d = f.data.as_ref().expect("readable data");
    b.read_data(d, 1 << 20).expect("reads")
}

/// `nscm.exe`-like bytes.
fn program(tag: &str) -> Vec<u8> {
    let mut v = b"MZ\x90\0".to_vec();
    v.extend(std::iter::repeat_n(0xAB, 3000));
    v.extend_from_slice(tag.as_bytes());
    v
}

fn hive(name: &str) -> Vec<u8> {
    let mut v = b"regf".to_vec();
    v.extend(std::iter::repeat_n(0u8, 508));
    v.extend_from_slice(name.as_bytes());
    v
}

/// Four sets in one file: UTF-16 names with a checksummed program and an empty file; ANSI
/// names; UTF-16 names outside ASCII; a System State-like set of registry hives.
fn sample() -> Writer {
    let mut w = Writer::new(KB);
    w.tape("Media created 3/12/2004 at 10:05 PM", "kbscan sample media");

    w.sset(
        1,
        UNICODE,
        "Set created 3/12/2004 at 10:05 PM",
        "Windows Media Services",
        "W2KSERVER\\Administrator",
        date(2004, 3, 12, 22, 5, 0),
        127,
        0,
    );
    w.volb("C:", "SYSTEM", "W2KSERVER");
    w.dirb(&[]);
    w.file(
        "boot.ini",
        &FileSpec::bytes(b"[boot loader]\r\ntimeout=30\r\n"),
    );
    w.dirb(&["Program Files", "Windows Media Components", "Server"]);
    let mut nscm = FileSpec::bytes(&program("4.1.0.3931"));
    nscm.checksum = true;
    nscm.before = vec![
        Stream {
            fs_attributes: fs_attr::CONTAINS_SECURITY,
            ..Stream::new(b"NACL", vec![1, 0, 4, 0x80, 0x14, 0, 0, 0])
        },
        Stream::new(b"NTOI", vec![7; 64]),
    ];
    w.file("nscm.exe", &nscm);
    let mut empty = FileSpec::bytes(b"");
    empty.no_data = true;
    w.file("empty.log", &empty);
    w.eset(0);

    w.sset(
        2,
        ANSI,
        "Caf\u{e9} backup",
        "ANSI names",
        "Administrateur",
        date(2004, 3, 13, 1, 0, 0),
        -4,
        0,
    );
    w.volb("D:", "DONN\u{c9}ES", "SERVEUR");
    w.dirb(&["Donn\u{e9}es", "Rapports"]);
    w.file("r\u{e9}sum\u{e9}.txt", &FileSpec::bytes(b"bonjour"));
    w.file("plain.txt", &FileSpec::bytes(b"ascii"));
    w.eset(0);

    w.sset(
        3,
        UNICODE,
        "\u{41f}\u{440}\u{43e}\u{432}\u{435}\u{440}\u{43a}\u{430} \u{65e5}\u{672c}",
        "",
        "",
        date(2004, 3, 14, 0, 0, 0),
        0,
        0,
    );
    w.volb("E:", "", "");
    w.dirb(&[
        "\u{414}\u{43e}\u{43a}\u{443}\u{43c}\u{435}\u{43d}\u{442}\u{44b}",
        "\u{65e5}\u{672c}\u{8a9e}",
    ]);
    w.file("\u{1f600} notes.txt", &FileSpec::bytes(b"smile"));
    w.file(
        "\u{dc}n\u{ef}c\u{f8}d\u{e9}.txt",
        &FileSpec::bytes(b"unicode"),
    );
    w.eset(0);

    w.sset(
        4,
        UNICODE,
        "System State",
        "System State backup",
        "W2KSERVER\\Administrator",
        date(2004, 3, 15, 3, 0, 0),
        127,
        0,
    );
    w.volb("C:", "SYSTEM", "W2KSERVER");
    w.dirb(&["WINNT", "system32", "config"]);
    for h in ["SYSTEM", "SOFTWARE", "SAM", "SECURITY", "DEFAULT"] {
        let mut spec = FileSpec::bytes(&hive(h));
        spec.nt_attributes = 0x20 | 0x2 | 0x4;
        spec.checksum = true;
        w.file(h, &spec);
    }
    w.eset(0);
    w
}

#[test]
fn several_sets_read_as_written() {
    let w = sample();
    let b = open(w.bytes());
    assert!(b.notices.is_empty(), "{:?}", b.notices);
    assert_eq!(b.flb_size, 1024);
    assert_eq!(
        b.tape.media_name.as_ref().map(|s| s.text()).as_deref(),
        Some("Media created 3/12/2004 at 10:05 PM")
    );
    assert_eq!(
        b.tape.software_name.as_ref().map(|s| s.text()).as_deref(),
        Some("kbscan test writer")
    );
    assert_eq!(b.tape.soft_filemark_blocks, 2);
    assert_eq!(b.sets.len(), 4);
    for (i, s) in b.sets.iter().enumerate() {
        assert_eq!(s.number(), i as u16 + 1);
        assert!(s.notices.is_empty(), "set {}: {:?}", s.number(), s.notices);
        assert!(s.complete(), "set {} is complete", s.number());
        assert_eq!(s.operation(), Some(Operation::Normal));
        assert!(matches!(&s.end, SetEnd::Eset { eset, .. } if eset.number == s.number()));
    }

    let s1 = &b.sets[0];
    assert_eq!(
        s1.name().map(|s| s.text()).as_deref(),
        Some("Set created 3/12/2004 at 10:05 PM")
    );
    assert_eq!(
        s1.description().map(|s| s.text()).as_deref(),
        Some("Windows Media Services")
    );
    assert_eq!(
        s1.user().map(|s| s.text()).as_deref(),
        Some("W2KSERVER\\Administrator")
    );
    assert_eq!(s1.write_date(), Some(date(2004, 3, 12, 22, 5, 0)));
    assert_eq!(s1.time_zone(), TimeZone::Local);
    assert_eq!(s1.volumes.len(), 1);
    let v = &s1.volumes[0].volb;
    assert_eq!(v.device.as_ref().map(|s| s.text()).as_deref(), Some("C:"));
    assert_eq!(
        v.volume.as_ref().map(|s| s.text()).as_deref(),
        Some("SYSTEM")
    );
    assert_eq!(
        v.machine.as_ref().map(|s| s.text()).as_deref(),
        Some("W2KSERVER")
    );
    assert_eq!(s1.dirs.len(), 2);
    assert_eq!(
        s1.dirs[0].path.as_deref(),
        Some(&[][..]),
        "the root is one NUL"
    );
    assert_eq!(s1.dirs[0].nt_attributes, Some(0x10));
    let boot = file(s1, "boot.ini");
    assert_eq!(path_of(s1, boot), Vec::<String>::new());
    assert_eq!(content(&b, boot), b"[boot loader]\r\ntimeout=30\r\n");
    let nscm = file(s1, "nscm.exe");
    assert_eq!(
        path_of(s1, nscm),
        ["Program Files", "Windows Media Components", "Server"]
    );
    let d = nscm.data.as_ref().expect("data");
    assert!(d.checksum.is_some(), "the CSUM stream is found");
    assert_eq!(d.length, program("4.1.0.3931").len() as u64);
    assert_eq!(content(&b, nscm), program("4.1.0.3931"));
    assert_eq!(nscm.displayable_size, d.length);
    assert_eq!(nscm.nt_attributes, Some(0x20));
    assert_eq!(nscm.dates.modified, Some(date(2004, 2, 10, 12, 0, 0)));
    assert_eq!(nscm.dates.created, Some(date(2003, 6, 19, 9, 30, 0)));
    assert_eq!(nscm.dates.accessed, Some(date(2004, 3, 1, 8, 15, 30)));
    assert_eq!(nscm.dates.backed_up, Some(date(2004, 3, 12, 22, 6, 0)));
    assert_eq!(nscm.file_id, 2);
    assert_eq!(nscm.directory_id, 2);
    let empty = file(s1, "empty.log");
    assert_eq!(empty.data.as_ref().map(|d| d.length), Ok(0));
    assert_eq!(content(&b, empty), b"");

    // ANSI (string type 1): the bytes recorded, not converted (their code page is unknown).
    let s2 = &b.sets[1];
    assert_eq!(s2.header.string_type, 1);
    assert_eq!(
        s2.name().map(|s| s.raw.clone()),
        Some(b"Caf\xe9 backup".to_vec())
    );
    assert_eq!(
        s2.name().map(|s| s.text()).as_deref(),
        Some("Caf\\xe9 backup")
    );
    assert_eq!(
        s2.time_zone(),
        TimeZone::Utc {
            local_offset_minutes: -60
        }
    );
    let r = file(s2, "r\\xe9sum\\xe9.txt");
    assert_eq!(r.name.as_ref().map(|n| n.kind), Some(StringType::Ansi));
    assert_eq!(
        r.name.as_ref().map(|n| n.bytes()),
        Some(b"r\xe9sum\xe9.txt".to_vec())
    );
    assert!(!r.name.as_ref().is_some_and(|n| n.is_exact()));
    assert_eq!(path_of(s2, r), ["Donn\\xe9es", "Rapports"]);
    assert_eq!(content(&b, r), b"bonjour");
    assert!(file(s2, "plain.txt")
        .name
        .as_ref()
        .is_some_and(|n| n.is_exact()));

    // UTF-16 outside ASCII, a surrogate pair included.
    let s3 = &b.sets[2];
    assert_eq!(
        s3.name().map(|s| s.text()).as_deref(),
        Some("\u{41f}\u{440}\u{43e}\u{432}\u{435}\u{440}\u{43a}\u{430} \u{65e5}\u{672c}")
    );
    assert_eq!(s3.description(), None, "an empty string is not recorded");
    assert_eq!(
        s3.time_zone(),
        TimeZone::Utc {
            local_offset_minutes: 0
        }
    );
    let smile = file(s3, "\u{1f600} notes.txt");
    assert_eq!(
        path_of(s3, smile),
        [
            "\u{414}\u{43e}\u{43a}\u{443}\u{43c}\u{435}\u{43d}\u{442}\u{44b}",
            "\u{65e5}\u{672c}\u{8a9e}"
        ]
    );
    assert_eq!(content(&b, smile), b"smile");
    assert_eq!(
        content(&b, file(s3, "\u{dc}n\u{ef}c\u{f8}d\u{e9}.txt")),
        b"unicode"
    );

    let s4 = &b.sets[3];
    assert_eq!(s4.files.len(), 5);
    for h in ["SYSTEM", "SOFTWARE", "SAM", "SECURITY", "DEFAULT"] {
        let f = file(s4, h);
        assert_eq!(path_of(s4, f), ["WINNT", "system32", "config"]);
        assert_eq!(content(&b, f), hive(h));
        assert_eq!(f.nt_attributes, Some(0x26));
    }
}

#[test]
fn every_block_starts_on_a_logical_block_and_fla_counts_from_the_set() {
    let w = sample();
    let b = open(w.bytes());
    for p in &w.blocks {
        assert_eq!(p.offset % 1024, 0, "{:?}", p);
    }
    // The writer's FLAs are counted from each set's SSET; the reader keeps them as read.
    let s = &b.sets[3];
    assert_eq!(s.header.format_logical_address, 0);
    assert!(s.files.iter().all(|f| f.offset > s.offset));
}

#[test]
fn source_over_a_system_state_set() {
    let w = sample();
    let b = open(w.bytes());
    let src = BackupSource::new(&b, 3, Scope::Volume(0), "backup.bkf#set4").expect("set 4");
    assert!(src.unplaced.is_empty());
    let (root, id) = src.root().expect("root");
    assert_eq!(id, Some(0));
    let path = path_ci(
        &src,
        &root,
        &["winnt", "SYSTEM32", "config", "software"],
        false,
    )
    .expect("the hive is found case-insensitively");
    let hive_node = path.last().expect("a node").node;
    let st = src.stat(&hive_node).expect("stat");
    assert_eq!(st.size, Some(hive("SOFTWARE").len() as u64));
    assert_eq!(
        st.times.modified.map(|t| t.to_string()).as_deref(),
        Some("2004-02-10T12:00:00Z")
    );
    assert_eq!(
        st.times.created.map(|t| t.to_string()).as_deref(),
        Some("2003-06-19T09:30:00Z")
    );
    assert_eq!(
        src.read(&hive_node, 0, 1 << 20).expect("read"),
        hive("SOFTWARE")
    );
    // Bounded: at most limit + 1 bytes.
    assert_eq!(src.read(&hive_node, 0, 9).expect("read").len(), 10);
    let r = src.open(&hive_node, 0, 0).expect("open");
    let mut four = [0u8; 4];
    assert_eq!(r.read_at(&mut four, 0).expect("read_at"), 4);
    assert_eq!(&four, b"regf");
    assert_eq!(r.read_at(&mut four, 1 << 20).expect("past the end"), 0);
    assert_eq!(
        src.time_basis(),
        TimeBasis::BackupLocal,
        "time zone 127 is LOCAL_TZ"
    );
    let names: Vec<Vec<u8>> = src
        .list(&path[2].node)
        .expect("list")
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names.len(), 5);
    assert_eq!(
        src.display_path("WINNT/system32", &[]),
        "backup.bkf#set4/WINNT/system32"
    );

    // The whole set: volumes by device name at the root.
    let all = BackupSource::new(&b, 0, Scope::Set, "b").expect("set 1");
    let top = all.list(&0).expect("list");
    assert_eq!(top.len(), 1);
    assert_eq!(top[0].name, b"C:");
    assert_eq!(top[0].kind, EntryKind::Dir);
    let server = path_ci(
        &all,
        &0,
        &[
            "C:",
            "Program Files",
            "Windows Media Components",
            "Server",
            "nscm.exe",
        ],
        false,
    )
    .expect("nscm.exe");
    let node = server.last().expect("node").node;
    assert_eq!(
        all.read(&node, 0, 1 << 20).expect("read"),
        program("4.1.0.3931")
    );
    // UTC-coordinated set (time zone 0): times are UTC.
    let s3 = BackupSource::new(&b, 2, Scope::Volume(0), "b").expect("set 3");
    assert_eq!(s3.time_basis(), TimeBasis::Utc);
    assert!(BackupSource::new(&b, 9, Scope::Set, "b").is_none());
    assert!(BackupSource::new(&b, 0, Scope::Volume(3), "b").is_none());
}

fn deep() -> Writer {
    let mut w = Writer::new(KB);
    w.tape("deep", "");
    w.set(1, UNICODE, "deep");
    w.volb("C:", "", "");
    w.dirb(&["before"]);
    w.file("first.txt", &FileSpec::bytes(b"first"));
    let levels: Vec<String> = (1..=60).map(|i| format!("level{i:02}")).collect();
    let parts: Vec<&str> = levels.iter().map(String::as_str).collect();
    w.dirb(&parts);
    w.file(&("n".repeat(600) + ".dll"), &FileSpec::bytes(b"deep"));
    w.file("short.txt", &FileSpec::bytes(b"x"));
    w.eset(0);
    w
}

#[test]
fn sixty_level_path_and_long_name_go_to_name_streams() {
    let w = deep();
    let levels: Vec<String> = (1..=60).map(|i| format!("level{i:02}")).collect();
    let parts: Vec<&str> = levels.iter().map(String::as_str).collect();
    let long: String = "n".repeat(600) + ".dll";
    assert!(
        w.streams.iter().any(|s| &s.id == b"PNAM"),
        "the path is in a PNAM stream"
    );
    assert!(
        w.streams.iter().any(|s| &s.id == b"FNAM"),
        "the name is in an FNAM stream"
    );
    let b = open(w.bytes());
    let s = &b.sets[0];
    assert!(s.notices.is_empty(), "{:?}", s.notices);
    let path = texts(s.dirs[1].path.as_ref().expect("path"));
    assert_eq!(path, levels);
    let f = file(s, &long);
    assert_eq!(content(&b, f), b"deep");
    assert_eq!(path_of(s, f).len(), 60);
    let src = BackupSource::new(&b, 0, Scope::Volume(0), "b").expect("source");
    let mut rel: Vec<&str> = parts.clone();
    rel.push("short.txt");
    assert!(path_ci(&src, &0, &rel, false).is_some());
}

#[test]
fn file_over_4_gib_is_located_not_read() {
    let big = (4u64 << 30) + 4099;
    let mut w = Writer::new(KB);
    w.tape("big", "");
    w.set(1, UNICODE, "big");
    w.volb("C:", "", "");
    w.dirb(&["VM"]);
    let mut spec = FileSpec::bytes(b"");
    spec.data = Data::Zeros(big);
    w.file("disk.img", &spec);
    w.file("after.txt", &FileSpec::bytes(b"after the big one"));
    w.eset(0);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.bkf");
    w.write_to(&path).expect("sparse write");
    let f = std::fs::File::open(&path).expect("open");
    let len = f.metadata().expect("len").len();
    assert!(len > big);
    let b = Backup::open(f, len).expect("opens");
    let s = &b.sets[0];
    assert!(s.complete() && s.notices.is_empty(), "{:?}", s.notices);
    let d = file(s, "disk.img").data.clone().expect("data");
    assert_eq!(d.length, big);
    assert_eq!(file(s, "disk.img").displayable_size, big);
    let after = file(s, "after.txt").data.clone().expect("data");
    assert!(after.offset > 4 << 30);
    assert_eq!(
        b.read_data(&after, 100).expect("read"),
        b"after the big one"
    );
    // The big file is read only where asked (its end), and only as far as the limit.
    let r = b.data_reader(&d);
    let mut tail = [1u8; 8];
    assert_eq!(r.read_at(&mut tail, big - 8).expect("tail"), 8);
    assert_eq!(tail, [0; 8]);
    assert_eq!(b.read_data(&d, 15).expect("bounded").len(), 16);
}

fn one_set(files: impl FnOnce(&mut Writer)) -> Writer {
    let mut w = Writer::new(KB);
    w.tape("t", "");
    w.set(1, UNICODE, "one");
    w.volb("C:", "", "");
    w.dirb(&["WINNT"]);
    files(&mut w);
    w.eset(0);
    w
}

#[test]
fn compressed_encrypted_and_odd_streams_are_typed_errors() {
    let mut variants: Vec<(&str, FileSpec)> = Vec::new();
    let base = FileSpec::bytes(b"0123456789");
    let mut s = base.clone();
    s.stan_media = media_attr::COMPRESSED;
    s.stan_compression = 0x0abe;
    variants.push(("compressed", s));
    let mut s = base.clone();
    s.stan_media = media_attr::ENCRYPTED;
    s.stan_encryption = 3;
    variants.push(("encrypted", s));
    let mut s = base.clone();
    s.stan_fs = fs_attr::SPARSE;
    variants.push(("sparse", s));
    let mut s = base.clone();
    s.stan_media = media_attr::VARIABLE;
    variants.push(("variable", s));
    let mut s = base.clone();
    s.stan_media = media_attr::CONTINUE;
    variants.push(("continued", s));
    let mut s = base.clone();
    s.no_data = true;
    s.after = vec![Stream::new(b"NTED", vec![9; 40])];
    variants.push(("efs-stream", s));
    let mut s = base.clone();
    s.nt_attributes = 0x4000;
    variants.push(("efs-attribute", s));
    let mut s = base.clone();
    s.after = vec![Stream::new(b"STAN", b"second".to_vec())];
    variants.push(("two-stan", s));
    let mut s = base.clone();
    s.no_data = true;
    s.displayable = Some(10);
    variants.push(("missing", s));
    let mut s = base.clone();
    s.attributes = 1 << 18;
    variants.push(("corrupt-bit", s));
    variants.push(("cfil", base.clone()));
    let mut s = base.clone();
    s.checksum = true;
    variants.push(("bad-csum", s));
    let mut s = base.clone();
    s.nt_attributes = 0x800; // NTFS-compressed on disk: BackupRead gives plain data
    variants.push(("ntfs-compressed", s));

    let w = one_set(|w| {
        for (name, spec) in &variants {
            w.file(name, spec);
            if *name == "cfil" {
                w.cfil(1, 0);
            }
        }
    });
    let mut bytes = w.bytes();
    // Damage the CSUM's value (the stream header stays valid).
    let csum = w
        .streams
        .iter()
        .find(|s| &s.id == b"CSUM")
        .expect("a CSUM")
        .offset;
    bytes[csum as usize + 22] ^= 0xff;
    let b = open(bytes);
    let s = &b.sets[0];
    let err = |n: &str| file(s, n).data.clone().expect_err(n);
    assert_eq!(
        err("compressed"),
        DataError::Compressed { algorithm: 0x0abe }
    );
    assert_eq!(err("encrypted"), DataError::Encrypted { algorithm: 3 });
    assert_eq!(err("sparse"), DataError::Sparse);
    assert_eq!(err("variable"), DataError::Variable);
    assert_eq!(err("continued"), DataError::Continued);
    assert_eq!(err("efs-stream"), DataError::EfsEncrypted);
    assert_eq!(err("efs-attribute"), DataError::EfsEncrypted);
    assert_eq!(err("two-stan"), DataError::Ambiguous { count: 2 });
    assert_eq!(err("missing"), DataError::Missing { size: 10 });
    assert!(matches!(err("corrupt-bit"), DataError::Corrupt(_)));
    assert!(matches!(err("cfil"), DataError::Corrupt(_)));
    assert_eq!(s.corrupt_objects, 1);
    assert!(s.notices.has(NoticeKind::CorruptObject));
    let bad = file(s, "bad-csum").data.clone().expect("located");
    assert!(matches!(
        b.read_data(&bad, 1 << 20),
        Err(ReadError::Checksum { .. })
    ));
    // Only part read: the checksum cannot be checked, the bytes are given.
    assert_eq!(b.read_data(&bad, 3).expect("partial").len(), 4);
    assert_eq!(content(&b, file(s, "ntfs-compressed")), b"0123456789");

    let src = BackupSource::new(&b, 0, Scope::Volume(0), "b").expect("source");
    let kind = |n: &str| {
        let node = path_ci(&src, &0, &["WINNT", n], false)
            .expect(n)
            .pop()
            .expect(n)
            .node;
        src.read(&node, 10, 1 << 20).expect_err(n).kind
    };
    assert_eq!(kind("compressed"), SourceErrorKind::Compressed);
    assert_eq!(kind("encrypted"), SourceErrorKind::Unsupported);
    assert_eq!(kind("efs-stream"), SourceErrorKind::Unsupported);
    assert_eq!(kind("cfil"), SourceErrorKind::Corrupt);
    assert_eq!(kind("bad-csum"), SourceErrorKind::Corrupt);
    assert_eq!(kind("continued"), SourceErrorKind::Io);
}

#[test]
fn encrypted_set_reads_no_data() {
    let mut w = Writer::new(KB);
    w.tape("t", "");
    w.sset(
        1,
        UNICODE,
        "enc",
        "",
        "",
        date(2004, 1, 1, 0, 0, 0),
        127,
        1 << 17,
    );
    w.volb("C:", "", "");
    w.dirb(&[]);
    w.file("a.txt", &FileSpec::bytes(b"ciphertext?"));
    w.eset(0);
    let b = open(w.bytes());
    let s = &b.sets[0];
    assert!(s.encrypted());
    assert!(s.notices.has(NoticeKind::EncryptedOrCompressed));
    assert_eq!(file(s, "a.txt").data, Err(DataError::SetEncrypted));
}

/// Offsets of the writer's blocks of type `id`.
fn blocks(w: &Writer, id: &[u8; 4]) -> Vec<u64> {
    w.blocks
        .iter()
        .filter(|p| &p.id == id)
        .map(|p| p.offset)
        .collect()
}

#[test]
fn damaged_block_header_is_skipped_and_the_set_marked() {
    let w = sample();
    let mut bytes = w.bytes();
    // The second FILE of set 1 (nscm.exe): one byte of its common header (its Format
    // Logical Address), the checksum left as it was.
    let f = blocks(&w, b"FILE")[1];
    bytes[f as usize + 21] ^= 0x55;
    let b = open(bytes);
    assert_eq!(b.sets.len(), 4);
    let s1 = &b.sets[0];
    assert!(s1.notices.has(NoticeKind::BadBlockChecksum));
    assert!(s1.notices.has(NoticeKind::Skipped));
    assert!(s1.damaged && !s1.complete());
    assert!(s1
        .files
        .iter()
        .all(|f| f.name.as_ref().is_none_or(|n| n.text() != "nscm.exe")));
    assert!(s1
        .files
        .iter()
        .any(|f| f.name.as_ref().is_some_and(|n| n.text() == "empty.log")));
    assert!(b.sets[1..].iter().all(DataSet::complete));
}

#[test]
fn block_pointing_into_itself_cannot_loop() {
    let w = sample();
    let mut bytes = w.bytes();
    // A DIRB whose first stream is at offset 0 (itself), checksum made valid.
    let d = blocks(&w, b"DIRB")[1] as usize;
    bytes[d + 8..d + 10].copy_from_slice(&0u16.to_le_bytes());
    fix_block_checksum(&mut bytes, d as u64);
    // A stream whose length wraps the offset back to the start of the file.
    let stan = w
        .streams
        .iter()
        .filter(|s| &s.id == b"STAN")
        .nth(2)
        .expect("stan")
        .offset;
    let wrap = u64::MAX - stan - 21;
    bytes[stan as usize + 8..stan as usize + 16].copy_from_slice(&wrap.to_le_bytes());
    fix_stream_checksum(&mut bytes, stan);
    let b = open(bytes);
    let s1 = &b.sets[0];
    assert!(s1.notices.has(NoticeKind::BadBlock));
    assert!(s1.damaged);
    let s2 = &b.sets[1];
    assert!(s2.notices.has(NoticeKind::BadStream), "{:?}", s2.notices);
    assert!(matches!(
        file(s2, "r\\xe9sum\\xe9.txt").data,
        Err(DataError::Damaged(_))
    ));
    assert!(b.sets[2..].iter().all(DataSet::complete));
}

#[test]
fn data_past_the_end_and_truncation_are_typed() {
    let w = sample();
    let full = w.bytes();
    // Cut inside nscm.exe's data: the file runs past the end; set 1 has no ESET.
    let stan = w
        .streams
        .iter()
        .filter(|s| &s.id == b"STAN")
        .nth(1)
        .expect("stan")
        .offset;
    let cut = full[..stan as usize + 22 + 100].to_vec();
    let b = open(cut);
    assert_eq!(b.sets.len(), 1);
    let s = &b.sets[0];
    assert_eq!(s.end, SetEnd::FileEnds);
    assert!(s.notices.has(NoticeKind::MissingEset));
    assert!(s.notices.has(NoticeKind::Truncated));
    assert!(!s.complete());
    assert!(matches!(
        file(s, "nscm.exe").data,
        Err(DataError::PastEnd { length: 3014, .. })
    ));
    assert_eq!(
        content(&b, file(s, "boot.ini")),
        b"[boot loader]\r\ntimeout=30\r\n"
    );

    // A stream length past the end in an intact file.
    let mut bytes = full.clone();
    bytes[stan as usize + 8..stan as usize + 16].copy_from_slice(&(1u64 << 40).to_le_bytes());
    fix_stream_checksum(&mut bytes, stan);
    let b = open(bytes);
    assert!(matches!(
        file(&b.sets[0], "nscm.exe").data,
        Err(DataError::PastEnd { .. })
    ));
    assert_eq!(
        b.sets.len(),
        1,
        "nothing after a stream that runs past the end is read"
    );

    // Every length: no panic, no hang, every set before the cut still there.
    for len in (0..full.len()).step_by(29) {
        let cut = full[..len].to_vec();
        match Backup::open(cut, len as u64) {
            Ok(b) => assert!(b.sets.iter().all(|s| s.offset < len as u64)),
            Err(MtfError::NotMtf(_) | MtfError::Corrupt(_)) => assert!(len < 1024),
            Err(e) => panic!("{len}: {e}"),
        }
    }
}

#[test]
fn set_without_eset_before_another_set_or_end_of_medium() {
    let mut w = Writer::new(KB);
    w.tape("t", "");
    w.set(1, UNICODE, "first");
    w.volb("C:", "", "");
    w.dirb(&[]);
    w.file("a", &FileSpec::bytes(b"a"));
    w.set(2, UNICODE, "second");
    w.volb("C:", "", "");
    w.dirb(&[]);
    w.file("b", &FileSpec::bytes(b"b"));
    w.filemark();
    w.eotm();
    let b = open(w.bytes());
    assert_eq!(b.sets.len(), 2);
    assert!(matches!(b.sets[0].end, SetEnd::NewSet { .. }));
    assert!(matches!(b.sets[1].end, SetEnd::NextMedium { .. }));
    assert!(b
        .sets
        .iter()
        .all(|s| s.notices.has(NoticeKind::MissingEset) && !s.complete()));
    assert!(b.sets[1].notices.has(NoticeKind::EndOfMedium));
}

#[test]
fn huge_string_fields_are_refused_without_allocation() {
    let w = sample();
    let mut bytes = w.bytes();
    // SSET of set 1: Data Set Name at 0xffff, 0xffff bytes.
    let sset = blocks(&w, b"SSET")[0] as usize;
    bytes[sset + 64..sset + 68].copy_from_slice(&[0xff; 4]);
    fix_block_checksum(&mut bytes, sset as u64);
    // The first FILE: its name points into the fixed part.
    let f = blocks(&w, b"FILE")[0] as usize;
    bytes[f + 84..f + 88].copy_from_slice(&[8, 0, 10, 0]);
    fix_block_checksum(&mut bytes, f as u64);
    // A DIRB's OS data: huge.
    let d = blocks(&w, b"DIRB")[0] as usize;
    bytes[d + 44..d + 48].copy_from_slice(&[0xff; 4]);
    fix_block_checksum(&mut bytes, d as u64);
    let b = open(bytes);
    let s1 = &b.sets[0];
    assert_eq!(s1.name(), None);
    assert!(s1.notices.has(NoticeKind::BadField));
    assert_eq!(s1.files[0].name, None);
    assert_eq!(s1.dirs[0].nt_attributes, None);
    assert!(!s1.damaged, "a bad field is not lost data");
    assert!(
        !s1.complete(),
        "but a file without its name cannot be looked for"
    );
    let src = BackupSource::new(&b, 0, Scope::Set, "b").expect("source");
    assert_eq!(src.unplaced.len(), 1);
    assert!(b.sets.iter().skip(1).all(DataSet::complete));
}

#[test]
fn unknown_blocks_and_zero_fill_are_skipped() {
    let w = sample();
    let mut bytes = w.bytes();
    let v = blocks(&w, b"VOLB")[3] as usize;
    bytes[v..v + 4].copy_from_slice(b"QQQQ");
    fix_block_checksum(&mut bytes, v as u64);
    bytes.extend(std::iter::repeat_n(0u8, 64 * 1024));
    let b = open(bytes);
    let s4 = &b.sets[3];
    assert!(s4.notices.has(NoticeKind::UnknownBlock));
    assert!(
        s4.notices.has(NoticeKind::OutOfOrder),
        "a directory before any volume"
    );
    assert!(!s4.complete());
    assert_eq!(s4.files.len(), 5);
    assert!(b.notices.has(NoticeKind::Skipped), "the zero tail is said");
    let src = BackupSource::new(&b, 3, Scope::Set, "b").expect("source");
    assert_eq!(
        src.unplaced.len(),
        6,
        "the directory and its files have no volume"
    );
}

#[test]
fn not_mtf_and_bad_media_headers() {
    assert!(matches!(
        Backup::open(Vec::new(), 0),
        Err(MtfError::NotMtf(_))
    ));
    assert!(matches!(
        Backup::open(vec![7u8; 4096], 4096),
        Err(MtfError::NotMtf(_))
    ));
    let w = sample();
    let mut bytes = w.bytes();
    bytes[20] ^= 1; // the TAPE header's Format Logical Address: checksum now wrong
    let len = bytes.len() as u64;
    assert!(matches!(
        Backup::open(bytes, len),
        Err(MtfError::Corrupt(_))
    ));
    let mut bytes = w.bytes();
    bytes[84..86].copy_from_slice(&1000u16.to_le_bytes());
    fix_block_checksum(&mut bytes, 0);
    assert!(matches!(
        Backup::open(bytes, len),
        Err(MtfError::Corrupt(_))
    ));
}

#[test]
fn single_byte_damage_never_panics() {
    let w = sample();
    let full = w.bytes();
    // Every byte of the media header and its soft filemark (2 KiB), then every 97th (the
    // fuzz target covers the rest).
    let positions = (0..2 * 1024).chain((2 * 1024..full.len()).step_by(97));
    for p in positions {
        for v in [0xff, full[p] ^ 0x80] {
            let mut b = full.clone();
            b[p] = v;
            if let Ok(bk) = Backup::open(b, full.len() as u64) {
                for (i, s) in bk.sets.iter().enumerate() {
                    let src = BackupSource::new(&bk, i, Scope::Set, "b").expect("source");
                    let _ = src.list(&0);
                    for f in &s.files {
                        if let Ok(d) = &f.data {
                            let _ = bk.read_data(d, 1 << 16);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn dates_pack_as_structure_3() {
    let d = date(2004, 3, 12, 22, 5, 59);
    assert_eq!(MtfDateTime::decode(d.encode()), Ok(Some(d)));
    // yyyyyyyy yyyyyymm mmdddddh hhhhmmmm mmssssss
    let v: u64 = (2004 << 26) | (3 << 22) | (12 << 17) | (22 << 12) | (5 << 6) | 59;
    assert_eq!(&d.encode()[..], &v.to_be_bytes()[3..]);
    assert_eq!(MtfDateTime::decode([0; 5]), Ok(None));
    assert!(MtfDateTime::decode(date(2004, 2, 30, 0, 0, 0).encode()).is_err());
    assert!(MtfDateTime::decode(date(2004, 13, 1, 0, 0, 0).encode()).is_err());
    assert_eq!(
        d.timestamp().map(|t| t.to_string()).as_deref(),
        Some("2004-03-12T22:05:59Z")
    );
}

/// The fuzz seeds (fuzz/seeds/mtf/) are this writer's output. `KBSCAN_WRITE_FUZZ_SEEDS=1`
/// writes them again.
#[test]
fn fuzz_seeds_are_the_writers_output() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/mtf");
    let mut small = Writer::new(512);
    small.tape("seed", "");
    small.sset(
        1,
        UNICODE,
        "seed",
        "d",
        "u",
        date(2004, 1, 1, 0, 0, 0),
        127,
        0,
    );
    small.volb("C:", "", "");
    small.dirb(&["WINNT", "system32"]);
    let mut spec = FileSpec::bytes(b"MZ seed");
    spec.checksum = true;
    small.file("nscm.exe", &spec);
    small.eset(0);
    let mut ansi = Writer::new(512);
    ansi.tape("seed", "");
    ansi.sset(
        1,
        ANSI,
        "caf\u{e9}",
        "",
        "",
        date(2004, 1, 1, 0, 0, 0),
        -20,
        0,
    );
    ansi.volb("D:", "", "");
    ansi.dirb(&[]);
    let mut c = FileSpec::bytes(b"zz");
    c.stan_media = media_attr::COMPRESSED;
    ansi.file("c.bin", &c);
    ansi.file("r\u{e9}sum\u{e9}", &FileSpec::bytes(b"ok"));
    ansi.sset(
        2,
        UNICODE,
        "no eset",
        "",
        "",
        date(2004, 1, 2, 0, 0, 0),
        0,
        0,
    );
    ansi.eotm();
    let seeds = [
        ("one-set-utf16.bkf", small.bytes()),
        ("ansi-eotm.bkf", ansi.bytes()),
    ];
    if std::env::var_os("KBSCAN_WRITE_FUZZ_SEEDS").is_some() {
        std::fs::create_dir_all(&dir).expect("seed dir");
        for (name, bytes) in &seeds {
            std::fs::write(dir.join(name), bytes).expect("write seed");
        }
    }
    for (name, bytes) in &seeds {
        let on_disk = std::fs::read(dir.join(name)).expect("the seed is committed");
        assert_eq!(
            &on_disk, bytes,
            "{name}: rerun with KBSCAN_WRITE_FUZZ_SEEDS=1"
        );
        assert!(bytes.len() <= 16 * 1024);
        let b = open(bytes.clone());
        assert!(!b.sets.is_empty());
    }
}

/// Writes sample `.bkf` files for checking with an independent reader (docs/images.md,
/// *Backups*): `KBSCAN_MTF_SAMPLES=DIR cargo test -p kbscan-core --lib
/// backup::tests::write_samples -- --ignored`.
#[test]
#[ignore]
fn write_samples() {
    let Some(dir) = std::env::var_os("KBSCAN_MTF_SAMPLES") else {
        panic!("set KBSCAN_MTF_SAMPLES to a folder");
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("dir");
    sample().write_to(&dir.join("sample.bkf")).expect("write");
    let mut w = Writer::new(KB);
    w.tape("big", "");
    w.set(1, UNICODE, "big");
    w.volb("C:", "", "");
    w.dirb(&["VM"]);
    let mut spec = FileSpec::bytes(b"");
    spec.data = Data::Zeros((4u64 << 30) + 4099);
    w.file("disk.img", &spec);
    w.file("after.txt", &FileSpec::bytes(b"after the big one\n"));
    w.eset(0);
    w.write_to(&dir.join("big.bkf")).expect("write");
    deep().write_to(&dir.join("deep.bkf")).expect("write");
}

/// Adds `dir` (a folder of the host) below `parts` of the set's volume: a `DIRB` per folder,
/// a `FILE` per file, names sorted so the output does not depend on the host's order.
fn add_tree(w: &mut Writer, dir: &std::path::Path, parts: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("a sample folder")
        .map(|e| e.expect("an entry").path())
        .collect();
    entries.sort();
    let here: Vec<&str> = parts.iter().map(String::as_str).collect();
    w.dirb(&here);
    let (dirs, files): (Vec<_>, Vec<_>) = entries.into_iter().partition(|p| p.is_dir());
    for f in files {
        let name = f
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        let bytes = std::fs::read(&f).expect("a sample file");
        w.file(&name, &FileSpec::bytes(&bytes));
    }
    for d in dirs {
        parts.push(
            d.file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned(),
        );
        add_tree(w, &d, parts);
        parts.pop();
    }
}

/// The bundled example backup, `sample_binaries/backups/w2k-backup-history.bkf`: three normal
/// backups of one server's `C:` (times coordinated to UTC): two while MS04-008 was missing
/// (the files of `w2k-sp4-vulnerable`), one after it was installed (`w2k-ms04-008-only`).
fn history_backup() -> Writer {
    let systems = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../sample_binaries/systems");
    let mut w = Writer::new(KB);
    w.tape(
        "Media created 1/10/2004 at 10:00 PM",
        "kbscan example backup",
    );
    let sets = [
        ("w2k-sp4-vulnerable", date(2004, 1, 10, 22, 0, 0)),
        ("w2k-sp4-vulnerable", date(2004, 2, 7, 22, 0, 0)),
        ("w2k-ms04-008-only", date(2004, 3, 20, 22, 0, 0)),
    ];
    for (i, (system, written)) in sets.into_iter().enumerate() {
        let number = i as u16 + 1;
        w.sset(
            number,
            UNICODE,
            &format!(
                "Set created {}/{}/{} at 10:00 PM",
                written.month, written.day, written.year
            ),
            "Normal backup of C:",
            "W2KSERVER\\Administrator",
            written,
            0,
            0,
        );
        w.volb("C:", "SYSTEM", "W2KSERVER");
        add_tree(&mut w, &systems.join(system), &mut Vec::new());
        w.eset(0);
    }
    w
}

/// The committed example backup is what the writer makes of the sample systems now
/// (`KBSCAN_WRITE_SAMPLE_BACKUP=1` writes it again after the systems change).
#[test]
fn the_example_backup_is_the_writers_output() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../sample_binaries/backups/w2k-backup-history.bkf");
    let want = history_backup().bytes();
    if std::env::var_os("KBSCAN_WRITE_SAMPLE_BACKUP").is_some() {
        std::fs::write(&path, &want).expect("write the example backup");
    }
    let have = std::fs::read(&path).expect("the example backup is committed");
    assert!(have == want, "sample_binaries/backups/w2k-backup-history.bkf is stale: run with KBSCAN_WRITE_SAMPLE_BACKUP=1");
    let b = open(have);
    assert_eq!(b.sets.len(), 3);
    assert!(b.sets.iter().all(|s| s.complete()));
}

/// The backup the speed bench reads (`bench/backups.sh`): one normal set of `KBSCAN_BENCH_FILES`
/// files (default 100,000) in folders of 100, their data `KBSCAN_BENCH_GIB` GiB in all
/// (default 4) left as holes, plus the example system `w2k-sp4-vulnerable` (hives and
/// candidates): `KBSCAN_BENCH_BKF=PATH cargo test --release -p kbscan-core --lib
/// backup::tests::write_bench_backup -- --ignored`.
#[test]
#[ignore]
fn write_bench_backup() {
    let Some(path) = std::env::var_os("KBSCAN_BENCH_BKF") else {
        panic!("set KBSCAN_BENCH_BKF to the file to write");
    };
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let files = env("KBSCAN_BENCH_FILES", 100_000);
    let gib = env("KBSCAN_BENCH_GIB", 4);
    let each = (gib << 30) / files.max(1);
    let systems = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../sample_binaries/systems");
    let mut w = Writer::new(KB);
    w.tape("bench", "kbscan speed bench");
    w.sset(
        1,
        UNICODE,
        "bench",
        "",
        "",
        date(2004, 3, 20, 22, 0, 0),
        0,
        0,
    );
    w.volb("C:", "SYSTEM", "W2KSERVER");
    add_tree(&mut w, &systems.join("w2k-sp4-vulnerable"), &mut Vec::new());
    for d in 0..files.div_ceil(100) {
        let dir = format!("d{d:05}");
        w.dirb(&["Data", &dir]);
        for f in 0..100.min(files - d * 100) {
            let mut spec = FileSpec::bytes(b"");
            spec.data = Data::Zeros(each);
            w.file(&format!("f{f:03}.dat"), &spec);
        }
    }
    w.eset(0);
    w.write_to(std::path::Path::new(&path)).expect("write");
}
