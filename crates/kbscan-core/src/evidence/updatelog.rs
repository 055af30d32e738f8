//! The update's own log, `%windir%\KB<number>.log`, as update.exe (the Package Installer of
//! Windows 2000/XP/2003 updates) writes it (issue 14). Format and sources: docs/evidence.md,
//! "The update log".
//!
//! Every line is `<seconds since the run started>: <text>`, the seconds with a `.` or `,`
//! decimal separator (it follows the locale). Each run of update.exe appends lines starting
//! with a header whose text is the run's start as `YYYY/MM/DD HH:MM:SS.mmm (local)`:
//!
//! ```text
//! 2.703: 2007/02/15 20:47:56.890 (local)
//! 2.703: c:\ca03c3c4ff2d4881eff7a8\update\update.exe (version 6.2.29.0)
//! ```
//!
//! Parsed leniently (lines without the prefix are kept as text, CR LF or LF, a UTF-16LE
//! byte-order mark honoured) and bounded: at most [`MAX_LOG_BYTES`] read, [`MAX_LINES`]
//! lines looked at, [`MAX_RUNS`] runs and [`MAX_KEPT_LINES`] lines kept per run, each kept
//! line escaped and cut at [`MAX_LINE_CHARS`] characters.

use crate::escape::escape_bytes;

/// Logs larger than this are not read (real ones are a few KB to a few hundred KB).
pub const MAX_LOG_BYTES: u64 = 4 << 20;
/// Lines looked at, at most.
pub const MAX_LINES: usize = 100_000;
/// Runs (header lines) kept, at most.
pub const MAX_RUNS: usize = 64;
/// Lines kept as evidence per run, at most (the header, then the first lines).
pub const MAX_KEPT_LINES: usize = 40;
/// A kept line is cut after this many bytes of its text.
pub const MAX_LINE_CHARS: usize = 240;

/// A local date and time as the log writes it, without a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocalTime {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub millis: u16,
}

impl LocalTime {
    /// Nanoseconds since 1970-01-01 00:00 of this wall-clock time read as if it were UTC.
    pub fn as_if_utc_nanos(&self) -> Option<i128> {
        let month = time::Month::try_from(self.month).ok()?;
        let date = time::Date::from_calendar_date(self.year, month, self.day).ok()?;
        let t =
            time::Time::from_hms_milli(self.hour, self.minute, self.second, self.millis).ok()?;
        Some(
            time::PrimitiveDateTime::new(date, t)
                .assume_utc()
                .unix_timestamp_nanos(),
        )
    }
}

impl std::fmt::Display for LocalTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.millis
        )
    }
}

/// One line kept as evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// 1-based line number in the file.
    pub number: usize,
    /// Seconds since the run started, in milliseconds, when the line has the prefix.
    pub elapsed_ms: Option<u64>,
    /// The whole line, escaped, cut at [`MAX_LINE_CHARS`] bytes (then ending in `…`).
    pub text: String,
}

/// What one run of update.exe says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// No failure line, and no line that says success either: whether it installed cannot be
    /// told from the run alone.
    NoFailureSeen,
    /// `Update.exe extended error code = 0x0`: the run ended without error.
    Succeeded,
    /// A line says setup failed or did not complete, or a non-zero extended error code.
    Failed,
    /// The run removed the update.
    Uninstall,
}

/// One run: a header line and the lines after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRun {
    pub started_local: LocalTime,
    /// The header's own elapsed seconds (ms), so a line's time is start + (elapsed − this).
    pub header_elapsed_ms: u64,
    /// True when the header says `(local)`.
    pub labelled_local: bool,
    pub outcome: RunOutcome,
    /// The line that decided `outcome` (a failure or uninstall line).
    pub outcome_line: Option<usize>,
    /// A line said `extended error code = 0x0` (and none said failure): the run, install or
    /// uninstall, ended without error.
    pub confirmed: bool,
    pub lines: Vec<LogLine>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateLog {
    pub runs: Vec<LogRun>,
    /// Lines looked at.
    pub lines_read: usize,
    /// True when a bound stopped the parse early (lines, runs).
    pub truncated: bool,
}

