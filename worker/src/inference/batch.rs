//! Dynamic batching: requests wait up to `max_wait` (Triton's `max_queue_delay`)
//! for others to join them, up to `max_batch`, and run through the model
//! together; while every pipeline is busy, the waiting batch keeps filling.

use std::{sync::Arc, time::Duration};

use tokio::sync::{mpsc, oneshot};

use super::{ModelError, Pipeline, PipelinePool};

/// How requests are gathered into batches.
#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    /// Most requests in one run of a model.
    pub max_batch: usize,
    /// Longest a request waits for others before its batch runs.
    pub max_wait: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self { max_batch: 32, max_wait: Duration::from_millis(2) }
    }
}

type Reply<O> = oneshot::Sender<Result<O, ModelError>>;
type RunBatch<I, O> = fn(&mut Pipeline, &[I]) -> Result<Vec<O>, ModelError>;

/// A queue of requests in front of one model function; cheap to clone. The
/// gathering task ends when the last handle is dropped.
#[derive(Debug)]
pub(super) struct Batcher<I, O> {
    tx: mpsc::Sender<(I, Reply<O>)>,
}

impl<I: Send + 'static, O: Send + 'static> Batcher<I, O> {
    /// Starts the gathering task; `model` and `version` label its metrics.
    pub(super) fn spawn(
        pool: PipelinePool,
        config: BatchConfig,
        model: &'static str,
        version: Arc<str>,
        run: RunBatch<I, O>,
    ) -> Self {
        let max = config.max_batch.max(1);
        let (tx, mut rx) = mpsc::channel::<(I, Reply<O>)>(max * 64);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                let deadline = tokio::time::Instant::now() + config.max_wait;
                while batch.len() < max {
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(item)) => batch.push(item),
                        Ok(None) | Err(_) => break,
                    }
                }
                let permit = loop {
                    tokio::select! {
                        biased;
                        permit = pool.permit() => break permit,
                        Some(item) = rx.recv(), if batch.len() < max => batch.push(item),
                    }
                };
                let pool = pool.clone();
                let version = version.clone();
                tokio::spawn(async move {
                    let (inputs, replies): (Vec<I>, Vec<Reply<O>>) = batch.into_iter().unzip();
                    let size = inputs.len();
                    let started = std::time::Instant::now();
                    let result = match permit {
                        Ok(permit) => pool.run_permitted(permit, move |p| run(p, &inputs)).await,
                        Err(e) => Err(e),
                    };
                    let labels = [("model", model.to_owned()), ("version", version.to_string())];
                    metrics::histogram!("mindwell_inference_duration_seconds", &labels)
                        .record(started.elapsed().as_secs_f64());
                    #[expect(clippy::cast_precision_loss, reason = "a batch size")]
                    metrics::histogram!("mindwell_inference_batch_size", &labels).record(size as f64);
                    match result {
                        Ok(outputs) if outputs.len() == replies.len() => {
                            for (reply, out) in replies.into_iter().zip(outputs) {
                                let _ = reply.send(Ok(out));
                            }
                        }
                        Ok(outputs) => {
                            let msg = format!("{model}: {} results for {} inputs", outputs.len(), replies.len());
                            for reply in replies {
                                let _ = reply.send(Err(ModelError::Output(msg.clone())));
                            }
                        }
                        Err(e) => {
                            let msg = e.to_string();
                            for reply in replies {
                                let _ = reply.send(Err(ModelError::Batch(msg.clone())));
                            }
                        }
                    }
                });
            }
        });
        Self { tx }
    }

    /// Runs `input` in the next batch and waits for its result.
    pub(super) async fn submit(&self, input: I) -> Result<O, ModelError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send((input, reply)).await.map_err(|_| ModelError::Runtime("batcher stopped".into()))?;
        rx.await.map_err(|_| ModelError::Runtime("batch dropped".into()))?
    }
}
