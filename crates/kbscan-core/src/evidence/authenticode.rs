//! Authenticode read offline (Microsoft, "Windows Authenticode Portable Executable Signature
//! Format", Authenticode_PE.docx; the PE format's "The Attribute Certificate Table (Image Only)"):
//! where the checksum field and the certificate table are ([`SigLayout`], validated in one
//! place), the image hash over everything else, and what the PKCS#7 SignedData in the table
//! states (signer, signing time, the signed image hash). No trust decision is made: a signature
//! is "present, not verified".

use std::io;

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::der::{self, tag, DerError, Element, Reader};
use crate::escape::escape_str;
use crate::model::described::{Authenticode, Signature, SignatureState};
use crate::model::time::Timestamp;
use crate::source::ReadAt;

/// The headers kbscan reads to find the checksum and data directory 4: the PE header must
/// start within them (linkers put it in the first kilobyte).
pub const HEAD: usize = 64 * 1024;
/// The largest certificate table read (real ones are a few to a few hundred KB).
pub const MAX_TABLE: u32 = 8 * 1024 * 1024;
/// `WIN_CERTIFICATE` entries read at most.
pub const MAX_ENTRIES: usize = 16;
/// Certificates looked at in one SignedData for the signer's.
pub const MAX_CERTS: usize = 64;
/// Attributes looked at in one attribute set.
pub const MAX_ATTRS: usize = 64;
/// `WIN_CERT_TYPE_PKCS_SIGNED_DATA`.
const PKCS_SIGNED_DATA: u16 = 0x0002;

const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const OID_SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
const OID_COUNTER_SIGNATURE: &str = "1.2.840.113549.1.9.6";
const OID_RFC3161_TOKEN: &str = "1.3.6.1.4.1.311.3.3.1";
const OID_TST_INFO: &str = "1.2.840.113549.1.9.16.1.4";

