//! kbscan's engine: was this Windows system patched? Read offline, from a mounted tree, a
//! backup or a disk image, without running or changing the evidence.
//!
//! Data flows one way (docs/architecture.md draws it):
//! `source` (a host folder, or a volume `image` opened) → `walk` (names tested by `filter`)
//! → candidates → `evidence` (bounded read, hashes, PE and version resources) and `registry`
//! (offline hives: system facts, services, install-time evidence) → `judge` (findings,
//! location, verdict, reconciliation) → a `model::Report`. `scan` drives that pipeline for
//! any source. Nothing here prints or knows a command line; the printers live in
//! `kbscan-output` and see the model alone. Advisories are data (`rules`); nothing outside
//! `rules/*.toml` knows about MS04-008.

/// The model the engine fills (`kbscan-model`), re-exported: its functions take and return it.
pub use kbscan_model as model;
pub use kbscan_model::escape;

pub mod backup;
pub mod contain;
pub mod describe;
pub mod error;
pub mod evidence;
pub mod filter;
pub mod image;
pub mod installtime;
pub mod judge;
pub mod lineage;
pub mod registry;
pub mod rules;
pub mod scan;
pub mod source;
pub mod updates;
pub mod walk;
