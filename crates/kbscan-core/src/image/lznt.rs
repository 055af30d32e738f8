//! NTFS-compressed (LZNT1) file data, decompressed here: the `ntfs` crate hands back the raw
//! on-disk bytes of a compressed stream. The stream is cut into compression units (2^n
//! clusters, n from byte 0x22 of the attribute header); per unit, from the data runs: all
//! clusters on disk → stored uncompressed, copied; none → a hole, zeros; some → LZNT1, its
//! 4 KiB chunks decompressed one by one with `lznt1` (a chunk may not give more than 4096
//! bytes; a short one is zero-filled). The result is cut to the attribute's value length.
//! Everything is bounded by the unit size and the caller's limit; damaged streams are errors.
//! Data reached through an attribute list is not decompressed (a precise `compressed` error).

use std::io::{Read, Seek, SeekFrom};

use ntfs::attribute_value::NtfsAttributeValue;
use ntfs::{Ntfs, NtfsAttribute};

use crate::source::{SourceError, SourceErrorKind};

/// LZNT1 works on 4 KiB chunks.
const CHUNK: usize = 4096;
/// The largest compression unit accepted (NTFS uses 16 clusters; 2^8 clusters of 64 KiB).
const MAX_UNIT: u64 = 16 * 1024 * 1024;
/// Data runs accepted for one stream.
const MAX_RUNS: usize = 1 << 20;

/// Why a compressed stream could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LzntError {
    #[error("LZNT1 chunk at byte {at} of its unit runs past the unit's data")]
    ChunkPastEnd { at: usize },
    #[error("LZNT1 chunk at byte {at} of its unit does not decode: {message}")]
    Bad { at: usize, message: String },
    #[error("LZNT1 chunk at byte {at} of its unit gives {len} bytes, more than 4096")]
    TooLong { at: usize, len: usize },
}

/// Decompresses one compression unit (`data`: its clusters on disk) into `unit` bytes.
pub fn decompress_unit(data: &[u8], unit: usize) -> Result<Vec<u8>, LzntError> {
    let mut out = Vec::with_capacity(unit);
    let mut pos = 0usize;
    let mut chunk = Vec::with_capacity(CHUNK);
    while out.len() < unit && pos + 2 <= data.len() {
        let header = u16::from_le_bytes([data[pos], data[pos + 1]]);
        if header == 0 {
            break; // End of the compressed data of this unit.
        }
        let size = usize::from(header & 0x0FFF) + 1;
        let end = pos + 2 + size;
        if end > data.len() {
            return Err(LzntError::ChunkPastEnd { at: pos });
        }
        chunk.clear();
        lznt1::decompress(&data[pos..end], &mut chunk).map_err(|e| LzntError::Bad {
            at: pos,
            message: e.to_string(),
        })?;
        if chunk.len() > CHUNK {
            return Err(LzntError::TooLong {
                at: pos,
                len: chunk.len(),
            });
        }
        out.extend_from_slice(&chunk);
        // A chunk that decodes short stands for 4096 bytes: the rest are zeros.
        out.resize(out.len() + (CHUNK - chunk.len()), 0);
        pos = end;
    }
    out.resize(unit, 0);
    Ok(out)
}

fn corrupt(msg: impl Into<String>) -> SourceError {
    SourceError::corrupt(msg.into())
}

fn ntfs_err(e: ntfs::NtfsError) -> SourceError {
    match e {
        ntfs::NtfsError::Io(io) => SourceError::io(&io),
        other => SourceError::corrupt(other.to_string()),
    }
}

/// One data run: `clusters` long, at volume byte `at` (None: sparse).
struct Run {
    clusters: u64,
    at: Option<u64>,
}

/// The volume byte of each cluster of `vcn..vcn+n` (None for sparse), walking `runs`.
fn clusters_of(runs: &[Run], mut vcn: u64, n: u64, cluster: u64) -> Vec<Option<u64>> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for r in runs {
        if out.len() as u64 == n {
            break;
        }
        let end = start + r.clusters;
        while vcn < end && (out.len() as u64) < n {
            out.push(r.at.map(|a| a + (vcn - start) * cluster));
            vcn += 1;
        }
        start = end;
    }
    // Past the last run: not allocated (a hole).
    out.resize(n as usize, None);
    out
}

fn read_exact_at<R: Read + Seek>(r: &mut R, at: u64, buf: &mut [u8]) -> Result<(), SourceError> {
    r.seek(SeekFrom::Start(at))
        .map_err(|e| SourceError::io(&e))?;
    r.read_exact(buf).map_err(|e| SourceError::io(&e))
}