/// Why the headers or the certificate table could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SigError {
    #[error("not a PE image: {0}")]
    NotPe(&'static str),
    #[error("certificate table: {0}")]
    Table(String),
    #[error("signature: {0}")]
    Der(#[from] DerError),
    #[error("signature: {0}")]
    Pkcs7(&'static str),
}

/// Where Authenticode's holes are in one PE: the checksum field, the certificate-table
/// directory entry and the table itself, all checked against the file's size here, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigLayout {
    /// File offset of `OptionalHeader.CheckSum` (4 bytes).
    pub checksum: u64,
    /// File offset of data directory 4 (8 bytes), `None` when the header has fewer than five
    /// directories (then there is no table and nothing more to leave out).
    pub cert_entry: Option<u64>,
    /// The certificate table (file offset and size), `None` when the entry is empty.
    pub table: Option<(u64, u32)>,
    /// The sections' raw data do not follow the headers and each other without gaps or overlap:
    /// Windows hashes the sections, so its digest may then differ from the ranges hashed here.
    pub sections_not_contiguous: bool,
    /// The end of the last section's raw data.
    pub sections_end: u64,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

impl SigLayout {
    /// Reads the layout from the first bytes of a file of `len` bytes. A certificate-table
    /// entry that does not lie within the file (after the headers) is an error: the ranges to
    /// leave out are then unknown.
    pub fn parse(head: &[u8], len: u64) -> Result<Self, SigError> {
        if head.get(..2) != Some(b"MZ") {
            return Err(SigError::NotPe("no MZ signature"));
        }
        let pe = u32_at(head, 0x3c).ok_or(SigError::NotPe("truncated DOS header"))? as usize;
        if head.get(pe..pe.saturating_add(4)) != Some(b"PE\0\0") {
            return Err(SigError::NotPe("no PE signature within the first 64 KiB"));
        }
        let coff = pe + 4;
        let sections = usize::from(u16_at(head, coff + 2).ok_or(SigError::NotPe("truncated"))?);
        let opt_size = usize::from(u16_at(head, coff + 16).ok_or(SigError::NotPe("truncated"))?);
        let opt = coff + 20;
        let (count_at, dirs) = match u16_at(head, opt) {
            Some(0x10b) => (opt + 92, opt + 96),
            Some(0x20b) => (opt + 108, opt + 112),
            _ => return Err(SigError::NotPe("unknown optional header magic")),
        };
        let checksum = opt + 64;
        let count = u32_at(head, count_at).ok_or(SigError::NotPe("truncated optional header"))?;
        let headers_end = u64::from(u32_at(head, opt + 60).unwrap_or(0));
        let mut layout = SigLayout {
            checksum: checksum as u64,
            cert_entry: None,
            table: None,
            sections_not_contiguous: false,
            sections_end: 0,
        };
        // Sections by file offset: contiguous after the headers, as linkers lay them out?
        let table_at = opt + opt_size;
        let mut raw: Vec<(u64, u64)> = (0..sections.min(96))
            .filter_map(|i| {
                let s = table_at + i * 40;
                let size = u64::from(u32_at(head, s + 16)?);
                let ptr = u64::from(u32_at(head, s + 20)?);
                (size > 0).then_some((ptr, size))
            })
            .collect();
        raw.sort_unstable();
        let mut at = headers_end;
        for (ptr, size) in &raw {
            if *ptr != at {
                layout.sections_not_contiguous = true;
            }
            at = ptr.saturating_add(*size);
        }
        layout.sections_end = at;
        if count <= 4 || opt_size < dirs - opt + 5 * 8 {
            return Ok(layout);
        }
        let entry = dirs + 4 * 8;
        let off = u32_at(head, entry).ok_or(SigError::NotPe("truncated data directories"))?;
        let size = u32_at(head, entry + 4).ok_or(SigError::NotPe("truncated data directories"))?;
        layout.cert_entry = Some(entry as u64);
        if off == 0 && size == 0 {
            return Ok(layout);
        }
        let end = u64::from(off) + u64::from(size);
        if u64::from(off) < (entry as u64 + 8) || end > len {
            return Err(SigError::Table(format!(
                "its entry ({off:#x}, {size} bytes) does not lie within the file ({len} bytes) after the headers"
            )));
        }
        if !(8..=MAX_TABLE).contains(&size) {
            return Err(SigError::Table(format!(
                "{size} bytes (kbscan reads 8 to {MAX_TABLE})"
            )));
        }
        layout.table = Some((u64::from(off), size));
        Ok(layout)
    }

    /// The byte ranges Authenticode leaves out, in file order.
    fn holes(&self) -> Vec<(u64, u64)> {
        let mut h = vec![(self.checksum, self.checksum + 4)];
        if let Some(e) = self.cert_entry {
            h.push((e, e + 8));
        }
        if let Some((off, size)) = self.table {
            h.push((off, off + u64::from(size)));
        }
        h.sort_unstable();
        h
    }
}

/// The whole-file and image hashes of one pass over the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashes {
    pub sha1: String,
    pub sha256: String,
    pub md5: String,
    /// Image hashes, when the layout was read.
    pub image: Option<(String, String)>,
}

/// One read of the file (`len` bytes, which the caller bounded): the whole-file hashes and, with
/// a layout, the image hashes over every byte outside its holes.
pub fn hash_file(r: &dyn ReadAt, len: u64, layout: Option<&SigLayout>) -> io::Result<Hashes> {
    let holes = layout.map(SigLayout::holes).unwrap_or_default();
    let (mut s1, mut s256, mut m5) = (Sha1::new(), Sha256::new(), Md5::new());
    let (mut i1, mut i256) = (Sha1::new(), Sha256::new());
    let mut buf = vec![0u8; 256 * 1024];
    let mut at = 0u64;
    while at < len {
        let ask = usize::try_from((len - at).min(buf.len() as u64)).unwrap_or(buf.len());
        let n = match r.read_at(&mut buf[..ask], at) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file became shorter while it was read",
                ))
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = &buf[..n];
        s1.update(chunk);
        s256.update(chunk);
        m5.update(chunk);
        if layout.is_some() {
            // The parts of this chunk outside every hole.
            let end = at + n as u64;
            let mut pos = at;
            for &(hs, he) in holes.iter().filter(|(hs, he)| *he > at && *hs < end) {
                if hs > pos {
                    let part = &chunk[(pos - at) as usize..(hs - at) as usize];
                    i1.update(part);
                    i256.update(part);
                }
                pos = pos.max(he.min(end));
            }
            if pos < end {
                let part = &chunk[(pos - at) as usize..];
                i1.update(part);
                i256.update(part);
            }
        }
        at += n as u64;
    }
    Ok(Hashes {
        sha1: format!("{:x}", s1.finalize()),
        sha256: format!("{:x}", s256.finalize()),
        md5: format!("{:x}", m5.finalize()),
        image: layout.map(|_| {
            (
                format!("{:x}", i1.finalize()),
                format!("{:x}", i256.finalize()),
            )
        }),
    })
}

