//! The texts plans were read from and byte spans into them, so that every diagnostic can name a
//! file, line and column. Owns no parsing.

use std::path::{Path, PathBuf};

/// Index of one source text inside [`Sources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceId(u32);

/// A byte range inside one source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    pub source: SourceId,
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(source: SourceId, start: usize, end: usize) -> Self {
        Self { source, start, end: end.max(start) }
    }
}

#[derive(Debug)]
struct SourceFile {
    path: PathBuf,
    text: String,
    line_starts: Vec<usize>,
}

/// Every file read while loading one plan.
#[derive(Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    /// Registers a text read from `path` and returns its id.
    pub fn add(&mut self, path: impl Into<PathBuf>, text: String) -> SourceId {
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        let id = SourceId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile { path: path.into(), text, line_starts });
        id
    }

    fn file(&self, id: SourceId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    /// The text of a source ("" for an unknown id).
    pub fn text(&self, id: SourceId) -> &str {
        self.file(id).map_or("", |f| f.text.as_str())
    }

    /// The path a source was read from.
    pub fn path(&self, id: SourceId) -> &Path {
        self.file(id).map_or(Path::new(""), |f| f.path.as_path())
    }

    /// All registered sources, in the order they were added.
    pub fn ids(&self) -> impl Iterator<Item = SourceId> + '_ {
        (0..self.files.len()).map(|i| SourceId(u32::try_from(i).unwrap_or(u32::MAX)))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, id: SourceId, offset: usize) -> (usize, usize) {
        let Some(file) = self.file(id) else {
            return (1, 1);
        };
        let offset = offset.min(file.text.len());
        let line = file.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = file.line_starts.get(line - 1).copied().unwrap_or(0);
        let col = file.text.get(start..offset).map_or(offset - start, |s| s.chars().count()) + 1;
        (line, col)
    }
}

/// Where each part of one task was written; spans parallel the task's lists when known.
#[derive(Debug, Clone, Default)]
pub struct TaskSpans {
    /// The whole task (its heading, object or file).
    pub task: Option<Span>,
    pub id: Option<Span>,
    pub title: Option<Span>,
    /// One per `depends_on` entry, in the same order, when the format locates them.
    pub depends_on: Vec<Span>,
    /// One per `files` entry, in the same order, when the format locates them.
    pub files: Vec<Span>,
    /// One per `verify` entry, in the same order, when the format locates them.
    pub verify: Vec<Span>,
    /// One per `acceptance` entry, in the same order, when the format locates them.
    pub acceptance: Vec<Span>,
    /// Where the description was taken from, when the format locates it.
    pub description: Option<Span>,
    /// The mark the status was read from (a ticked box, a `status` member), when there is one.
    pub status: Option<Span>,
}

impl TaskSpans {
    /// A task located nowhere.
    pub const NONE: TaskSpans = TaskSpans {
        task: None,
        id: None,
        title: None,
        depends_on: Vec::new(),
        files: Vec::new(),
        verify: Vec::new(),
        acceptance: Vec::new(),
        description: None,
        status: None,
    };

    /// A task located only as a whole.
    pub fn at(span: Span) -> Self {
        Self { task: Some(span), ..Self::default() }
    }

    /// The best span for the `index`th dependency.
    pub fn dependency(&self, index: usize) -> Option<Span> {
        self.depends_on.get(index).copied().or(self.task)
    }

    /// The best span for the `index`th file pattern.
    pub fn file(&self, index: usize) -> Option<Span> {
        self.files.get(index).copied().or(self.task)
    }

    /// The best span for the task's identity.
    pub fn head(&self) -> Option<Span> {
        self.id.or(self.task)
    }
}
