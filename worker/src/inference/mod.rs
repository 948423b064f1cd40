//! ONNX inference: the text encoder, the text heads and the risk model, run by
//! ONNX Runtime through `ort`.
//!
//! A [`Pipeline`] owns one session of each model (ort's `Session::run` takes
//! `&mut self`); a [`PipelinePool`] holds one pipeline per inference thread.

mod manifest;
mod pipeline;
mod pool;

use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
};

pub use manifest::Manifest;
pub use pipeline::{FEATURE_NAMES, Pipeline, RiskScores, TextScores};
pub use pool::PipelinePool;

/// Why a model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("manifest: {0}")]
    Manifest(String),
    #[error("{file}: sha256 {actual} does not match the manifest's {expected}")]
    Checksum { file: String, expected: String, actual: String },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("model output: {0}")]
    Output(String),
}

impl ModelError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.display().to_string(), source }
    }
}

impl<T> From<ort::Error<T>> for ModelError {
    fn from(e: ort::Error<T>) -> Self {
        Self::Runtime(e.to_string())
    }
}

static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

/// Loads ONNX Runtime from `dylib` once per process and returns its environment.
///
/// Uses `ort::init_from`, which reports a missing or incompatible library as an
/// error (a bare `init` with `ORT_DYLIB_PATH` would panic).
pub fn runtime(dylib: &Path) -> Result<&'static ort::environment::Environment, ModelError> {
    ENVIRONMENT
        .get_or_init(|| {
            if !dylib.is_file() {
                return Err(format!(
                    "{} not found: run scripts/fetch-onnxruntime.sh or set ORT_DYLIB_PATH",
                    dylib.display()
                ));
            }
            ort::init_from(dylib)
                .map_err(|e| format!("cannot load {}: {e}", dylib.display()))?
                .with_name("mindwell-worker")
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| ModelError::Runtime(e.clone()))
}

/// The folders of the active version of each model, from `model_dir/active.json`.
#[derive(Debug, Clone)]
pub struct ActiveModels {
    pub encoder: PathBuf,
    pub heads: PathBuf,
    pub risk: PathBuf,
}

impl ActiveModels {
    /// Reads `active.json` (`{"encoder": "1.0.0", "text-heads": "1.0.0", "risk": "1.0.0"}`).
    pub fn resolve(model_dir: &Path) -> Result<Self, ModelError> {
        let path = model_dir.join("active.json");
        let raw = std::fs::read_to_string(&path).map_err(|e| ModelError::io(&path, e))?;
        let active: std::collections::BTreeMap<String, String> =
            serde_json::from_str(&raw).map_err(|e| ModelError::Manifest(format!("{}: {e}", path.display())))?;
        let folder = |model: &str| {
            active
                .get(model)
                .map(|version| model_dir.join(model).join(version))
                .ok_or_else(|| ModelError::Manifest(format!("{}: no active version of {model:?}", path.display())))
        };
        Ok(Self { encoder: folder("encoder")?, heads: folder("text-heads")?, risk: folder("risk")? })
    }
}
