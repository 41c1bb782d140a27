//! The journal against `kill -9`: a writer process appends batches of events and reports each
//! committed batch on stdout; it is killed with SIGKILL at a random moment, 25 times. After each
//! kill the journal must open, pass SQLite's integrity check, hold a gapless sequence, contain
//! every batch the writer reported committed, and never part of a batch.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use planrun_store::Journal;
use serde_json::json;
use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::time::Duration;

const WRITER_ENV: &str = "PLANRUN_STORE_TEST_WRITER";
const BATCH: i64 = 3;

/// Not a test of its own: when the parent test runs this binary with `WRITER_ENV` set, this
/// function is the writer process. Otherwise it returns at once.
#[test]
fn writer_process() {
    let Ok(path) = std::env::var(WRITER_ENV) else { return };
    let mut journal = Journal::open(std::path::Path::new(&path)).unwrap();
    let mut out = std::io::stdout();
    loop {
        let next = journal.events_after(0).map(|e| e.len() as i64).unwrap_or(0) + 1;
        let payloads: Vec<serde_json::Value> = (0..BATCH).map(|k| json!({"n": next + k})).collect();
        let events: Vec<(&str, Option<&str>, &serde_json::Value)> =
            payloads.iter().map(|p| ("tick", Some("t"), p)).collect();
        let seqs = journal.append_all(&events).unwrap();
        writeln!(out, "acked {}", seqs.last().unwrap()).unwrap();
        out.flush().unwrap();
    }
}

/// A cheap deterministic sequence of delays, so every run of the suite kills at different moments
/// within a run but the suite itself is repeatable.
fn delays() -> impl Iterator<Item = Duration> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    std::iter::from_fn(move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        Some(Duration::from_millis(20 + x % 180))
    })
}

#[test]
fn kill_9_at_random_moments_loses_nothing_committed_and_tears_no_batch() {
    if std::env::var(WRITER_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    let exe = std::env::current_exe().unwrap();
    let mut total_acked = 0;
    for (round, delay) in delays().take(25).enumerate() {
        let mut child = Command::new(&exe)
            .args(["writer_process", "--exact", "--nocapture", "--test-threads=1"])
            .env(WRITER_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| l.strip_prefix("acked ").and_then(|n| n.parse::<i64>().ok()))
                .max()
                .unwrap_or(0)
        });
        std::thread::sleep(delay);
        // SIGKILL: no destructor, no flush, no goodbye.
        child.kill().unwrap();
        child.wait().unwrap();
        let acked = reader.join().unwrap();

        let journal = Journal::open(&path).unwrap_or_else(|e| panic!("round {round}: {e}"));
        journal.integrity_check().unwrap_or_else(|e| panic!("round {round}: {e}"));
        let events = journal.events_after(0).unwrap_or_else(|e| panic!("round {round}: {e}"));
        let last = events.last().map_or(0, |e| e.seq);
        assert!(last >= acked, "round {round}: batch {acked} was reported committed but the journal ends at {last}");
        assert_eq!(last % BATCH, 0, "round {round}: a batch was torn; the journal ends at {last}");
        for e in &events {
            assert_eq!(e.payload, json!({"n": e.seq}), "round {round}: event {} holds the wrong payload", e.seq);
        }
        total_acked = acked.max(total_acked);
    }
    println!("journal after 25 kills: {total_acked} events acknowledged");
    assert!(total_acked > 0, "the writer never committed anything; the test proved nothing");
}
