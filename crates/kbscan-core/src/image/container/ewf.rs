//! E01 and SMART `.s01` (EWF version 1) through the `ewf` crate, over our own read-only
//! handles (`SegmentSource::File` from `open_evidence`; the crate's path-based `open` uses
//! `File::open`, which follows links). The crate does not check the Adler-32 of an
//! uncompressed chunk on read, so those chunks are read and checked here: a damaged chunk is
//! a read error, never silently different bytes. Compressed chunks are inflated here too
//! ([`Inflater`]): each is a zlib stream whose own Adler-32 the inflater checks, and which
//! must end within the chunk and cover the media's bytes. The case fields come from the
//! UTF-16 `header2` section when there is one (`ewf_header2`), else from the crate's ASCII
//! `header`.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;

use ewf::{EwfReader, SegmentSource};

use super::{ewf_segment_paths, hex, pread, ContainerError, ContainerMeta, Opened, Verification};
use crate::contain::contained;
use crate::image::reader::ByteSource;
use crate::source::host::open_evidence;

/// The largest chunk accepted (libewf writes 32 KiB; EnCase at most a few MiB).
const MAX_CHUNK: u64 = 64 * 1024 * 1024;

pub struct EwfSource {
    reader: Arc<EwfReader>,
    /// Our own handles on the segments, in segment-number order, for uncompressed chunks.
    files: Vec<File>,
    chunk_size: u64,
    len: u64,
    /// A set with a missing segment: the first disk byte whose chunk is not described by
    /// the segments present, and why.
    missing: Option<(u64, String)>,
    /// The last chunk when it is stored uncompressed and the media ends inside it: its index
    /// and the bytes stored for it (see `last_plain_chunk_len`).
    tail: Option<(u64, u64)>,
    /// kbscan's own inflating of compressed chunks (see [`Inflater`]).
    inflater: Inflater,
}

/// Compressed chunks are inflated here, not by the crate: straight into the caller's buffer
/// when a whole chunk is read (the disk cache reads whole chunks, [`ByteSource::unit`]), with
/// one inflater and one input buffer reused, and the last chunk read in part kept. The
/// crate's path zeroes, caches and copies each chunk three times over, which was half the
/// time of a scan of a large E01.
struct Inflater {
    z: flate2::Decompress,
    packed: Vec<u8>,
    /// The last chunk inflated for a partial read: its index and bytes (a whole chunk).
    last: Option<(u64, Vec<u8>)>,
}

impl Inflater {
    fn new() -> Self {
        Self {
            z: flate2::Decompress::new(true),
            packed: Vec::new(),
            last: None,
        }
    }

    /// Inflates chunk `idx` (`size` bytes at `offset` of `file`) into `out`, which is a
    /// chunk long; returns the bytes it inflated to, at least `media_len`. The zlib stream
    /// must end, its Adler-32 matching, within the chunk: anything else is damage.
    fn inflate(
        &mut self,
        file: &mut File,
        idx: u64,
        offset: u64,
        size: u64,
        media_len: usize,
        out: &mut [u8],
    ) -> io::Result<usize> {
        let size = usize::try_from(size).map_err(io::Error::other)?;
        self.packed.resize(size, 0);
        let n = pread(file, offset, &mut self.packed)?;
        let damaged = |why: String| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("EWF chunk {idx}: {why}: the image is damaged here"),
            )
        };
        self.z.reset(true);
        let status = self
            .z
            .decompress(&self.packed[..n], out, flate2::FlushDecompress::Finish)
            .map_err(|e| damaged(format!("its compressed data does not inflate ({e})")))?;
        let got = usize::try_from(self.z.total_out()).unwrap_or(usize::MAX);
        if status != flate2::Status::StreamEnd {
            return Err(if n < size {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("EWF chunk {idx}: the segment ends inside it (truncated image?)"),
                )
            } else {
                damaged("its compressed data does not end within a chunk".to_owned())
            });
        }
        if got < media_len {
            return Err(damaged(format!(
                "it inflates to {got} bytes, fewer than the {media_len} the media records"
            )));
        }
        Ok(got)
    }
}

impl std::fmt::Debug for EwfSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EwfSource")
            .field("segments", &self.files.len())
            .field("chunk_size", &self.chunk_size)
            .field("len", &self.len)
            .finish()
    }
}

