//! Containing panics of parsers we do not own (pelite, nt-hive) at the file boundary.
//!
//! Both crates panic on some hostile input (pelite's version-info reader, nt-hive's
//! `hive.rs:158` subtraction and its offset assertions). Evidence must never end a scan, so
//! their calls run in [`contained`]: a panic becomes `None` for that one file, and the panic
//! hook installed by [`install_quiet_hook`] stays silent for such contained panics while any
//! other panic (a bug of ours) is still reported in full.

use std::cell::Cell;
use std::panic::{self, catch_unwind, AssertUnwindSafe};

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Runs `f`; a panic inside it gives `None` instead of unwinding further.
pub fn contained<T>(f: impl FnOnce() -> T) -> Option<T> {
    DEPTH.with(|d| d.set(d.get() + 1));
    let r = catch_unwind(AssertUnwindSafe(f));
    DEPTH.with(|d| d.set(d.get() - 1));
    r.ok()
}

/// Replaces the panic hook with one that is silent inside [`contained`] and delegates to the
/// previous hook everywhere else. Called once by the binary.
pub fn install_quiet_hook() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if DEPTH.with(|d| d.get()) == 0 {
            previous(info);
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_is_contained_and_nesting_is_tracked() {
        assert_eq!(contained(|| 7), Some(7));
        let r: Option<()> = contained(|| panic!("hostile input"));
        assert!(r.is_none());
        assert_eq!(contained(|| contained(|| 1)), Some(Some(1)));
        DEPTH.with(|d| assert_eq!(d.get(), 0));
    }
}
