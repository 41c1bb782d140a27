//! One Gemini CLI at a time through its start in each folder.
//!
//! Gemini CLI (0.61.0), as it starts, deletes the session files of its project (the folder it
//! runs in) that hold nothing to resume yet (its `general.sessionRetention` cleanup, on by
//! default; the setting can be changed only in the user's or the workspace's settings, or in
//! root-owned system settings). A session holds nothing to resume from its first line until its
//! prompt is recorded, after the model router has picked a model: a second Gemini CLI starting
//! in the same folder meanwhile (the other review, which runs side by side, or a reminder run)
//! deletes it, and the later `--resume` of that session fails. So a Gemini CLI starts in a
//! folder only when no other one there is in that window: it holds the folder's gate from its
//! start until its output shows the model's first answer ([`gemini_session_kept`]) or it ends.

use planrun_agents::adapter::gemini_session_kept;
use std::collections::HashMap;
use std::io::{Read as _, Seek as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::OwnedMutexGuard;
use tokio::sync::watch;

type Gate = Arc<tokio::sync::Mutex<()>>;

fn gate(dir: &Path) -> Gate {
    static GATES: OnceLock<Mutex<HashMap<PathBuf, Gate>>> = OnceLock::new();
    let gates = GATES.get_or_init(Mutex::default);
    let mut gates = gates.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    Arc::clone(gates.entry(dir.to_owned()).or_default())
}

/// Waits for `dir`'s gate; `None` when planrun is stopping meanwhile.
pub(crate) async fn enter(dir: &Path, cancel: &mut watch::Receiver<bool>) -> Option<OwnedMutexGuard<()>> {
    if *cancel.borrow() {
        return None;
    }
    let gate = gate(dir);
    tokio::select! {
        g = gate.lock_owned() => Some(g),
        _ = cancel.changed() => None,
    }
}

/// The gate of a running Gemini CLI: let go when its log shows the model's first answer, or
/// when this is dropped (the run has ended, or its caller is gone).
pub(crate) struct Held(tokio::task::JoinHandle<()>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Holds `guard` until the log, from byte `from` on, shows the model's first answer.
pub(crate) fn hold_until_kept(guard: OwnedMutexGuard<()>, log: PathBuf, from: u64) -> Held {
    Held(tokio::spawn(async move {
        let _guard = guard;
        let mut offset = from;
        let mut partial: Vec<u8> = Vec::new();
        loop {
            tokio::time::sleep(EVERY).await;
            let chunk = read_at(&log, offset);
            offset = offset.saturating_add(chunk.len() as u64);
            partial.extend_from_slice(&chunk);
            while let Some(end) = partial.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = partial.drain(..=end).collect();
                if gemini_session_kept(&String::from_utf8_lossy(&line)) {
                    return;
                }
            }
            if partial.len() > LONGEST_LINE {
                partial.clear();
            }
        }
    }))
}

const EVERY: Duration = Duration::from_millis(50);
const CHUNK: u64 = 1 << 20;
/// A longer unfinished line is not one of the events looked for (they are short): skipped.
const LONGEST_LINE: usize = 1 << 20;

fn read_at(path: &Path, offset: u64) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        if f.seek(std::io::SeekFrom::Start(offset)).is_ok() {
            let _ = f.take(CHUNK).read_to_end(&mut buf);
        }
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_gate_of_a_folder_opens_when_the_model_has_answered() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("a.log");
        std::fs::write(&log, "earlier run's line\n").unwrap();
        let from = std::fs::metadata(&log).unwrap().len();
        let (_tx, mut cancel) = watch::channel(false);
        let first = enter(dir.path(), &mut cancel).await.unwrap();
        let held = hold_until_kept(first, log.clone(), from);
        // Another folder's gate is its own.
        let other = tempfile::tempdir().unwrap();
        assert!(enter(other.path(), &mut cancel).await.is_some());
        // The prompt's echo is not enough; the model's first text is.
        let mut text = std::fs::read_to_string(&log).unwrap();
        text.push_str(
            "{\"type\":\"init\",\"session_id\":\"s\"}\n{\"type\":\"message\",\"role\":\"user\",\"content\":\"x\"}\n",
        );
        std::fs::write(&log, &text).unwrap();
        let waiting = tokio::time::timeout(Duration::from_millis(300), enter(dir.path(), &mut cancel)).await;
        assert!(waiting.is_err(), "the gate opened before the model answered");
        text.push_str("{\"type\":\"message\",\"role\":\"assistant\",\"content\":\"hi\",\"delta\":true}\n");
        std::fs::write(&log, &text).unwrap();
        let second = tokio::time::timeout(Duration::from_secs(5), enter(dir.path(), &mut cancel)).await;
        assert!(matches!(second, Ok(Some(_))));
        assert!(held.0.is_finished());
    }

    #[tokio::test]
    async fn an_ended_run_lets_the_gate_go_and_a_stopping_planrun_stops_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut cancel) = watch::channel(false);
        let first = enter(dir.path(), &mut cancel).await.unwrap();
        let held = hold_until_kept(first, dir.path().join("missing.log"), 0);
        let (_tx2, mut cancel2) = watch::channel(false);
        let path = dir.path().to_owned();
        let waiter = tokio::spawn(async move { enter(&path, &mut cancel2).await.is_some() });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiter.is_finished());
        drop(held);
        assert!(tokio::time::timeout(Duration::from_secs(5), waiter).await.unwrap().unwrap());
        // Held again, and planrun stops: the wait ends with nothing.
        let again = enter(dir.path(), &mut cancel).await.unwrap();
        let path = dir.path().to_owned();
        let mut c = cancel.clone();
        let waiter = tokio::spawn(async move { enter(&path, &mut c).await.is_none() });
        tokio::time::sleep(Duration::from_millis(50)).await;
        tx.send(true).unwrap();
        assert!(tokio::time::timeout(Duration::from_secs(5), waiter).await.unwrap().unwrap());
        drop(again);
    }
}
