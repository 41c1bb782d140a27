//! The journal writer: a thread that owns the journal and commits batches in order. While one
//! commit (and its fsync) is under way, the batches that arrive meanwhile wait and are then
//! committed together in one transaction (group commit), so a busy run pays for far fewer
//! fsyncs. Every batch is acknowledged by number once it is durable; the runner acts on a
//! batch's decisions only after that. Decides nothing.

use super::session::Batch;
use planrun_store::EventLog;
use std::sync::mpsc;
use tokio::sync::mpsc as tmpsc;

/// What the writer reports: the highest batch number now durable, or why writing failed.
pub(crate) type Ack = Result<u64, String>;

#[derive(Debug)]
pub(crate) struct Writer {
    tx: Option<mpsc::Sender<(u64, Batch)>>,
    thread: Option<std::thread::JoinHandle<Box<dyn EventLog>>>,
}

impl Writer {
    /// Starts the writer thread with the journal; acknowledgements arrive on the returned channel.
    pub(crate) fn start(mut journal: Box<dyn EventLog>) -> (Writer, tmpsc::UnboundedReceiver<Ack>) {
        let (tx, rx) = mpsc::channel::<(u64, Batch)>();
        let (ack_tx, ack_rx) = tmpsc::unbounded_channel();
        let thread = std::thread::Builder::new().name("planrun-journal".into()).spawn(move || {
            while let Ok((first_id, first)) = rx.recv() {
                let mut last = first_id;
                let mut batch = first;
                while let Ok((id, more)) = rx.try_recv() {
                    batch.extend(more);
                    last = id;
                }
                let result = batch.write(journal.as_mut()).map(|()| last).map_err(|e| e.to_string());
                let failed = result.is_err();
                if ack_tx.send(result).is_err() || failed {
                    break;
                }
            }
            journal
        });
        match thread {
            Ok(handle) => (Writer { tx: Some(tx), thread: Some(handle) }, ack_rx),
            Err(e) => {
                let (dead_tx, dead_rx) = tmpsc::unbounded_channel();
                let _ = dead_tx.send(Err(format!("cannot start the journal writer: {e}")));
                (Writer { tx: None, thread: None }, dead_rx)
            }
        }
    }

    /// Queues a batch; `false` when the writer is gone (its failure was acknowledged).
    pub(crate) fn send(&self, id: u64, batch: Batch) -> bool {
        self.tx.as_ref().is_some_and(|tx| tx.send((id, batch)).is_ok())
    }

    /// Stops the thread after what is queued and gives the journal back.
    pub(crate) fn stop(mut self) -> Option<Box<dyn EventLog>> {
        drop(self.tx.take());
        self.thread.take().and_then(|t| t.join().ok())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::journal_event::{FinishedRecord, JournalEvent};
    use planrun_store::MemoryJournal;

    fn batch(outcome: &str) -> Batch {
        let event = JournalEvent::Finished(FinishedRecord { outcome: outcome.to_owned() });
        Batch { events: vec![(None, event)], view: Vec::new() }
    }

    fn outcomes(journal: &dyn EventLog) -> Vec<String> {
        journal.events_after(0).unwrap().iter().map(|e| e.payload["outcome"].as_str().unwrap().to_owned()).collect()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn batches_are_committed_in_order_and_acknowledged_once_durable() {
        let (writer, mut acks) = Writer::start(Box::new(MemoryJournal::new()));
        for i in 1..=5u64 {
            assert!(writer.send(i, batch(&format!("b{i}"))));
        }
        let mut durable = 0;
        while durable < 5 {
            durable = acks.recv().await.unwrap().unwrap();
        }
        let journal = writer.stop().unwrap();
        assert_eq!(outcomes(journal.as_ref()), ["b1", "b2", "b3", "b4", "b5"]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_refused_write_is_acknowledged_as_an_error_and_the_writer_stops() {
        let (writer, mut acks) = Writer::start(Box::new(MemoryJournal::refusing_after(1)));
        assert!(writer.send(1, batch("kept")));
        assert_eq!(acks.recv().await.unwrap(), Ok(1));
        assert!(writer.send(2, batch("refused")));
        let err = acks.recv().await.unwrap().unwrap_err();
        assert!(err.contains("no space left on device"), "{err}");
        // The writer is gone: nothing more is taken, and nothing after the failure is written.
        assert!(acks.recv().await.is_none());
        assert!(!writer.send(3, batch("late")));
        let journal = writer.stop().unwrap();
        assert_eq!(outcomes(journal.as_ref()), ["kept"]);
    }
}
