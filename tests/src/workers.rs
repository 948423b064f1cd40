//! Workers for tests: their configuration (the repository's models, the
//! fetched ONNX Runtime) and an in-process worker stopped on drop.

use std::{path::PathBuf, time::Duration};

use mindwell_shared::config::Backends;
use mindwell_worker::config::WorkerConfig;
use tokio::sync::oneshot;

use crate::repo_root;

/// The ONNX Runtime library: `ORT_DYLIB_PATH`, else the one `scripts/fetch-onnxruntime.sh` fetched.
pub fn ort_dylib() -> PathBuf {
    std::env::var("ORT_DYLIB_PATH").map_or_else(|_| repo_root().join(".ort/libonnxruntime.so.1.31.1"), PathBuf::from)
}

/// A worker configuration pointing at the repository's models and runtime.
pub fn worker_config(backends: Backends) -> WorkerConfig {
    let root = repo_root();
    WorkerConfig {
        backends,
        model_dir: root.join("model-assets"),
        ort_dylib: ort_dylib(),
        concurrency: 4,
        backfill_concurrency: 1,
        inference_threads: 1,
        batch: mindwell_worker::inference::BatchConfig::default(),
        provider: mindwell_worker::inference::ExecutionProvider::Cpu,
        model_poll: Duration::from_secs(1),
        metrics_addr: None,
        poll_interval: Duration::from_millis(50),
        rules: mindwell_worker::config::AlertRules::default(),
        maintenance: mindwell_worker::config::MaintenanceConfig::default(),
        smtp: None,
    }
}

/// An in-process worker, stopped on drop.
pub struct WorkerHandle {
    stop: Option<oneshot::Sender<()>>,
    pub task: Option<tokio::task::JoinHandle<()>>,
}

impl WorkerHandle {
    pub async fn start(config: WorkerConfig) -> Self {
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let result = mindwell_worker::serve(config, async move {
                let _ = rx.await;
            })
            .await;
            if let Err(e) = result {
                panic!("worker failed: {e:#}");
            }
        });
        Self { stop: Some(tx), task: Some(task) }
    }

    /// Asks the worker to stop and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
        }
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
