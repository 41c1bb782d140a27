//! What every plan reader shares, native or imported: [`Format`], [`LoadError`], the [`Loaded`]
//! plan and the [`PlanBuilder`] a reader fills, bounded file reads and the one-file cache detection
//! reads through, lenient status words, the list of programs that make a line a shell command,
//! natural name order and slugs. Knows no format's layout: detection and loading by format live in
//! `import`, the readers in `native` and `import::<format>`.

pub(crate) mod commands;

use crate::diag::Diagnostic;
use crate::model::{Plan, Status, Task};
use crate::source::{SourceId, Sources, Span, TaskSpans};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Every plan format planrun reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// planrun's own markdown (`docs/plan-format.md`).
    Markdown,
    /// planrun's own JSON (`planrun schema`).
    Json,
    /// A blueprint plan: `### Step N: …` headings, phase sections, milestone folders.
    Blueprint,
    /// Task folders: `…/tasks/task-N/task.md`.
    Uc,
    /// planpipe: `execution-backlog.md`, `subtasks/`, or a raw task list.
    Planpipe,
    /// CCW: `.workflow/active/WFS-*/` with `IMPL_PLAN.md`, `TODO_LIST.md`, `.task/IMPL-*.json`.
    Ccw,
    /// `cm-tasks.json` and `handoff/plan.json`.
    Cm,
    /// OpenSpec `openspec/changes/<name>/tasks.md`.
    Openspec,
    /// A superpowers plan: `### Task N: …` with `**Files:**`.
    Superpowers,
    /// task-master `.taskmaster/tasks/tasks.json`.
    Taskmaster,
    /// spec-kit `tasks.md`: `- [ ] T012 [P] [US1] …`.
    Speckit,
}

impl Format {
    pub const ALL: [Format; 11] = [
        Format::Markdown,
        Format::Json,
        Format::Blueprint,
        Format::Uc,
        Format::Planpipe,
        Format::Ccw,
        Format::Cm,
        Format::Openspec,
        Format::Superpowers,
        Format::Taskmaster,
        Format::Speckit,
    ];

    /// The name used on the command line and in JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Format::Markdown => "markdown",
            Format::Json => "json",
            Format::Blueprint => "blueprint",
            Format::Uc => "uc",
            Format::Planpipe => "planpipe",
            Format::Ccw => "ccw",
            Format::Cm => "cm",
            Format::Openspec => "openspec",
            Format::Superpowers => "superpowers",
            Format::Taskmaster => "taskmaster",
            Format::Speckit => "speckit",
        }
    }

    /// What the format looks like on disk, for `--help` and error messages.
    pub fn describe(self) -> &'static str {
        match self {
            Format::Markdown => "planrun markdown (## Task <id>: <title> sections)",
            Format::Json => "planrun JSON ({\"title\", \"tasks\": [...]}; see `planrun schema`)",
            Format::Blueprint => "blueprint plan (### Step N: headings, milestone folders of step files)",
            Format::Uc => "task folders (tasks/task-N/task.md)",
            Format::Planpipe => "planpipe (execution-backlog.md, subtasks/, or a raw task list)",
            Format::Ccw => "CCW session (.workflow/active/WFS-*/ with TODO_LIST.md and .task/IMPL-*.json)",
            Format::Cm => "cm-tasks.json or handoff/plan.json",
            Format::Openspec => "OpenSpec change (openspec/changes/<name>/tasks.md)",
            Format::Superpowers => "superpowers plan (### Task N: with **Files:**)",
            Format::Taskmaster => "task-master (.taskmaster/tasks/tasks.json)",
            Format::Speckit => "spec-kit tasks.md (- [ ] T001 [P] [US1] ...)",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL.into_iter().find(|f| f.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
            format!("unknown format `{s}`; expected one of: {}", names.join(", "))
        })
    }
}

