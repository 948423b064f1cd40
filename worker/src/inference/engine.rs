//! One combination of model versions, loaded, proven on its golden examples and
//! served through batchers.

use std::{collections::BTreeMap, path::Path, sync::Arc};

use ndarray::Array2;

use super::{
    ActiveModels, BatchConfig, ExecutionProvider, ModelError, Pipeline, PipelinePool, RiskScores, TextScores,
    batch::Batcher, golden,
};

/// How the worker loads models.
#[derive(Debug, Clone, Copy)]
pub struct EngineSettings {
    /// Pipelines (sessions of each model) per engine: one per inference thread.
    pub pipelines: usize,
    /// ONNX Runtime intra-op threads per session.
    pub threads_each: usize,
    pub provider: ExecutionProvider,
    pub batch: BatchConfig,
}

/// A loaded combination of the three models.
#[derive(Debug)]
pub struct Engine {
    /// `encoder@v+text-heads@v+risk@v`.
    pub version: Arc<str>,
    /// Model name to version.
    pub versions: BTreeMap<String, String>,
    pool: PipelinePool,
    text: Batcher<String, TextScores>,
    risk: Batcher<[f32; 9], RiskScores>,
}

fn text_batch(p: &mut Pipeline, notes: &[String]) -> Result<Vec<TextScores>, ModelError> {
    let refs: Vec<&str> = notes.iter().map(String::as_str).collect();
    p.text_scores(&refs)
}

fn risk_batch(p: &mut Pipeline, rows: &[[f32; 9]]) -> Result<Vec<RiskScores>, ModelError> {
    p.risk(rows)
}

impl Engine {
    /// Loads `versions` from `model_dir`, runs every golden example on one of the
    /// pipelines, and starts the batchers. Blocks a blocking-pool thread while
    /// loading; call from within a tokio runtime.
    pub async fn load(
        model_dir: &Path,
        versions: &BTreeMap<String, String>,
        settings: EngineSettings,
    ) -> Result<Self, ModelError> {
        let active = ActiveModels::at(model_dir, versions)?;
        let pool = tokio::task::spawn_blocking(move || {
            let mut pipelines = Vec::with_capacity(settings.pipelines.max(1));
            for _ in 0..settings.pipelines.max(1) {
                pipelines.push(Pipeline::load_on(&active, settings.threads_each, settings.provider)?);
            }
            if let Some(first) = pipelines.first_mut() {
                golden::check_all(first)?;
            }
            Ok::<_, ModelError>(PipelinePool::from_pipelines(pipelines))
        })
        .await
        .map_err(|e| ModelError::Runtime(format!("model loading task failed: {e}")))??;
        let version = pool.version.clone();
        Ok(Self {
            text: Batcher::spawn(pool.clone(), settings.batch, "text", version.clone(), text_batch),
            risk: Batcher::spawn(pool.clone(), settings.batch, "risk", version.clone(), risk_batch),
            versions: versions.clone(),
            version,
            pool,
        })
    }

    /// Sentiment, valence and emotions of one note, batched with concurrent calls.
    pub async fn text(&self, note: String) -> Result<TextScores, ModelError> {
        self.text.submit(note).await
    }

    /// Stress levels for one feature row, batched with concurrent calls.
    pub async fn risk(&self, features: [f32; 9]) -> Result<RiskScores, ModelError> {
        self.risk.submit(features).await
    }

    /// Embeddings of `texts` in one run (for summaries).
    pub async fn embed(&self, texts: Vec<String>) -> Result<Array2<f32>, ModelError> {
        self.pool
            .run(move |p| {
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                p.embed(&refs).map(|(e, _)| e)
            })
            .await
    }
}
