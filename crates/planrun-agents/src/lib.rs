//! How planrun runs agents: turning a `--agent-command` template into the argv of one run, and
//! supervising that run as a child process. Decides nothing about what runs next.

pub mod command;
pub mod supervise;

pub use command::{Template, TemplateError, Vars};
pub use supervise::{Finished, Outcome, Spec, SuperviseError};