/// Why a plan could not be read at all. Problems inside a readable plan are diagnostics instead.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` does not look like any plan format planrun reads", path.display())]
    UnknownFormat { path: PathBuf },
    #[error("`{}` is empty: there is no plan in it", path.display())]
    Empty { path: PathBuf },
    #[error("`{}` is an empty folder: there is no plan in it", path.display())]
    EmptyFolder { path: PathBuf },
    #[error("`{}` holds more than one plan: {}", path.display(), list(candidates))]
    Ambiguous { path: PathBuf, candidates: Vec<PathBuf> },
    #[error("`{}` is not a {format} plan: {reason}", path.display())]
    WrongFormat { path: PathBuf, format: Format, reason: String },
    #[error("`{}` is {size} bytes; planrun reads plan files of at most {} bytes", path.display(), MAX_FILE_BYTES)]
    TooLarge { path: PathBuf, size: u64 },
    #[error("`{}` is not a regular file", path.display())]
    NotAFile { path: PathBuf },
    #[error("`{}` holds no tasks planrun can find", path.display())]
    NoTasks { path: PathBuf },
    #[error("`{}` looks like a {} plan, but {missing}", path.display(), format.name())]
    Incomplete { path: PathBuf, format: Format, missing: String, help: String },
}

/// The largest plan file planrun reads (a 10,000-task plan is a few MiB).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a file for an importer: regular files up to [`MAX_FILE_BYTES`] only, so that pointing
/// planrun at a device, a pipe or a huge log fails with a clear error instead of hanging.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, LoadError> {
    let meta = std::fs::metadata(path).map_err(|source| LoadError::Io { path: path.to_owned(), source })?;
    if !meta.is_file() {
        return Err(LoadError::NotAFile { path: path.to_owned() });
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(LoadError::TooLarge { path: path.to_owned(), size: meta.len() });
    }
    std::fs::read(path).map_err(|source| LoadError::Io { path: path.to_owned(), source })
}

thread_local! {
    /// The file detection read last. Every format's detector may sniff the same file; a large
    /// plan is read from disk once instead of once per format.
    static PEEKED: std::cell::RefCell<Option<(PathBuf, std::rc::Rc<[u8]>)>> = const { std::cell::RefCell::new(None) };
}

/// Reads a file's bytes for detection; `None` when it cannot or should not be read.
pub(crate) fn peek_bytes(path: &Path) -> Option<std::rc::Rc<[u8]>> {
    let cached = PEEKED.with_borrow(|p| p.as_ref().filter(|(at, _)| at == path).map(|(_, b)| b.clone()));
    if cached.is_some() {
        return cached;
    }
    let bytes: std::rc::Rc<[u8]> = read_file(path).ok()?.into();
    PEEKED.with_borrow_mut(|p| *p = Some((path.to_owned(), bytes.clone())));
    Some(bytes)
}

/// Reads a UTF-8 file for detection; `None` when it cannot or should not be read.
pub(crate) fn peek_text(path: &Path) -> Option<String> {
    peek_bytes(path).and_then(|b| std::str::from_utf8(&b).ok().map(str::to_owned))
}

/// Whether a file is JSON by its name: markdown formats need not sniff it.
pub(crate) fn is_json(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// Forgets what detection read, so that loading reads the file as it is now.
pub(crate) fn forget_peeked() {
    PEEKED.with_borrow_mut(|p| *p = None);
}

fn list(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| format!("`{}`", p.display())).collect::<Vec<_>>().join(", ")
}

impl LoadError {
    /// What the user can do about it.
    pub fn help(&self) -> String {
        match self {
            LoadError::Io { .. } => "check the path and its permissions".to_owned(),
            LoadError::UnknownFormat { .. } => format!(
                "name the format with --format ({}), or see docs/plan-format.md for planrun's own format",
                Format::ALL.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")
            ),
            LoadError::Ambiguous { .. } => "pass one of them as the plan path".to_owned(),
            LoadError::Empty { .. } | LoadError::EmptyFolder { .. } => {
                "point planrun at the plan itself (`planrun formats` lists what it reads), or write one: docs/plan-format.md shows planrun's own format".to_owned()
            }
            LoadError::WrongFormat { .. } => {
                "drop --format to let planrun detect the format, or point at the right file".to_owned()
            }
            LoadError::TooLarge { .. } | LoadError::NotAFile { .. } => {
                "point planrun at the plan file, or at the folder that holds it".to_owned()
            }
            LoadError::Incomplete { help, .. } => help.clone(),
            LoadError::NoTasks { .. } => "planrun looks for `## Task <id>: <title>` headings (its own format, docs/plan-format.md), `### Task N:` (superpowers), `### Step N:` (blueprint), `- [ ] T001 …` lines (spec-kit) and numbered checkbox lists (OpenSpec); write the tasks in one of these, or name the format with --format".to_owned(),
        }
    }
}

