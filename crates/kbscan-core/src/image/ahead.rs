//! Read-ahead on a second core: a file system that knows which blocks it will read next
//! (NTFS: the file records of the folders it just listed, which the walk lists next) asks
//! for them here, and a thread with its own handles on the image decodes them (an E01
//! chunk is inflated) while the walk goes on. The disk cache takes a decoded block when it
//! needs it, or waits for one being decoded; a block not yet begun is withdrawn and read
//! by the walk itself. Nothing here changes what is read: a block the thread fails on is
//! dropped and read (and its error reported) by the walk, as without read-ahead.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use super::reader::ByteSource;

/// Blocks asked for and not yet decoded; the oldest requests are dropped beyond this.
const MAX_QUEUED: usize = 4096;
/// Decoded blocks not yet taken; the oldest are dropped beyond this (8 MiB of 32 KiB
/// chunks), so memory stays flat however large the volume.
const MAX_READY: usize = 256;

#[derive(Default)]
struct State {
    /// Block indexes asked for: the newest is decoded first, as the walk's stack lists the
    /// folders it pushed last first.
    queue: VecDeque<u64>,
    ready: HashMap<u64, Vec<u8>>,
    ready_order: VecDeque<u64>,
    /// The block the thread is decoding.
    busy: Option<u64>,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The read-ahead thread of one disk; stopped when dropped.
pub(crate) struct ReadAhead {
    shared: Arc<Shared>,
    block: u64,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ReadAhead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadAhead")
            .field("block", &self.block)
            .finish()
    }
}

/// What a file system holds to ask for blocks: disk positions, offset by its volume's start.
#[derive(Clone)]
pub struct Ahead {
    shared: Arc<Shared>,
    block: u64,
    start: u64,
}

