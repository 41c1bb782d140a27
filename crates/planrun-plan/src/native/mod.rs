//! planrun's own plan formats, markdown and JSON: readers that accept hand-written files and
//! writers whose output reads back to the same plan.

pub mod json;
pub mod markdown;
pub(crate) mod status;

use crate::model::Status;

/// Reads a status word leniently: done, ✅, complete(d), finished, x, true. Anything else is
/// pending; `None` if the word is not recognised at all.
pub(crate) fn status_word(word: &str) -> Option<Status> {
    let w = word.trim().trim_matches(['*', '_', '`', '"', '.']).to_ascii_lowercase();
    match w.as_str() {
        "done" | "✅" | "complete" | "completed" | "finished" | "x" | "true" | "closed" => Some(Status::Done),
        "pending" | "todo" | "to do" | "open" | "" | "false" | "backlog" | "ready" | "in_progress" | "in progress"
        | "in-progress" | "blocked" | "active" | "not started" | "review" | "in_review" | "rework" | "deferred" => {
            Some(Status::Pending)
        }
        _ => None,
    }
}
