//! Job payloads — what the API and the scheduler enqueue for the worker fleet —
//! and **the one list of jobs** ([`for_each_job!`], [`ALL`]).
//!
//! The list drives the worker's job loops (`worker/src/runner.rs`), the
//! queue gauges, the promoter, `/admin/jobs`, dead-job retry
//! (`crate::queue::retry`) and retention purging. A new job is its payload here, its `perform` in
//! `worker/src/jobs/<name>.rs`, and one line in [`for_each_job!`].

mod analyze;
mod maintenance;
mod password_reset;
mod reanalyze;
mod summary;

use std::future::Future;

use sea_orm::{DatabaseConnection, DbErr};
use serde::{Serialize, de::DeserializeOwned};

pub use self::{
    analyze::AnalyzeCheckin,
    maintenance::Maintenance,
    password_reset::SendPasswordReset,
    reanalyze::ReanalyzeCheckin,
    summary::{GenerateSummary, Period},
};

/// How many runs of a job one worker holds at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Work users wait for: `MINDWELL_WORKER_CONCURRENCY` at once.
    Live,
    /// Backfills: `MINDWELL_BACKFILL_CONCURRENCY`, kept low so live jobs keep their latency.
    Backfill,
    /// Upkeep: one at a time.
    Single,
}

/// A kind of background job: its queue, its retry policy and its effect key
/// (rust-lang/crates.io's `BackgroundJob` is the model).
pub trait Job: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    /// Readable name, used in logs and metrics.
    const NAME: &'static str;
    /// The queue it travels on, after the deployment's namespace.
    const QUEUE: &'static str;
    /// Runs after which the job is dead (and its effect, if any, marked failed).
    /// The one retry policy of the job: nothing overrides it.
    const MAX_ATTEMPTS: u32;
    /// How many a worker runs at once.
    const LANE: Lane = Lane::Live;
    /// Whether a user waits for its effect: its queue is polled at the
    /// worker's fastest interval, the others at five times that.
    const AWAITED: bool = false;

    /// The key that makes the job's effect happen once.
    fn dedup_key(&self) -> String;

    /// What an operator's retry of the dead job must reset first (e.g. its
    /// analysis back to `queued`); nothing by default.
    fn before_retry(&self, db: &DatabaseConnection) -> impl Future<Output = Result<(), DbErr>> + Send {
        let _ = db;
        async { Ok(()) }
    }

    /// Ids that identify the job in the audit log of a retry.
    fn audit_ids(&self) -> serde_json::Value {
        serde_json::json!({})
    }
}

/// One job of the list, with its type erased: what operators' tools show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobKind {
    pub name: &'static str,
    pub queue: &'static str,
    pub max_attempts: u32,
}

impl JobKind {
    /// The kind of job `J`.
    pub const fn of<J: Job>() -> Self {
        Self { name: J::NAME, queue: J::QUEUE, max_attempts: J::MAX_ATTEMPTS }
    }
}

/// **The one list of jobs.** Calls macro `$m` with every job type's path, so
/// each place that must know every job (the worker's loops, [`ALL`]) is
/// written once and can never miss one.
#[macro_export]
macro_rules! for_each_job {
    ($m:ident) => {
        $m!(
            $crate::jobs::AnalyzeCheckin,
            $crate::jobs::GenerateSummary,
            $crate::jobs::Maintenance,
            $crate::jobs::ReanalyzeCheckin,
            $crate::jobs::SendPasswordReset
        )
    };
}

macro_rules! kinds {
    ($($job:path),+) => {
        [$(JobKind::of::<$job>()),+]
    };
}

/// Every job, in the list's order.
pub const ALL: &[JobKind] = &for_each_job!(kinds);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_has_its_own_queue_and_at_least_one_attempt() {
        let mut queues: Vec<&str> = ALL.iter().map(|k| k.queue).collect();
        queues.sort_unstable();
        queues.dedup();
        assert_eq!(queues.len(), ALL.len(), "two jobs share a queue");
        assert!(ALL.iter().all(|k| k.max_attempts >= 1));
    }
}