fn damaged(e: impl std::fmt::Display) -> ContainerError {
    ContainerError::damaged("E01", e)
}

/// How the section chain of a segment ends: `next` (another segment follows), `done` (the
/// last segment), or broken (the file ends inside the chain, or the chain loops).
enum ChainEnd {
    Next,
    Done,
    Broken(String),
}

/// The most sections a segment's chain is followed through (ewfacquire writes a handful;
/// EnCase one `table` per 16,375 chunks).
const MAX_SECTIONS: usize = 1 << 20;

/// Follows a segment's section chain from its file header to its `next` or `done` section,
/// showing `visit` each section before (type, start of its descriptor, size with it).
fn walk_sections(f: &mut File, mut visit: impl FnMut(&[u8], u64, u64)) -> io::Result<ChainEnd> {
    let mut off = 13u64;
    for _ in 0..MAX_SECTIONS {
        let mut d = [0u8; 76];
        if pread(f, off, &mut d)? < d.len() {
            return Ok(ChainEnd::Broken(format!(
                "the file ends inside the section descriptor at byte {off} (truncated segment?)"
            )));
        }
        let kind = d[..16].split(|&b| b == 0).next().unwrap_or_default();
        match kind {
            b"next" => return Ok(ChainEnd::Next),
            b"done" => return Ok(ChainEnd::Done),
            _ => {}
        }
        let next = u64::from_le_bytes([d[16], d[17], d[18], d[19], d[20], d[21], d[22], d[23]]);
        let size = u64::from_le_bytes([d[24], d[25], d[26], d[27], d[28], d[29], d[30], d[31]]);
        visit(kind, off, size);
        if next <= off {
            return Ok(ChainEnd::Broken(format!(
                "the section at byte {off} points back to byte {next}"
            )));
        }
        off = next;
    }
    Ok(ChainEnd::Broken(
        "more sections than any acquisition writes".to_owned(),
    ))
}

fn chain_end(f: &mut File) -> io::Result<ChainEnd> {
    walk_sections(f, |_, _, _| {})
}

/// The stored length (data, without its Adler-32) of the last chunk of the media when it is
/// uncompressed: the bytes from its offset to the end of the `sectors` section holding it.
/// libewf sizes it so; the media may use fewer of them (ewfacquire stores a 4,097-byte
/// source's every byte in the chunk but records 8 sectors of media), and the Adler-32
/// covers them all. `None` when no `sectors` section holds the offset, or the size is
/// implausible.
fn last_plain_chunk_len(f: &mut File, offset: u64, chunk_size: u64) -> Option<u64> {
    let mut end = None;
    walk_sections(f, |kind, start, size| {
        if kind == b"sectors" && offset >= start + 76 && offset < start.saturating_add(size) {
            end = Some(start.saturating_add(size));
        }
    })
    .ok()?;
    let stored = end?.checked_sub(offset)?.checked_sub(4)?;
    (stored > 0 && stored <= chunk_size).then_some(stored)
}

/// The segment number in an EWF1 file header (bytes 9–10, little-endian).
fn segment_number(f: &mut File) -> io::Result<u16> {
    let mut h = [0u8; 13];
    if pread(f, 0, &mut h)? < 13 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "an EWF segment shorter than its file header",
        ));
    }
    Ok(u16::from_le_bytes([h[9], h[10]]))
}