/// What detection found at a path for one format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Detection {
    No,
    /// The path (file or folder) the importer should read.
    Yes(PathBuf),
    /// Several plans of this format live under the path.
    Ambiguous(Vec<PathBuf>),
}

/// A plan as read from disk: the model, where each part came from, and what the reader noticed.
#[derive(Debug)]
pub struct Loaded {
    pub plan: Plan,
    pub format: Format,
    /// The file or folder the plan was read from.
    pub root: PathBuf,
    pub sources: Sources,
    /// One entry per task, parallel to `plan.tasks`.
    pub task_spans: Vec<TaskSpans>,
    /// Spans of the plan-level verify commands, parallel to `plan.verify` when known.
    pub verify_spans: Vec<Span>,
    /// What the reader noticed (syntax errors, ignored content). Validation adds its own.
    pub diagnostics: Vec<Diagnostic>,
    /// The plan's milestones are barriers, as its format's own loop runs them (blueprint
    /// milestones, planpipe waves, a CCW plan whose execution model is phased): a milestone's
    /// tasks start once every task of the milestones before it is done.
    pub barriers: bool,
    /// Per task id: steps planrun runs before the task's agent (CCW's `pre_analysis`).
    pub prepare: std::collections::BTreeMap<String, Vec<crate::prepare::PrepStep>>,
    /// Per task id: files whose text, when they exist, goes into its prompt (the summaries
    /// CCW keeps of the tasks it depends on).
    pub context_files: std::collections::BTreeMap<String, Vec<PathBuf>>,
    /// Per task id: where the format keeps the implementer's plan (uc's `tasks/task-N/plan.md`).
    pub plan_files: std::collections::BTreeMap<String, PathBuf>,
}

impl Loaded {
    /// The spans of task `index`, or none.
    pub fn spans(&self, index: usize) -> &TaskSpans {
        static NONE: TaskSpans = TaskSpans::NONE;
        self.task_spans.get(index).unwrap_or(&NONE)
    }
}

/// Accumulates a plan while an importer reads it, keeping tasks and their spans in step.
#[derive(Debug)]
pub struct PlanBuilder {
    pub plan: Plan,
    pub format: Format,
    pub root: PathBuf,
    pub sources: Sources,
    pub task_spans: Vec<TaskSpans>,
    pub verify_spans: Vec<Span>,
    pub diagnostics: Vec<Diagnostic>,
    /// See [`Loaded::barriers`] (blueprint and planpipe plans have them whatever this says).
    pub barriers: bool,
    pub prepare: std::collections::BTreeMap<String, Vec<crate::prepare::PrepStep>>,
    pub context_files: std::collections::BTreeMap<String, Vec<PathBuf>>,
    pub plan_files: std::collections::BTreeMap<String, PathBuf>,
}

impl PlanBuilder {
    pub fn new(format: Format, root: impl Into<PathBuf>) -> Self {
        Self {
            plan: Plan::default(),
            format,
            root: root.into(),
            sources: Sources::default(),
            task_spans: Vec::new(),
            verify_spans: Vec::new(),
            diagnostics: Vec::new(),
            barriers: false,
            prepare: std::collections::BTreeMap::new(),
            context_files: std::collections::BTreeMap::new(),
            plan_files: std::collections::BTreeMap::new(),
        }
    }

    /// Reads a file as text and registers it. Invalid UTF-8 is replaced, with a warning.
    pub fn read(&mut self, path: &Path) -> Result<SourceId, LoadError> {
        let bytes = read_file(path)?;
        Ok(self.add_bytes(path, bytes))
    }

    /// Registers bytes read from `path`.
    pub fn add_bytes(&mut self, path: &Path, bytes: Vec<u8>) -> SourceId {
        match String::from_utf8(bytes) {
            Ok(text) => self.sources.add(path, text),
            Err(e) => {
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let id = self.sources.add(path, text);
                self.warn(
                    Diagnostic::warning(
                        "not-utf8",
                        format!("`{}` is not valid UTF-8; invalid bytes were replaced", path.display()),
                    )
                    .at(Some(Span::new(id, 0, 0)))
                    .help("save the file as UTF-8"),
                );
                id
            }
        }
    }

    /// The text of a registered source.
    pub fn text(&self, id: SourceId) -> &str {
        self.sources.text(id)
    }

