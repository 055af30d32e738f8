//! `kbscan version` as the offline sigcheck: SHA-1 beside SHA-256 and MD5, the Authenticode
//! image hash, and the signature read from the certificate table ("present, not verified"),
//! proved against osslsigncode on sample binaries it signs here with a throwaway certificate
//! openssl makes at test time; `-r` over a folder without following links.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common;

use common::*;
use serde_json::Value;

/// 2004-01-25T03:06:40Z, the signing time asked of osslsigncode.
const SIGNED_AT: i64 = 1_075_000_000;

fn nscm() -> PathBuf {
    system("w2k-sp4-patched").join("WINNT/system32/Windows Media/Server/Nscm.exe")
}

fn sh(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A self-signed certificate and its key, made now and thrown away with `dir`.
fn throwaway_cert(dir: &Path, cn: &str, extra: &[&str]) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join(format!("{cn}.pem")), dir.join(format!("{cn}.key")));
    sh(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args(["-subj", &format!("/CN={cn}/O=kbscan tests/C=DE")])
        .args(extra));
    (cert, key)
}

/// osslsigncode's `verify` lines `Current message digest` (the one the signature carries) and
/// `Calculated message digest` (its own image hash of the file), lower case.
fn osslsigncode_digests(file: &Path) -> (String, String) {
    // verify fails on a self-signed chain; the digests are printed all the same.
    let o = Command::new("osslsigncode")
        .args(["verify", "-in"])
        .arg(file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let value = |label: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(label))
            // `…: HEX`, followed by `MISMATCH!!!` when the two differ.
            .and_then(|v| v.trim_start_matches([' ', ':']).split_whitespace().next())
            .map(str::to_ascii_lowercase)
            .unwrap_or_else(|| panic!("no {label} in\n{text}"))
    };
    (
        value("Current message digest"),
        value("Calculated message digest"),
    )
}

