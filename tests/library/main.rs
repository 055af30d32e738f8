//! The tests that call kbscan-core's functions directly (the PE and version readers, the
//! partial reader, judgement), as one test binary; the tests that run the `kbscan` binary are
//! in tests/cli/main.rs.

#[path = "../common/mod.rs"]
mod common;

mod evt;
mod fuzz_regressions;
mod mutation;
mod partial_read;
mod properties;