pub fn open(first: &Path, first_file: File) -> Result<Opened, ContainerError> {
    let paths = ewf_segment_paths(first);
    let mut files = vec![first_file];
    for p in &paths[1..] {
        files.push(open_evidence(p)?);
    }
    // The crate orders its sources by segment number: order ours the same way.
    let mut numbered = Vec::with_capacity(files.len());
    for mut f in files {
        numbered.push((segment_number(&mut f)?, f));
    }
    numbered.sort_by_key(|(n, _)| *n);
    for (i, (n, _)) in numbered.iter().enumerate() {
        if usize::from(*n) != i + 1 {
            let kind = if first
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("s01"))
            {
                "SMART"
            } else {
                "E01"
            };
            return Err(ContainerError::Damaged {
                kind,
                message: format!(
                    "segment {} is missing ({} segment files found next to {}): put every segment beside the first",
                    i + 1,
                    paths.len(),
                    first.display()
                ),
            });
        }
    }
    // Complete only when the last segment present ends with `done`: a `next` there means
    // a later segment was not found (the names stop at the first one missing).
    let present = numbered.len();
    let incomplete = match numbered.last_mut() {
        Some((_, f)) => match chain_end(f)? {
            ChainEnd::Done => None,
            ChainEnd::Next => {
                let n = u32::try_from(present + 1).unwrap_or(u32::MAX);
                let name = super::ewf_segment_name(first, n)
                    .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .unwrap_or_else(|| "its successor".to_owned());
                Some(format!(
                    "the E01 set is incomplete: segment {n} ({name}) is missing (segment {present} \
                     says another follows)"
                ))
            }
            ChainEnd::Broken(why) => Some(format!(
                "the E01 set is incomplete: segment {present} has no `done` section: {why}"
            )),
        },
        None => None,
    };
    let mut sources = Vec::with_capacity(numbered.len());
    let mut own = Vec::with_capacity(numbered.len());
    for (_, f) in numbered {
        sources.push(SegmentSource::File(f.try_clone()?));
        own.push(f);
    }
    let reader = contained(|| EwfReader::open_from_sources(sources))
        .ok_or_else(|| damaged("the EWF reader failed on a damaged structure"))?
        .map_err(damaged)?;
    let chunk_size = reader.chunk_size();
    if chunk_size == 0 || chunk_size > MAX_CHUNK {
        return Err(damaged(format!("implausible chunk size {chunk_size}")));
    }
    let md = reader.metadata().clone();
    // The case fields from the UTF-16 `header2` copy when there is one: the crate reads the
    // ASCII `header`, where every character outside ASCII was written as 0x1A.
    let h2 = own
        .first_mut()
        .and_then(super::ewf_header2::read)
        .unwrap_or_default();
    let stored = reader.stored_hashes();
    let smart = md
        .acquiry_software
        .as_deref()
        .is_some_and(|s| s.to_ascii_lowercase().contains("smart"))
        || first
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("s01"));
    let meta = ContainerMeta {
        subformat: Some(if smart { "smart" } else { "ewf1" }.to_owned()),
        virtual_size: Some(reader.total_size()),
        case_number: h2.case_number.or(md.case_number),
        evidence_number: h2.evidence_number.or(md.evidence_number),
        examiner: h2.examiner.or(md.examiner),
        description: h2.description.or(md.description),
        notes: h2.notes.or(md.notes),
        acquisition_date: md.acquiry_date,
        acquisition_software: md.acquiry_software,
        stored_md5: stored.md5.map(|h| hex(&h)),
        stored_sha1: stored.sha1.map(|h| hex(&h)),
        acquisition_errors: reader
            .acquisition_errors()
            .iter()
            .map(|e| format!("sector {}+{}", e.first_sector, e.sector_count))
            .collect(),
        ..ContainerMeta::default()
    };
    let len = reader.total_size();
    // What the segments present describe: their chunks, in order from the start.
    let described = (reader.chunk_count() as u64)
        .saturating_mul(chunk_size)
        .min(len);
    let missing = incomplete.map(|why| {
        (
            described,
            format!(
                "{why}: disk bytes {described}..{len} cannot be read; a volume reaching them \
                 is not judged"
            ),
        )
    });
    let notices = missing.iter().map(|(_, m)| m.clone()).collect();
    // A last chunk that is stored uncompressed and backs fewer bytes than a chunk (media
    // not a whole number of chunks, as ewfacquire writes it): the crate's own verification
    // reads a whole chunk there and fails on the end of the segment, so such a set is hashed
    // through kbscan's reader, which reads what libewf reads.
    let count = reader.chunk_count();
    let last_plain = (len % chunk_size != 0 && count > 0)
        .then(|| contained(|| reader.debug_chunk(count - 1)).and_then(Result::ok))
        .flatten()
        .filter(|(_, _, compressed, _)| !compressed);
    let tail = last_plain.and_then(|(offset, _, _, segment)| {
        let stored = last_plain_chunk_len(own.get_mut(segment)?, offset, chunk_size)?;
        Some((count as u64 - 1, stored))
    });
    let reader = Arc::new(reader);
    // `--verify-image` reads the media through kbscan's own reading (what a scan reads, an
    // uncompressed chunk's Adler-32 checked, a partial last chunk as libewf reads it).
    let own_reading = if missing.is_none() {
        let mut files = Vec::with_capacity(own.len());
        for f in &own {
            files.push(f.try_clone()?);
        }
        Some(EwfSource {
            reader: Arc::clone(&reader),
            files,
            chunk_size,
            len,
            missing: None,
            tail,
            inflater: Inflater::new(),
        })
    } else {
        None
    };
    let for_verify = Arc::clone(&reader);
    let gone = missing.as_ref().map(|(_, m)| m.clone());
    let verify = Box::new(move || match own_reading {
        Some(src) => verify_through(&for_verify, src),
        None => Verification::incomplete(format!(
            "{}; the media cannot be read whole, so no hash the acquisition stored (written \
             in the last segment) can be checked",
            gone.unwrap_or_default()
        )),
    });
    Ok(Opened {
        kind: if smart { "smart" } else { "e01" },
        segments: own.len(),
        meta,
        notices,
        src: Box::new(EwfSource {
            reader,
            files: own,
            chunk_size,
            len,
            missing,
            tail,
            inflater: Inflater::new(),
        }),
        verify,
    })
}

