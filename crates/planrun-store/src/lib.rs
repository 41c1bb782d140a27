//! The journal: every event is appended, with a gapless sequence number, and committed durably
//! before the caller acts on it; state is rebuilt by reading the events back in order. SQLite in
//! WAL mode with `synchronous=FULL`: a commit survives `kill -9` of planrun at any instant and a
//! power cut. Makes no scheduling decisions and knows no event types: events are a kind, an
//! optional task id and a JSON payload, defined by the engine.

use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// The schema version this code writes; older journals are migrated, newer ones refused.
const SCHEMA_VERSION: i64 = 1;

/// Why the journal could not be used.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("cannot open the journal `{}`: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the journal `{}` was written by a newer planrun (schema {found}, this one knows {SCHEMA_VERSION})", path.display())]
    TooNew { path: PathBuf, found: i64 },
    #[error("the journal is damaged: {0}")]
    Corrupt(String),
    #[error("journal write failed: {0}")]
    Write(#[source] rusqlite::Error),
    #[error("journal read failed: {0}")]
    Read(#[source] rusqlite::Error),
    /// An in-memory journal told to refuse writes (a test's full disk).
    #[error("journal write failed: {0}")]
    Refused(String),
}

/// One stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// 1, 2, 3, … with no gaps, in the order events were appended.
    pub seq: i64,
    pub kind: String,
    pub task: Option<String>,
    pub payload: serde_json::Value,
}

/// One stored event with its payload as stored (JSON text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    pub seq: i64,
    pub kind: String,
    pub task: Option<String>,
    pub payload: String,
}

/// One row of the materialized view: a task's latest state, as the engine names it, with a
/// JSON detail (attempt, reason, …). Kept in the same transaction as the events that changed it,
/// so the view never disagrees with the log; replaying the log rebuilds it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    pub id: String,
    pub state: String,
    pub detail: serde_json::Value,
    /// The last event that changed the row.
    pub seq: i64,
}

/// An event to append: its kind, the task it concerns, and its payload.
pub type NewEvent<'a> = (&'a str, Option<&'a str>, &'a serde_json::Value);

/// A row of the view to set with a batch: the task's id, its state and detail.
pub type ViewRow<'a> = (&'a str, &'a str, &'a serde_json::Value);

/// What a run needs of its journal: a batch appended in one transaction (all or nothing), and
/// the events read back in order. SQLite ([`Journal`]) for real; [`MemoryJournal`] in tests.
pub trait EventLog: Send + std::fmt::Debug {
    /// Appends events and updates the view rows they changed, in one transaction.
    fn commit(&mut self, events: &[NewEvent<'_>], view: &[ViewRow<'_>]) -> Result<Vec<i64>, StoreError>;
    /// Every event after `after` (0 for all), in order.
    fn events_after(&self, after: i64) -> Result<Vec<Event>, StoreError>;
    /// The events of the given kinds, in order (a journal on disk reads only those).
    fn events_of(&self, kinds: &[&str]) -> Result<Vec<Event>, StoreError> {
        Ok(self.events_after(0)?.into_iter().filter(|e| kinds.contains(&e.kind.as_str())).collect())
    }
    /// The materialized view: each task's latest state.
    fn tasks(&self) -> Result<Vec<TaskRow>, StoreError>;
}

impl EventLog for Journal {
    fn commit(
        &mut self,
        events: &[NewEvent<'_>],
        view: &[(&str, &str, &serde_json::Value)],
    ) -> Result<Vec<i64>, StoreError> {
        Journal::commit(self, events, view)
    }

    fn events_after(&self, after: i64) -> Result<Vec<Event>, StoreError> {
        Journal::events_after(self, after)
    }

    fn events_of(&self, kinds: &[&str]) -> Result<Vec<Event>, StoreError> {
        Journal::events_of(self, kinds)
    }

    fn tasks(&self) -> Result<Vec<TaskRow>, StoreError> {
        Journal::tasks(self)
    }
}

/// A journal in memory with the same contract as SQLite's (gapless sequence numbers, a batch
/// all or nothing), for tests: it can be told to refuse writes after a number of commits, the
/// way a full disk does.
#[derive(Debug, Default, Clone)]
pub struct MemoryJournal {
    events: Vec<Event>,
    tasks: std::collections::BTreeMap<String, TaskRow>,
    commits: usize,
    /// Commits allowed before every further one fails.
    refuse_after: Option<usize>,
}

impl MemoryJournal {
    pub fn new() -> Self {
        Self::default()
    }

