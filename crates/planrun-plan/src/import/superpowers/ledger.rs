//! The progress ledger `.superpowers/sdd/<plan>/progress.md`: found near the plan, it marks tasks done.

use super::*;

/// How far up from a plan the ledger is looked for, at most (the repository root is usually
/// three levels up).
pub(super) const MAX_LEDGER_DEPTH: usize = 8;

/// `<repo>/.superpowers/sdd/<plan file stem>/progress.md`, looked for from the plan's folder
/// upwards until a repository root (a folder holding `.git`).
pub(super) fn find_ledger(plan: &Path) -> Option<PathBuf> {
    let stem = plan.file_stem()?;
    let start = plan.parent()?;
    for dir in start.ancestors().take(MAX_LEDGER_DEPTH) {
        let ledger = dir.join(".superpowers").join("sdd").join(stem).join("progress.md");
        if ledger.is_file() {
            return Some(ledger);
        }
        if dir.join(".git").exists() {
            break;
        }
    }
    None
}

/// Marks done every task the ledger records as complete (`Task 3: complete (commits a..b)`).
pub(super) fn apply_ledger(b: &mut PlanBuilder, src: SourceId) {
    let text = b.text(src).to_owned();
    for line in md::lines_nested(&text).iter().filter(|l| !l.in_fence) {
        let body =
            md::checkbox(line.text).map(|(_, t)| t).or_else(|| md::bullet(line.text)).unwrap_or(line.text.trim());
        let body = body.replace("**", "");
        let Some(h) = task_heading(&body) else {
            continue;
        };
        if h.number.is_empty() {
            continue;
        }
        let word = h.title.split(|c: char| c.is_whitespace() || c == '(' || c == ',').next().unwrap_or("");
        let done = h.done
            || matches!(word.to_ascii_lowercase().as_str(), "complete" | "completed" | "done" | "finished" | "✅");
        let id = format!("task-{}", h.number.to_ascii_lowercase());
        let span = Span::new(src, line.start, line.start + line.text.len());
        match b.plan.tasks.iter_mut().find(|t| t.id == id) {
            Some(task) if done => task.status = Status::Done,
            Some(_) => {}
            None => b.warn(
                Diagnostic::warning(
                    "unknown-task",
                    format!("the progress ledger names `Task {}`, which this plan does not have", h.number),
                )
                .at(Some(span))
                .help("the ledger may belong to an older version of the plan; its line is ignored"),
            ),
        }
    }
}
