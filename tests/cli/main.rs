//! The tests that run the `kbscan` binary (`CARGO_BIN_EXE_kbscan`), as one test binary: each
//! module was once a test binary of its own, and linking one instead of two dozen saves most of
//! an incremental test build (docs/performance.md, "Test build time"). The tests that call the
//! library's functions directly are in tests/library/main.rs.

#[path = "../common/mod.rs"]
mod common;

mod backups;
mod case;
mod containers;
mod event_logs;
mod evidence;
mod first_read;
mod hostile_more;
mod hostile_race;
mod hostile_sources;
mod hostile_text;
mod hostile_tree;
mod html_report;
mod image_bounds;
mod images;
mod install_time;
mod man_completions;
mod output_safety;
mod output_sets;
mod partial_read;
mod pending;
mod registry;
mod registry_integrity;
mod report;
mod rules_cli;
mod samples;
mod services_links;
mod sigcheck;
mod updates;
mod verdict_integrity;
mod version_resources;
mod wms41;
mod wms41_systems;
