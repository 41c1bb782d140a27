//! The work a run kept because no branch had it (`refs/planrun/kept/RUN/TASK/ATTEMPT`, made by
//! `planrun_git::keep` before a worktree or branch was removed or reset), read from git each
//! time so it is never out of date; how `status`, `explain` and the summary name it, and
//! `planrun gc`, which removes it once the user says so. Removes nothing on its own.

use super::session::Session;
use planrun_git::{Git, keep};
use serde_json::{Value, json};

/// One piece of kept work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeptWork {
    /// The task it belongs to, as its ref names it.
    pub(crate) task: String,
    /// The attempt (or what made it, e.g. `done`), as its ref names it.
    pub(crate) label: String,
    pub(crate) reference: String,
    pub(crate) commit: String,
}

impl KeptWork {
    pub(crate) fn to_json(&self) -> Value {
        json!({"task": self.task, "attempt": self.label, "ref": self.reference, "commit": self.commit})
    }

    /// One line for people: the ref, its commit and how to look at it.
    pub(crate) fn line(&self) -> String {
        format!("{} ({}): `git show --stat {}`", self.reference, super::short(&self.commit), self.reference)
    }
}

/// The run's id as its branches and kept refs name it.
pub(crate) fn run_id(s: &Session) -> Option<String> {
    let recorded = s.first_run.as_ref().and_then(|r| r.pipeline_run.clone());
    recorded.or_else(|| s.first_started_ms.map(super::layout::run_id))
}

/// The repository the run works in, if it is one.
fn repo(s: &Session) -> Option<Git> {
    super::layout::git_toplevel(&s.layout.workspace).map(Git::new)
}

/// The work this run kept, by ref name.
pub(crate) fn of_run(s: &Session) -> Vec<KeptWork> {
    let (Some(repo), Some(run)) = (repo(s), run_id(s)) else { return Vec::new() };
    let prefix = keep::run_prefix(&run);
    keep::list(&repo, &prefix)
        .unwrap_or_default()
        .into_iter()
        .map(|k| {
            let rest = k.reference.strip_prefix(&prefix).unwrap_or(&k.reference).to_owned();
            let (task, label) =
                rest.rsplit_once('/').map_or((rest.clone(), String::new()), |(t, l)| (t.into(), l.into()));
            KeptWork { task, label, reference: k.reference, commit: k.commit }
        })
        .collect()
}

/// The kept work of task `id`.
pub(crate) fn of_task(s: &Session, id: &str) -> Vec<KeptWork> {
    let piece = keep::piece(id);
    of_run(s).into_iter().filter(|k| k.task == piece).collect()
}

/// `planrun gc`: lists the work kept in this repository (every run's) and, with `--yes`,
/// removes it.
pub fn gc(args: &crate::options::GcOptions, console: &mut crate::console::Console<'_>) -> Result<u8, crate::Error> {
    // Kept refs live in the repository, whatever the state directory.
    let layout = super::layout::Layout::from_cwd(None);
    let Some(top) = super::layout::git_toplevel(&layout.workspace) else {
        return Err(crate::Error::NotARepository(layout.workspace));
    };
    let repo = Git::new(top);
    let kept = keep::list(&repo, keep::PREFIX).map_err(crate::Error::ListKept)?;
    if args.json {
        let list: Vec<Value> = kept.iter().map(|k| json!({"ref": k.reference, "commit": k.commit})).collect();
        console.println(&json!({"kept": list, "removed": args.yes}).to_string());
    }
    if kept.is_empty() {
        if !args.json {
            console.println("planrun kept no work in this repository");
        }
        return Ok(crate::exit::OK);
    }
    if !args.yes {
        if !args.json {
            console.println("work planrun kept because no branch had it:");
            for k in &kept {
                console.println(&format!("  {} ({})", k.reference, super::short(&k.commit)));
            }
            console.println(
                "look at one with `git show --stat REF`, take it back with `git checkout REF -- .` or `git cherry-pick REF`;\n\
                 `planrun gc --yes` removes these refs (the work is gone for good once git prunes it)"
            );
        }
        return Ok(crate::exit::OK);
    }
    let mut failed = 0;
    for k in &kept {
        match keep::forget(&repo, &k.reference) {
            Ok(()) if !args.json => console.println(&format!("removed {} ({})", k.reference, super::short(&k.commit))),
            Ok(()) => {}
            Err(e) => {
                failed += 1;
                console.eprintln(&format!("error: cannot remove {}: {e}", k.reference));
            }
        }
    }
    // Each ref that could not be removed was said as it failed.
    Ok(if failed > 0 { crate::exit::FAILURE } else { crate::exit::OK })
}