    /// A journal whose writes fail after `commits` successful commits.
    pub fn refusing_after(commits: usize) -> Self {
        MemoryJournal { refuse_after: Some(commits), ..Self::default() }
    }

    /// How many commits succeeded.
    pub fn commits(&self) -> usize {
        self.commits
    }
}

impl EventLog for MemoryJournal {
    fn commit(
        &mut self,
        events: &[NewEvent<'_>],
        view: &[(&str, &str, &serde_json::Value)],
    ) -> Result<Vec<i64>, StoreError> {
        if self.refuse_after.is_some_and(|n| self.commits >= n) {
            return Err(StoreError::Refused("no space left on device (in-memory journal)".to_owned()));
        }
        let first = i64::try_from(self.events.len()).unwrap_or(i64::MAX).saturating_add(1);
        let mut seqs = Vec::with_capacity(events.len());
        for (seq, (kind, task, payload)) in (first..).zip(events) {
            self.events.push(Event {
                seq,
                kind: (*kind).to_owned(),
                task: task.map(str::to_owned),
                payload: (*payload).clone(),
            });
            seqs.push(seq);
        }
        let last = seqs.last().copied().unwrap_or(first - 1);
        for (id, state, detail) in view {
            let row =
                TaskRow { id: (*id).to_owned(), state: (*state).to_owned(), detail: (*detail).clone(), seq: last };
            self.tasks.insert((*id).to_owned(), row);
        }
        self.commits += 1;
        Ok(seqs)
    }

    fn events_after(&self, after: i64) -> Result<Vec<Event>, StoreError> {
        Ok(self.events.iter().filter(|e| e.seq > after).cloned().collect())
    }

    fn tasks(&self) -> Result<Vec<TaskRow>, StoreError> {
        Ok(self.tasks.values().cloned().collect())
    }
}

/// An open journal. One writer at a time: a second process opening it waits for the lock.
#[derive(Debug)]
pub struct Journal {
    conn: Connection,
    path: PathBuf,
}

impl Journal {
    /// Opens (creating if needed) the journal at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let open_err = |source| StoreError::Open { path: path.to_owned(), source };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(open_err)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS events (
                 seq INTEGER PRIMARY KEY,
                 kind TEXT NOT NULL,
                 task TEXT,
                 payload TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS tasks (
                 id TEXT PRIMARY KEY,
                 state TEXT NOT NULL,
                 detail TEXT NOT NULL,
                 seq INTEGER NOT NULL
             );",
        )
        .map_err(open_err)?;
        let version: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| r.get(0))
            .optional()
            .map_err(open_err)?;
        match version.map(|v| v.parse::<i64>()) {
            None => {
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema', ?1)",
                    params![SCHEMA_VERSION.to_string()],
                )
                .map_err(open_err)?;
            }
            Some(Ok(v)) if v > SCHEMA_VERSION => return Err(StoreError::TooNew { path: path.to_owned(), found: v }),
            Some(Ok(_)) => {}
            Some(Err(_)) => return Err(StoreError::Corrupt("the schema version is not a number".into())),
        }
        Ok(Self { conn, path: path.to_owned() })
    }

    /// Where the journal lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event and commits it durably; returns its sequence number. When this returns,
    /// the event survives any crash.
    pub fn append(&mut self, kind: &str, task: Option<&str>, payload: &serde_json::Value) -> Result<i64, StoreError> {
        self.append_all(&[(kind, task, payload)]).map(|seqs| seqs.last().copied().unwrap_or(0))
    }

    /// Appends several events in one transaction: all of them survive a crash, or none does.
    pub fn append_all(&mut self, events: &[NewEvent<'_>]) -> Result<Vec<i64>, StoreError> {
        self.commit(events, &[])
    }

    /// Appends events and updates the view rows they changed, in one transaction. Each row's
    /// `seq` is set to the last event of the batch.
    pub fn commit(
        &mut self,
        events: &[NewEvent<'_>],
        view: &[(&str, &str, &serde_json::Value)],
    ) -> Result<Vec<i64>, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(StoreError::Write)?;
        let mut seqs = Vec::with_capacity(events.len());
        {
            let first: i64 = tx
                .prepare_cached("SELECT COALESCE(MAX(seq), 0) + 1 FROM events")
                .and_then(|mut q| q.query_row([], |r| r.get(0)))
                .map_err(StoreError::Write)?;
            let mut insert = tx
                .prepare_cached("INSERT INTO events (seq, kind, task, payload) VALUES (?1, ?2, ?3, ?4)")
                .map_err(StoreError::Write)?;
            for (seq, (kind, task, payload)) in (first..).zip(events) {
                insert.execute(params![seq, kind, task, payload.to_string()]).map_err(StoreError::Write)?;
                seqs.push(seq);
            }
            let last = seqs.last().copied().unwrap_or(first - 1);
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO tasks (id, state, detail, seq) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(id) DO UPDATE SET state = excluded.state, detail = excluded.detail, seq = excluded.seq",
                )
                .map_err(StoreError::Write)?;
            for (id, state, detail) in view {
                upsert.execute(params![id, state, detail.to_string(), last]).map_err(StoreError::Write)?;
            }
        }
        tx.commit().map_err(StoreError::Write)?;
        Ok(seqs)
    }

    /// Every event after `after` (0 for all), in order.
    pub fn events_after(&self, after: i64) -> Result<Vec<Event>, StoreError> {
        self.raw_events_after(after)?
            .into_iter()
            .map(|r| {
                let payload = serde_json::from_str(&r.payload)
                    .map_err(|e| StoreError::Corrupt(format!("event {} has an unreadable payload: {e}", r.seq)))?;
                Ok(Event { seq: r.seq, kind: r.kind, task: r.task, payload })
            })
            .collect()
    }

    /// Every event after `after` (0 for all), in order, with its payload as stored (JSON text):
    /// for a reader that decodes it into its own types in one pass.
    pub fn raw_events_after(&self, after: i64) -> Result<Vec<RawEvent>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, kind, task, payload FROM events WHERE seq > ?1 ORDER BY seq")
            .map_err(StoreError::Read)?;
        let rows = stmt
            .query_map(params![after], |r| {
                Ok(RawEvent {
                    seq: r.get::<_, i64>(0)?,
                    kind: r.get::<_, String>(1)?,
                    task: r.get::<_, Option<String>>(2)?,
                    payload: r.get::<_, String>(3)?,
                })
            })
            .map_err(StoreError::Read)?;
        let mut out = Vec::new();
        for (expected, row) in (after + 1..).zip(rows) {
            let row = row.map_err(StoreError::Read)?;
            if row.seq != expected {
                return Err(StoreError::Corrupt(format!("event {expected} is missing (found {})", row.seq)));
            }
            out.push(row);
        }
        Ok(out)
    }

    /// The events of the given kinds, in order: what a quick look needs (which run, whether it
    /// ended) without reading and decoding every step of a long run.
    pub fn events_of(&self, kinds: &[&str]) -> Result<Vec<Event>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, kind, task, payload FROM events WHERE kind IN (SELECT value FROM json_each(?1)) ORDER BY seq")
            .map_err(StoreError::Read)?;
        let wanted = serde_json::Value::from(kinds.to_vec()).to_string();
        let rows = stmt
            .query_map(params![wanted], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(StoreError::Read)?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, kind, task, payload) = row.map_err(StoreError::Read)?;
            let payload = serde_json::from_str(&payload)
                .map_err(|e| StoreError::Corrupt(format!("event {seq} has an unreadable payload: {e}")))?;
            out.push(Event { seq, kind, task, payload });
        }
        Ok(out)
    }

    /// The materialized view: every task's latest row, in id order.
    pub fn tasks(&self) -> Result<Vec<TaskRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, state, detail, seq FROM tasks ORDER BY id")
            .map_err(StoreError::Read)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?))
            })
            .map_err(StoreError::Read)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, state, detail, seq) = row.map_err(StoreError::Read)?;
            let detail = serde_json::from_str(&detail)
                .map_err(|e| StoreError::Corrupt(format!("the view row of `{id}` is unreadable: {e}")))?;
            out.push(TaskRow { id, state, detail, seq });
        }
        Ok(out)
    }

    /// The number of events stored.
    pub fn len(&self) -> Result<i64, StoreError> {
        self.conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0)).map_err(StoreError::Read)
    }

    /// Whether no event is stored yet.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        self.len().map(|n| n == 0)
    }

    /// SQLite's own consistency check of the file.
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        let result: String =
            self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(StoreError::Read)?;
        if result == "ok" { Ok(()) } else { Err(StoreError::Corrupt(result)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The in-memory journal keeps SQLite's contract: the same commits give the same events,
    /// numbers and view; a refused commit leaves nothing behind.
    #[test]
    fn the_memory_journal_keeps_the_sqlite_contract() {
        let dir = tempfile::tempdir().unwrap();
        let mut sqlite = Journal::open(&dir.path().join("journal.db")).unwrap();
        let mut memory = MemoryJournal::refusing_after(2);
        let (a, b) = (json!({"attempt": 1}), json!({"attempt": 2}));
        let batches: [(&[NewEvent<'_>], &[ViewRow<'_>]); 2] = [
            (&[("run", None, &a), ("change", Some("t1"), &a)], &[("t1", "in_progress", &a)]),
            (&[("change", Some("t1"), &b)], &[("t1", "done", &b), ("t2", "pending", &a)]),
        ];
        for (events, view) in batches {
            let x = EventLog::commit(&mut sqlite, events, view).unwrap();
            let y = memory.commit(events, view).unwrap();
            assert_eq!(x, y);
        }
        assert_eq!(EventLog::events_after(&sqlite, 0).unwrap(), memory.events_after(0).unwrap());
        assert_eq!(EventLog::events_after(&sqlite, 2).unwrap(), memory.events_after(2).unwrap());
        assert_eq!(EventLog::tasks(&sqlite).unwrap(), memory.tasks().unwrap());
        // Only the kinds asked for, in order, the same events as a full read gives.
        let runs = sqlite.events_of(&["run", "finished"]).unwrap();
        assert_eq!(runs, EventLog::events_after(&sqlite, 0).unwrap()[..1].to_vec());
        let changes = sqlite.events_of(&["change"]).unwrap();
        assert_eq!(changes.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3]);
        assert!(sqlite.events_of(&["nothing-like-it"]).unwrap().is_empty());
        let refused = memory.commit(&[("change", Some("t2"), &b)], &[("t2", "done", &b)]);
        assert!(matches!(refused, Err(StoreError::Refused(_))), "{refused:?}");
        assert_eq!(memory.events_after(0).unwrap().len(), 3, "a refused commit appends nothing");
        assert_eq!(memory.commits(), 2);
    }

    #[test]
    fn append_and_replay_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        let mut j = Journal::open(&path).unwrap();
        assert_eq!(j.append("run-started", None, &json!({"plan": "p.md"})).unwrap(), 1);
        assert_eq!(
            j.append_all(&[("dispatched", Some("a"), &json!({"attempt": 1})), ("dispatched", Some("b"), &json!({}))])
                .unwrap(),
            vec![2, 3]
        );
        drop(j);
        let j = Journal::open(&path).unwrap();
        let events = j.events_after(0).unwrap();
        assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(events[1].task.as_deref(), Some("a"));
        assert_eq!(events[1].payload, json!({"attempt": 1}));
        assert_eq!(j.events_after(2).unwrap().len(), 1);
        j.integrity_check().unwrap();
    }

    #[test]
    fn the_view_follows_its_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        let mut j = Journal::open(&path).unwrap();
        let change = json!({"t": "start"});
        j.commit(&[("change", Some("a"), &change)], &[("a", "in_progress", &json!({"attempt": 1}))]).unwrap();
        j.commit(&[("change", Some("a"), &change)], &[("a", "done", &json!({}))]).unwrap();
        let rows = j.tasks().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].state.as_str(), rows[0].seq), ("done", 2));
        drop(j);
        let j = Journal::open(&path).unwrap();
        assert_eq!(j.len().unwrap(), 2);
        assert_eq!(j.tasks().unwrap()[0].detail, json!({}));
    }

    #[test]
    fn a_newer_schema_is_refused_not_misread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        drop(Journal::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema'", []).unwrap();
        drop(conn);
        let e = Journal::open(&path).unwrap_err();
        assert!(e.to_string().contains("newer planrun (schema 99"), "{e}");
    }

    #[test]
    fn a_file_that_is_not_a_journal_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        std::fs::write(&path, "this is not a database, just text that is long enough to matter").unwrap();
        let e = Journal::open(&path).unwrap_err();
        assert!(e.to_string().starts_with("cannot open the journal"), "{e}");
    }
}
