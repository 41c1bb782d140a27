//! The plan model of planrun, every on-disk plan format it reads, and the checks run before any
//! agent spends a token. This crate never spawns processes and never touches the state store.

pub mod analysis;
pub mod diag;
pub mod edit;
pub mod globs;
pub mod import;
pub mod json;
pub mod md;
pub mod model;
pub mod native;
pub mod prepare;
pub mod reader;
pub mod source;
pub mod status;
pub mod validate;

pub use analysis::{Analysis, Conflict, Graph};
pub use diag::{Diagnostic, Location, Severity};
pub use import::ccw::session_path as ccw_session;
pub use import::{detect, load};
pub use model::{Instructions, Plan, Status, Task};
pub use reader::{Format, LoadError, Loaded, PlanBuilder};
pub use source::{SourceId, Sources, Span, TaskSpans};
pub use validate::{Checked, check};