/// `--verify-image` through kbscan's own reader (every chunk read as a scan reads it, an
/// uncompressed chunk's Adler-32 checked): MD5, and SHA-1 when one is stored, of the media.
///
/// On every core: reader threads, each with its own handles, inflate alternate blocks of
/// chunks; the blocks are hashed in media order, MD5 on this thread and SHA-1 on another
/// (each hash is a chain, so each runs on one thread, but the two run side by side).
/// Memory stays bounded: each reader thread has at most [`QUEUED`] blocks waiting.
fn verify_through(reader: &EwfReader, src: EwfSource) -> Verification {
    use md5::Digest;
    use std::sync::mpsc::{sync_channel, Receiver};
    let stored = reader.stored_hashes();
    if stored.md5.is_none() && stored.sha1.is_none() {
        return Verification::none("the E01 records no MD5 or SHA-1 of the media".to_owned());
    }
    let len = src.len;
    let block = VERIFY_BLOCK.div_ceil(src.chunk_size).max(1) * src.chunk_size;
    let blocks = len.div_ceil(block);
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, 4) as u64;
    let mut sources = Vec::new();
    for _ in 1..workers {
        match src.try_clone_handles() {
            Ok(s) => sources.push(s),
            Err(e) => {
                return Verification::mismatch(format!("the media could not be read whole: {e}"))
            }
        }
    }
    sources.insert(0, src);
    let outcome = std::thread::scope(|scope| {
        let mut queues: Vec<Receiver<Result<Vec<u8>, String>>> = Vec::new();
        for (w, mut s) in sources.into_iter().enumerate() {
            let (tx, rx) = sync_channel(QUEUED);
            queues.push(rx);
            scope.spawn(move || {
                let mut b = w as u64;
                while b < blocks {
                    let pos = b * block;
                    let want = (len - pos).min(block) as usize;
                    let mut buf = vec![0u8; want];
                    let r = read_whole(&mut s, pos, &mut buf).map(|()| buf);
                    let failed = r.is_err();
                    if tx.send(r).is_err() || failed {
                        return; // The hashing stopped, or this read failed.
                    }
                    b += workers;
                }
            });
        }
        let (sha_tx, sha_rx) = sync_channel::<Arc<Vec<u8>>>(QUEUED * 2);
        let sha = stored.sha1.map(|_| {
            scope.spawn(move || {
                let mut h = sha1::Sha1::new();
                for b in sha_rx {
                    h.update(&b[..]);
                }
                <[u8; 20]>::from(h.finalize())
            })
        });
        let mut md5 = md5::Md5::new();
        for b in 0..blocks {
            let got = queues[(b % workers) as usize]
                .recv()
                .unwrap_or_else(|_| Err("a reader thread stopped".to_owned()));
            match got {
                Ok(data) => {
                    md5.update(&data);
                    if sha.is_some() && sha_tx.send(Arc::new(data)).is_err() {
                        return Err("the SHA-1 thread stopped".to_owned());
                    }
                }
                Err(e) => return Err(e),
            }
        }
        drop(sha_tx);
        let sha1 = match sha.map(|h| h.join()) {
            None => None,
            Some(Ok(d)) => Some(d),
            Some(Err(_)) => return Err("the SHA-1 thread failed".to_owned()),
        };
        Ok((<[u8; 16]>::from(md5.finalize()), sha1))
    });
    let (md5, sha1) = match outcome {
        Ok(h) => h,
        Err(e) => return Verification::mismatch(format!("the media could not be read whole: {e}")),
    };
    let mut parts = Vec::new();
    let mut bad = false;
    if let Some(s) = stored.md5 {
        bad |= s != md5;
        parts.push(format!("MD5 stored {} computed {}", hex(&s), hex(&md5)));
    }
    if let (Some(s), Some(c)) = (stored.sha1, sha1) {
        bad |= s != c;
        parts.push(format!("SHA-1 stored {} computed {}", hex(&s), hex(&c)));
    }
    if bad {
        Verification::mismatch(parts.join("; "))
    } else {
        Verification::verified(parts.join("; "))
    }
}

