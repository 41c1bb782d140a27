//! Live status files: the plan's own progress files (planpipe's `execution-status.md`, CCW's
//! TODO list and task files, cm's `cm-tasks.json`, the ✅ and ticked boxes of the others) follow
//! the run, written again after every journaled state change rather than only when the
//! invocation ends. Each write reads the plan afresh (so what a user changed meanwhile is kept)
//! on the blocking pool, one at a time, at most every `GAP` and never more often than four
//! times its own cost; the ticks pick up a change that arrived while a write was under way.

use super::*;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

/// The shortest time between two writes.
const GAP: Duration = Duration::from_millis(250);

type Written = Result<Vec<PathBuf>, String>;

pub(super) struct Live {
    /// A state changed since the last write began.
    dirty: bool,
    /// A write is under way.
    busy: bool,
    /// When the last write began, and how long it took.
    last: Option<Instant>,
    cost: Duration,
    tx: mpsc::Sender<(Written, Duration)>,
    rx: mpsc::Receiver<(Written, Duration)>,
    /// Whether a failed write was reported already (once a run is enough).
    warned: bool,
}

impl Live {
    pub(super) fn new() -> Self {
        let (tx, rx) = mpsc::channel();
        Self { dirty: false, busy: false, last: None, cost: Duration::ZERO, tx, rx, warned: false }
    }

    /// Takes in the writes that ended; the first failure's message, once.
    fn collect(&mut self) -> Option<String> {
        let mut failed = None;
        while let Ok((written, took)) = self.rx.try_recv() {
            self.busy = false;
            self.cost = took;
            if let Err(e) = written {
                if !self.warned {
                    self.warned = true;
                    failed = Some(e);
                }
            }
        }
        failed
    }
}

impl Runner<'_> {
    /// A task's state changed (its change is journaled): the status files follow.
    pub(super) fn status_changed(&mut self) {
        if let Some(live) = self.live.as_mut() {
            live.dirty = true;
        }
        self.write_live();
    }

    /// Starts a write of the status files when a state changed since the last one, none is
    /// under way and the last began long enough ago.
    pub(super) fn write_live(&mut self) {
        let Some(live) = self.live.as_mut() else { return };
        let failed = live.collect();
        let due =
            live.dirty && !live.busy && live.last.is_none_or(|t| t.elapsed() >= GAP.max(live.cost.saturating_mul(4)));
        if due {
            live.dirty = false;
            live.busy = true;
            live.last = Some(Instant::now());
            let tx = live.tx.clone();
            let reports = report::status_reports(&self.s);
            let (plan, format) = (self.s.plan_path.clone(), self.s.loaded.format);
            let now = crate::layout::utc(unix_ms());
            let lock = self.ctx.marks.as_ref().map(|m| Arc::clone(&m.lock));
            tokio::task::spawn_blocking(move || {
                let _guard = lock.as_ref().map(|l| l.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
                let began = Instant::now();
                let written = report::write_status_files(&plan, format, &reports, &now);
                let _ = tx.send((written, began.elapsed()));
            });
        }
        if let Some(e) = failed {
            self.reporter.note(&format!(
                "planrun: the plan's status files could not be updated during the run: {e} (the run goes on; they are written again at its end)"
            ));
        }
    }

    /// Waits for a write under way (before the final one).
    pub(super) fn settle_live(&mut self) {
        let Some(live) = self.live.as_mut() else { return };
        if live.busy {
            if let Ok((_, took)) = live.rx.recv_timeout(Duration::from_secs(30)) {
                live.cost = took;
            }
            live.busy = false;
        }
    }
}

/// The paths, relative to the shared tree `root`, of the files the status writer may write:
/// a scope check in a shared tree leaves them out, except where the task declares them.
pub(super) fn shared_paths(s: &Session, root: &Path) -> Vec<String> {
    // Both sides as the file system names them: a plan given by a relative path, or a tree
    // reached through a symbolic link, still matches.
    let real = |p: &Path| -> Option<PathBuf> {
        // The nearest folder that exists, as the file system names it, then the rest as written
        // (a status file may not exist yet, nor its folder).
        let p = std::path::absolute(p).ok()?;
        let mut base = p.as_path();
        let mut rest = Vec::new();
        while let (Some(parent), Some(name)) = (base.parent(), base.file_name()) {
            rest.push(name);
            base = parent;
            if let Ok(b) = base.canonicalize() {
                return Some(rest.iter().rev().fold(b, |acc, n| acc.join(n)));
            }
        }
        Some(p.clone())
    };
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    report::status_paths(s)
        .iter()
        .filter_map(|p| real(p))
        .filter_map(|p| p.strip_prefix(&root).ok().map(Path::to_path_buf))
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .filter(|p| !p.is_empty() && !p.contains(['*', '?', '[', ']', '{', '}', '\\']))
        .collect()
}
