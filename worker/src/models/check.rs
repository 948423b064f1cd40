//! `models check [DIR]`: a data scientist's pre-commit step.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::Args;
use crate::{
    config::WorkerConfig,
    inference::{self, ActiveFile, ActiveModels, MODEL_NAMES, Manifest, Pipeline, golden},
};

pub(super) fn run(config: &WorkerConfig, args: &Args) -> anyhow::Result<()> {
    inference::runtime(&config.ort_dylib)?;
    let dir = args.positional.first().map_or_else(|| config.model_dir.clone(), PathBuf::from);
    if dir.join("manifest.json").is_file() {
        let line = check_folder(&config.model_dir, &dir).with_context(|| format!("FAILED {}", dir.display()))?;
        println!("ok   {line}");
        return Ok(());
    }
    if !dir.join("active.json").is_file() {
        bail!("{}: neither a model folder (manifest.json) nor a model directory (active.json)", dir.display());
    }
    let mut failed = 0;
    for model in MODEL_NAMES {
        let mut versions: Vec<PathBuf> = std::fs::read_dir(dir.join(model))
            .with_context(|| format!("{}/{model}", dir.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.join("manifest.json").is_file())
            .collect();
        versions.sort();
        for folder in versions {
            match check_folder(&dir, &folder) {
                Ok(line) => println!("ok   {line}"),
                Err(e) => {
                    failed += 1;
                    println!("FAIL {}: {e:#}", folder.display());
                }
            }
        }
    }
    let file = ActiveFile::read(&dir)?;
    let mut combos = vec![("active", file.versions.clone())];
    combos.extend(file.shadow_versions().map(|v| ("shadow", v)));
    for (what, versions) in combos {
        let result = ActiveModels::at(&dir, &versions)
            .and_then(|m| Pipeline::load(&m, 1))
            .and_then(|mut p| golden::check_all(&mut p).map(|n| (p.version.clone(), n)));
        match result {
            Ok((version, n)) => println!("ok   {what} combination {version}: {n} golden examples pass"),
            Err(e) => {
                failed += 1;
                println!("FAIL {what} combination {versions:?}: {e}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} check(s) failed");
    }
    Ok(())
}

/// Checks one model folder with the companions `model_dir` has: the versions its
/// manifest `requires`, else the active ones.
fn check_folder(model_dir: &Path, folder: &Path) -> anyhow::Result<String> {
    let manifest = Manifest::load_verified(folder)?;
    manifest.validate()?;
    let mut versions = ActiveFile::read(model_dir)?.versions;
    versions.extend(manifest.requires.clone());
    let mut models = ActiveModels::at(model_dir, &versions)?;
    let slot = match manifest.name.as_str() {
        "encoder" => &mut models.encoder,
        "text-heads" => &mut models.heads,
        "risk" => &mut models.risk,
        other => bail!("unknown model {other:?}: expected one of {MODEL_NAMES:?}"),
    };
    folder.clone_into(slot);
    let mut pipeline = Pipeline::load_to_check(&models, &manifest.name)?;
    let n = golden::check_model(&mut pipeline, &manifest.name)?;
    Ok(format!(
        "{}: manifest complete, {} files match their sha256, graph inputs and outputs match, {n} golden examples pass",
        manifest.id(),
        manifest.files.len()
    ))
}
