//! planrun's own plan formats, markdown and JSON: readers that accept hand-written files and
//! writers whose output reads back to the same plan.

pub mod json;
pub mod markdown;
pub(crate) mod status;
