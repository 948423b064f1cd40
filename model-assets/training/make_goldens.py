"""Golden examples, manifests and model cards for every model in model-assets/.

Reads only the built files (model.onnx, tokenizer.json, heads.onnx, risk.onnx) and the
training reports; runs the exact worker pipeline (common.Encoder) through ONNX Runtime;
writes <kind>/<version>/manifest.json and MODEL_CARD.md.

All manifests share one schema:
  name, version, description,
  files:   {filename: {sha256, bytes}}
  inputs:  [{name, dtype, shape, labels?}]      (shape: "batch" for the dynamic batch dim)
  outputs: [{name, dtype, shape, labels?, description?}]
  thresholds: {...}
  golden:  [{input, expected, tolerance}]       (absolute tolerance on every float;
                                                 integers and strings must match exactly)
  encoder only: tokenizer, max_length, pooling, normalize, pad_id, embedding_dim
"""
import json
from string import Template

import numpy as np
import onnx

from common import (
    CARDS_DIR, EMBED_DIM, EMOTION_LABELS, MAX_LENGTH, PAD_ID, REPORTS_DIR, RISK_FEATURES,
    SENTIMENT_LABELS, STRESS_LEVELS, VERSIONS, Encoder, model_dir, ort_session, sha256_file,
    write_json,
)
from build_text_heads import NEG_BELOW, POS_ABOVE
from build_risk import CUT_HIGH, CUT_MODERATE

TOLERANCE = 1e-3
RISK_SCORE_WEIGHTS = {"low": 0.0, "moderate": 0.5, "high": 1.0}

ENCODER_TEXTS = [
    "I feel calm and rested today.",
    "ok",
    # BertNormalizer lowercases and (strip_accents null + lowercase) strips accents;
    # the emoji is not in the vocabulary and becomes [UNK] (id 100).
    "Café déjà vu — naïve résumé, très COOL 😊!",
    # Longer than 256 tokens: truncated to 256 with [SEP] kept as the last token.
    " ".join(["Work was busy and I kept thinking about the deadline, so I slept badly."] * 24),
]
TEXT_HEADS_TEXTS = [
    "Today was wonderful: I went hiking with friends, laughed a lot, and I feel grateful and relaxed.",
    "I feel awful. I couldn't sleep, I'm exhausted and everything keeps going wrong.",
    "I want to end my life",
    "Had lunch and answered some emails.",
    "ok",
    ("Long day. The morning started fine, I had coffee with my neighbour and we talked about the "
     "garden. Then my manager moved the deadline forward again without asking anyone, and I spent "
     "the afternoon rewriting the report while my phone kept buzzing. I skipped dinner, my head "
     "hurts, and I'm worried I won't be able to keep up if this goes on for another month. At least "
     "my sister called in the evening, which helped a little."),
]
RISK_CASES = [  # mood, sleep, mood_avg_7d, mood_delta, sleep_avg_7d, checkins_7d, neg, pos, valence
    [8, 8.0, 7.5, 0.5, 7.5, 5, 0.05, 0.85, 0.55],      # good day, positive note
    [6, 7.0, 6.0, 0.0, 7.0, 0, 0.0, 0.0, 0.0],         # first check-in, no note
    [5, 6.0, 6.2, -1.2, 6.8, 4, 0.3, 0.3, 0.0],        # middling
    [3, 5.0, 6.5, -3.5, 7.0, 6, 0.7, 0.1, -0.45],      # mood drop, short sleep, negative note
    [2, 3.5, 3.0, -1.0, 4.5, 7, 0.92, 0.02, -0.8],     # persistently low, very negative note
    [1, 0.0, 8.0, -7.0, 7.5, 3, 0.95, 0.01, -0.9],     # extreme
]


def dtype_name(elem_type: int) -> str:
    return onnx.helper.tensor_dtype_to_np_dtype(elem_type).name  # float32, int64, ...


