//! Reading plans: every supported format, chosen from the path (a file or a folder) or forced
//! with `--format`, read leniently into one [`Plan`] with spans for diagnostics. Importers carry
//! over what their source marks done. Nothing here validates the graph; see `validate`.

pub(crate) mod blueprint;
pub(crate) mod ccw;
pub(crate) mod cm;
pub(crate) mod commands;
mod openspec;
pub(crate) mod planpipe;
mod speckit;
pub(crate) mod superpowers;
pub(crate) mod taskmaster;
pub(crate) mod uc;

use crate::diag::Diagnostic;
use crate::model::{Plan, Task};
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
fn forget_peeked() {
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
}

impl Loaded {
    /// The spans of task `index`, or none.
    pub fn spans(&self, index: usize) -> TaskSpans {
        self.task_spans.get(index).cloned().unwrap_or_default()
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

/// Detection order: the most specific layouts first, so that a repository holding several kinds
/// of files resolves the way its owner most likely means.
const DETECT_ORDER: [Format; 11] = [
    Format::Ccw,
    Format::Taskmaster,
    Format::Uc,
    Format::Planpipe,
    Format::Openspec,
    Format::Cm,
    Format::Speckit,
    Format::Superpowers,
    Format::Blueprint,
    Format::Markdown,
    Format::Json,
];

fn detect_one(format: Format, path: &Path) -> Detection {
    match format {
        Format::Markdown => crate::native::markdown::detect(path),
        Format::Json => crate::native::json::detect(path),
        Format::Blueprint => blueprint::detect(path),
        Format::Uc => uc::detect(path),
        Format::Planpipe => planpipe::detect(path),
        Format::Ccw => ccw::detect(path),
        Format::Cm => cm::detect(path),
        Format::Openspec => openspec::detect(path),
        Format::Superpowers => superpowers::detect(path),
        Format::Taskmaster => taskmaster::detect(path),
        Format::Speckit => speckit::detect(path),
    }
}

fn load_one(format: Format, path: &Path) -> Result<Loaded, LoadError> {
    match format {
        Format::Markdown => crate::native::markdown::load(path),
        Format::Json => crate::native::json::load(path),
        Format::Blueprint => blueprint::load(path),
        Format::Uc => uc::load(path),
        Format::Planpipe => planpipe::load(path),
        Format::Ccw => ccw::load(path),
        Format::Cm => cm::load(path),
        Format::Openspec => openspec::load(path),
        Format::Superpowers => superpowers::load(path),
        Format::Taskmaster => taskmaster::load(path),
        Format::Speckit => speckit::load(path),
    }
}

/// Finds the format of the plan at `path` (a file or a folder) and where to read it.
pub fn detect(path: &Path) -> Result<(Format, PathBuf), LoadError> {
    let found = detect_uncached(path);
    forget_peeked();
    found
}

fn detect_uncached(path: &Path) -> Result<(Format, PathBuf), LoadError> {
    let meta = std::fs::metadata(path).map_err(|source| LoadError::Io { path: path.to_owned(), source })?;
    // Nothing to read says so, rather than that it looks like no format.
    if meta.is_file() && meta.len() <= 4096 && peek_bytes(path).is_some_and(|b| b.iter().all(u8::is_ascii_whitespace)) {
        return Err(LoadError::Empty { path: path.to_owned() });
    }
    if meta.is_dir() && std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_none()) {
        return Err(LoadError::EmptyFolder { path: path.to_owned() });
    }
    for format in DETECT_ORDER {
        match detect_one(format, path) {
            Detection::No => {}
            Detection::Yes(found) => return Ok((format, found)),
            Detection::Ambiguous(candidates) => {
                return Err(LoadError::Ambiguous { path: path.to_owned(), candidates });
            }
        }
    }
    if let Some(e) = near_miss(path) {
        return Err(e);
    }
    Err(LoadError::UnknownFormat { path: path.to_owned() })
}

/// A folder no format could read that still plainly belongs to one (a `.taskmaster/` without its
/// tasks file, an `openspec/` without an active change): says which format and what is missing.
fn near_miss(path: &Path) -> Option<LoadError> {
    if path.is_file() {
        let under = |dir: &str| path.parent().and_then(Path::parent).is_some_and(|p| p.ends_with(dir));
        if path.file_name().is_some_and(|n| n == "tasks.md") && under("specs") {
            return Some(LoadError::Incomplete {
                path: path.to_owned(),
                format: Format::Speckit,
                missing: "it holds no task lines such as `- [ ] T001 Description`".to_owned(),
                help: "spec-kit writes them with its /tasks command; add them, or point planrun at another tasks.md"
                    .to_owned(),
            });
        }
        let markdown =
            path.extension().is_some_and(|e| e.eq_ignore_ascii_case("md") || e.eq_ignore_ascii_case("markdown"));
        return markdown.then(|| LoadError::NoTasks { path: path.to_owned() });
    }
    if !path.is_dir() {
        return None;
    }
    let has = |rel: &str| path.join(rel).exists();
    let named = |name: &str| path.file_name().is_some_and(|n| n == name);
    let miss = |format, missing: &str, help: &str| {
        Some(LoadError::Incomplete {
            path: path.to_owned(),
            format,
            missing: missing.to_owned(),
            help: help.to_owned(),
        })
    };
    if has(".workflow")
        || named(".workflow")
        || named("active") && path.parent().is_some_and(|p| p.ends_with(".workflow"))
    {
        return miss(
            Format::Ccw,
            "no session with a TODO_LIST.md or .task/IMPL-*.json was found under .workflow/active/",
            "CCW writes a session folder (.workflow/active/WFS-<name>/) when it plans; point planrun at that folder, or at an archived session under .workflow/archives/",
        );
    }
    if has(".taskmaster") || named(".taskmaster") {
        return miss(
            Format::Taskmaster,
            "there is no tasks file at .taskmaster/tasks/tasks.json",
            "task-master writes it with `task-master parse-prd`; point planrun at the tasks.json file if it lives elsewhere",
        );
    }
    if has("openspec/changes")
        || has("changes") && (has("specs") || named("openspec"))
        || named("changes") && path.parent().is_some_and(|p| p.ends_with("openspec"))
    {
        return miss(
            Format::Openspec,
            "no change under openspec/changes/ has a tasks.md (archived changes are not read)",
            "point planrun at a change folder (openspec/changes/<name>/) that holds tasks.md",
        );
    }
    if has(".specify") || has("specs") || named("specs") {
        return miss(
            Format::Speckit,
            "no specs/<feature>/tasks.md was found",
            "spec-kit writes tasks.md with its /tasks command (after /plan); point planrun at that tasks.md",
        );
    }
    if has("docs/superpowers/plans") || has("docs/plans") || named("plans") {
        return miss(
            Format::Superpowers,
            "no plan file with `### Task N:` headings was found in its plans folder",
            "point planrun at the plan file itself (a markdown file with `### Task N: …` headings)",
        );
    }
    None
}

/// Reads the plan at `path`, detecting its format unless `format` forces one. A forced format
/// still resolves folders (e.g. a repository root to its `.workflow/active/WFS-*` session).
pub fn load(path: &Path, format: Option<Format>) -> Result<Loaded, LoadError> {
    let loaded = load_detected(path, format);
    forget_peeked();
    loaded
}

fn load_detected(path: &Path, format: Option<Format>) -> Result<Loaded, LoadError> {
    match format {
        None => {
            let (format, found) = detect_uncached(path)?;
            load_one(format, &found)
        }
        Some(format) => {
            if let Err(source) = std::fs::metadata(path) {
                return Err(LoadError::Io { path: path.to_owned(), source });
            }
            match detect_one(format, path) {
                Detection::Yes(found) => load_one(format, &found),
                Detection::Ambiguous(candidates) => Err(LoadError::Ambiguous { path: path.to_owned(), candidates }),
                Detection::No if path.is_file() => load_one(format, path),
                Detection::No => Err(LoadError::WrongFormat {
                    path: path.to_owned(),
                    format,
                    reason: format!("no {} was found there", format.describe()),
                }),
            }
        }
    }
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
