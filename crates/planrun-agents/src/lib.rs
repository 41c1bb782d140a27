//! How planrun runs agents. Today: turning a `--agent-command` template into the argv of one
//! agent run. Decides nothing about what runs next.

pub mod command;

pub use command::{Template, TemplateError, Vars};
