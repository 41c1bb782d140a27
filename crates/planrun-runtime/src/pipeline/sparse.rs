//! `--sparse`: which folders each task's worktree checks out. Owns turning a task's `files`
//! patterns into folders for git's cone mode; the git side is `planrun_git::worktree`.

use planrun_plan::globs::Pattern;
use rustc_hash::FxHashMap;

/// What a task's worktree holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cone {
    /// Everything: a pattern of the task starts with a wildcard (`**/*.rs`), so any folder
    /// may hold its files.
    Whole,
    /// The files at the top level and these folders (sorted, each once).
    Dirs(Vec<String>),
}

impl Cone {
    /// The folders, or `None` for the whole tree.
    pub(crate) fn dirs(&self) -> Option<&[String]> {
        match self {
            Cone::Whole => None,
            Cone::Dirs(d) => Some(d),
        }
    }
}

/// The folders of a sparse run.
#[derive(Debug, Default, Clone)]
pub(crate) struct Sparse {
    /// `--sparse-dir`: in every task's worktree.
    always: Vec<String>,
    /// Each task's own folders, by id.
    tasks: FxHashMap<String, Cone>,
}

impl Sparse {
    pub(crate) fn new(always: Vec<String>) -> Sparse {
        Sparse { always, tasks: FxHashMap::default() }
    }

    /// Records each task's folders from its `files` patterns.
    pub(crate) fn with_tasks<'a>(mut self, tasks: impl IntoIterator<Item = (&'a str, &'a [String])>) -> Sparse {
        for (id, files) in tasks {
            self.tasks.insert(id.to_owned(), cone_of(files));
        }
        self
    }

    /// What task `id`'s worktree holds: its own folders and the `--sparse-dir` ones. A task
    /// the plan does not name (none should reach here) gets the whole tree.
    pub(crate) fn cone(&self, id: &str) -> Cone {
        match self.tasks.get(id) {
            Some(Cone::Dirs(own)) => {
                let mut dirs: Vec<String> = own.iter().chain(&self.always).cloned().collect();
                dirs.sort();
                dirs.dedup();
                Cone::Dirs(dirs)
            }
            _ => Cone::Whole,
        }
    }
}

/// The folders a task's patterns reach into. A literal path may name a file or a folder
/// (planrun reads `src/api` as "this file or everything under it"), so both its folder and
/// itself are taken (a folder that does not exist is fine for git). A pattern with a wildcard
/// gives its literal leading folders (`src/api/**/*.rs`: `src/api`); one without any
/// (`**/*.rs`, `{src,lib}/x`) means the whole tree. Patterns that do not parse were refused by
/// `check` before a run: they count as the whole tree here.
pub(crate) fn cone_of(files: &[String]) -> Cone {
    let mut dirs = Vec::new();
    for file in files {
        let Ok(pattern) = Pattern::parse(file) else { return Cone::Whole };
        let prefix = pattern.literal_prefix();
        if pattern.is_literal() {
            if let Some((_, parents)) = prefix.split_last().filter(|(_, p)| !p.is_empty()) {
                dirs.push(parents.join("/"));
            }
            if !prefix.is_empty() {
                dirs.push(prefix.join("/"));
            }
            continue;
        }
        // The last literal component of `src/a*.rs` is not a whole folder name.
        let whole = file.trim_start_matches('/').split('/').take_while(|c| !wild(c)).count().min(prefix.len());
        if whole == 0 {
            return Cone::Whole;
        }
        dirs.push(prefix.iter().take(whole).map(String::as_str).collect::<Vec<_>>().join("/"));
    }
    dirs.sort();
    dirs.dedup();
    Cone::Dirs(dirs)
}

/// Whether a path component holds a wildcard, a class, a brace group or an escape.
fn wild(component: &str) -> bool {
    component.contains(['*', '?', '[', '{', '}', '\\'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cone(files: &[&str]) -> Cone {
        cone_of(&files.iter().map(|f| (*f).to_owned()).collect::<Vec<_>>())
    }

    fn dirs(d: &[&str]) -> Cone {
        Cone::Dirs(d.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn folders_of_each_kind_of_pattern() {
        assert_eq!(cone(&["src/api/mod.rs"]), dirs(&["src/api", "src/api/mod.rs"]));
        assert_eq!(cone(&["src/api/**"]), dirs(&["src/api"]));
        assert_eq!(cone(&["src/api/"]), dirs(&["src", "src/api"]));
        assert_eq!(cone(&["src/api/**/*.rs", "docs/x.md"]), dirs(&["docs", "docs/x.md", "src/api"]));
        assert_eq!(cone(&["src/a*.rs"]), dirs(&["src"]));
        assert_eq!(cone(&["README.md"]), dirs(&["README.md"]));
        assert_eq!(cone(&[]), dirs(&[]));
    }

    #[test]
    fn a_leading_wildcard_means_the_whole_tree() {
        assert_eq!(cone(&["src/x.rs", "**/*.rs"]), Cone::Whole);
        assert_eq!(cone(&["*.md"]), Cone::Whole);
        assert_eq!(cone(&["{src,lib}/x.rs"]), Cone::Whole);
    }

    #[test]
    fn every_task_gets_the_always_folders_and_unknown_tasks_everything() {
        let s = Sparse::new(vec!["tests".into()])
            .with_tasks([("a", &["src/x/**".to_owned()][..]), ("b", &["**".to_owned()][..])]);
        assert_eq!(s.cone("a"), dirs(&["src/x", "tests"]));
        assert_eq!(s.cone("b"), Cone::Whole);
        assert_eq!(s.cone("zzz"), Cone::Whole);
    }
}
