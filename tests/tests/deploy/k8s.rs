//! Reads a kustomization the way `kustomize build` starts: its `resources:`
//! files, its generators and its patches, without building anything.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use serde::Deserialize;
use serde_yaml::Value;

/// Every document of a (multi-document) YAML file; empty documents dropped.
pub fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display())))
        .filter(|v| !v.is_null())
        .collect()
}

/// The string at `v`, or "".
pub fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// The items of the sequence at `v` (none when absent).
pub fn seq(v: &Value) -> &[Value] {
    v.as_sequence().map_or(&[], Vec::as_slice)
}

/// A mapping of strings (labels, selectors).
pub fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_mapping().map(|m| m.iter().map(|(k, v)| (s(k).to_owned(), s(v).to_owned())).collect()).unwrap_or_default()
}

/// `kind/name` of an object.
pub fn id(obj: &Value) -> String {
    format!("{}/{}", s(&obj["kind"]), s(&obj["metadata"]["name"]))
}

/// One kustomization directory.
#[derive(Debug)]
pub struct Kustomization {
    pub dir: PathBuf,
    pub doc: Value,
}

impl Kustomization {
    pub fn load(dir: &Path) -> Self {
        let file = dir.join("kustomization.yaml");
        let mut docs = yaml_docs(&file);
        assert_eq!(docs.len(), 1, "{}: one document", file.display());
        Self { dir: dir.to_owned(), doc: docs.remove(0) }
    }

    /// The entries of `resources:`, as paths.
    pub fn resources(&self) -> Vec<PathBuf> {
        seq(&self.doc["resources"]).iter().map(|r| self.dir.join(s(r))).collect()
    }

    /// The files of `patches:` (inline patches have none).
    pub fn patch_files(&self) -> Vec<PathBuf> {
        seq(&self.doc["patches"]).iter().filter_map(|p| p["path"].as_str()).map(|p| self.dir.join(p)).collect()
    }

    /// The objects of this kustomization's own resource files.
    pub fn own_objects(&self) -> Vec<Value> {
        self.resources().iter().filter(|p| p.is_file()).flat_map(|p| yaml_docs(p)).collect()
    }

    /// Its objects and those of the kustomizations it builds on.
    pub fn all_objects(&self) -> Vec<Value> {
        let mut all = self.own_objects();
        for base in self.resources().iter().filter(|p| p.is_dir()) {
            all.extend(Self::load(base).all_objects());
        }
        all
    }

    /// `name -> keys` of the ConfigMaps or Secrets a generator makes
    /// (`configMapGenerator` or `secretGenerator`).
    pub fn generated(&self, generator: &str) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for g in seq(&self.doc[generator]) {
            let keys = out.entry(s(&g["name"]).to_owned()).or_default();
            for literal in seq(&g["literals"]) {
                keys.insert(s(literal).split_once('=').map_or(s(literal), |(k, _)| k).to_owned());
            }
            for env_file in seq(&g["envs"]) {
                let path = self.dir.join(s(env_file));
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
                    keys.insert(line.split_once('=').map_or(line, |(k, _)| k).to_owned());
                }
            }
            for file in seq(&g["files"]) {
                let (key, path) = s(file).split_once('=').unwrap_or(("", s(file)));
                let key = if key.is_empty() { path.rsplit('/').next().unwrap_or(path) } else { key };
                keys.insert(key.to_owned());
            }
        }
        out
    }

    /// The literal `KEY=value` settings of generator `name`.
    pub fn literals(&self, generator: &str, name: &str) -> BTreeMap<String, String> {
        seq(&self.doc[generator])
            .iter()
            .filter(|g| s(&g["name"]) == name)
            .flat_map(|g| seq(&g["literals"]))
            .filter_map(|l| s(l).split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }
}
