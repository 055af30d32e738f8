//! The NTBackup `.bkf` (MTF) reader and the backup source on arbitrary bytes: opening never
//! panics, everything it keeps is bounded and inside the file, every file's data that is
//! located reads back bounded, and every set's tree lists without error loops.
#![no_main]

use kbscan_core::backup::mtf::{Backup, ReadError, MAX_ENTRIES, MAX_NOTICES};
use kbscan_core::backup::source::{BackupSource, Scope};
use kbscan_core::source::Source;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let len = data.len() as u64;
    let Ok(b) = Backup::open(data, len) else {
        return;
    };
    assert!(b.notices.list.len() <= MAX_NOTICES);
    let mut entries = 0;
    for (i, set) in b.sets.iter().enumerate() {
        assert!(set.offset < len);
        assert!(set.notices.list.len() <= MAX_NOTICES);
        entries += set.volumes.len() + set.dirs.len() + set.files.len();
        for f in &set.files {
            assert!(f.offset < len);
            if let Ok(d) = &f.data {
                assert!(d.offset.saturating_add(d.length) <= len || d.length == 0);
                match b.read_data(d, 4096) {
                    Ok(v) => assert_eq!(v.len() as u64, d.length.min(4097)),
                    Err(ReadError::Checksum { .. }) => {}
                    Err(e) => panic!("located data does not read: {e}"),
                }
            }
            for t in [f.dates.modified, f.dates.created, f.dates.accessed].into_iter().flatten() {
                assert_eq!(t.timestamp().map(|t| t.to_string().len()), Some(20));
            }
        }
        let Some(src) = BackupSource::new(&b, i, Scope::Set, "fuzz.bkf") else {
            panic!("every set has a source");
        };
        // Each recorded path component, volume and file is at most one node of the tree.
        let most = 1
            + set.volumes.len()
            + set.files.len()
            + set.dirs.iter().map(|d| d.path.as_ref().map_or(0, Vec::len)).sum::<usize>();
        let (root, _) = src.root().expect("a root");
        let mut stack = vec![root];
        let mut seen = 0usize;
        while let Some(n) = stack.pop() {
            seen += 1;
            assert!(seen <= most, "the tree has more nodes than the set has entries");
            let _ = src.stat(&n);
            if let Ok(list) = src.list(&n) {
                stack.extend(list.into_iter().map(|e| e.node));
            }
        }
    }
    assert!(entries <= MAX_ENTRIES + b.sets.len());
});
