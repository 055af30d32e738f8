//! The one place where errors become messages and exit codes.

use std::process::ExitCode;

use clap::FromArgMatches;
use kbscan::cli::Cli;
use kbscan_core::model::exit;

fn main() -> ExitCode {
    kbscan_core::contain::install_quiet_hook();
    let cli =
        Cli::from_arg_matches(&kbscan::cli::command().get_matches()).unwrap_or_else(|e| e.exit());
    match kbscan::app::run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("kbscan: error: {e}");
            ExitCode::from(exit::INCOMPLETE as u8)
        }
    }
}