def io_spec(values, labels=None, descriptions=None):
    labels, descriptions = labels or {}, descriptions or {}
    spec = []
    for v in values:
        t = v.type.tensor_type
        shape = []
        for i, d in enumerate(t.shape.dim):
            if d.HasField("dim_value"):
                shape.append(int(d.dim_value))
            else:
                shape.append("batch" if i == 0 else (d.dim_param or f"dim{i}"))
        entry = {"name": v.name, "dtype": dtype_name(t.elem_type), "shape": shape}
        if v.name in labels:
            entry["labels"] = labels[v.name]
        if v.name in descriptions:
            entry["description"] = descriptions[v.name]
        spec.append(entry)
    return spec


def files_spec(directory, names):
    return {n: {"sha256": sha256_file(directory / n), "bytes": (directory / n).stat().st_size}
            for n in names}


def floats(a, nd=7):
    return [round(float(x), nd) for x in np.asarray(a).ravel()]


def render_card(kind: str, values: dict) -> None:
    tmpl = Template((CARDS_DIR / f"{kind}.md").read_text(encoding="utf-8"))
    (model_dir(kind) / "MODEL_CARD.md").write_text(tmpl.substitute(values), encoding="utf-8")


def md_confusion(cm, labels):
    rows = ["| true \\ predicted | " + " | ".join(labels) + " |",
            "|---|" + "---|" * len(labels)]
    for lab, r in zip(labels, cm):
        rows.append(f"| {lab} | " + " | ".join(str(x) for x in r) + " |")
    return "\n".join(rows)