/// The media read per block by a `--verify-image` reader thread (rounded up to whole chunks).
const VERIFY_BLOCK: u64 = 1 << 20;
/// Blocks a reader thread may have read ahead of the hashing.
const QUEUED: usize = 2;

/// Reads `buf` whole at `pos`, or says why not.
fn read_whole(src: &mut EwfSource, pos: u64, buf: &mut [u8]) -> Result<(), String> {
    let mut done = 0;
    while done < buf.len() {
        let at = pos + done as u64;
        match src.read_at(at, &mut buf[done..]) {
            Ok(0) => return Err(format!("it ends at byte {at} of {}", src.len)),
            Ok(n) => done += n,
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}

/// Our handle on the segment (numbered from 0) the table names for chunk `idx`.
fn segment_file(files: &mut [File], idx: u64, segment: usize) -> io::Result<&mut File> {
    files.get_mut(segment).ok_or_else(|| {
        io::Error::other(format!(
            "EWF chunk {idx} names segment {} that is not there",
            segment + 1
        ))
    })
}

impl EwfSource {
    /// The same reading with handles of its own (the reader, shared, reads by position).
    fn try_clone_handles(&self) -> io::Result<Self> {
        let mut files = Vec::with_capacity(self.files.len());
        for f in &self.files {
            files.push(f.try_clone()?);
        }
        Ok(Self {
            reader: Arc::clone(&self.reader),
            files,
            chunk_size: self.chunk_size,
            len: self.len,
            missing: self.missing.clone(),
            tail: self.tail,
            inflater: Inflater::new(),
        })
    }

    /// One uncompressed chunk read from our own handle, its Adler-32 checked.
    fn plain_chunk(&mut self, idx: u64, offset: u64, segment: usize) -> io::Result<Vec<u8>> {
        let start = idx * self.chunk_size;
        let media_len = self.chunk_size.min(self.len - start) as usize;
        // The last chunk's Adler-32 covers every byte stored for it, which may be more than
        // the media uses (then the media's bytes are served, as libewf does).
        let data_len = match self.tail {
            Some((t, stored)) if t == idx => {
                if (stored as usize) < media_len {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "EWF chunk {idx}: {stored} bytes stored, fewer than the {media_len} \
                             the media records: the image is damaged here"
                        ),
                    ));
                }
                stored as usize
            }
            _ => media_len,
        };
        let file = segment_file(&mut self.files, idx, segment)?;
        let mut raw = vec![0u8; data_len + 4];
        let n = pread(file, offset, &mut raw)?;
        if n < data_len + 4 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("EWF chunk {idx}: the segment ends inside it (truncated image?)"),
            ));
        }
        let stored = u32::from_le_bytes([
            raw[data_len],
            raw[data_len + 1],
            raw[data_len + 2],
            raw[data_len + 3],
        ]);
        raw.truncate(data_len);
        let checked = ewf::sections::adler32(&raw) == stored;
        raw.truncate(media_len);
        if !checked {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "EWF chunk {idx} (disk bytes {start}..{}): its Adler-32 checksum does not match: the image is damaged here",
                    start + media_len as u64
                ),
            ));
        }
        Ok(raw)
    }
}

