//! An operator's retry of a dead job, whatever its queue: the payload is read
//! back as its job type (found through the one list of jobs), what the job
//! affects is reset ([`Job::before_retry`]), and it is enqueued again.

use sea_orm::{DatabaseConnection, DbErr};

use super::{QueueConn, QueueError};
use crate::jobs::Job;

/// Why a dead job could not be retried.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error("no job of the list travels on queue {0:?}")]
    UnknownQueue(String),
    #[error("the dead job's payload is not readable")]
    Payload(#[from] serde_json::Error),
    #[error("database")]
    Database(#[from] DbErr),
    #[error("queue")]
    Queue(#[from] QueueError),
}

/// Enqueues again the dead job of queue `queue` whose payload is `payload`;
/// returns the ids that identify it in the audit log ([`Job::audit_ids`]).
pub async fn retry_dead(
    conn: &QueueConn,
    db: &DatabaseConnection,
    queue: &str,
    payload: &str,
) -> Result<serde_json::Value, RetryError> {
    macro_rules! by_queue {
        ($($job:path),+) => {
            $(if queue == <$job as Job>::QUEUE {
                return retry::<$job>(conn, db, payload).await;
            })+
        };
    }
    crate::for_each_job!(by_queue);
    Err(RetryError::UnknownQueue(queue.to_owned()))
}

async fn retry<J: Job>(
    conn: &QueueConn,
    db: &DatabaseConnection,
    payload: &str,
) -> Result<serde_json::Value, RetryError> {
    let job: J = serde_json::from_str(payload)?;
    job.before_retry(db).await?;
    let ids = job.audit_ids();
    conn.push(job).await?;
    Ok(ids)
}
