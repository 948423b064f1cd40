//! docker/Dockerfile builds every binary the workspace defines into a non-root
//! runtime image, and the worker's image carries ONNX Runtime and the models.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use crate::{BINARIES, dockerfile, dockerfile::Copy, read, root};

/// The `name` under `[package]` and under each `[[bin]]` of a manifest, with
/// whether it has `src/main.rs`; a package's binaries.
fn package_bins(dir: &Path) -> (String, BTreeSet<String>) {
    let text = std::fs::read_to_string(dir.join("Cargo.toml")).expect("member Cargo.toml");
    let (mut section, mut package, mut bins) = (String::new(), String::new(), BTreeSet::new());
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_owned();
        } else if let Some(value) = line.strip_prefix("name").map(str::trim).and_then(|r| r.strip_prefix('=')) {
            let value = value.trim().trim_matches('"').to_owned();
            match section.as_str() {
                "[package]" => package = value,
                "[[bin]]" => {
                    bins.insert(value);
                }
                _ => {}
            }
        }
    }
    if dir.join("src/main.rs").is_file() {
        bins.insert(package.clone());
    }
    (package, bins)
}

/// Every workspace package and its binaries.
fn workspace_packages() -> BTreeMap<String, BTreeSet<String>> {
    let manifest = read("Cargo.toml");
    let members = manifest.split_once("members").and_then(|(_, r)| r.split_once(']')).expect("workspace members").0;
    members.split('"').skip(1).step_by(2).map(|member| package_bins(&root().join(member))).collect()
}

#[test]
fn the_dockerfile_builds_every_binary_into_a_non_root_runtime_image() {
    let root = root();
    let df = dockerfile();
    let packages = workspace_packages();
    let all_bins: BTreeSet<&str> = packages.values().flatten().map(String::as_str).collect();
    assert!(df.stages.iter().any(|s| s.base == "rust:1.95-bookworm"), "no rust:1.95-bookworm build stage");

    for (target, binary) in BINARIES {
        let stage = df.stage(target).unwrap_or_else(|| panic!("no Dockerfile stage {target}"));
        let (package, bins) = package_bins(&root.join(target));
        assert_eq!(package, binary, "{target}/Cargo.toml names another package");
        assert!(bins.contains(binary), "{target}/ builds no binary {binary}");
        let lineage = df.lineage(target);
        let image = &lineage.last().expect("a stage").base;
        assert_eq!(image, "debian:bookworm-slim", "{target}: runtime image");

        let entrypoint: Vec<String> = serde_json::from_str(df.effective(target, "ENTRYPOINT").unwrap_or("[]"))
            .unwrap_or_else(|e| panic!("{target}: ENTRYPOINT is not exec form: {e}"));
        let exe = entrypoint.first().and_then(|p| p.rsplit('/').next()).unwrap_or_default();
        assert_eq!(exe, binary, "{target}: ENTRYPOINT runs another binary");
        let copied = stage.all("COPY").map(Copy::parse).any(|c| c.from.is_some() && c.dest.ends_with(binary));
        assert!(copied, "{target}: does not copy {binary} from the build");

        let user = df.effective(target, "USER").unwrap_or_else(|| panic!("{target}: no USER: it would run as root"));
        let user = user.split(':').next().unwrap_or_default();
        assert!(user != "root" && user != "0", "{target}: runs as root");
        let health = df.effective(target, "HEALTHCHECK").unwrap_or_else(|| panic!("{target}: no HEALTHCHECK"));
        assert!(health.contains("/health"), "{target}: HEALTHCHECK does not ask /health");
    }

    for command in df.stages.iter().flat_map(|s| s.all("RUN")).flat_map(|run| run.split("&&")) {
        let words: Vec<&str> = command.split_whitespace().collect();
        for pair in words.windows(2).filter(|_| words.first() == Some(&"cargo")) {
            if pair[0] == "-p" {
                assert!(packages.contains_key(pair[1]), "RUN builds unknown package {}", pair[1]);
            }
        }
        for word in words.iter().filter_map(|w| w.strip_prefix("target/release/")) {
            assert!(all_bins.contains(word), "RUN copies unknown binary {word}");
        }
    }

    let ignored: Vec<String> = read(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.contains('*'))
        .map(|l| l.trim_end_matches('/').to_owned())
        .collect();
    assert!(ignored.iter().any(|p| p == "target"), ".dockerignore must keep target/ out of the context");
    for stage in &df.stages {
        for copy in stage.all("COPY").map(Copy::parse).filter(|c| c.from.is_none()) {
            for source in &copy.sources {
                assert!(root.join(source).exists(), "stage {}: COPY {source}: no such path", stage.name);
                let path = source.trim_end_matches('/');
                let hidden = ignored.iter().find(|p| path == p.as_str() || path.starts_with(&format!("{p}/")));
                assert!(hidden.is_none(), "stage {}: COPY {source} is excluded by .dockerignore", stage.name);
                assert!(!path.starts_with("model-assets/training"), "COPY {source}: training stays out of images");
            }
        }
    }
}

#[test]
fn the_worker_image_carries_onnx_runtime_and_every_active_model() {
    let df = dockerfile();
    let env = df.env("worker");
    let script = read("scripts/fetch-onnxruntime.sh");
    let version = script
        .lines()
        .find_map(|l| l.strip_prefix("ORT_VERSION="))
        .map(|v| v.trim_matches('"'))
        .expect("ORT_VERSION in the fetch script");
    let dylib = env.get("ORT_DYLIB_PATH").expect("worker sets ORT_DYLIB_PATH");
    assert!(
        dylib.ends_with(&format!("libonnxruntime.so.{version}")),
        "ORT_DYLIB_PATH {dylib}: not ONNX Runtime {version}"
    );
    let copies: Vec<Copy> = df.stage("worker").expect("worker stage").all("COPY").map(Copy::parse).collect();
    assert!(copies.iter().any(|c| c.from.is_some() && &c.dest == dylib), "nothing is copied to ORT_DYLIB_PATH {dylib}");
    let runs_script = df.stages.iter().flat_map(|s| s.all("RUN")).any(|r| r.contains("scripts/fetch-onnxruntime.sh"));
    assert!(runs_script, "ONNX Runtime is not fetched with scripts/fetch-onnxruntime.sh");

    let model_dir = env.get("MINDWELL_MODEL_DIR").expect("worker sets MINDWELL_MODEL_DIR").trim_end_matches('/');
    let shipped = |source: &str| {
        copies.iter().any(|c| {
            c.from.is_none()
                && c.sources.iter().any(|s| s.trim_end_matches('/') == source)
                && c.dest.trim_end_matches('/') == format!("{model_dir}/{}", source.trim_start_matches("model-assets/"))
        })
    };
    assert!(shipped("model-assets/active.json"), "active.json is not in {model_dir}");
    let active: serde_json::Value = serde_json::from_str(&read("model-assets/active.json")).expect("active.json");
    for (model, version) in active.as_object().expect("active.json is an object") {
        let version = version.as_str().expect("version");
        assert!(
            shipped(&format!("model-assets/{model}")) || shipped(&format!("model-assets/{model}/{version}")),
            "model {model} {version} is not copied into {model_dir}"
        );
    }
}