/// The Authenticode facts of a file whose first bytes are `head` (up to [`HEAD`]), of `len`
/// bytes, read through `r`: `None` for a file that is not a PE. The whole-file hashes come with
/// it (one pass).
pub fn examine(
    r: &dyn ReadAt,
    len: u64,
    head: &[u8],
) -> io::Result<(Hashes, Option<Authenticode>)> {
    let layout = SigLayout::parse(head, len);
    let (hashes, mut auth) = match &layout {
        Err(SigError::NotPe(_)) => return Ok((hash_file(r, len, None)?, None)),
        Err(e) => {
            // The table's entry is unusable: no image hash (the holes are unknown), and the
            // signature is unreadable.
            let h = hash_file(r, len, None)?;
            let mut sig = Signature::none();
            sig.state = SignatureState::Unreadable;
            sig.error = Some(e.to_string());
            let a = Authenticode {
                image_sha1: None,
                image_sha256: None,
                signature: sig,
                notes: Vec::new(),
            };
            return Ok((h, Some(a)));
        }
        Ok(l) => {
            let h = hash_file(r, len, Some(l))?;
            let (a1, a256) = h.image.clone().unwrap_or_default();
            let a = Authenticode {
                image_sha1: Some(a1),
                image_sha256: Some(a256),
                signature: Signature::none(),
                notes: Vec::new(),
            };
            (h, a)
        }
    };
    let Ok(layout) = layout else {
        return Ok((hashes, Some(auth)));
    };
    if layout.sections_not_contiguous {
        auth.notes.push(
            "the sections' raw data do not follow the headers and each other without gaps: \
             Windows hashes section by section, so its image hash may differ from this one"
                .to_owned(),
        );
    }
    if let Some((off, size)) = layout.table {
        let end = off + u64::from(size);
        if end < len {
            auth.notes.push(format!(
                "{} bytes follow the certificate table, which Authenticode places at the end of the file",
                len - end
            ));
        }
        let mut table = vec![0u8; size as usize];
        read_exact_at(r, &mut table, off)?;
        auth.signature = match parse_table(&table) {
            Ok(sig) => sig,
            Err(e) => {
                let mut s = Signature::none();
                s.state = SignatureState::Unreadable;
                s.error = Some(e.to_string());
                s
            }
        };
        let computed = match auth.signature.digest_algorithm.as_deref() {
            Some("sha1") => auth.image_sha1.as_deref(),
            Some("sha256") => auth.image_sha256.as_deref(),
            _ => None,
        };
        auth.signature.digest_matches = computed
            .zip(auth.signature.signed_digest.as_deref())
            .map(|(c, s)| c == s);
    }
    Ok((hashes, Some(auth)))
}

