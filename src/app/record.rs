//! The examination record (issue 15): gathered here, from the process and the loaded rules,
//! and handed to the printers in the model. Every text is escaped as it enters the record.

use std::io::Read;

use sha2::{Digest, Sha256};

use kbscan_core::escape::{escape_bytes, escape_str};
use kbscan_core::model::examination::{Examination, Executable, ImageRecord, RuleRecord};
use kbscan_core::model::time::Timestamp;
use kbscan_core::model::ImageReport;
use kbscan_core::rules::RuleSet;

/// The largest executable hashed (kbscan is a few MiB; a bound keeps a strange `/proc` honest).
pub const MAX_EXECUTABLE: u64 = 512 << 20;

/// The record as it stands when the examination starts: program, command line, host, time.
pub fn start(case: Option<&str>, examiner: Option<&str>) -> Examination {
    Examination {
        tool: env!("CARGO_PKG_NAME"),
        version: env!("CARGO_PKG_VERSION"),
        executable: executable(),
        command_line: std::env::args_os().map(|a| escape_os(&a)).collect(),
        started: Timestamp::now(),
        finished: Timestamp::now(),
        host: host_name(),
        case: case.map(escape_str),
        examiner: examiner.map(escape_str),
        rules: Vec::new(),
        images: Vec::new(),
    }
}

/// A new record like `base` (same program, command line, host, case), started now: for the
/// items of a case, without hashing the program again for each.
pub fn again(base: &Examination) -> Examination {
    Examination {
        started: Timestamp::now(),
        finished: Timestamp::now(),
        rules: Vec::new(),
        images: Vec::new(),
        ..base.clone()
    }
}

/// Completes the record when the scan has ended: the rules used, the images verified, the time.
pub fn finish(ex: &mut Examination, rules: &RuleSet, images: &[ImageReport]) {
    ex.rules = rules
        .rules
        .iter()
        .map(|r| RuleRecord {
            id: escape_str(&r.id),
            source: escape_str(&r.source),
            sha256: r.text_sha256.clone(),
        })
        .collect();
    ex.images = images
        .iter()
        .filter_map(|i| {
            let v = i.verification.as_ref()?;
            let meta = i.container_metadata.as_ref();
            Some(ImageRecord {
                path: i.path.clone(),
                status: v.status,
                detail: escape_str(&v.detail),
                stored_md5: meta.and_then(|m| m.stored_md5.as_deref()).map(escape_str),
                stored_sha1: meta.and_then(|m| m.stored_sha1.as_deref()).map(escape_str),
            })
        })
        .collect();
    ex.finished = Timestamp::now();
}

fn escape_os(s: &std::ffi::OsStr) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        escape_bytes(s.as_bytes())
    }
    #[cfg(not(unix))]
    {
        escape_str(&s.to_string_lossy())
    }
}

/// The running program's path and SHA-256, read through `/proc/self/exe` where there is one
/// (the file that is running, even if its path was replaced since), bounded.
fn executable() -> Executable {
    let path = std::env::current_exe().ok();
    let shown = path.as_ref().map(|p| escape_os(p.as_os_str()));
    let open = std::fs::File::open("/proc/self/exe").or_else(|e| match &path {
        Some(p) => std::fs::File::open(p),
        None => Err(e),
    });
    let hashed = open.and_then(|f| {
        let mut hasher = Sha256::new();
        let mut limited = f.take(MAX_EXECUTABLE + 1);
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0u64;
        loop {
            let n = limited.read(&mut buf)?;
            if n == 0 {
                break;
            }
            total += n as u64;
            hasher.update(&buf[..n]);
        }
        if total > MAX_EXECUTABLE {
            return Err(std::io::Error::other(format!(
                "larger than {MAX_EXECUTABLE} bytes, not hashed"
            )));
        }
        Ok(format!("{:x}", hasher.finalize()))
    });
    match hashed {
        Ok(h) => Executable {
            path: shown,
            sha256: Some(h),
            error: None,
        },
        Err(e) => Executable {
            path: shown,
            sha256: None,
            error: Some(escape_str(&e.to_string())),
        },
    }
}

/// The host name (`gethostname`), escaped; `None` when it cannot be read.
fn host_name() -> Option<String> {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for its length; gethostname writes at most that much.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc != 0 {
            return None;
        }
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        (end > 0).then(|| escape_bytes(&buf[..end]))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_names_this_program_and_host() {
        let ex = start(Some("case\x1b[31m"), Some("A. Examiner"));
        assert_eq!(ex.case.as_deref(), Some("case\\x1b[31m"));
        assert_eq!(ex.examiner.as_deref(), Some("A. Examiner"));
        let sha = ex.executable.sha256.expect("the test binary is readable");
        assert_eq!(sha.len(), 64);
        assert!(sha.bytes().all(|b| b.is_ascii_hexdigit()));
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(sha, format!("{:x}", Sha256::digest(&exe)));
        assert!(ex.host.is_some());
        assert!(ex.started.to_string().ends_with('Z'), "{}", ex.started);
    }
}