/// Decodes the bytes to lines of bytes: UTF-16LE when they start with its byte-order mark,
/// otherwise as they are (ANSI text; never decoded further, only escaped).
fn decode(bytes: &[u8]) -> Vec<u8> {
    if let Some(rest) = bytes.strip_prefix(&[0xff, 0xfe]) {
        let units = rest
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]));
        let s: String = char::decode_utf16(units)
            .map(|c| c.unwrap_or('\u{fffd}'))
            .collect();
        return s.into_bytes();
    }
    bytes
        .strip_prefix(b"\xef\xbb\xbf")
        .unwrap_or(bytes)
        .to_vec()
}

/// `2.703` or `1,297` or `1448.406`: milliseconds, and the rest of the line after `": "`.
fn split_prefix(line: &[u8]) -> Option<(u64, &[u8])> {
    let colon = line.iter().position(|&b| b == b':')?;
    let num = &line[..colon];
    if num.is_empty() || num.len() > 16 {
        return None;
    }
    let (int, frac) = match num.iter().position(|&b| b == b'.' || b == b',') {
        Some(i) => (&num[..i], &num[i + 1..]),
        None => (num, &b""[..]),
    };
    if int.is_empty() || !int.iter().all(u8::is_ascii_digit) || !frac.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let mut ms: u64 = 0;
    for &d in int {
        ms = ms.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    ms = ms.checked_mul(1000)?;
    let mut scale = 100;
    for &d in frac.iter().take(3) {
        ms = ms.checked_add(u64::from(d - b'0') * scale)?;
        scale /= 10;
    }
    let rest = &line[colon + 1..];
    Some((ms, rest.strip_prefix(b" ").unwrap_or(rest)))
}

fn digits(b: &[u8], n: usize) -> Option<u32> {
    if b.len() < n || !b[..n].iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b[..n].iter().fold(0, |a, &d| a * 10 + u32::from(d - b'0')))
}

/// `YYYY/MM/DD HH:MM:SS.mmm` (the `.mmm` optional, `-` accepted for `/`) at the start of
/// `text`, and whether `(local)` follows.
pub fn parse_header(text: &[u8]) -> Option<(LocalTime, bool)> {
    let t = text.trim_ascii_start();
    let year = digits(t, 4)?;
    let sep = |i: usize, c: &[u8]| t.get(i).is_some_and(|b| c.contains(b));
    if !sep(4, b"/-") || !sep(7, b"/-") || !sep(10, b" ") || !sep(13, b":") || !sep(16, b":") {
        return None;
    }
    let month = digits(&t[5..], 2)?;
    let day = digits(&t[8..], 2)?;
    let hour = digits(&t[11..], 2)?;
    let minute = digits(&t[14..], 2)?;
    let second = digits(&t[17..], 2)?;
    let mut i = 19;
    let mut millis = 0;
    if t.get(i) == Some(&b'.') {
        let start = i + 1;
        let mut j = start;
        while j < t.len() && j < start + 3 && t[j].is_ascii_digit() {
            j += 1;
        }
        for (k, &d) in t[start..j].iter().enumerate() {
            millis += u32::from(d - b'0') * [100, 10, 1][k];
        }
        i = j;
    }
    let lt = LocalTime {
        year: year as i32,
        month: month as u8,
        day: day as u8,
        hour: hour as u8,
        minute: minute as u8,
        second: second as u8,
        millis: millis as u16,
    };
    lt.as_if_utc_nanos()?; // A real calendar date and time.
    let rest = &t[i..];
    let local = rest
        .trim_ascii_start()
        .to_ascii_lowercase()
        .starts_with(b"(local)");
    Some((lt, local))
}

/// Lines that say the run did not install the update. Only wordings seen in real logs are
/// matched (docs/evidence.md), and a non-zero `extended error code` (KB 822798).
fn failure_line(text: &[u8]) -> bool {
    let l = text.to_ascii_lowercase();
    let has = |n: &[u8]| l.windows(n.len()).any(|w| w == n);
    has(b"did not complete")
        || has(b"setup encountered an error")
        || has(b"installation failed")
        || extended_error_code(&l) == Some(false)
}

/// `Update.exe extended error code = 0x…` (KB 822798): `Some(true)` when the code is zero,
/// `Some(false)` when it is anything else (including a value that is not a number).
fn extended_error_code(lower: &[u8]) -> Option<bool> {
    const KEY: &[u8] = b"extended error code";
    let at = lower.windows(KEY.len()).position(|w| w == KEY)?;
    let rest = lower[at + KEY.len()..].trim_ascii_start();
    let rest = rest.strip_prefix(b"=").unwrap_or(rest).trim_ascii_start();
    let hex = rest.strip_prefix(b"0x");
    let digits: &[u8] = match hex {
        Some(h) => {
            let n = h.iter().take_while(|b| b.is_ascii_hexdigit()).count();
            &h[..n]
        }
        None => {
            let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            &rest[..n]
        }
    };
    if digits.is_empty() {
        return Some(false);
    }
    Some(digits.iter().all(|&d| d == b'0'))
}

