//! kbscan: was this Windows system patched? Read offline, from a mounted image or a restored
//! backup, without running or changing the evidence.
//!
//! Data flows one way (docs/architecture.md draws it):
//! `source` (a host folder, or a volume `image` opened) → `walk` (names tested by `filter`)
//! → candidates → `evidence` (bounded read, hashes, PE and version resources) and `registry`
//! (offline hives) → `judge` (pure: findings, location, verdict, reconciliation) → `model`
//! (the report) → `output` (printers). `scan` drives that pipeline for any source; `app` and
//! `cli` turn a command line into settings and own standard error and exit codes.
//! Advisories are data (`rules`); nothing outside `rules/*.toml` knows about MS04-008.

pub mod app;
pub mod cli;
pub mod contain;
pub mod describe;
pub mod error;
pub mod escape;
pub mod evidence;
pub mod filter;
pub mod image;
pub mod judge;
pub mod lineage;
pub mod model;
pub mod output;
pub mod registry;
pub mod rules;
pub mod scan;
pub mod source;
pub mod walk;
