//! The plan model of planrun, every on-disk plan format it reads, and the checks run before any
//! agent spends a token. This crate never spawns processes and never touches the state store.


pub mod diag;

pub mod import;
pub mod json;
pub mod md;
pub mod model;
pub mod native;
pub mod source;



pub use diag::{Diagnostic, Severity};
pub use import::{Format, LoadError, Loaded, PlanBuilder, load};
pub use model::{Instructions, Plan, Status, Task};
pub use source::{SourceId, Sources, Span, TaskSpans};