fn read_exact_at(r: &dyn ReadAt, buf: &mut [u8], mut off: u64) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        match r.read_at(&mut buf[done..], off) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file became shorter while it was read",
                ))
            }
            Ok(n) => {
                done += n;
                off += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads a certificate table (`WIN_CERTIFICATE` entries, each 8-byte aligned) and the first
/// PKCS#7 SignedData in it. Every length is checked against the table.
pub fn parse_table(table: &[u8]) -> Result<Signature, SigError> {
    let mut at = 0usize;
    let mut entries = 0;
    let mut first: Option<&[u8]> = None;
    while at + 8 <= table.len() && entries < MAX_ENTRIES {
        let len = u32_at(table, at).unwrap_or(0) as usize;
        let kind = u16_at(table, at + 6).unwrap_or(0);
        if len < 8 || len > table.len() - at {
            return Err(SigError::Table(format!(
                "entry {} claims {len} bytes, {} are left",
                entries + 1,
                table.len() - at
            )));
        }
        entries += 1;
        if kind == PKCS_SIGNED_DATA && first.is_none() {
            first = Some(&table[at + 8..at + len]);
        }
        // The next entry starts on an 8-byte boundary.
        at = (at + len).saturating_add(7) & !7;
    }
    let blob = first.ok_or_else(|| {
        SigError::Table(format!(
            "{entries} entr{} and none is a PKCS#7 SignedData",
            if entries == 1 { "y" } else { "ies" }
        ))
    })?;
    let mut sig = parse_signed_data(blob)?;
    sig.entries = entries;
    Ok(sig)
}

/// Reads a PKCS#7 ContentInfo holding an Authenticode SignedData (RFC 2315 section 9.1; the
/// Authenticode document's "Authenticode Signature Format").
pub fn parse_signed_data(blob: &[u8]) -> Result<Signature, SigError> {
    let sd = signed_data(blob)?;
    let mut sig = Signature::none();
    sig.state = SignatureState::PresentNotVerified;
    // contentInfo: SpcIndirectDataContent { data, messageDigest DigestInfo }.
    let mut ci = sd.content_info.children();
    let _content_type = ci.need("contentType")?.expect(tag::OID, "contentType")?;
    if let Some(explicit) = ci.optional(tag::context(0))? {
        let spc = explicit
            .children()
            .need("SpcIndirectDataContent")?
            .expect(tag::SEQUENCE, "SpcIndirectDataContent")?;
        let mut spc = spc.children();
        let _data = spc.need("SpcAttributeTypeAndOptionalValue")?;
        let digest_info = spc
            .need("DigestInfo")?
            .expect(tag::SEQUENCE, "DigestInfo")?;
        let mut di = digest_info.children();
        let alg = algorithm(di.need("digestAlgorithm")?)?;
        let digest = di.need("digest")?.expect(tag::OCTET_STRING, "digest")?;
        sig.digest_algorithm = Some(alg);
        sig.signed_digest = Some(hex(digest.content));
    }
    let signer = sd
        .signer_infos
        .children()
        .need("SignerInfo")?
        .expect(tag::SEQUENCE, "SignerInfo")?;
    let si = signer_info(signer)?;
    sig.signer_issuer = Some(name_text(si.issuer)?);
    sig.signer_serial = Some(hex(si.serial.content));
    if let Some(certs) = sd.certificates {
        sig.signer_subject = find_subject(certs, si.issuer, si.serial)?;
    }
    if let Some(attrs) = si.authenticated {
        sig.signing_time = signing_time(attrs)?;
    }
    if let Some(attrs) = si.unauthenticated {
        if let Some((t, kind)) = counter_time(attrs)? {
            sig.timestamp_time = Some(t);
            sig.timestamp_kind = Some(kind);
        }
    }
    Ok(sig)
}

/// The parts of a SignedData kbscan reads.
struct SignedData<'a> {
    content_info: Element<'a>,
    certificates: Option<Element<'a>>,
    signer_infos: Element<'a>,
}

fn signed_data(blob: &[u8]) -> Result<SignedData<'_>, SigError> {
    let ci = Reader::new(blob)
        .need("ContentInfo")?
        .expect(tag::SEQUENCE, "ContentInfo")?;
    let mut ci = ci.children();
    let oid = ci.need("contentType")?.expect(tag::OID, "contentType")?;
    if der::oid_text(oid.content)? != OID_SIGNED_DATA {
        return Err(SigError::Pkcs7("the content is not a SignedData"));
    }
    let sd = ci
        .need("content")?
        .expect(tag::context(0), "[0] content")?
        .children()
        .need("SignedData")?
        .expect(tag::SEQUENCE, "SignedData")?;
    let mut sd = sd.children();
    sd.need("version")?.expect(tag::INTEGER, "version")?;
    sd.need("digestAlgorithms")?
        .expect(tag::SET, "digestAlgorithms")?;
    let content_info = sd
        .need("contentInfo")?
        .expect(tag::SEQUENCE, "contentInfo")?;
    let certificates = sd.optional(tag::context(0))?;
    let _crls = sd.optional(tag::context(1))?;
    let signer_infos = sd.need("signerInfos")?.expect(tag::SET, "signerInfos")?;
    Ok(SignedData {
        content_info,
        certificates,
        signer_infos,
    })
}

