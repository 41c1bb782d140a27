//! Checks run on a loaded plan before any agent runs: ids, titles, dependencies, cycles, file
//! patterns, paths that escape the repository, tasks with nothing to verify, and tasks that
//! could run at the same time on overlapping files. Produces diagnostics; changes nothing.

use crate::analysis::{Analysis, Graph};
use crate::diag::Diagnostic;
use crate::globs::Pattern;
use crate::model::Status;
pub use crate::model::valid_id;
use crate::reader::Loaded;
use rustc_hash::FxHashMap;

/// The outcome of checking a plan: the graph analysis and every diagnostic (the reader's first,
/// then validation's, in plan order).
#[derive(Debug)]
pub struct Checked {
    pub graph: Graph,
    pub analysis: Analysis,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }
}

/// How messages name a task: by id, or by position when it has none.
fn name(task: &crate::model::Task, index: usize) -> String {
    if task.id.is_empty() { format!("task {}", index + 1) } else { format!("task `{}`", task.id) }
}

/// Validates a loaded plan.
/// The agents a task's `agent` field may name (`planrun_agents::AgentKind`; a runtime test keeps
/// the two lists the same).
pub const KNOWN_AGENTS: [&str; 5] = ["claude", "codex", "gemini", "opencode", "command"];

pub fn check(loaded: &Loaded) -> Checked {
    let plan = &loaded.plan;
    // Unknown dependencies, repeated ids, cycles and empty titles are checked here, the same way
    // for every format; readers leave them to validation.
    let mut out = loaded.diagnostics.clone();
    // FxHash: several times faster than SipHash on short keys, and a local plan is no adversary
    // of its own checker.
    let mut first: FxHashMap<&str, usize> = FxHashMap::with_capacity_and_hasher(plan.tasks.len(), Default::default());

    if plan.title.trim().is_empty() {
        out.push(
            Diagnostic::warning("empty-plan-title", "the plan has no title")
                .at(loaded.sources.ids().next().map(|s| crate::source::Span::new(s, 0, 0)))
                .help("start the plan with a `# Title` line (markdown) or a \"title\" field (JSON)"),
        );
    }
    if plan.tasks.is_empty() {
        // A plan without tasks is an error in every format: nothing would run, and a run that
        // does nothing must not look like one that did everything. The reader's own word on what
        // was missing is kept (as an error); otherwise this says it.
        let mut said = false;
        for d in out.iter_mut().filter(|d| d.code == "no-tasks" || d.code == "tasks-elsewhere") {
            d.severity = crate::diag::Severity::Error;
            said = true;
        }
        if !said {
            let first = loaded.sources.ids().next();
            let file = first.map_or(loaded.root.as_path(), |s| loaded.sources.path(s));
            out.push(
                Diagnostic::error("no-tasks", format!("`{}` holds no tasks", file.display()))
                    .at(first.map(|s| crate::source::Span::new(s, 0, 0)))
                    .help(format!(
                        "planrun read it as {}, and found no task in it; add tasks, or point planrun at the file that holds them",
                        loaded.format.describe()
                    )),
            );
        }
    }

    for (i, task) in plan.tasks.iter().enumerate() {
        let spans = loaded.spans(i);
        if task.id.is_empty() {
            out.push(
                Diagnostic::error("missing-id", format!("task {} has no id", i + 1))
                    .at(spans.head())
                    .help("give every task a unique id of letters, digits, '.', '_' or '-'"),
            );
        } else if !valid_id(&task.id) {
            out.push(
                Diagnostic::error("invalid-id", format!("task id `{}` is not valid", task.id)).at(spans.head()).help(
                    "use letters, digits, '.', '_' or '-', starting with a letter or digit (ids become branch names)",
                ),
            );
        }
        if !task.id.is_empty() {
            match first.get(task.id.as_str()) {
                Some(&j) => out.push(
                    Diagnostic::error("duplicate-id", format!("task id `{}` is used twice", task.id))
                        .at(spans.head())
                        .task(&task.id)
                        .related(loaded.spans(j).head(), "first used here")
                        .help("rename one of the tasks; dependencies name tasks by id"),
                ),
                None => {
                    first.insert(task.id.as_str(), i);
                }
            }
        }
        if let Some(agent) = task.agent.as_deref().filter(|a| !KNOWN_AGENTS.contains(a)) {
            // `planrun run` refuses it before anything starts: say so here, before a token is spent.
            out.push(
                Diagnostic::error(
                    "unknown-agent",
                    format!("task `{}` names agent `{agent}`, which planrun cannot run", task.id),
                )
                .at(spans.task)
                .task(&task.id)
                .help(format!("use one of {}, or remove the task's agent to use the run's", KNOWN_AGENTS.join(", "))),
            );
        }
        if task.title.trim().is_empty() {
            out.push(
                Diagnostic::error("empty-title", format!("{} has no title", name(task, i)))
                    .at(spans.title.or(spans.task))
                    .task(&task.id)
                    .help("give the task a one-line title saying what it does"),
            );
        }
    }

    let mut patterns: Vec<Vec<Option<Pattern>>> = Vec::with_capacity(plan.tasks.len());
    for (i, task) in plan.tasks.iter().enumerate() {
        let spans = loaded.spans(i);
        for (k, dep) in task.depends_on.iter().enumerate() {
            if first.contains_key(dep.as_str()) {
                continue;
            }
            let mut d = Diagnostic::error(
                "unknown-dependency",
                format!("task `{}` depends on `{dep}`, which is not a task of this plan", task.id),
            )
            .at(spans.dependency(k))
            .task(&task.id);
            d = match closest(dep, first.keys().copied()) {
                Some(near) => d.help(format!("did you mean `{near}`?")),
                None => d.help("name an existing task id, or remove the dependency"),
            };
            out.push(d);
        }
        let mut task_patterns = Vec::with_capacity(task.files.len());
        for (k, file) in task.files.iter().enumerate() {
            task_patterns.push(None);
            if let Some(problem) = escapes(file) {
                out.push(
                    Diagnostic::error("path-escapes", format!("file pattern `{file}` of task `{}` {problem}", task.id))
                        .at(spans.file(k))
                        .task(&task.id)
                        .help("write paths relative to the repository root, without `..`"),
                );
                continue;
            }
            // globset too, so that a pattern accepted here also works wherever files are matched.
            // (A plain path, with no character special to either, is valid in both.)
            let plain = !file.contains(['*', '?', '[', ']', '{', '}', '\\']);
            let parsed = if plain {
                Pattern::parse(file)
            } else {
                globset::Glob::new(file).map_err(|e| e.kind().to_string()).and_then(|_| Pattern::parse(file))
            };
            match parsed {
                Ok(p) => {
                    if let Some(slot) = task_patterns.last_mut() {
                        *slot = Some(p);
                    }
                }
                Err(e) => {
                    out.push(
                        Diagnostic::error(
                            "invalid-glob",
                            format!("file pattern `{file}` of task `{}` is not a valid glob: {e}", task.id),
                        )
                        .at(spans.file(k))
                        .task(&task.id)
                        .help("use `*`, `**`, `?`, `[a-z]` and `{a,b}`; escape special characters with `\\`"),
                    );
                }
            }
        }
        patterns.push(task_patterns);
    }

    let graph = Graph::new(plan);
    for cycle in &graph.cycles {
        let ids: Vec<&str> = cycle.iter().filter_map(|&i| plan.tasks.get(i)).map(|t| t.id.as_str()).collect();
        let mut shown: Vec<&str> = ids.clone();
        if let Some(&f) = ids.first() {
            shown.push(f);
        }
        // Dependencies point backwards (a task names what it waits for); print the order in
        // which the tasks would have to finish.
        shown.reverse();
        let at = cycle.first().map(|&i| loaded.spans(i));
        let mut d = Diagnostic::error("dependency-cycle", format!("dependency cycle: {}", shown.join(" → ")))
            .at(at.as_ref().and_then(|s| s.head()))
            .help("remove one of these dependencies; a cycle can never start");
        for &i in cycle.iter().skip(1) {
            let label = plan.tasks.get(i).map(|t| format!("`{}` is part of the cycle", t.id)).unwrap_or_default();
            d = d.related(loaded.spans(i).head(), label);
        }
        out.push(d);
    }

    let analysis = Analysis::with_patterns(plan, &graph, &patterns);
    for (i, task) in plan.tasks.iter().enumerate() {
        if task.status == Status::Pending && task.verify.is_empty() && plan.verify.is_empty() {
            out.push(
                Diagnostic::warning("nothing-to-verify", format!("{} has nothing to verify", name(task, i)))
                    .at(loaded.spans(i).head())
                    .task(&task.id)
                    .help("add verify commands (e.g. a test command) so planrun can check the work itself"),
            );
        }
    }
    for c in &analysis.conflicts {
        let (Some(a), Some(b)) = (plan.tasks.get(c.a), plan.tasks.get(c.b)) else {
            continue;
        };
        out.push(
            Diagnostic::warning(
                "file-conflict",
                format!(
                    "tasks `{}` and `{}` could run at the same time but both may change files matching `{}` and `{}`",
                    a.id, b.id, c.patterns.0, c.patterns.1
                ),
            )
            .at(loaded.spans(c.b).head())
            .task(&b.id)
            .related(loaded.spans(c.a).head(), format!("`{}` declared here", a.id))
            .help("planrun will run them one after the other; add a dependency or narrow the files to say which goes first"),
        );
    }
    for &t in &analysis.unscoped {
        let Some(task) = plan.tasks.get(t) else {
            continue;
        };
        out.push(
            Diagnostic::warning("no-files", format!("{} declares no files", name(task, t)))
                .at(loaded.spans(t).head())
                .task(&task.id)
                .help("list the files it may change; planrun cannot check its scope and will not run it beside other tasks"),
        );
    }
    Checked { graph, analysis, diagnostics: out }
}

