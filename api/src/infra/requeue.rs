//! Analyses whose enqueue failed (Redis down), enqueued again from this
//! process as soon as the queue takes them.
//!
//! The check-in and its `queued` analysis are already stored; this only makes
//! the analysis run soon after Redis is back instead of at the next stale
//! sweep (minutes). A job still held here when the process stops, or one that
//! does not fit, is left to the sweeper, which enqueues every analysis still
//! `queued` after `MINDWELL_STALE_AFTER_SECS`: the database stays the source
//! of truth, and analyses are idempotent, so enqueueing one twice is harmless.

use std::time::Duration;

use mindwell_shared::{
    jobs::{AnalyzeCheckin, Job},
    queue::QueueConn,
};
use tokio::sync::mpsc;

/// Jobs held at most; beyond, the sweeper takes over.
const CAPACITY: usize = 10_000;
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// A handle on the retry task; cheap to clone.
#[derive(Debug, Clone)]
pub struct Requeue(mpsc::Sender<AnalyzeCheckin>);

impl Requeue {
    /// Starts the task that pushes held jobs, in order, retrying with backoff.
    pub fn start(queue: QueueConn) -> Self {
        let (tx, mut rx) = mpsc::channel::<AnalyzeCheckin>(CAPACITY);
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                let mut backoff = BACKOFF_MIN;
                while let Err(e) = queue.push(job.clone()).await {
                    tracing::debug!(analysis_id = %job.analysis_id, error = %mindwell_shared::Chain(&e), "enqueue retry failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
                metrics::counter!("mindwell_enqueue_retried_total", "job" => <AnalyzeCheckin as Job>::NAME)
                    .increment(1);
            }
        });
        Self(tx)
    }

    /// Holds `job` for another try; `false` when full (the sweeper then finds it).
    pub fn later(&self, job: AnalyzeCheckin) -> bool {
        self.0.try_send(job).is_ok()
    }
}
