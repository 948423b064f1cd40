"""risk/<v>/risk.onnx: stress level [low, moderate, high] from 9 check-in features.

Trained on SYNTHETIC check-ins only (fixed seed); the generating rules are below and in
the model card. Nothing here is clinically validated.

Input `features` float32 [N, 9], in this order:
  0 mood (1-10)              1 sleep_hours (0-24)       2 mood_avg_7d
  3 mood_delta               4 sleep_avg_7d             5 checkins_7d
  6 sentiment_negative       7 sentiment_positive       8 valence (-1..1)
Outputs `probabilities` float32 [N, 3] (low, moderate, high) and `label` int64 [N].

The text features of a synthetic check-in are the real outputs of text-heads/<v> on a
real VADER sentence whose human rating fits the synthetic mood, so the model sees the
text heads' actual noise; check-ins "without a note" get 0, 0, 0 (see README).
"""
import numpy as np
import onnx
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from common import (
    REPORTS_DIR, RISK_FEATURES, SEED, STRESS_LEVELS, VERSIONS, Encoder, cached_embeddings,
    load_vader, model_dir, ort_session, write_json,
)

N_SAMPLES = 20_000
P_NOTE = 0.8
# Latent stress: S = sum of terms below + Normal(0, NOISE_SD); levels by fixed cut points.
NOISE_SD = 0.6
CUT_MODERATE, CUT_HIGH = 1.0, 2.5
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}


def relu(x):
    return np.maximum(x, 0.0)


def round_half(x):
    return np.round(x * 2.0) / 2.0


def latent_stress(mood, sleep, sleep_avg, mood_delta, text_rating):
    """Noise-free latent stress. text_rating = human mean rating / 4 of the note (0 if none)."""
    return (0.55 * (6.0 - mood)
            + 0.50 * relu(6.5 - sleep)
            + 0.25 * relu(6.5 - sleep_avg)
            + 0.40 * relu(-mood_delta)
            + 1.50 * relu(-text_rating)
            - 0.50 * relu(text_rating))