/// Why a file pattern leaves the repository, if it does.
fn escapes(pattern: &str) -> Option<&'static str> {
    let p = pattern.trim();
    if p.starts_with('/') || p.starts_with('\\') {
        return Some("is an absolute path");
    }
    if p.starts_with('~') {
        return Some("points into a home directory");
    }
    let bytes = p.as_bytes();
    if bytes.len() >= 2 && bytes.get(1) == Some(&b':') && bytes.first().is_some_and(u8::is_ascii_alphabetic) {
        return Some("is an absolute Windows path");
    }
    if p.split(['/', '\\']).any(|c| c == "..") {
        return Some("goes above the repository root with `..`");
    }
    None
}

/// The known id closest to `wanted` by edit distance, if it is close enough to be a typo.
fn closest<'a>(wanted: &str, ids: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (wanted.chars().count() / 3).max(1);
    ids.filter_map(|id| {
        let d = if id.eq_ignore_ascii_case(wanted) { 0 } else { levenshtein(wanted, id) };
        (d <= limit).then_some((d, id))
    })
    .min()
    .map(|(_, id)| id)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = i;
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let cur = row.get(j + 1).copied().unwrap_or(0);
            let left = row.get(j).copied().unwrap_or(0);
            let val = (prev + usize::from(ca != *cb)).min(cur + 1).min(left + 1);
            prev = cur;
            if let Some(slot) = row.get_mut(j + 1) {
                *slot = val;
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_paths() {
        assert!(escapes("../etc/passwd").is_some());
        assert!(escapes("src/../../x").is_some());
        assert!(escapes("/etc/passwd").is_some());
        assert!(escapes("C:\\x").is_some());
        assert!(escapes("~/x").is_some());
        assert!(escapes("src/..a/b").is_none());
        assert!(escapes("src/**").is_none());
    }

    #[test]
    fn typo_suggestions() {
        let ids = ["auth-model", "api", "docs"];
        assert_eq!(closest("auth-modle", ids.iter().copied()), Some("auth-model"));
        assert_eq!(closest("API", ids.iter().copied()), Some("api"));
        assert_eq!(closest("zzzzzz", ids.iter().copied()), None);
    }
}
