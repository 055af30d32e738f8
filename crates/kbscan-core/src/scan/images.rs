//! A disk image through the driver: `image` opens it into slots, each volume is scanned as a
//! source (several volumes at once, each thread with the image opened on its own, since the
//! file-system readers are not shared between threads), and the disk gets its report.

use std::path::Path;

use super::Scanner;
use crate::image::{self, Slot, WithSource};
use crate::judge::system;
use crate::model::{combine, ImageReport, RootReport};
use crate::source::Source;

impl<'a> Scanner<'a> {
    /// Scans a disk image: every volume a root, plus the disk's own report. Volumes are
    /// scanned by up to `threads` threads at once, each with the image opened on its own
    /// (file-system readers are not shared between threads); the roots stay in partition
    /// order.
    pub fn image(
        &self,
        path: &Path,
        progress: &mut dyn FnMut(u64),
    ) -> (Vec<RootReport>, ImageReport) {
        let mut img = image::open(path, self.settings.verify_image);
        let slots = std::mem::take(&mut img.slots);
        let volumes = slots
            .iter()
            .filter(|s| matches!(s, Slot::Volume(_)))
            .count();
        let threads = self.settings.threads.clamp(1, volumes.max(1));
        let done = if threads <= 1 {
            slots
                .iter()
                .map(|slot| {
                    Some(self.scan_slot(
                        slot,
                        &mut |v, user| img.scan_volume(v, user),
                        &mut *progress,
                    ))
                })
                .collect()
        } else {
            self.volumes_in_parallel(&mut img, &slots, threads, progress)
        };
        let mut roots: Vec<RootReport> = done.into_iter().flatten().flatten().collect();
        if let Some(v) = img.report.verification.as_ref().filter(|v| v.is_mismatch()) {
            for root in &mut roots {
                system::distrust_image(root, &v.detail);
            }
        }
        // The disk's volumes: the volume entries, not the systems split from them.
        let names = roots
            .iter()
            .filter(|r| r.parent_root.is_none())
            .map(|r| r.root.clone())
            .collect();
        let report = img.finish(names, combine(roots.iter().map(|r| r.verdict)));
        (roots, report)
    }

    /// Scans the volumes of `slots` with `threads` threads: this thread with the image as
    /// opened, the others each with the image opened again; slots are taken in order from a
    /// shared counter. Progress comes back to this thread.
    fn volumes_in_parallel(
        &self,
        img: &mut image::OpenImage,
        slots: &[Slot],
        threads: usize,
        progress: &mut dyn FnMut(u64),
    ) -> Vec<Option<Vec<RootReport>>> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::mpsc;
        let next = AtomicUsize::new(0);
        let (tx, rx) = mpsc::channel::<(usize, Vec<RootReport>)>();
        let (ptx, prx) = mpsc::channel::<u64>();
        let mut out: Vec<Option<Vec<RootReport>>> = slots.iter().map(|_| None).collect();
        let extra: Vec<_> = (1..threads).map(|_| img.open_again()).collect();
        std::thread::scope(|scope| {
            for handle in extra {
                let (tx, ptx, next) = (tx.clone(), ptx.clone(), &next);
                scope.spawn(move || {
                    let mut handle = handle;
                    let mut forward = |n| {
                        let _ = ptx.send(n);
                    };
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(slot) = slots.get(i) else { break };
                        let roots = self.scan_slot(
                            slot,
                            &mut |v, user| match handle.as_mut() {
                                Ok(h) => h.scan_volume(v, user),
                                Err(e) => Err(e.clone()),
                            },
                            &mut forward,
                        );
                        if tx.send((i, roots)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(ptx);
            // This thread scans too, with the image as first opened, and passes progress on
            // between volumes.
            loop {
                while let Ok(n) = prx.try_recv() {
                    progress(n);
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(slot) = slots.get(i) else { break };
                out[i] = Some(self.scan_slot(
                    slot,
                    &mut |v, user| img.scan_volume(v, user),
                    &mut *progress,
                ));
            }
            drop(tx);
            for n in prx {
                progress(n);
            }
        });
        for (i, roots) in rx {
            out[i] = Some(roots);
        }
        out
    }

    /// The roots of one slot: a volume scanned by `scan` (its systems, the volume's own entry
    /// first), or a root that could not be read.
    fn scan_slot(
        &self,
        slot: &Slot,
        scan: &mut ScanWith<'_, 'a>,
        progress: &mut dyn FnMut(u64),
    ) -> Vec<RootReport> {
        match slot {
            Slot::Unreadable { name, message } => {
                vec![self.unreadable(name.clone(), message.clone())]
            }
            Slot::Volume(v) => {
                let mut user = VolumeScan {
                    scanner: self,
                    name: v.name.clone(),
                    progress,
                };
                let mut systems = scan(v, &mut user)
                    .unwrap_or_else(|message| vec![self.unreadable(v.name.clone(), message)]);
                // The volume's own entry comes first; its notices are the volume's.
                systems[0].notices.extend(v.notices.iter().cloned());
                for root in &mut systems {
                    root.image = Some(v.source.clone());
                }
                systems
            }
        }
    }
}

/// Opens a volume's file system (on one thread's copy of the image) and scans it.
type ScanWith<'f, 'a> =
    dyn FnMut(&image::Volume, &mut VolumeScan<'_, 'a, '_>) -> Result<Vec<RootReport>, String> + 'f;

/// The scan of one image volume, handed the volume's file system by `image`.
struct VolumeScan<'s, 'a, 'p> {
    scanner: &'s Scanner<'a>,
    name: String,
    progress: &'p mut dyn FnMut(u64),
}

impl WithSource<Vec<RootReport>> for VolumeScan<'_, '_, '_> {
    fn with<S: Source>(&mut self, src: &S) -> Vec<RootReport> {
        self.scanner.source(src, self.name.clone(), self.progress)
    }
}