def generate(rng, heads_out, ratings):
    """Synthetic check-ins. heads_out: [n_sentences, 3] (p_neg, p_pos, valence) of VADER."""
    n = N_SAMPLES
    k = np.clip(rng.poisson(4.0, n), 0, 14)                      # check-ins in previous 7 d
    m0 = np.clip(rng.normal(6.0, 1.6, n), 1.5, 9.5)              # person's usual mood
    s0 = np.clip(rng.normal(7.0, 1.1, n), 4.0, 10.0)             # person's usual sleep
    prev_m = np.clip(np.round(rng.normal(m0[:, None], 1.2, (n, 14))), 1, 10)
    prev_s = np.clip(round_half(rng.normal(s0[:, None], 1.0, (n, 14))), 0, 24)
    used = np.arange(14)[None, :] < k[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        prev_m_avg = (prev_m * used).sum(1) / k
        prev_s_avg = (prev_s * used).sum(1) / k
    shock = rng.normal(0.0, 1.3, n)
    bad_day = rng.random(n) < 0.15
    shock -= bad_day * rng.uniform(1.5, 4.5, n)
    mood = np.clip(np.round(m0 + shock), 1, 10)
    sleep = np.clip(round_half(rng.normal(s0, 1.0) + 0.25 * np.minimum(shock, 0)), 0, 14)
    mood_avg = np.where(k > 0, prev_m_avg, mood)
    sleep_avg = np.where(k > 0, prev_s_avg, sleep)
    mood_delta = mood - mood_avg

    # Note: a real VADER sentence whose human rating is near a mood-driven target.
    has_note = rng.random(n) < P_NOTE
    target = np.clip(0.8 * (mood - 5.5) + rng.normal(0.0, 1.3, n), -4, 4)
    order = np.argsort(ratings, kind="stable")
    pos = np.searchsorted(ratings[order], target)
    pos = np.clip(pos + rng.integers(-40, 41, n), 0, len(order) - 1)
    sent_idx = order[pos]
    text_rating = np.where(has_note, ratings[sent_idx] / 4.0, 0.0)
    text_feat = np.where(has_note[:, None], heads_out[sent_idx], 0.0)

    s_clean = latent_stress(mood, sleep, sleep_avg, mood_delta, text_rating)
    s = s_clean + rng.normal(0.0, NOISE_SD, n)
    level = lambda z: np.digitize(z, [CUT_MODERATE, CUT_HIGH])  # noqa: E731
    X = np.column_stack([mood, sleep, mood_avg, mood_delta, sleep_avg, k,
                         text_feat[:, 0], text_feat[:, 1], text_feat[:, 2]]).astype(np.float32)
    return X, level(s), level(s_clean), has_note


def main() -> None:
    rng = np.random.default_rng(SEED)
    texts, ratings, _ = load_vader()
    emb = cached_embeddings(Encoder(), texts, "vader")
    heads = ort_session(model_dir("text-heads") / "heads.onnx")
    p_s, val = heads.run(["sentiment", "valence"], {"embedding": emb})[:2]
    heads_out = np.column_stack([p_s[:, 0], p_s[:, 2], val[:, 0]]).astype(np.float64)

    X, y, y_clean, has_note = generate(rng, heads_out, ratings)
    idx = np.arange(len(y))
    tr, te = train_test_split(idx, test_size=0.2, stratify=y, random_state=SEED)
    tr, te = np.sort(tr), np.sort(te)

    clf = LogisticRegression(C=1.0, max_iter=5000)
    pipe = Pipeline([("scale", StandardScaler()), ("clf", clf)]).fit(X[tr], y[tr])
    assert list(clf.classes_) == [0, 1, 2]

    onx = convert_sklearn(
        pipe, name="mindwell_risk",
        initial_types=[("features", FloatTensorType([None, len(RISK_FEATURES)]))],
        options={id(clf): {"zipmap": False}}, target_opset=TARGET_OPSET)
    outs = [o.name for o in onx.graph.output]
    # Tidy what skl2onnx leaves: a duplicated default-domain opset entry and unnamed
    # batch dimensions.
    seen = {}
    for op in onx.opset_import:
        seen[op.domain] = max(seen.get(op.domain, 0), op.version)
    del onx.opset_import[:]
    for domain in sorted(seen):
        onx.opset_import.append(onnx.helper.make_opsetid(domain, seen[domain]))
    for v in list(onx.graph.input) + list(onx.graph.output):
        dim0 = v.type.tensor_type.shape.dim[0]
        if not dim0.HasField("dim_value"):
            dim0.dim_param = "batch"
    assert outs == ["label", "probabilities"], outs
    onx.producer_name = "mindwell-model-assets"
    onx.producer_version = VERSIONS["risk"]
    onx.doc_string = ("MindWell stress level from check-in features [" + ", ".join(RISK_FEATURES)
                      + "] -> probabilities [low, moderate, high]. Trained on synthetic data; "
                      "not clinically validated.")
    onnx.helper.set_model_props(onx, {"version": VERSIONS["risk"],
                                      "features": ",".join(RISK_FEATURES),
                                      "stress_levels": ",".join(STRESS_LEVELS)})
    onnx.checker.check_model(onx, full_check=True)
    out = model_dir("risk")
    out.mkdir(parents=True, exist_ok=True)
    path = out / "risk.onnx"
    onnx.save(onx, str(path))

    sess = ort_session(path)
    label, proba = sess.run(["label", "probabilities"], {"features": X[te]})
    assert np.abs(proba - pipe.predict_proba(X[te])).max() < 1e-4
    pred = proba.argmax(axis=1)
    assert (pred == label).mean() > 0.999
    risk_score = proba[:, 2] + 0.5 * proba[:, 1]
    coefs = dict(zip(RISK_FEATURES, np.round((clf.coef_[2] - clf.coef_[0]).astype(np.float64), 3).tolist()))
    report = {
        "data": {
            "n_samples": int(len(y)), "n_train": int(len(tr)), "n_test": int(len(te)),
            "seed": SEED, "fraction_with_note": float(has_note.mean()),
            "class_counts": dict(zip(STRESS_LEVELS, np.bincount(y, minlength=3).tolist())),
            "feature_means": dict(zip(RISK_FEATURES, np.round(X.mean(0).astype(np.float64), 3).tolist())),
            "feature_sd": dict(zip(RISK_FEATURES, np.round(X.std(0).astype(np.float64), 3).tolist())),
            "cut_points": {"moderate": CUT_MODERATE, "high": CUT_HIGH}, "noise_sd": NOISE_SD,
        },
        "model": "StandardScaler + LogisticRegression (multinomial, C=1.0)",
        "test_accuracy": float(accuracy_score(y[te], pred)),
        "test_macro_f1": float(f1_score(y[te], pred, average="macro")),
        "confusion_matrix": confusion_matrix(y[te], pred, labels=[0, 1, 2]).tolist(),
        "noise_ceiling_accuracy": float(accuracy_score(y[te], y_clean[te])),
        "test_accuracy_no_note": float(accuracy_score(y[te][~has_note[te]], pred[~has_note[te]])),
        "risk_score_mean_by_true_level": {
            lvl: round(float(risk_score[y[te] == k].mean()), 4) for k, lvl in enumerate(STRESS_LEVELS)},
        "standardized_coef_high_minus_low": coefs,
        "onnx": {"target_opset": TARGET_OPSET, "outputs": outs, "bytes": path.stat().st_size},
    }
    write_json(REPORTS_DIR / f"risk-{VERSIONS['risk']}.json", report)
    print(f"risk -> {path} ({path.stat().st_size} bytes); synthetic test acc "
          f"{report['test_accuracy']:.4f} macro-F1 {report['test_macro_f1']:.4f} "
          f"(noise ceiling {report['noise_ceiling_accuracy']:.4f}); classes {report['data']['class_counts']}")


if __name__ == "__main__":
    main()