/// The parts of a SignerInfo kbscan reads.
struct SignerInfo<'a> {
    issuer: Element<'a>,
    serial: Element<'a>,
    authenticated: Option<Element<'a>>,
    unauthenticated: Option<Element<'a>>,
}

fn signer_info(e: Element<'_>) -> Result<SignerInfo<'_>, SigError> {
    let mut r = e.children();
    r.need("version")?.expect(tag::INTEGER, "version")?;
    let ias = r
        .need("issuerAndSerialNumber")?
        .expect(tag::SEQUENCE, "issuerAndSerialNumber")?;
    let mut ias = ias.children();
    let issuer = ias.need("issuer")?.expect(tag::SEQUENCE, "issuer")?;
    let serial = ias
        .need("serialNumber")?
        .expect(tag::INTEGER, "serialNumber")?;
    r.need("digestAlgorithm")?
        .expect(tag::SEQUENCE, "digestAlgorithm")?;
    let authenticated = r.optional(tag::context(0))?;
    r.need("digestEncryptionAlgorithm")?;
    r.need("encryptedDigest")?
        .expect(tag::OCTET_STRING, "encryptedDigest")?;
    let unauthenticated = r.optional(tag::context(1))?;
    Ok(SignerInfo {
        issuer,
        serial,
        authenticated,
        unauthenticated,
    })
}

/// The subject of the certificate `issuer` and `serial` name, among `certs` (`[0]` of the
/// SignedData): X.509 `tbsCertificate` { [0] version, serial, signature, issuer, validity,
/// subject, … }.
fn find_subject(
    certs: Element<'_>,
    issuer: Element<'_>,
    serial: Element<'_>,
) -> Result<Option<String>, SigError> {
    let mut r = certs.children();
    let mut n = 0;
    while let Some(cert) = r.next_element()? {
        n += 1;
        if n > MAX_CERTS {
            break;
        }
        if cert.tag != tag::SEQUENCE {
            continue; // an attribute certificate or another choice: not a signer's.
        }
        // A certificate that cannot be read is not the signer's; the others still may be.
        if let Ok(Some(subject)) = subject_if(cert, issuer, serial) {
            return Ok(Some(name_text(subject)?));
        }
    }
    Ok(None)
}

/// The subject of `cert` when its issuer and serial number are `issuer` and `serial`.
fn subject_if<'a>(
    cert: Element<'a>,
    issuer: Element<'_>,
    serial: Element<'_>,
) -> Result<Option<Element<'a>>, SigError> {
    let tbs = cert.children().need("tbsCertificate")?;
    let mut t = tbs.children();
    t.optional(tag::context(0))?;
    let s = t.need("serialNumber")?;
    t.need("signature")?;
    let i = t.need("issuer")?;
    t.need("validity")?;
    let subject = t.need("subject")?.expect(tag::SEQUENCE, "subject")?;
    Ok((s.content == serial.content && i.raw == issuer.raw).then_some(subject))
}

/// An X.501 Name as `CN=…, O=…`, in the order it is encoded; values escaped for display.
fn name_text(name: Element<'_>) -> Result<String, SigError> {
    let mut parts = Vec::new();
    let mut rdns = name.children();
    while let Some(rdn) = rdns.next_element()? {
        let mut atvs = rdn
            .expect(tag::SET, "RelativeDistinguishedName")?
            .children();
        while let Some(atv) = atvs.next_element()? {
            let mut a = atv
                .expect(tag::SEQUENCE, "AttributeTypeAndValue")?
                .children();
            let oid = der::oid_text(a.need("type")?.expect(tag::OID, "type")?.content)?;
            let value = a.need("value")?;
            let key = match oid.as_str() {
                "2.5.4.3" => "CN",
                "2.5.4.6" => "C",
                "2.5.4.7" => "L",
                "2.5.4.8" => "ST",
                "2.5.4.10" => "O",
                "2.5.4.11" => "OU",
                "1.2.840.113549.1.9.1" => "emailAddress",
                other => other,
            }
            .to_owned();
            let text = der::string_text(&value).unwrap_or_else(|| format!("#{}", hex(value.raw)));
            parts.push(format!("{key}={}", escape_str(&text)));
        }
    }
    Ok(parts.join(", "))
}

