//! kbscan: was this Windows system patched? Read offline, from a mounted image or a restored
//! backup, without running or changing the evidence.
//!
//! The pipeline, one module each: `cli` → `walk` (with `filter` testing names) → `inspect`
//! (the only place that opens evidence) → `pe` + `versioninfo` (reading versions) →
//! `location` + `judge` (pure judgement) → `registry` (offline hives) + `reconcile` (pure:
//! applicability and corroboration) → `report` (the model) → `output` (printers).
//! Advisories are data (`rules`); nothing outside `rules/*.toml` knows about MS04-008.

pub mod app;
pub mod cli;
pub mod contain;
pub mod describe;
pub mod error;
pub mod escape;
pub mod filter;
pub mod image;
pub mod inspect;
pub mod judge;
pub mod location;
pub mod output;
pub mod pe;
pub mod progress;
pub mod reconcile;
pub mod registry;
pub mod report;
pub mod rules;
pub mod scan;
pub mod version;
pub mod versioninfo;
pub mod vfs;
pub mod walk;