/// Reads at most `limit + 1` bytes of the compressed, non-resident `attr`.
pub fn read_compressed<R: Read + Seek>(
    ntfs: &Ntfs,
    r: &mut R,
    attr: &NtfsAttribute<'_, '_>,
    limit: u64,
) -> Result<Vec<u8>, SourceError> {
    let want = attr.value_length().min(limit.saturating_add(1));
    let value = attr.value(r).map_err(ntfs_err)?;
    let runs = match value {
        NtfsAttributeValue::Resident(_) => return Ok(Vec::new()), // caller reads resident data
        NtfsAttributeValue::AttributeListNonResident(_) => {
            return Err(SourceError::new(
                SourceErrorKind::Compressed,
                "NTFS-compressed data reached through an attribute list is not decompressed",
            ))
        }
        NtfsAttributeValue::NonResident(v) => v.data_runs(),
    };
    let cluster = u64::from(ntfs.cluster_size());
    // Byte 0x22 of a non-resident attribute header: log2 of the compression unit in clusters.
    let header_at = attr
        .position()
        .value()
        .ok_or_else(|| corrupt("compressed attribute without a position"))?
        .get();
    let mut hdr = [0u8; 0x24];
    read_exact_at(r, header_at, &mut hdr)?;
    let shift = u32::from(u16::from_le_bytes([hdr[0x22], hdr[0x23]]));
    if hdr[8] != 1 || shift == 0 || shift > 16 {
        return Err(corrupt(format!(
            "compressed attribute with compression unit 2^{shift} clusters"
        )));
    }
    let unit_clusters = 1u64 << shift;
    let unit_bytes = unit_clusters.saturating_mul(cluster);
    if cluster == 0 || unit_bytes > MAX_UNIT {
        return Err(corrupt(format!(
            "compression unit of {unit_bytes} bytes is implausible"
        )));
    }
    let mut list = Vec::new();
    for run in runs {
        let run = run.map_err(ntfs_err)?;
        if list.len() >= MAX_RUNS {
            return Err(corrupt("more than 2^20 data runs: damaged run list?"));
        }
        list.push(Run {
            clusters: run.allocated_size() / cluster,
            at: run.data_position().value().map(|p| p.get()),
        });
    }
    let want_usize = usize::try_from(want).map_err(|_| corrupt("stream too large"))?;
    let mut out = Vec::with_capacity(want_usize.min(64 * 1024 * 1024));
    let mut vcn = 0u64;
    let unit_usize = unit_bytes as usize;
    while (out.len() as u64) < want {
        let where_ = clusters_of(&list, vcn, unit_clusters, cluster);
        let present = where_.iter().take_while(|c| c.is_some()).count();
        if where_.iter().skip(present).any(Option::is_some) {
            return Err(corrupt(format!(
                "compression unit at cluster {vcn}: allocated clusters after a hole"
            )));
        }
        if present == 0 {
            out.resize(out.len() + unit_usize, 0);
        } else {
            let mut data = vec![0u8; present * cluster as usize];
            for (i, at) in where_.iter().take(present).enumerate() {
                let at = at.unwrap_or_default();
                let c = cluster as usize;
                read_exact_at(r, at, &mut data[i * c..(i + 1) * c])?;
            }
            if present as u64 == unit_clusters {
                out.extend_from_slice(&data);
            } else {
                let unit = decompress_unit(&data, unit_usize)
                    .map_err(|e| corrupt(format!("compression unit at cluster {vcn}: {e}")))?;
                out.extend_from_slice(&unit);
            }
        }
        vcn += unit_clusters;
    }
    out.truncate(want_usize);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compress_unit(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        lznt1::compress(data, &mut out);
        out
    }

    #[test]
    fn a_unit_round_trips_and_short_chunks_are_zero_filled() {
        let mut plain = Vec::new();
        for i in 0..40_000u32 {
            plain.push((i.wrapping_mul(2_654_435_761) >> 13) as u8 & 0x0F);
        }
        plain.resize(65536, 0);
        let packed = compress_unit(&plain);
        assert!(packed.len() < plain.len());
        assert_eq!(decompress_unit(&packed, 65536).unwrap(), plain);
        // The compressed data of the first 4 KiB chunk only: the rest of the unit is zeros.
        let first = compress_unit(&plain[..4096]);
        let got = decompress_unit(&first, 16384).unwrap();
        assert_eq!(&got[..4096], &plain[..4096]);
        assert!(got[4096..].iter().all(|&b| b == 0));
    }

    #[test]
    fn damaged_streams_are_errors_never_panics_or_overlong_units() {
        let plain: Vec<u8> = (0..65536u32)
            .map(|i| (i % 251) as u8 ^ (i >> 9) as u8)
            .collect();
        let packed = compress_unit(&plain);
        let mut seed = 0x1234_5678u32;
        let mut errors = 0;
        for _ in 0..3000 {
            let mut d = packed.clone();
            for _ in 0..3 {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                let i = seed as usize % d.len();
                d[i] ^= (seed >> 24) as u8 | 1;
            }
            match decompress_unit(&d, 65536) {
                Ok(u) => assert_eq!(u.len(), 65536),
                Err(_) => errors += 1,
            }
        }
        assert!(errors > 0, "damage must be detected at least sometimes");
        // A chunk header claiming more than is there.
        assert_eq!(
            decompress_unit(&[0xFF, 0xBF, 1, 2, 3], 4096),
            Err(LzntError::ChunkPastEnd { at: 0 })
        );
    }

    #[test]
    fn clusters_are_mapped_through_runs_and_holes() {
        let runs = [
            Run {
                clusters: 3,
                at: Some(1000),
            },
            Run {
                clusters: 2,
                at: None,
            },
            Run {
                clusters: 2,
                at: Some(5000),
            },
        ];
        let got = clusters_of(&runs, 2, 6, 10);
        assert_eq!(got, [Some(1020), None, None, Some(5000), Some(5010), None]);
    }
}