/// `sha1`, `sha256`… for an AlgorithmIdentifier, else its OID.
fn algorithm(e: Element<'_>) -> Result<String, SigError> {
    let oid = e
        .expect(tag::SEQUENCE, "AlgorithmIdentifier")?
        .children()
        .need("algorithm")?
        .expect(tag::OID, "algorithm")?;
    let text = der::oid_text(oid.content)?;
    Ok(match text.as_str() {
        "1.3.14.3.2.26" => "sha1".to_owned(),
        "2.16.840.1.101.3.4.2.1" => "sha256".to_owned(),
        "2.16.840.1.101.3.4.2.2" => "sha384".to_owned(),
        "2.16.840.1.101.3.4.2.3" => "sha512".to_owned(),
        "1.2.840.113549.2.5" => "md5".to_owned(),
        _ => text,
    })
}

/// The values of the attribute `oid` in an attribute set (`[0]`/`[1]` IMPLICIT SET OF
/// Attribute { type, values SET }).
fn attribute<'a>(attrs: Element<'a>, oid: &str) -> Result<Option<Reader<'a>>, SigError> {
    let mut r = attrs.children();
    let mut n = 0;
    while let Some(a) = r.next_element()? {
        n += 1;
        if n > MAX_ATTRS {
            break;
        }
        let mut a = a.expect(tag::SEQUENCE, "Attribute")?.children();
        let t = der::oid_text(a.need("type")?.expect(tag::OID, "type")?.content)?;
        if t == oid {
            return Ok(Some(
                a.need("values")?.expect(tag::SET, "values")?.children(),
            ));
        }
    }
    Ok(None)
}

/// The authenticated attribute `signingTime` (PKCS#9).
fn signing_time(attrs: Element<'_>) -> Result<Option<Timestamp>, SigError> {
    match attribute(attrs, OID_SIGNING_TIME)? {
        Some(mut v) => {
            let t = v.need("signingTime")?;
            Ok(Some(Timestamp::from_unix_secs(der::time_secs(&t)?)))
        }
        None => Ok(None),
    }
}