fn describe(file: &Path) -> Value {
    let o = run(&["version", "--format", "json", &file.to_string_lossy()]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    json(&o)["files"][0].clone()
}

/// Signed with SHA-1 and with SHA-256: kbscan's image hash is osslsigncode's calculated
/// digest, the signed digest is the one osslsigncode reads, the signer and the signing time are
/// the ones given, and the signature is only "present, not verified". A byte changed after
/// signing changes the image hash (both tools agree) and the digest no longer matches.
#[test]
fn the_authenticode_digest_agrees_with_osslsigncode() {
    if !have_all(&["osslsigncode", "openssl"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = throwaway_cert(dir.path(), "kbscan test signer", &[]);
    for alg in ["sha1", "sha256"] {
        let signed = dir.path().join(format!("signed-{alg}.exe"));
        sh(Command::new("osslsigncode")
            .args(["sign", "-h", alg, "-time", &SIGNED_AT.to_string(), "-certs"])
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .arg("-in")
            .arg(nscm())
            .arg("-out")
            .arg(&signed));
        let f = describe(&signed);
        let a = &f["authenticode"];
        let (current, calculated) = osslsigncode_digests(&signed);
        assert_eq!(a[format!("image_{alg}")], calculated.as_str(), "{a:#}");
        let s = &a["signature"];
        assert_eq!(s["state"], "present_not_verified");
        assert_eq!(s["digest_algorithm"], alg);
        assert_eq!(s["signed_digest"], current.as_str());
        assert_eq!(s["digest_matches"], true);
        assert_eq!(
            s["signer_subject"],
            "CN=kbscan test signer, O=kbscan tests, C=DE"
        );
        assert_eq!(s["signing_time"], "2004-01-25T03:06:40Z");
        assert_eq!(s["entries"], 1);
        // SHA-1 of the whole file beside SHA-256 and MD5, as sha1sum says.
        let sum = sh(Command::new("sha1sum").arg(&signed));
        assert_eq!(f["sha1"], sum.split_whitespace().next().unwrap());
        assert!(f["sha256"].is_string() && f["md5"].is_string());

        // The table says it in words, and never "verified" alone.
        let table = String::from_utf8_lossy(&run(&["version", &signed.to_string_lossy()]).stdout)
            .into_owned();
        assert!(
            table.contains("signature       present, not verified"),
            "{table}"
        );
        assert!(
            table.contains("signer          CN=kbscan test signer"),
            "{table}"
        );

        // One byte of code changed after signing.
        let mut bytes = std::fs::read(&signed).unwrap();
        bytes[0x400] ^= 0xff;
        let tampered = dir.path().join(format!("tampered-{alg}.exe"));
        std::fs::write(&tampered, &bytes).unwrap();
        let t = describe(&tampered);
        let (current_t, calculated_t) = osslsigncode_digests(&tampered);
        assert_eq!(current_t, current);
        assert_ne!(calculated_t, calculated);
        assert_eq!(
            t["authenticode"][format!("image_{alg}")],
            calculated_t.as_str()
        );
        assert_eq!(t["authenticode"]["signature"]["digest_matches"], false);
    }
    // The unsigned file: no signature, and the image hash osslsigncode signed (the sample is a
    // multiple of 8 bytes long, so signing added no padding before the table).
    let plain = describe(&nscm());
    assert_eq!(plain["authenticode"]["signature"]["state"], "none");
    let (_, calculated) = osslsigncode_digests(&dir.path().join("signed-sha256.exe"));
    assert_eq!(plain["authenticode"]["image_sha256"], calculated.as_str());
}

/// An RFC 3161 time-stamp (osslsigncode's own time-stamping authority, with a second throwaway
/// certificate): its `genTime` is the counter-signature's time, apart from the signer's
/// `signingTime`; the timeline carries both.
#[test]
fn a_time_stamp_is_read_apart_from_the_signing_time() {
    if !have_all(&["osslsigncode", "openssl"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = throwaway_cert(dir.path(), "kbscan test signer", &[]);
    let (tsa, tsa_key) = throwaway_cert(
        dir.path(),
        "kbscan test TSA",
        &["-addext", "extendedKeyUsage=critical,timeStamping"],
    );
    let signed = dir.path().join("stamped.exe");
    sh(Command::new("osslsigncode")
        .args([
            "sign",
            "-h",
            "sha256",
            "-time",
            &SIGNED_AT.to_string(),
            "-certs",
        ])
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .arg("-TSA-certs")
        .arg(&tsa)
        .arg("-TSA-key")
        .arg(&tsa_key)
        .args(["-TSA-time", &(SIGNED_AT + 100).to_string(), "-in"])
        .arg(nscm())
        .arg("-out")
        .arg(&signed));
    let s = describe(&signed)["authenticode"]["signature"].clone();
    assert_eq!(s["signing_time"], "2004-01-25T03:06:40Z", "{s:#}");
    assert_eq!(s["timestamp_time"], "2004-01-25T03:08:20Z", "{s:#}");
    assert_eq!(s["timestamp_kind"], "rfc3161");
    let o = run(&["version", "--format", "timeline", &signed.to_string_lossy()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("\"timestamp_desc\":\"Authenticode signingTime\""),
        "{text}"
    );
    assert!(text.contains("\"timestamp_desc\":\"Authenticode counter-signature time\""));
}

/// A certificate-table entry that points past the end of the file: the signature is
/// `unreadable` with the reason, there is no image hash (what to leave out is unknown), and the
/// version information is still read (exit 0).
#[test]
fn a_certificate_table_outside_the_file_is_unreadable_not_a_crash() {
    let mut bytes = std::fs::read(nscm()).unwrap();
    let pe = u32::from_le_bytes(bytes[0x3c..0x40].try_into().unwrap()) as usize;
    let entry = pe + 24 + 96 + 4 * 8;
    let len = bytes.len() as u32;
    bytes[entry..entry + 4].copy_from_slice(&(len - 8).to_le_bytes());
    bytes[entry + 4..entry + 8].copy_from_slice(&0x1000u32.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("lying.exe");
    std::fs::write(&f, &bytes).unwrap();
    let d = describe(&f);
    let a = &d["authenticode"];
    assert_eq!(a["signature"]["state"], "unreadable");
    assert!(a["signature"]["error"]
        .as_str()
        .unwrap()
        .contains("does not lie within the file"));
    assert!(a["image_sha256"].is_null());
    assert_eq!(d["resources"][0]["fixed"]["file_version"], "4.1.0.3934");
}

/// `-r`: every PE under the folder, in path order, with the same facts as one by one; a text
/// file and a link (to a PE outside the folder) are not described, and nothing outside is read.
#[test]
fn recurse_describes_the_pe_files_of_a_folder_and_follows_no_link() {
    let dir = tempfile::tempdir().unwrap();
    let inside = dir.path().join("tree");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(inside.join("a/b")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::copy(nscm(), inside.join("a/b/Nscm.exe")).unwrap();
    std::fs::copy(nscm(), inside.join("a/Z.dll")).unwrap();
    std::fs::write(inside.join("a/readme.txt"), b"not a PE").unwrap();
    std::fs::copy(nscm(), outside.join("secret.exe")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.exe"), inside.join("a/link.exe")).unwrap();
    std::os::unix::fs::symlink(&outside, inside.join("dirlink")).unwrap();
    let o = run(&[
        "version",
        "-r",
        "--format",
        "json",
        &inside.to_string_lossy(),
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let doc = json(&o);
    let paths: Vec<&str> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    let root = inside.to_string_lossy();
    assert_eq!(
        paths,
        [format!("{root}/a/Z.dll"), format!("{root}/a/b/Nscm.exe")],
        "{doc:#}"
    );
    let one = describe(&nscm());
    for f in doc["files"].as_array().unwrap() {
        assert_eq!(f["sha1"], one["sha1"]);
        assert_eq!(
            f["authenticode"]["image_sha256"],
            one["authenticode"]["image_sha256"]
        );
    }
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("1 file(s) that are not PE images and 2 entries"),
        "{err}"
    );
    // Without -r a folder is refused as before.
    let o = run(&["version", &root]);
    assert_eq!(code(&o), 2);
}
