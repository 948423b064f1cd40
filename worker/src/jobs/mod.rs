//! One file per job, each implementing [`Perform`] for its payload (the
//! payloads and the one list of jobs live in `mindwell_shared::jobs`). The
//! runner (`crate::runner`) serves every job of that list; a job missing here
//! does not compile.

mod analyze;
mod maintenance;
mod password_reset;
mod reanalyze;
mod summary;

use std::future::Future;

use mindwell_shared::jobs::Job;

use crate::context::{Context, JobError, Outcome};

/// What a worker does with a job of this kind.
pub trait Perform: Job {
    /// Runs the job once. Idempotent: a redelivery changes nothing.
    fn perform(&self, ctx: &Context) -> impl Future<Output = Result<Outcome, JobError>> + Send;

    /// The runs so far, this one included, checked against
    /// [`Job::MAX_ATTEMPTS`]: by default the queue's count for this delivery.
    fn attempts(&self, ctx: &Context, delivery: usize) -> impl Future<Output = u32> + Send {
        let _ = ctx;
        async move { u32::try_from(delivery).unwrap_or(u32::MAX) }
    }

    /// What to record once the job is dead (its last run failed with `error`);
    /// nothing by default.
    fn on_dead(&self, ctx: &Context, error: &JobError) -> impl Future<Output = ()> + Send {
        let _ = (ctx, error);
        async {}
    }
}
