//! Reading plans: the format at a path (a file or a folder) found by detection or forced with
//! `--format`, and the plan loaded with that format's reader: planrun's own in `native`, one
//! module here per other tool's format. A folder in no format says what the nearest one lacks.
//! Importers carry over what their source marks done. What every reader shares is in `reader`;
//! nothing here validates the graph; see `validate`.

pub(crate) mod blueprint;
pub(crate) mod ccw;
pub(crate) mod cm;
mod openspec;
pub(crate) mod planpipe;
mod speckit;
pub(crate) mod superpowers;
pub(crate) mod taskmaster;
pub(crate) mod uc;

use crate::reader::{Detection, forget_peeked, peek_bytes};
pub use crate::reader::{Format, LoadError, Loaded, MAX_FILE_BYTES, PlanBuilder, slug};
use std::path::{Path, PathBuf};

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
