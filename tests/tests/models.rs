//! The Rust pipeline reproduces every golden example in the manifests: the
//! same tokens, embeddings, head outputs and risk probabilities as the Python
//! training code, within each example's tolerance.

use mindwell_tests::repo_root;
use mindwell_worker::inference::{self, ActiveModels, Pipeline};
use serde_json::Value;

fn manifest(dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).expect("manifest")).expect("json")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number")).collect()
}

fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "{what}[{i}]: got {g}, want {w} (±{tol})");
    }
}

fn pipeline() -> (Pipeline, ActiveModels) {
    let root = repo_root();
    let dylib = mindwell_tests::ort_dylib();
    inference::runtime(&dylib).expect("ONNX Runtime");
    let active = ActiveModels::resolve(&root.join("model-assets")).expect("active.json");
    (Pipeline::load(&active, 1).expect("load"), active)
}

#[test]
fn the_rust_pipeline_matches_every_golden_example() {
    let (mut p, active) = pipeline();
    let mut checked = 0;

    for golden in manifest(&active.encoder)["golden"].as_array().expect("encoder goldens") {
        let text = golden["input"]["text"].as_str().expect("text");
        let (emb, _) = p.embed(&[text]).expect("embed");
        let first8: Vec<f64> = emb.row(0).iter().take(8).map(|v| f64::from(*v)).collect();
        let tol = golden["tolerance"].as_f64().unwrap_or(1e-3);
        assert_close(&format!("embedding of {text:?}"), &first8, &floats(&golden["expected"]["embedding_first8"]), tol);
        checked += 1;
    }

    for golden in manifest(&active.heads)["golden"].as_array().expect("head goldens") {
        let text = golden["input"]["text"].as_str().expect("text");
        let tol = golden["tolerance"].as_f64().unwrap_or(1e-3);
        let scores = p.text_scores(&[text]).expect("heads").remove(0);
        let sentiment: Vec<f64> = scores.sentiment.iter().map(|(_, v)| f64::from(*v)).collect();
        let emotions: Vec<f64> = scores.emotions.iter().map(|(_, v)| f64::from(*v)).collect();
        assert_close(&format!("sentiment of {text:?}"), &sentiment, &floats(&golden["expected"]["sentiment"]), tol);
        assert_close(
            &format!("valence of {text:?}"),
            &[f64::from(scores.valence)],
            &floats(&golden["expected"]["valence"]),
            tol,
        );
        assert_close(&format!("emotions of {text:?}"), &emotions, &floats(&golden["expected"]["emotions"]), tol);
        checked += 1;
    }

    for golden in manifest(&active.risk)["golden"].as_array().expect("risk goldens") {
        let f = floats(&golden["input"]["features"]);
        #[expect(clippy::cast_possible_truncation, reason = "model inputs are f32")]
        let row: [f32; 9] = std::array::from_fn(|i| f[i] as f32);
        let tol = golden["tolerance"].as_f64().unwrap_or(1e-3);
        let risk = p.risk(&[row]).expect("risk").remove(0);
        let probs: Vec<f64> = risk.levels.iter().map(|(_, v)| f64::from(*v)).collect();
        assert_close(&format!("risk of {f:?}"), &probs, &floats(&golden["expected"]["probabilities"]), tol);
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} golden examples");
}

#[test]
fn a_batch_scores_each_note_as_it_would_alone() {
    let (mut p, _) = pipeline();
    let notes =
        ["Short and sweet.", "A much longer note about a long and tiring day at work, with meetings and little sleep."];
    let batch = p.text_scores(&notes).expect("batch");
    for (i, note) in notes.iter().enumerate() {
        let alone = p.text_scores(&[note]).expect("alone").remove(0);
        for ((_, a), (_, b)) in alone.sentiment.iter().zip(&batch[i].sentiment) {
            assert!((a - b).abs() < 1e-4, "padding changed the scores of {note:?}");
        }
    }
}

#[test]
fn a_tampered_model_file_is_refused_at_load() {
    let src = repo_root().join("model-assets");
    let dst = std::env::temp_dir().join(format!("mindwell-tampered-{}", uuid::Uuid::new_v4().simple()));
    let active = ActiveModels::resolve(&src).expect("active");
    let risk_dir = dst.join("risk").join(active.risk.file_name().expect("version"));
    std::fs::create_dir_all(&risk_dir).expect("mkdir");
    for entry in std::fs::read_dir(&active.risk).expect("read") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), risk_dir.join(entry.file_name())).expect("copy");
    }
    let model = risk_dir.join("risk.onnx");
    let mut bytes = std::fs::read(&model).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&model, bytes).expect("write");
    let err = inference::Manifest::load_verified(&risk_dir).expect_err("a tampered file must be refused");
    assert!(err.to_string().contains("sha256"), "{err}");
    let _ = std::fs::remove_dir_all(dst);
}

#[test]
fn heads_built_for_another_encoder_are_refused() {
    let (_, active) = pipeline();
    let heads = std::env::temp_dir().join(format!("mindwell-requires-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&heads).expect("mkdir");
    for entry in std::fs::read_dir(&active.heads).expect("read") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), heads.join(entry.file_name())).expect("copy");
    }
    let mut m = manifest(&heads);
    m["requires"]["encoder"] = serde_json::json!("9.9.9");
    std::fs::write(heads.join("manifest.json"), m.to_string()).expect("write");
    let mixed = ActiveModels { heads: heads.clone(), ..active };
    let err = Pipeline::load(&mixed, 1).expect_err("a mismatched pair must be refused");
    assert!(err.to_string().contains("needs encoder 9.9.9"), "{err}");
    let _ = std::fs::remove_dir_all(heads);
}