/// A line that says the run ended without error: `extended error code = 0x0`.
fn success_line(text: &[u8]) -> bool {
    extended_error_code(&text.to_ascii_lowercase()) == Some(true)
}

fn uninstall_line(text: &[u8]) -> bool {
    let l = text.to_ascii_lowercase();
    let has = |n: &[u8]| l.windows(n.len()).any(|w| w == n);
    has(b"uninstall") && (has(b"command line") || has(b"spuninst") || has(b"/uninstall"))
}

fn keep(number: usize, elapsed_ms: Option<u64>, raw: &[u8]) -> LogLine {
    let cut = raw.len() > MAX_LINE_CHARS;
    let mut text = escape_bytes(&raw[..raw.len().min(MAX_LINE_CHARS)]);
    if cut {
        text.push('…');
    }
    LogLine {
        number,
        elapsed_ms,
        text,
    }
}

/// Parses a log's bytes (at most [`MAX_LOG_BYTES`] of them are looked at). Never fails: what
/// cannot be read as a line of the format is kept as text or passed over.
pub fn parse(bytes: &[u8]) -> UpdateLog {
    let bytes = &bytes[..bytes.len().min(MAX_LOG_BYTES as usize)];
    let text = decode(bytes);
    let mut log = UpdateLog::default();
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        if i >= MAX_LINES {
            log.truncated = true;
            break;
        }
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let raw = raw.strip_suffix(b"\0").unwrap_or(raw);
        log.lines_read = i + 1;
        if raw.iter().all(|b| b.is_ascii_whitespace() || *b == 0) {
            continue;
        }
        let number = i + 1;
        let (elapsed, body) = match split_prefix(raw) {
            Some((ms, body)) => (Some(ms), body),
            None => (None, raw),
        };
        if let Some((started, local)) = parse_header(body) {
            if log.runs.len() >= MAX_RUNS {
                log.truncated = true;
                break;
            }
            log.runs.push(LogRun {
                started_local: started,
                header_elapsed_ms: elapsed.unwrap_or(0),
                labelled_local: local,
                outcome: RunOutcome::NoFailureSeen,
                outcome_line: None,
                confirmed: false,
                lines: vec![keep(number, elapsed, raw)],
            });
            continue;
        }
        // Lines before the first header belong to no run: nothing dates them.
        let Some(run) = log.runs.last_mut() else {
            continue;
        };
        let decisive = if failure_line(body) {
            Some(RunOutcome::Failed)
        } else if uninstall_line(body)
            && matches!(
                run.outcome,
                RunOutcome::NoFailureSeen | RunOutcome::Succeeded
            )
        {
            Some(RunOutcome::Uninstall)
        } else if success_line(body) && run.outcome == RunOutcome::NoFailureSeen {
            Some(RunOutcome::Succeeded)
        } else {
            None
        };
        if success_line(body) {
            run.confirmed = true;
        }
        let mut decided = false;
        if let Some(o) = decisive {
            if run.outcome != RunOutcome::Failed {
                run.outcome = o;
                run.outcome_line = Some(number);
                decided = true;
            }
        }
        // The line that decided the outcome is kept past the bound (at most two per run).
        if run.lines.len() < MAX_KEPT_LINES || (decided && run.lines.len() < MAX_KEPT_LINES + 2) {
            run.lines.push(keep(number, elapsed, raw));
        }
    }
    log
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real log quoted in docs/evidence.md (KB928843.log, update.exe 6.2.29.0).
    const REAL: &str = "2.703: 2007/02/15 20:47:56.890 (local)\r\n\
2.703: c:\\ca03c3c4ff2d4881eff7a8\\update\\update.exe (version 6.2.29.0)\r\n\
2.703: Hotfix started with following command line: \r\n\
3.984: In Function TestVolatileFlag, line 11873, RegOpenKeyEx failed with error 0x2\r\n\
4.313: KB928843 Setup encountered an error: The update.ver file is not correct.\r\n";

    #[test]
    fn a_real_log_gives_its_run_start_and_its_failure() {
        let log = parse(REAL.as_bytes());
        assert_eq!(log.runs.len(), 1);
        let run = &log.runs[0];
        assert_eq!(run.started_local.to_string(), "2007-02-15 20:47:56.890");
        assert!(run.labelled_local);
        assert_eq!(run.header_elapsed_ms, 2703);
        assert_eq!(run.outcome, RunOutcome::Failed);
        assert_eq!(run.outcome_line, Some(5));
        assert_eq!(run.lines.len(), 5);
        assert_eq!(run.lines[3].elapsed_ms, Some(3984));
        // The lossless escaper keeps a backslash as it is unless it would read as an escape.
        assert!(run.lines[1].text.contains("c:\\ca03"), "backslashes kept");
    }

    #[test]
    fn comma_decimals_several_runs_and_an_install() {
        let text = "0,500: 2004/03/17 10:15:02.125 (local)\n\
1,297: KB832359 Setup started\n\
9,000: 2004/03/18 08:00:00.000 (local)\n\
9,100: Hotfix started with following command line: /uninstall\n";
        let log = parse(text.as_bytes());
        assert_eq!(log.runs.len(), 2);
        assert_eq!(log.runs[0].outcome, RunOutcome::NoFailureSeen);
        assert_eq!(log.runs[0].lines[1].elapsed_ms, Some(1297));
        assert_eq!(log.runs[1].outcome, RunOutcome::Uninstall);
    }

    /// KB 822798's failure line makes the run a failure; a zero code is a success; an
    /// uninstall run stays an uninstall whatever its code.
    #[test]
    fn the_extended_error_code_decides_success() {
        let text = "1.000: 2004/03/17 10:15:02.125 (local)\n\
1448.406: Update.exe extended error code = 0xf01e\n\
1.000: 2004/04/17 10:15:02.125 (local)\n\
20.000: Update.exe extended error code = 0x0\n\
1.000: 2004/05/01 09:00:00.000 (local)\n\
1.100: Hotfix started with following command line: c:\\winnt\\$NTUninstallKB832359$\\spuninst\\spuninst.exe\n\
9.000: Update.exe extended error code = 0x0\n\
1.000: 2004/06/01 09:00:00.000 (local)\n\
9.000: Update.exe extended error code = garbage\n";
        let log = parse(text.as_bytes());
        let outcomes: Vec<RunOutcome> = log.runs.iter().map(|r| r.outcome).collect();
        assert_eq!(
            outcomes,
            [
                RunOutcome::Failed,
                RunOutcome::Succeeded,
                RunOutcome::Uninstall,
                RunOutcome::Failed
            ]
        );
        assert_eq!(log.runs[0].outcome_line, Some(2));
        assert!(log.runs[2].confirmed, "the uninstall ended with code 0");
        assert_eq!(
            extended_error_code(b"extended error code = 0x00000000"),
            Some(true)
        );
        assert_eq!(
            extended_error_code(b"extended error code = 0x80070005"),
            Some(false)
        );
        assert_eq!(extended_error_code(b"no code here"), None);
    }

    #[test]
    fn utf16_and_hostile_lines_stay_bounded() {
        let mut b = vec![0xff, 0xfe];
        for u in "1.000: 2004/03/17 10:15:02.125 (local)\r\n".encode_utf16() {
            b.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(parse(&b).runs.len(), 1);
        let mut long = b"1.0: 2004/03/17 10:15:02 (local)\n2.0: ".to_vec();
        long.extend(std::iter::repeat_n(b'\x1b', 10_000));
        let log = parse(&long);
        let t = &log.runs[0].lines[1].text;
        assert!(t.len() < MAX_LINE_CHARS * 5 && t.ends_with('…') && !t.contains('\x1b'));
        // Not dates: no run.
        for bad in [
            "1.0: 2004/13/17 10:15:02 (local)",
            "1.0: 2004/02/30 10:15:02",
            "99999999999999999999.0: 2004/03/17 10:15:02",
            "x: y",
            "",
        ] {
            let l = parse(bad.as_bytes());
            assert!(l.runs.is_empty() || bad.starts_with("9999"), "{bad}: {l:?}");
        }
        let many = "1.0: 2004/03/17 10:15:02 (local)\n".repeat(MAX_RUNS + 5);
        let l = parse(many.as_bytes());
        assert_eq!(l.runs.len(), MAX_RUNS);
        assert!(l.truncated);
    }
}
