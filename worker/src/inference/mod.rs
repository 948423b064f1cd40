//! ONNX inference: the text encoder, the text heads and the risk model, run by
//! ONNX Runtime through `ort`.
//!
//! A [`Pipeline`] owns one session of each model (ort's `Session::run` takes
//! `&mut self`); a [`PipelinePool`] holds one pipeline per inference thread; an
//! [`Engine`] batches requests over a pool; [`Models`] holds the active engine,
//! swaps it when `active.json` changes, and runs shadow candidates.

mod batch;
pub mod engine;
pub mod golden;
mod manifest;
mod pipeline;
mod pool;
mod registry;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::OnceLock,
};

pub use batch::BatchConfig;
pub use engine::Engine;
pub use manifest::Manifest;
pub use pipeline::{ExecutionProvider, FEATURE_NAMES, Pipeline, RiskScores, TextScores};
pub use pool::PipelinePool;
pub use registry::{Models, ModelsStatus, Shadow};

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
    #[error("golden example failed: {0}")]
    Golden(String),
    /// One error of a batch, passed on to each request in it.
    #[error("{0}")]
    Batch(String),
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

/// The three models a pipeline runs, by name, in `active.json` and on disk.
pub const MODEL_NAMES: [&str; 3] = ["encoder", "text-heads", "risk"];

/// `active.json`: the active version of each model, and optionally a shadow
/// candidate (`{"models": {"text-heads": "1.1.0"}, "share": 0.1}`).
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveFile {
    pub versions: BTreeMap<String, String>,
    pub shadow: Option<ShadowSpec>,
}

/// A candidate combination scored beside the active one on a share of live jobs.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct ShadowSpec {
    /// Model name to candidate version; models not named stay at their active version.
    pub models: BTreeMap<String, String>,
    /// Share of live jobs (0..=1) the candidate also runs on.
    pub share: f64,
}

impl ActiveFile {
    /// Reads and checks `model_dir/active.json`.
    pub fn read(model_dir: &Path) -> Result<Self, ModelError> {
        let path = model_dir.join("active.json");
        let raw = std::fs::read_to_string(&path).map_err(|e| ModelError::io(&path, e))?;
        Self::parse(&raw).map_err(|e| ModelError::Manifest(format!("{}: {e}", path.display())))
    }

    fn parse(raw: &str) -> Result<Self, String> {
        let mut map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(raw).map_err(|e| e.to_string())?;
        let shadow = match map.remove("shadow") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => {
                let spec: ShadowSpec = serde_json::from_value(v).map_err(|e| format!("shadow: {e}"))?;
                if !(0.0..=1.0).contains(&spec.share) {
                    return Err(format!("shadow.share must be within 0..=1, not {}", spec.share));
                }
                Some(spec)
            }
        };
        let versions = map
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => Ok((k, s)),
                other => Err(format!("the version of {k:?} must be a string, not {other}")),
            })
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        Ok(Self { versions, shadow })
    }

    /// The shadow candidate's versions: the active ones with the candidate's overrides.
    pub fn shadow_versions(&self) -> Option<BTreeMap<String, String>> {
        self.shadow.as_ref().map(|s| {
            let mut v = self.versions.clone();
            v.extend(s.models.clone());
            v
        })
    }
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
        Self::at(model_dir, &ActiveFile::read(model_dir)?.versions)
    }

    /// The folders of `versions` (model name to version) under `model_dir`.
    pub fn at(model_dir: &Path, versions: &BTreeMap<String, String>) -> Result<Self, ModelError> {
        let folder = |model: &str| {
            let version =
                versions.get(model).ok_or_else(|| ModelError::Manifest(format!("no version of {model:?} is named")))?;
            if version.is_empty() || version.contains(['/', '\\']) || version.starts_with('.') {
                return Err(ModelError::Manifest(format!("{model}: {version:?} is not a version")));
            }
            let dir = model_dir.join(model).join(version);
            if !dir.is_dir() {
                return Err(ModelError::Manifest(format!("{model} {version}: no folder {}", dir.display())));
            }
            Ok(dir)
        };
        Ok(Self { encoder: folder("encoder")?, heads: folder("text-heads")?, risk: folder("risk")? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_file_reads_versions_and_an_optional_shadow() {
        let f = ActiveFile::parse(
            r#"{"encoder":"1","text-heads":"1","risk":"1","shadow":{"models":{"risk":"2"},"share":0.5}}"#,
        )
        .expect("parse");
        assert_eq!(f.versions.len(), 3);
        assert_eq!(f.shadow_versions().expect("shadow")["risk"], "2");
        assert!(ActiveFile::parse(r#"{"encoder":"1","shadow":{"models":{},"share":2}}"#).is_err());
        assert!(ActiveFile::parse(r#"{"encoder":1}"#).is_err());
    }
}
