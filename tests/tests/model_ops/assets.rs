//! Model folders for one test, and the worker's `models` commands run against
//! them: shared by model_checks.rs and model_ops.rs.

use std::{
    path::{Path, PathBuf},
    process::Output,
};

use mindwell_tests::{binary, repo_root};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A model directory for one test: the shipped versions linked, `active.json` copied.
pub fn model_dir() -> PathBuf {
    let src = repo_root().join("model-assets");
    let dst = std::env::temp_dir().join(format!("mindwell-models-{}", Uuid::new_v4().simple()));
    for model in ["encoder", "text-heads", "risk"] {
        std::fs::create_dir_all(dst.join(model)).expect("mkdir");
        for entry in std::fs::read_dir(src.join(model)).expect("read") {
            let entry = entry.expect("entry");
            std::os::unix::fs::symlink(entry.path(), dst.join(model).join(entry.file_name())).expect("link");
        }
    }
    std::fs::copy(src.join("active.json"), dst.join("active.json")).expect("copy active.json");
    dst
}

pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json")
}

/// Copies `model`/1.0.0 to `model`/`version`, lets `edit` change its files (by
/// name) and manifest, and records the files' new hashes unless `rehash` is false.
pub fn new_version(
    dir: &Path,
    model: &str,
    version: &str,
    edit: impl FnOnce(&Path, &mut Value),
    rehash: bool,
) -> PathBuf {
    let from = repo_root().join("model-assets").join(model).join("1.0.0");
    let to = dir.join(model).join(version);
    std::fs::create_dir_all(&to).expect("mkdir");
    for entry in std::fs::read_dir(&from).expect("read") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
    let mut manifest = read_json(&to.join("manifest.json"));
    manifest["version"] = json!(version);
    edit(&to, &mut manifest);
    if rehash {
        let files: Vec<String> = manifest["files"].as_object().expect("files").keys().cloned().collect();
        for file in files {
            let bytes = std::fs::read(to.join(&file)).expect("model file");
            manifest["files"][&file]["sha256"] = json!(hex::encode(Sha256::digest(&bytes)));
            manifest["files"][&file]["bytes"] = json!(bytes.len());
        }
    }
    std::fs::write(to.join("manifest.json"), manifest.to_string()).expect("write manifest");
    to
}

pub fn worker_cli(dir: &Path, env: &[(String, String)], args: &[&str]) -> Output {
    std::process::Command::new(binary("mindwell-worker"))
        .args(args)
        .envs(env.iter().cloned())
        .env("MINDWELL_MODEL_DIR", dir)
        .env("ORT_DYLIB_PATH", mindwell_tests::ort_dylib())
        .env("RUST_LOG", "warn")
        .output()
        .expect("run mindwell-worker")
}

pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}
