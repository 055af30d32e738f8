//! A progress line on standard error, only when it is a terminal: pipes and files get nothing.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return Self { bar: None };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed} {msg}") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        Self { bar: Some(bar) }
    }

    /// A progress bar over `total` items (`kbscan case`): items done of total, and the
    /// items being scanned.
    pub fn items(quiet: bool, total: u64) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return Self { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed} {pos}/{len} {msg}") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        Self { bar: Some(bar) }
    }

    /// The line's text after the counts (the items being scanned).
    pub fn set_message(&self, text: String) {
        if let Some(b) = &self.bar {
            b.set_message(text);
        }
    }

    /// One more item done.
    pub fn item_done(&self) {
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }

    pub fn root(&self, root: &str) {
        if let Some(b) = &self.bar {
            b.set_message(format!("{root}: walking"));
        }
    }

    pub fn entries(&self, root: &str, n: u64) {
        if let Some(b) = &self.bar {
            b.set_message(format!("{root}: {n} entries"));
        }
    }

    /// Prints a line above the progress line (or plainly when there is none).
    pub fn message(&self, line: &str) {
        match &self.bar {
            Some(b) => b.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