def main() -> None:
    enc_dir, th_dir, risk_dir = model_dir("encoder"), model_dir("text-heads"), model_dir("risk")
    encoder = Encoder(enc_dir)

    # ------------------------------------------------------------------ encoder
    emb = encoder.embed(ENCODER_TEXTS)
    ids, mask = encoder.tokenize(ENCODER_TEXTS)
    golden = []
    for i, text in enumerate(ENCODER_TEXTS):
        n = int(mask[i].sum())
        single = encoder.embed([text])[0]
        assert np.abs(single - emb[i]).max() < 1e-5, "batch padding changed an embedding"
        golden.append({"input": {"text": text},
                       "expected": {"embedding_first8": floats(emb[i][:8]),
                                    "input_ids": ids[i, :n].tolist()},
                       "tolerance": TOLERANCE})
    m = onnx.load(str(enc_dir / "model.onnx"), load_external_data=False)
    enc_manifest = {
        "name": "encoder",
        "version": VERSIONS["encoder"],
        "description": ("all-MiniLM-L6-v2 sentence encoder, int8 weights (ONNX). Embedding = mean of "
                        "last_hidden_state over attention_mask==1 positions, then L2-normalised."),
        "files": files_spec(enc_dir, ["model.onnx", "tokenizer.json"]),
        "inputs": io_spec(m.graph.input),
        "outputs": io_spec(m.graph.output),
        "thresholds": {},
        "tokenizer": "tokenizer.json",
        "max_length": MAX_LENGTH,
        "pooling": "mean",
        "normalize": True,
        "pad_id": PAD_ID,
        "embedding_dim": EMBED_DIM,
        "golden": golden,
    }
    write_json(enc_dir / "manifest.json", enc_manifest)

    # --------------------------------------------------------------- text heads
    th = json.loads((REPORTS_DIR / f"text-heads-{VERSIONS['text-heads']}.json").read_text())
    heads = ort_session(th_dir / "heads.onnx")
    e = encoder.embed(TEXT_HEADS_TEXTS)
    p_s, val, p_e = heads.run(["sentiment", "valence", "emotions"], {"embedding": e})
    golden = []
    for i, text in enumerate(TEXT_HEADS_TEXTS):
        single = heads.run(None, {"embedding": encoder.embed([text])})
        for a, b in zip(single, (p_s, val, p_e)):
            assert np.abs(a[0] - b[i]).max() < 1e-5
        golden.append({"input": {"text": text},
                       "expected": {"sentiment": floats(p_s[i]), "valence": floats(val[i]),
                                    "emotions": floats(p_e[i])},
                       "tolerance": TOLERANCE})
    m = onnx.load(str(th_dir / "heads.onnx"))
    th_manifest = {
        "name": "text-heads",
        "version": VERSIONS["text-heads"],
        "description": ("Sentiment, valence and emotion heads on the encoder's normalised embedding "
                        f"(encoder {VERSIONS['encoder']}). Sentiment/valence trained on the VADER "
                        "human-rated sentences; emotions are prototype similarities, not a trained "
                        "classifier."),
        "files": files_spec(th_dir, ["heads.onnx"]),
        "inputs": io_spec(m.graph.input),
        "outputs": io_spec(m.graph.output,
                           labels={"sentiment": SENTIMENT_LABELS, "emotions": EMOTION_LABELS},
                           descriptions={
                               "sentiment": "class probabilities (sum 1)",
                               "valence": "predicted mean human rating / 4, clipped to [-1, 1]",
                               "emotions": "softmax of scaled prototype cosine similarities (sum 1)"}),
        "thresholds": {
            "sentiment_training_labels": {"negative_if_mean_rating_below": NEG_BELOW,
                                          "positive_if_mean_rating_above": POS_ABOVE},
            "valence_rating_divisor": 4.0,
            "emotion_softmax_scale": th["emotions"]["scale"],
        },
        "requires": {"encoder": VERSIONS["encoder"]},
        "golden": golden,
    }
    write_json(th_dir / "manifest.json", th_manifest)

    # --------------------------------------------------------------------- risk
    rk = json.loads((REPORTS_DIR / f"risk-{VERSIONS['risk']}.json").read_text())
    risk = ort_session(risk_dir / "risk.onnx")
    X = np.asarray(RISK_CASES, dtype=np.float32)
    label, proba = risk.run(["label", "probabilities"], {"features": X})
    golden = []
    for i in range(len(X)):
        p = proba[i]
        golden.append({"input": {"features": [float(x) for x in RISK_CASES[i]]},
                       "expected": {"probabilities": floats(p),
                                    "stress_level": STRESS_LEVELS[int(p.argmax())],
                                    "risk_score": round(float(p[2] + 0.5 * p[1]), 7)},
                       "tolerance": TOLERANCE})
    m = onnx.load(str(risk_dir / "risk.onnx"))
    risk_manifest = {
        "name": "risk",
        "version": VERSIONS["risk"],
        "description": ("Stress level (low/moderate/high) from 9 check-in features. Trained on "
                        "SYNTHETIC data; a wellbeing signal, not clinically validated."),
        "files": files_spec(risk_dir, ["risk.onnx"]),
        "inputs": io_spec(m.graph.input, labels={"features": RISK_FEATURES}),
        "outputs": io_spec(m.graph.output,
                           labels={"probabilities": STRESS_LEVELS},
                           descriptions={
                               "probabilities": "class probabilities (sum 1); use this output",
                               "label": "argmax class index (0 low, 1 moderate, 2 high); "
                                        "redundant with probabilities"}),
        "thresholds": {
            "stress_levels": STRESS_LEVELS,
            "stress_level": "argmax of probabilities",
            "risk_score_weights": RISK_SCORE_WEIGHTS,
            "no_note_features": {"sentiment_negative": 0.0, "sentiment_positive": 0.0,
                                 "valence": 0.0},
        },
        "requires": {"text-heads": VERSIONS["text-heads"]},
        "golden": golden,
    }
    write_json(risk_dir / "manifest.json", risk_manifest)

    # -------------------------------------------------------------- model cards
    s, v, em = th["sentiment"], th["valence"], th["emotions"]
    base = s["vader_lexicon_baseline"]
    render_card("encoder", {
        "version": VERSIONS["encoder"],
        "sha256": enc_manifest["files"]["model.onnx"]["sha256"],
        "bytes": f"{enc_manifest['files']['model.onnx']['bytes']:,}",
        "tok_sha256": enc_manifest["files"]["tokenizer.json"]["sha256"],
    })
    render_card("text-heads", {
        "version": VERSIONS["text-heads"], "encoder_version": VERSIONS["encoder"],
        "bytes": f"{th_manifest['files']['heads.onnx']['bytes']:,}",
        "n": f"{th['data']['n_sentences']:,}", "n_train": f"{th['data']['n_train']:,}",
        "n_test": f"{th['data']['n_test']:,}",
        "per_source": ", ".join(f"{k} {n:,}" for k, n in th["data"]["per_source"].items()),
        "class_counts": ", ".join(f"{k} {n:,}" for k, n in th["data"]["class_counts"].items()),
        "neg_below": NEG_BELOW, "pos_above": POS_ABOVE, "C": s["C"],
        "cv_c": ", ".join(f"C={k}: {x:.4f}" for k, x in s["cv_accuracy_by_C"].items()),
        "acc": f"{s['test_accuracy']:.4f}", "f1": f"{s['test_macro_f1']:.4f}",
        "f1_per_class": ", ".join(f"{k} {x:.3f}" for k, x in s["test_f1_per_class"].items()),
        "cm": md_confusion(s["confusion_matrix"], SENTIMENT_LABELS),
        "per_source_acc": ", ".join(f"{k} {x['accuracy']:.3f} (n={x['n']})"
                                    for k, x in s["test_accuracy_per_source"].items()),
        "base_acc": f"{base['accuracy']:.4f}" if base else "n/a",
        "base_f1": f"{base['macro_f1']:.4f}" if base else "n/a",
        "base_cm": md_confusion(base["confusion_matrix"], SENTIMENT_LABELS) if base else "n/a",
        "alpha": v["alpha"], "mae": f"{v['test_mae']:.4f}",
        "mae4": f"{v['test_mae_rating_scale']:.3f}", "rmse": f"{v['test_rmse']:.4f}",
        "r": f"{v['test_pearson_r']:.4f}", "clipped": f"{100 * v['test_fraction_clipped']:.2f}",
        "scale": em["scale"], "loo": f"{em['leave_one_out_accuracy']:.3f}",
        "loo_ll": f"{em['leave_one_out_log_loss']:.3f}", "best_scale": em["leave_one_out_optimal_scale"],
        "best_ll": f"{em['scale_grid_log_loss'][str(em['leave_one_out_optimal_scale'])]:.3f}",
        "n_seeds": sum(em["seeds_per_emotion"].values()),
        "smoke": f"{em['smoke_test_accuracy']:.3f}", "smoke_n": em["smoke_test_n"],
        "emo_table": md_emotions(em["argmax_counts_on_vader_test_by_sentiment_class"]),
    })
    d = rk["data"]
    render_card("risk", {
        "version": VERSIONS["risk"], "text_heads_version": VERSIONS["text-heads"],
        "bytes": f"{risk_manifest['files']['risk.onnx']['bytes']:,}",
        "n": f"{d['n_samples']:,}", "n_train": f"{d['n_train']:,}", "n_test": f"{d['n_test']:,}",
        "seed": d["seed"], "cut_moderate": CUT_MODERATE, "cut_high": CUT_HIGH,
        "noise_sd": d["noise_sd"],
        "class_counts": ", ".join(f"{k} {n:,}" for k, n in d["class_counts"].items()),
        "acc": f"{rk['test_accuracy']:.4f}", "f1": f"{rk['test_macro_f1']:.4f}",
        "ceiling": f"{rk['noise_ceiling_accuracy']:.4f}",
        "acc_no_note": f"{rk['test_accuracy_no_note']:.4f}",
        "cm": md_confusion(rk["confusion_matrix"], STRESS_LEVELS),
        "score_by_level": ", ".join(f"{k} {x:.3f}" for k, x in rk["risk_score_mean_by_true_level"].items()),
        "coefs": "\n".join(f"| {k} | {x:+.3f} |" for k, x in rk["standardized_coef_high_minus_low"].items()),
    })
    print("manifests, goldens and model cards written")


def md_emotions(counts):
    rows = ["| VADER test class | " + " | ".join(EMOTION_LABELS) + " |",
            "|---|" + "---|" * len(EMOTION_LABELS)]
    for cls, c in counts.items():
        rows.append(f"| {cls} | " + " | ".join(str(c[e]) for e in EMOTION_LABELS) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
