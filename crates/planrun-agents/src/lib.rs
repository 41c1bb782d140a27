//! How planrun runs agents: the agent CLIs it drives (their argv, their event streams read into
//! one normalized event type, their prices), the `--agent-command` template, the environment an
//! agent may see, the redaction of secrets, reading a reviewer's structured verdict, and
//! supervising one run as a child process. Decides nothing about what runs next.

pub mod adapter;
pub mod command;
pub mod config;
pub mod env;
pub mod price;
pub mod provider;
pub mod redact;
pub mod supervise;
pub mod verdict;

pub use adapter::{AgentKind, Call, Event, Reader, Report, Usage};
pub use command::{Template, TemplateError, Vars};
pub use price::{Price, PriceTable};
pub use redact::Redactor;
pub use supervise::{Finished, Outcome, Spec, SuperviseError};
pub use verdict::{Verdict, VerdictError};
