//! HTML report (in progress).
use std::io::Write;

use crate::error::Error;
use crate::model::Report;

pub fn scan(_report: &Report, _w: &mut dyn Write) -> Result<(), Error> {
    Err(Error::Usage("html: not yet".to_owned()))
}
