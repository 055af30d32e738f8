//! The one place where errors become messages and exit codes.

use std::process::ExitCode;

use clap::Parser;
use kbscan::cli::Cli;
use kbscan_core::model::exit;

fn main() -> ExitCode {
    kbscan_core::contain::install_quiet_hook();
    let cli = Cli::parse();
    match kbscan::app::run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("kbscan: error: {e}");
            ExitCode::from(exit::INCOMPLETE as u8)
        }
    }
}
