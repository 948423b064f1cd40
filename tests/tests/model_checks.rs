//! Models a data scientist owns, checked before they ship: `models check`
//! refuses what would break the worker, and `models eval` scores a version on
//! labelled examples.

#[path = "model_ops/assets.rs"]
mod assets;

use assets::{model_dir, new_version, text, worker_cli};
use serde_json::json;

#[test]
fn models_check_passes_every_shipped_model_and_the_active_combination() {
    let dir = model_dir();
    let out = worker_cli(&dir, &[], &["models", "check"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    for id in ["encoder@1.0.0", "text-heads@1.0.0", "risk@1.0.0", "active combination"] {
        assert!(t.contains(&format!("ok   {id}")), "{id} not reported: {t}");
    }
}

#[test]
fn models_check_refuses_a_corrupt_model_file_even_with_a_matching_hash() {
    let dir = model_dir();
    let folder = new_version(
        &dir,
        "risk",
        "9.0.0",
        |to, _| {
            let path = to.join("risk.onnx");
            let bytes = std::fs::read(&path).expect("read");
            std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncate");
        },
        true,
    );
    let out = worker_cli(&dir, &[], &["models", "check", folder.to_str().expect("path")]);
    let t = text(&out);
    assert!(!out.status.success(), "a truncated graph must fail: {t}");
    assert!(t.contains("risk@9.0.0") && t.contains("ONNX Runtime"), "{t}");
}

#[test]
fn models_check_refuses_a_file_whose_hash_does_not_match() {
    let dir = model_dir();
    let folder = new_version(
        &dir,
        "risk",
        "9.0.1",
        |to, _| {
            let path = to.join("risk.onnx");
            let mut bytes = std::fs::read(&path).expect("read");
            let last = bytes.len() - 1;
            bytes[last] ^= 0xff;
            std::fs::write(&path, bytes).expect("write");
        },
        false,
    );
    let out = worker_cli(&dir, &[], &["models", "check", folder.to_str().expect("path")]);
    assert!(!out.status.success());
    assert!(text(&out).contains("sha256"), "{}", text(&out));
}

#[test]
fn models_check_refuses_a_manifest_whose_names_or_types_do_not_match_the_graph() {
    let dir = model_dir();
    let renamed = new_version(&dir, "risk", "9.1.0", |_, m| m["outputs"][0]["name"] = json!("probs"), true);
    let out = worker_cli(&dir, &[], &["models", "check", renamed.to_str().expect("path")]);
    assert!(!out.status.success());
    assert!(text(&out).contains("the graph has no output \"probs\""), "{}", text(&out));

    let retyped = new_version(&dir, "risk", "9.1.1", |_, m| m["inputs"][0]["dtype"] = json!("int64"), true);
    let out = worker_cli(&dir, &[], &["models", "check", retyped.to_str().expect("path")]);
    assert!(!out.status.success());
    assert!(text(&out).contains("in the manifest"), "{}", text(&out));

    let incomplete = new_version(
        &dir,
        "risk",
        "9.1.2",
        |_, m| {
            m.as_object_mut().expect("object").remove("golden");
        },
        true,
    );
    let out = worker_cli(&dir, &[], &["models", "check", incomplete.to_str().expect("path")]);
    assert!(!out.status.success());
    assert!(text(&out).contains("golden example is required"), "{}", text(&out));
}

#[test]
fn models_check_refuses_a_golden_example_that_fails() {
    let dir = model_dir();
    let folder =
        new_version(&dir, "risk", "9.2.0", |_, m| m["golden"][0]["expected"]["probabilities"][0] = json!(0.5), true);
    let out = worker_cli(&dir, &[], &["models", "check", folder.to_str().expect("path")]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("golden example 0, probabilities"), "{t}");
}

#[test]
fn models_eval_prints_accuracy_macro_f1_and_the_confusion_matrix() {
    let dir = model_dir();
    let csv = dir.join("eval.csv");
    std::fs::write(
        &csv,
        "text,label\n\"Today was wonderful, I feel grateful and relaxed.\",positive\n\"Everything went wrong and I feel awful.\",negative\n\"I had lunch.\",neutral\n",
    )
    .expect("csv");
    let out = worker_cli(&dir, &[], &["models", "eval", "text-heads/1.0.0", "--data", csv.to_str().expect("path")]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("text-heads@1.0.0: 3 examples") && t.contains("accuracy") && t.contains("macro-F1"), "{t}");
    assert!(t.contains("confusion matrix"), "{t}");

    std::fs::write(&csv, "text,label\nhello,joyful-ish\n").expect("csv");
    let out = worker_cli(&dir, &[], &["models", "eval", "text-heads/1.0.0", "--data", csv.to_str().expect("path")]);
    assert!(!out.status.success());
    assert!(text(&out).contains("is not one of"), "{}", text(&out));
}