    /// Room for `tasks` more tasks.
    pub fn reserve(&mut self, tasks: usize) {
        self.plan.tasks.reserve(tasks);
        self.task_spans.reserve(tasks);
    }

    /// Adds a task with where it was written.
    pub fn push(&mut self, task: Task, spans: TaskSpans) {
        self.plan.tasks.push(task);
        self.task_spans.push(spans);
    }

    /// Adds a plan-level verify command.
    pub fn push_verify(&mut self, command: String, span: Option<Span>) {
        self.plan.verify.push(command);
        if let Some(span) = span {
            self.verify_spans.push(span);
        }
    }

    /// Records a diagnostic (any severity).
    pub fn warn(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub fn finish(self) -> Loaded {
        let mut plan = self.plan;
        plan.title = crate::model::one_line(&plan.title);
        plan.context = crate::model::block(&plan.context);
        Loaded {
            plan,
            format: self.format,
            root: self.root,
            sources: self.sources,
            task_spans: self.task_spans,
            verify_spans: self.verify_spans,
            diagnostics: self.diagnostics,
            barriers: self.barriers || matches!(self.format, Format::Blueprint | Format::Planpipe),
            prepare: self.prepare,
            context_files: self.context_files,
            plan_files: self.plan_files,
        }
    }
}

/// Loads a single-file format: reads `path` and hands it to the format's reader.
pub(crate) fn load_file(
    format: Format,
    path: &Path,
    read: fn(&mut PlanBuilder, SourceId),
) -> Result<Loaded, LoadError> {
    let mut b = PlanBuilder::new(format, path);
    let id = b.read(path)?;
    read(&mut b, id);
    Ok(b.finish())
}

/// Reads a text already in memory, as if loaded from `path` (for tests, fuzzing and benchmarks).
pub(crate) fn parse_text(format: Format, text: &str, path: PathBuf, read: fn(&mut PlanBuilder, SourceId)) -> Loaded {
    let mut b = PlanBuilder::new(format, path.clone());
    let id = b.sources.add(path, text.to_owned());
    read(&mut b, id);
    b.finish()
}

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

/// Reads a task's priority word; a word that names none is reported where it stands and the task
/// keeps no priority (it is scheduled as `medium`).
pub(crate) fn priority_word(b: &mut PlanBuilder, word: &str, at: Option<Span>) -> Option<crate::model::Priority> {
    let p = crate::model::Priority::parse(word);
    if p.is_none() && !word.trim().is_empty() {
        b.warn(unknown_priority(word, at));
    }
    p
}

/// The warning for a priority word that names none.
pub(crate) fn unknown_priority(word: &str, at: Option<Span>) -> Diagnostic {
    Diagnostic::warning(
        "unknown-priority",
        format!("unknown priority `{}`; the task is scheduled as medium", word.trim()),
    )
    .at(at)
    .help("write critical, high, medium or low (P0–P3 are read too)")
}

/// Reads a folder's entries sorted by name, skipping unreadable ones.
pub(crate) fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(Result::ok).map(|e| e.path()).collect(),
        Err(_) => Vec::new(),
    };
    entries.sort_by(|a, b| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
    entries
}

/// Compares names so that `task-2` sorts before `task-10`.
pub(crate) fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let mut ai = a.chars().peekable();
    let mut bi = b.chars().peekable();
    loop {
        match (ai.peek().copied(), bi.peek().copied()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let na: String = std::iter::from_fn(|| ai.next_if(char::is_ascii_digit)).collect();
                let nb: String = std::iter::from_fn(|| bi.next_if(char::is_ascii_digit)).collect();
                let na = na.trim_start_matches('0');
                let nb = nb.trim_start_matches('0');
                let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                ai.next();
                bi.next();
            }
        }
    }
}

/// Turns free text into a task id: lowercase words joined by '-', e.g. "Step 3" -> "step-3".
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches(['-', '.']).to_owned();
    if out.is_empty() { "task".to_owned() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec!["task-10", "task-2", "task-1", "a"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, vec!["a", "task-1", "task-2", "task-10"]);
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Step 3: Auth middleware"), "step-3-auth-middleware");
        assert_eq!(slug("  ✅  "), "task");
        assert_eq!(slug("IMPL-1.2"), "impl-1.2");
    }

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>(), Ok(f));
        }
        assert!("nope".parse::<Format>().is_err());
    }
}