impl ReadAhead {
    /// Starts the thread over `src` (handles of its own), reading blocks of `block` bytes.
    pub(crate) fn start(mut src: Box<dyn ByteSource>, block: u64) -> Option<Self> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        });
        let theirs = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("kbscan-read-ahead".to_owned())
            .spawn(move || {
                let mut spare: Vec<u8> = Vec::new();
                loop {
                    let idx = {
                        let mut st = theirs.lock();
                        loop {
                            if st.closed {
                                return;
                            }
                            match st.queue.pop_back() {
                                Some(i) if st.ready.contains_key(&i) => continue,
                                Some(i) => {
                                    st.busy = Some(i);
                                    break i;
                                }
                                None => {
                                    st = theirs.changed.wait(st).unwrap_or_else(|e| e.into_inner())
                                }
                            }
                        }
                    };
                    let mut data = std::mem::take(&mut spare);
                    data.resize(block as usize, 0);
                    let got = idx
                        .checked_mul(block)
                        .map(|pos| src.read_at(pos, &mut data));
                    let mut st = theirs.lock();
                    st.busy = None;
                    if let Some(Ok(n)) = got {
                        data.truncate(n);
                        st.ready.insert(idx, data);
                        st.ready_order.push_back(idx);
                        while st.ready_order.len() > MAX_READY {
                            if let Some(old) = st.ready_order.pop_front() {
                                if let Some(buf) = st.ready.remove(&old) {
                                    spare = buf;
                                }
                            }
                        }
                    } else {
                        spare = data;
                    }
                    theirs.changed.notify_all();
                }
            })
            .ok()?;
        Some(Self {
            shared,
            block,
            thread: Some(thread),
        })
    }

    /// A handle for a volume starting at disk byte `start`.
    pub(crate) fn handle(&self, start: u64) -> Ahead {
        Ahead {
            shared: Arc::clone(&self.shared),
            block: self.block,
            start,
        }
    }

    /// Block `idx` if the thread decoded it (waiting while it is being decoded); else
    /// withdraws it from the queue and returns `None`: the caller reads it.
    pub(crate) fn take(&self, idx: u64) -> Option<Vec<u8>> {
        let mut st = self.shared.lock();
        loop {
            if let Some(data) = st.ready.remove(&idx) {
                st.ready_order.retain(|&i| i != idx);
                return Some(data);
            }
            if st.busy != Some(idx) {
                st.queue.retain(|&i| i != idx);
                return None;
            }
            st = self
                .shared
                .changed
                .wait(st)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.changed.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Ahead {
    /// Asks for the blocks holding `len` bytes at volume byte `pos`; later asks are read
    /// first.
    pub fn want(&self, pos: u64, len: u64) {
        let Some(first) = self.start.checked_add(pos) else {
            return;
        };
        let last = first.saturating_add(len.max(1) - 1);
        let (from, to) = (first / self.block, last / self.block);
        let to = to.min(from.saturating_add(MAX_QUEUED as u64 - 1));
        let mut st = self.shared.lock();
        for idx in from..=to {
            st.queue.push_back(idx);
        }
        while st.queue.len() > MAX_QUEUED {
            st.queue.pop_front();
        }
        drop(st);
        self.shared.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Bytes whose value is their position's block number, failing in block `bad`; counts
    /// the reads made through it.
    #[derive(Debug)]
    struct Blocks {
        len: u64,
        bad: u64,
        reads: Arc<AtomicUsize>,
    }

    impl ByteSource for Blocks {
        fn len(&self) -> u64 {
            self.len
        }
        fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            if pos / 16 == self.bad {
                return Err(io::Error::other("damaged block"));
            }
            let n = buf.len().min(self.len.saturating_sub(pos) as usize);
            for (i, b) in buf[..n].iter_mut().enumerate() {
                *b = ((pos + i as u64) / 16) as u8;
            }
            Ok(n)
        }
    }

    fn started(blocks: u64, bad: u64) -> (ReadAhead, Arc<AtomicUsize>) {
        let reads = Arc::new(AtomicUsize::new(0));
        let src = Blocks {
            len: 16 * blocks + 5,
            bad,
            reads: Arc::clone(&reads),
        };
        (ReadAhead::start(Box::new(src), 16).unwrap(), reads)
    }

    /// Waits until the thread has nothing queued or busy.
    fn settle(ra: &ReadAhead) {
        let mut st = ra.shared.lock();
        while !st.queue.is_empty() || st.busy.is_some() {
            st = ra.shared.changed.wait(st).unwrap();
        }
    }

    #[test]
    fn blocks_asked_for_are_decoded_once_and_handed_over_whole() {
        let (ra, reads) = started(100, u64::MAX);
        // A volume starting at disk byte 32: volume bytes 0..40 are disk blocks 2..=4.
        ra.handle(32).want(0, 40);
        settle(&ra);
        assert_eq!(reads.load(Ordering::SeqCst), 3);
        for idx in 2..=4u64 {
            assert_eq!(ra.take(idx), Some(vec![idx as u8; 16]));
        }
        // Taken once: a second take is the caller's own read.
        assert_eq!(ra.take(3), None);
        // The last, short block is as short as the disk.
        ra.handle(0).want(16 * 100, 1);
        settle(&ra);
        assert_eq!(ra.take(100), Some(vec![100u8; 5]));
    }

    #[test]
    fn a_block_not_begun_is_withdrawn_and_a_failed_one_left_to_the_caller() {
        let (ra, reads) = started(100, 7);
        ra.handle(0).want(7 * 16, 1);
        settle(&ra);
        // The thread's read failed: nothing is handed over, so the caller reads the block
        // and meets the error itself.
        assert_eq!(ra.take(7), None);
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        // Never asked for: the caller reads it.
        assert_eq!(ra.take(9), None);
    }

    #[test]
    fn memory_stays_bounded_and_the_thread_stops_when_dropped() {
        let (ra, _) = started(1000, u64::MAX);
        let h = ra.handle(0);
        // More blocks than are kept: the oldest decoded are dropped.
        for i in 0..600u64 {
            h.want(i * 16, 1);
        }
        settle(&ra);
        {
            let st = ra.shared.lock();
            assert_eq!(st.ready.len(), MAX_READY);
            assert_eq!(st.ready_order.len(), MAX_READY);
        }
        // One ask for the whole disk and more queues at most MAX_QUEUED blocks.
        h.want(0, u64::MAX);
        assert!(ra.shared.lock().queue.len() <= MAX_QUEUED);
        drop(ra); // Joins the thread: the test would hang otherwise.
        h.want(0, 1); // A handle outliving its disk asks in vain, harmlessly.
    }
}
