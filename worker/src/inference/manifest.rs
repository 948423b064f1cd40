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
    /// ONNX element type as the manifest spells it: `float32`, `int64`, ...
    #[serde(default)]
    pub dtype: Option<String>,
    /// Dimensions: a number for a fixed size, a name (`"batch"`) for a dynamic one.
    #[serde(default)]
    pub shape: Option<Vec<serde_json::Value>>,
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

    /// Every part the worker and `models check` rely on is present: files (one
    /// `.onnx`), typed and shaped ports, and golden examples with inputs,
    /// expected outputs and a tolerance.
    pub fn validate(&self) -> Result<(), ModelError> {
        let fail = |what: String| Err(ModelError::Manifest(format!("{}: {what}", self.id())));
        if self.name.is_empty() || self.version.is_empty() {
            return fail("name and version must not be empty".into());
        }
        if self.files.keys().filter(|f| f.ends_with(".onnx")).count() != 1 {
            return fail("files must list exactly one .onnx graph".into());
        }
        if self.inputs.is_empty() || self.outputs.is_empty() {
            return fail("inputs and outputs must not be empty".into());
        }
        for port in self.inputs.iter().chain(&self.outputs) {
            if port.dtype.as_deref().and_then(element_type).is_none() {
                return fail(format!("port {:?} needs a known dtype (float32, int64, ...)", port.name));
            }
            match &port.shape {
                Some(dims) if !dims.is_empty() && dims.iter().all(|d| d.is_string() || d.as_u64().is_some()) => {}
                _ => return fail(format!("port {:?} needs a shape of sizes and dimension names", port.name)),
            }
        }
        if self.golden.is_empty() {
            return fail("at least one golden example is required".into());
        }
        for (i, g) in self.golden.iter().enumerate() {
            if !g["input"].is_object() || !g["expected"].is_object() || g["tolerance"].as_f64().is_none() {
                return fail(format!("golden example {i} needs input, expected and tolerance"));
            }
        }
        Ok(())
    }

    /// The graph's real inputs and outputs match the manifest's: every input the
    /// graph needs is declared, every declared port exists with the same element
    /// type, rank and fixed sizes.
    pub fn check_graph(&self, session: &ort::session::Session) -> Result<(), ModelError> {
        let fail = |what: String| Err(ModelError::Manifest(format!("{}: {what}", self.id())));
        for input in session.inputs() {
            if !self.inputs.iter().any(|p| p.name == input.name()) {
                return fail(format!("the graph needs input {:?}, which the manifest does not declare", input.name()));
            }
        }
        let sides = [("input", &self.inputs, session.inputs()), ("output", &self.outputs, session.outputs())];
        for (side, ports, outlets) in sides {
            for port in ports {
                let Some(outlet) = outlets.iter().find(|o| o.name() == port.name) else {
                    return fail(format!("the graph has no {side} {:?}", port.name));
                };
                let (Some(ty), Some(shape)) = (outlet.dtype().tensor_type(), outlet.dtype().tensor_shape()) else {
                    return fail(format!("{side} {:?} is not a tensor", port.name));
                };
                let declared = port.dtype.as_deref().and_then(element_type);
                if declared != Some(ty) {
                    return fail(format!(
                        "{side} {:?} is {ty} in the graph but {:?} in the manifest",
                        port.name,
                        port.dtype.as_deref().unwrap_or("unset")
                    ));
                }
                let dims = port.shape.as_deref().unwrap_or_default();
                let actual: &[i64] = shape;
                if dims.len() != actual.len() {
                    return fail(format!(
                        "{side} {:?} has rank {} in the graph but {} in the manifest",
                        port.name,
                        actual.len(),
                        dims.len()
                    ));
                }
                for (d, &a) in dims.iter().zip(actual) {
                    if let Some(n) = d.as_i64()
                        && a >= 0
                        && a != n
                    {
                        return fail(format!("{side} {:?} has shape {actual:?} in the graph, not {dims:?}", port.name));
                    }
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

/// The ONNX element type a manifest's `dtype` names.
fn element_type(dtype: &str) -> Option<ort::value::TensorElementType> {
    use ort::value::TensorElementType as T;
    Some(match dtype {
        "float32" | "float" => T::Float32,
        "float16" => T::Float16,
        "float64" | "double" => T::Float64,
        "int64" => T::Int64,
        "int32" => T::Int32,
        "int8" => T::Int8,
        "uint8" => T::Uint8,
        "bool" => T::Bool,
        "string" => T::String,
        _ => return None,
    })
}
