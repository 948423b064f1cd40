//! A pool of pipelines, one per inference thread, lent out to blocking tasks.

use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{ActiveModels, ExecutionProvider, ModelError, Pipeline};

/// Pipelines shared by the worker's jobs; inference runs on the blocking pool so
/// the async threads keep serving the queue.
#[derive(Debug, Clone)]
pub struct PipelinePool {
    idle: Arc<Mutex<Vec<Pipeline>>>,
    permits: Arc<Semaphore>,
    /// The version every pipeline in the pool reports.
    pub version: Arc<str>,
}

impl PipelinePool {
    /// Loads `size` pipelines of the active models.
    pub fn load(active: &ActiveModels, size: usize, threads_each: usize) -> Result<Self, ModelError> {
        Self::load_on(active, size, threads_each, ExecutionProvider::Cpu)
    }

    /// [`PipelinePool::load`] on execution provider `ep`.
    pub fn load_on(
        active: &ActiveModels,
        size: usize,
        threads_each: usize,
        ep: ExecutionProvider,
    ) -> Result<Self, ModelError> {
        let size = size.max(1);
        let pipelines =
            (0..size).map(|_| Pipeline::load_on(active, threads_each, ep)).collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_pipelines(pipelines))
    }

    /// A pool of already loaded pipelines (all of one version).
    pub fn from_pipelines(pipelines: Vec<Pipeline>) -> Self {
        let version: Arc<str> = pipelines.first().map(|p| p.version.clone()).unwrap_or_default().into();
        let size = pipelines.len();
        Self { idle: Arc::new(Mutex::new(pipelines)), permits: Arc::new(Semaphore::new(size)), version }
    }

    /// Runs `f` on a free pipeline, on tokio's blocking pool.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ModelError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Pipeline) -> Result<T, ModelError> + Send + 'static,
    {
        let permit = self.permit().await?;
        self.run_permitted(permit, f).await
    }

    /// Waits for a pipeline to be free.
    pub(super) async fn permit(&self) -> Result<OwnedSemaphorePermit, ModelError> {
        self.permits.clone().acquire_owned().await.map_err(|_| ModelError::Runtime("pipeline pool closed".into()))
    }

    /// Runs `f` on the free pipeline that `permit` stands for.
    pub(super) async fn run_permitted<T, F>(&self, permit: OwnedSemaphorePermit, f: F) -> Result<T, ModelError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Pipeline) -> Result<T, ModelError> + Send + 'static,
    {
        let idle = self.idle.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut pipeline = idle
                .lock()
                .map_err(|_| ModelError::Runtime("pipeline pool poisoned".into()))?
                .pop()
                .ok_or_else(|| ModelError::Runtime("no idle pipeline".into()))?;
            let out = f(&mut pipeline);
            if let Ok(mut idle) = idle.lock() {
                idle.push(pipeline);
            }
            out
        })
        .await
        .map_err(|e| ModelError::Runtime(format!("inference task failed: {e}")))?
    }
}
