//! Exit codes, one named constant per outcome, listed in `planrun --help`.

/// Success; warnings alone do not change it.
pub const OK: u8 = 0;
/// Something unexpected failed (e.g. writing the output).
pub const FAILURE: u8 = 1;
/// The plan has errors, or could not be read.
pub const INVALID_PLAN: u8 = 2;
/// The command line was wrong.
pub const USAGE: u8 = 64;
/// `run`, `retry`, `skip`: a run is going on in the state directory; stop it first.
pub const BUSY: u8 = 75;
