//! `manifest.json` of a model folder: the contract between a model and the worker.

use std::{collections::BTreeMap, fs, path::Path};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::ModelError;

/// One file of a model and the hash it must have.
#[derive(Debug, Clone, Deserialize)]
pub struct FileEntry {
    pub sha256: String,
    #[serde(default)]
    pub bytes: Option<u64>,
}

/// A named graph input or output.
#[derive(Debug, Clone, Deserialize)]
pub struct Port {
    pub name: String,
    #[serde(default)]
    pub labels: Option<Vec<String>>,
}

/// The parts of a manifest the worker relies on.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub files: BTreeMap<String, FileEntry>,
    pub inputs: Vec<Port>,
    pub outputs: Vec<Port>,
    #[serde(default)]
    pub tokenizer: Option<String>,
    #[serde(default)]
    pub max_length: Option<usize>,
    #[serde(default)]
    pub golden: Vec<serde_json::Value>,
    /// Model name to the exact version this one was built on.
    #[serde(default)]
    pub requires: BTreeMap<String, String>,
}

impl Manifest {
    /// Reads `dir/manifest.json` and checks every listed file's SHA-256.
    pub fn load_verified(dir: &Path) -> Result<Self, ModelError> {
        let path = dir.join("manifest.json");
        let raw = fs::read_to_string(&path).map_err(|e| ModelError::io(&path, e))?;
        let manifest: Manifest =
            serde_json::from_str(&raw).map_err(|e| ModelError::Manifest(format!("{}: {e}", path.display())))?;
        for (file, entry) in &manifest.files {
            let file_path = dir.join(file);
            let bytes = fs::read(&file_path).map_err(|e| ModelError::io(&file_path, e))?;
            let actual = hex::encode(Sha256::digest(&bytes));
            if !actual.eq_ignore_ascii_case(&entry.sha256) {
                return Err(ModelError::Checksum {
                    file: file_path.display().to_string(),
                    expected: entry.sha256.clone(),
                    actual,
                });
            }
        }
        Ok(manifest)
    }

    /// The labels of output `name`, as the manifest lists them.
    pub fn labels(&self, output: &str) -> Result<Vec<String>, ModelError> {
        self.outputs
            .iter()
            .find(|p| p.name == output)
            .and_then(|p| p.labels.clone())
            .ok_or_else(|| ModelError::Manifest(format!("{}: output {output:?} has no labels", self.name)))
    }

    /// Refuses a combination this model was not built for.
    pub fn check_requires(&self, others: &[&Manifest]) -> Result<(), ModelError> {
        for (name, version) in &self.requires {
            match others.iter().find(|m| &m.name == name) {
                Some(m) if &m.version == version => {}
                Some(m) => {
                    return Err(ModelError::Manifest(format!(
                        "{} needs {name} {version}, but {name} {} is active",
                        self.id(),
                        m.version
                    )));
                }
                None => {
                    return Err(ModelError::Manifest(format!(
                        "{} needs {name} {version}, which is not loaded",
                        self.id()
                    )));
                }
            }
        }
        Ok(())
    }

    /// `name@version`, as recorded in `model_version`.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}
