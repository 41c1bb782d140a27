//! Exit codes, one named constant per outcome, listed in `planrun --help`.

/// Success; warnings alone do not change it.
pub(crate) const OK: u8 = 0;
/// Something unexpected failed (e.g. writing the output).
pub(crate) const FAILURE: u8 = 1;
/// The plan has errors, or could not be read.
pub(crate) const INVALID_PLAN: u8 = 2;
/// The command line was wrong.
pub(crate) const USAGE: u8 = 64;
/// `run`, `retry`, `skip`: a run is going on in the state directory; stop it first.
pub(crate) const BUSY: u8 = 75;