/// A counter-signature's time: PKCS#9 `counterSignature` (a SignerInfo whose authenticated
/// `signingTime` the time-stamping authority set), else an RFC 3161 time-stamp token
/// (Microsoft's `1.3.6.1.4.1.311.3.3.1`: a SignedData over a TSTInfo whose `genTime` it is).
fn counter_time(attrs: Element<'_>) -> Result<Option<(Timestamp, &'static str)>, SigError> {
    if let Some(mut v) = attribute(attrs, OID_COUNTER_SIGNATURE)? {
        let cs = signer_info(
            v.need("counterSignature")?
                .expect(tag::SEQUENCE, "SignerInfo")?,
        )?;
        if let Some(t) = cs.authenticated.map(signing_time).transpose()?.flatten() {
            return Ok(Some((t, "pkcs9_counter_signature")));
        }
    }
    if let Some(mut v) = attribute(attrs, OID_RFC3161_TOKEN)? {
        let token = v.need("timeStampToken")?;
        let sd = signed_data(token.raw)?;
        let mut eci = sd.content_info.children();
        let ty = eci.need("eContentType")?.expect(tag::OID, "eContentType")?;
        if der::oid_text(ty.content)? != OID_TST_INFO {
            return Err(SigError::Pkcs7("the time-stamp token holds no TSTInfo"));
        }
        let octets = eci
            .need("eContent")?
            .expect(tag::context(0), "[0] eContent")?
            .children()
            .need("TSTInfo octets")?
            .expect(tag::OCTET_STRING, "TSTInfo octets")?;
        let tst = Reader::new(octets.content)
            .need("TSTInfo")?
            .expect(tag::SEQUENCE, "TSTInfo")?;
        let mut t = tst.children();
        t.need("version")?;
        t.need("policy")?;
        t.need("messageImprint")?;
        t.need("serialNumber")?;
        let gen = t
            .need("genTime")?
            .expect(tag::GENERALIZED_TIME, "genTime")?;
        return Ok(Some((
            Timestamp::from_unix_secs(der::time_secs(&gen)?),
            "rfc3161",
        )));
    }
    Ok(None)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal PE32 header: e_lfanew 0x40, one section, 16 directories.
    fn pe(cert: (u32, u32), len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len];
        b[..2].copy_from_slice(b"MZ");
        b[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
        b[0x40..0x44].copy_from_slice(b"PE\0\0");
        let coff = 0x44;
        b[coff + 2..coff + 4].copy_from_slice(&1u16.to_le_bytes());
        b[coff + 16..coff + 18].copy_from_slice(&224u16.to_le_bytes());
        let opt = coff + 20;
        b[opt..opt + 2].copy_from_slice(&0x10bu16.to_le_bytes());
        b[opt + 60..opt + 64].copy_from_slice(&0x200u32.to_le_bytes());
        b[opt + 92..opt + 96].copy_from_slice(&16u32.to_le_bytes());
        let e = opt + 96 + 32;
        b[e..e + 4].copy_from_slice(&cert.0.to_le_bytes());
        b[e + 4..e + 8].copy_from_slice(&cert.1.to_le_bytes());
        let s = opt + 224;
        b[s + 16..s + 20].copy_from_slice(&0x200u32.to_le_bytes());
        b[s + 20..s + 24].copy_from_slice(&0x200u32.to_le_bytes());
        b
    }

    #[test]
    fn the_layout_is_checked_against_the_file() {
        let l = SigLayout::parse(&pe((0, 0), 0x400), 0x400).unwrap();
        assert_eq!(l.checksum, 0x58 + 64);
        assert_eq!(l.cert_entry, Some(0x58 + 96 + 32));
        assert_eq!(l.table, None);
        assert!(!l.sections_not_contiguous);
        let l = SigLayout::parse(&pe((0x400, 0x10), 0x410), 0x410).unwrap();
        assert_eq!(l.table, Some((0x400, 0x10)));
        // Past the end, inside the headers, too small.
        assert!(SigLayout::parse(&pe((0x400, 0x20), 0x410), 0x410).is_err());
        assert!(SigLayout::parse(&pe((0x10, 0x10), 0x410), 0x410).is_err());
        assert!(SigLayout::parse(&pe((0x400, 4), 0x410), 0x410).is_err());
        assert!(matches!(
            SigLayout::parse(b"MZ", 2),
            Err(SigError::NotPe(_))
        ));
    }

    #[test]
    fn the_image_hash_leaves_out_the_holes() {
        let mut b = pe((0x400, 0x10), 0x410);
        let base = hash_file(
            &b.as_slice(),
            0x410,
            SigLayout::parse(&b, 0x410).ok().as_ref(),
        )
        .unwrap();
        // Changing the checksum, the table or its entry does not change the image hash...
        b[0x58 + 64] = 0xff;
        b[0x405] = 0xff;
        let l = SigLayout::parse(&b, 0x410).unwrap();
        let again = hash_file(&b.as_slice(), 0x410, Some(&l)).unwrap();
        assert_eq!(base.image, again.image);
        assert_ne!(base.sha256, again.sha256);
        // ...any other byte does.
        b[0x300] = 1;
        let changed = hash_file(&b.as_slice(), 0x410, Some(&l)).unwrap();
        assert_ne!(base.image, changed.image);
    }

    #[test]
    fn a_table_that_lies_is_an_error_not_a_panic() {
        assert!(parse_table(&[0xff, 0xff, 0xff, 0x7f, 0, 2, 2, 0]).is_err());
        assert!(parse_table(&[8, 0, 0, 0, 0, 2, 1, 0]).is_err());
        assert!(
            parse_table(&[16, 0, 0, 0, 0, 2, 2, 0, 0x30, 0x03, 0x06, 0x01, 0x00, 0, 0, 0]).is_err()
        );
    }
}