impl ByteSource for EwfSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn missing(&self) -> Option<(u64, String)> {
        self.missing.clone()
    }

    fn unit(&self) -> Option<u64> {
        Some(self.chunk_size)
    }

    fn try_clone(&self) -> Option<io::Result<Box<dyn ByteSource>>> {
        Some(
            self.try_clone_handles()
                .map(|s| Box::new(s) as Box<dyn ByteSource>),
        )
    }

    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0usize;
        while done < buf.len() {
            let p = pos + done as u64;
            if p >= self.len {
                break;
            }
            if let Some((from, why)) = self.missing.as_ref().filter(|(from, _)| p >= *from) {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("disk byte {p} is past byte {from}: {why}"),
                ));
            }
            let idx = p / self.chunk_size;
            let within = (p % self.chunk_size) as usize;
            let in_chunk = (self.chunk_size.min(self.len - idx * self.chunk_size) as usize)
                .saturating_sub(within)
                .min(buf.len() - done);
            let reader = Arc::clone(&self.reader);
            let meta = usize::try_from(idx)
                .ok()
                .and_then(|i| contained(|| reader.debug_chunk(i)))
                .ok_or_else(|| io::Error::other(format!("EWF chunk {idx}: damaged chunk table")))?
                .map_err(|e| io::Error::other(format!("EWF chunk {idx}: {e}")))?;
            let (offset, size, compressed, segment) = meta;
            if compressed {
                if size > self.chunk_size + self.chunk_size / 2 + 4096 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("EWF chunk {idx}: compressed size {size} is implausible"),
                    ));
                }
                let chunk = self.chunk_size as usize;
                let media_len = self.chunk_size.min(self.len - idx * self.chunk_size) as usize;
                let file = segment_file(&mut self.files, idx, segment)?;
                let inf = &mut self.inflater;
                if within == 0 && in_chunk == chunk {
                    // A whole chunk: inflated where it is wanted.
                    let out = &mut buf[done..done + chunk];
                    inf.inflate(file, idx, offset, size, media_len, out)?;
                } else {
                    let mut last = match inf.last.take() {
                        Some((i, data)) if i == idx => data,
                        other => {
                            let mut data = other.map(|(_, d)| d).unwrap_or_default();
                            data.resize(chunk, 0);
                            inf.inflate(file, idx, offset, size, media_len, &mut data)?;
                            data
                        }
                    };
                    buf[done..done + in_chunk].copy_from_slice(&last[within..within + in_chunk]);
                    inf.last = Some((idx, std::mem::take(&mut last)));
                }
            } else {
                let data = self.plain_chunk(idx, offset, segment)?;
                buf[done..done + in_chunk].copy_from_slice(&data[within..within + in_chunk]);
            }
            done += in_chunk;
        }
        Ok(done)
    }
}

/// E01 and SMART (EWF version 1): read.
pub(crate) const EWF1: super::Container = super::Container {
    name: "e01",
    display: "E01 (EnCase/EWF)",
    detect: |p| p.starts(b"EVF\x09\x0d\x0a\xff\x00"),
    reading: super::Reading::Read(open),
    companions: |p| Ok(ewf_segment_paths(p)),
    companion: "a segment of the scanned image",
};

/// Ex01 (EnCase 7, EWF2): refused.
pub(crate) const EWF2: super::Container = super::Container {
    name: "ex01",
    display: "Ex01 (EnCase 7 EWF2)",
    detect: |p| p.starts(b"EVF2\x0d\x0a\x81\x00") || p.starts(b"LEF2\x0d\x0a\x81\x00"),
    reading: super::Reading::Refused(|path| {
        format!(
            "format not supported: this is an Ex01 (EnCase 7 EWF2) image; its pattern-fill \
             chunks are not read correctly by the EWF reader kbscan uses. Convert it to raw \
             first: `ewfexport -t disk -f raw {}` (Debian package ewf-tools), then scan disk.raw",
            path.display()
        )
    }),
    companions: super::no_companions,
    companion: "a segment of the scanned image",
};

/// L01 (EnCase logical evidence): a set of files, not a disk; refused.
pub(crate) const LVF: super::Container = super::Container {
    name: "l01",
    display: "L01 (EnCase logical evidence)",
    detect: |p| p.starts(b"LVF\x09\x0d\x0a\xff\x00"),
    reading: super::Reading::Refused(|_| {
        "format not supported: this is an L01 (EnCase logical evidence) file: a set of \
         files, not a disk image; export its files (e.g. `ewfexport -f files`) and scan \
         the folder"
            .to_owned()
    }),
    companions: super::no_companions,
    companion: "a segment of the scanned image",
};
