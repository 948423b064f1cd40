//! Golden examples: inputs with the outputs the training code produced, which a
//! model must reproduce (within each example's tolerance) before it serves.

use serde_json::Value;

use super::{ModelError, Pipeline};

/// Runs the golden examples of model `name` (`encoder`, `text-heads`, `risk`)
/// through `pipeline`; returns how many passed, or the first that failed.
pub fn check_model(pipeline: &mut Pipeline, name: &str) -> Result<usize, ModelError> {
    let manifest = pipeline
        .manifests
        .iter()
        .find(|m| m.name == name)
        .cloned()
        .ok_or_else(|| ModelError::Manifest(format!("the pipeline has no model {name:?}")))?;
    for (i, golden) in manifest.golden.iter().enumerate() {
        let tol = golden["tolerance"].as_f64().unwrap_or(1e-3);
        let input = &golden["input"];
        let expected = &golden["expected"];
        let what = |field: &str| format!("{} golden example {i}, {field}", manifest.id());
        match name {
            "encoder" => {
                let text = input["text"].as_str().ok_or_else(|| ModelError::Golden(what("input.text is missing")))?;
                if let Some(ids) = expected.get("input_ids") {
                    let actual: Vec<f64> = pipeline.token_ids(text)?.into_iter().map(f64::from).collect();
                    close(&what("input_ids"), &actual, ids, 0.0)?;
                }
                let (emb, _) = pipeline.embed(&[text])?;
                let row: Vec<f64> = emb.row(0).iter().map(|v| f64::from(*v)).collect();
                let first8 = expected.get("embedding_first8").unwrap_or(&Value::Null);
                close(&what("embedding_first8"), row.get(..8).unwrap_or(&row), first8, tol)?;
            }
            "text-heads" => {
                let text = input["text"].as_str().ok_or_else(|| ModelError::Golden(what("input.text is missing")))?;
                let scores = pipeline.text_scores(&[text])?.remove(0);
                let probs = |v: &[(String, f32)]| v.iter().map(|(_, p)| f64::from(*p)).collect::<Vec<_>>();
                close(&what("sentiment"), &probs(&scores.sentiment), &expected["sentiment"], tol)?;
                close(&what("valence"), &[f64::from(scores.valence)], &expected["valence"], tol)?;
                close(&what("emotions"), &probs(&scores.emotions), &expected["emotions"], tol)?;
            }
            "risk" => {
                let features = floats(&input["features"]).ok_or_else(|| ModelError::Golden(what("input.features")))?;
                #[expect(clippy::cast_possible_truncation, reason = "model inputs are f32")]
                let row: [f32; 9] = features
                    .iter()
                    .map(|v| *v as f32)
                    .collect::<Vec<_>>()
                    .try_into()
                    .map_err(|_| ModelError::Golden(what("input.features must hold 9 values")))?;
                let scores = pipeline.risk(&[row])?.remove(0);
                let probs: Vec<f64> = scores.levels.iter().map(|(_, p)| f64::from(*p)).collect();
                close(&what("probabilities"), &probs, &expected["probabilities"], tol)?;
            }
            other => return Err(ModelError::Manifest(format!("no golden runner for model {other:?}"))),
        }
    }
    Ok(manifest.golden.len())
}

/// Runs the golden examples of all three models; returns how many passed.
pub fn check_all(pipeline: &mut Pipeline) -> Result<usize, ModelError> {
    let mut n = 0;
    for name in super::MODEL_NAMES {
        n += check_model(pipeline, name)?;
    }
    Ok(n)
}

fn floats(v: &Value) -> Option<Vec<f64>> {
    v.as_array()?.iter().map(Value::as_f64).collect()
}

fn close(what: &str, actual: &[f64], expected: &Value, tol: f64) -> Result<(), ModelError> {
    let expected = floats(expected).ok_or_else(|| ModelError::Golden(format!("{what}: no expected values")))?;
    if expected.len() != actual.len() {
        return Err(ModelError::Golden(format!("{what}: {} values, expected {}", actual.len(), expected.len())));
    }
    for (j, (a, e)) in actual.iter().zip(&expected).enumerate() {
        if (a - e).abs() > tol {
            return Err(ModelError::Golden(format!("{what}[{j}] = {a:.6}, expected {e:.6} ± {tol}")));
        }
    }
    Ok(())
}
