"""Shared paths, versions and the exact inference pipeline the Rust worker implements.

Everything that computes an embedding goes through `Encoder` below, so training data,
golden examples and the worker all see the same numbers:

  1. tokenize with encoder/<v>/tokenizer.json (special tokens added: [CLS] ... [SEP]),
     truncating at 256 tokens (set in tokenizer.json);
  2. right-pad every sequence to the longest in the batch with id 0, attention_mask 0;
     token_type_ids all 0;
  3. run model.onnx -> last_hidden_state [batch, seq, 384];
  4. mean over the positions where attention_mask == 1, then L2-normalise (float32).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import numpy as np

# One thread everywhere: reproducible numbers, and the build machine has 2 cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
# ...and for BLAS libraries already loaded by an earlier import (numpy, scipy).
from threadpoolctl import threadpool_limits  # noqa: E402

threadpool_limits(1)

TRAINING_DIR = Path(__file__).resolve().parent
ASSETS_DIR = TRAINING_DIR.parent
REPO_ROOT = ASSETS_DIR.parent
CACHE_DIR = TRAINING_DIR / ".cache"
REPORTS_DIR = TRAINING_DIR / "reports"
CARDS_DIR = TRAINING_DIR / "cards"

# Versions this build writes. To cut a new version: bump here, rebuild, then point
# model-assets/active.json at it once it has been reviewed.
VERSIONS = {"encoder": "1.0.0", "text-heads": "1.0.0", "risk": "1.0.0"}

SEED = 20261122
MAX_LENGTH = 256
EMBED_DIM = 384
PAD_ID = 0

VADER_SDIST = CACHE_DIR / "vaderSentiment-3.3.2.tar.gz"
VADER_SDIST_SHA256 = "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"
VADER_LIB_DIR = CACHE_DIR / "vader-lib"
VADER_FILES = [  # (source label, file inside hutto_ICWSM_2014.tar.gz)
    ("tweets", "hutto_ICWSM_2014/tweets_GroundTruth.txt"),
    ("nyt_editorials", "hutto_ICWSM_2014/nytEditorialSnippets_GroundTruth.txt"),
    ("movie_reviews", "hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt"),
    ("amazon_reviews", "hutto_ICWSM_2014/amazonReviewSnippets_GroundTruth.txt"),
]

SENTIMENT_LABELS = ["negative", "neutral", "positive"]
EMOTION_LABELS = ["joy", "sadness", "fear", "anger", "surprise", "disgust", "neutral"]
STRESS_LEVELS = ["low", "moderate", "high"]
RISK_FEATURES = [
    "mood", "sleep_hours", "mood_avg_7d", "mood_delta", "sleep_avg_7d",
    "checkins_7d", "sentiment_negative", "sentiment_positive", "valence",
]


def model_dir(kind: str) -> Path:
    return ASSETS_DIR / kind / VERSIONS[kind]


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- VADER data
def load_vader():
    """The 23,703 VADER sentences: (texts, mean ratings in [-4, 4], source labels).

    Files are tab separated: ID <TAB> mean rating <TAB> text, CRLF line ends.
    Order is deterministic (file order above, then line order).
    """
    texts, ratings, sources = [], [], []
    with tarfile.open(VADER_SDIST) as sdist:
        inner = sdist.extractfile(
            "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz").read()
    with tarfile.open(fileobj=io.BytesIO(inner)) as tar:
        for source, name in VADER_FILES:
            raw = tar.extractfile(name).read().decode("utf-8-sig")
            for line in raw.splitlines():
                if not line.strip():
                    continue
                _id, rating, text = line.split("\t", 2)
                texts.append(text.strip())
                ratings.append(float(rating))
                sources.append(source)
    return texts, np.asarray(ratings, dtype=np.float64), np.asarray(sources)


def sentiment_label(ratings: np.ndarray, neg_below: float = -0.5,
                    pos_above: float = 0.5) -> np.ndarray:
    """0 negative (mean < -0.5), 2 positive (mean > 0.5), else 1 neutral."""
    y = np.ones(len(ratings), dtype=np.int64)
    y[ratings < neg_below] = 0
    y[ratings > pos_above] = 2
    return y


# ------------------------------------------------------------------------------ encoder
def ort_session(path: Path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


class Encoder:
    """Tokenizer + int8 MiniLM + masked mean pooling + L2 norm, as the worker does it."""

    def __init__(self, directory: Path | None = None):
        from tokenizers import Tokenizer

        directory = directory or model_dir("encoder")
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        # tokenizer.json carries no padding and truncation at 256: nothing to set here.
        assert self.tokenizer.padding is None, "tokenizer.json must not pad"
        assert self.tokenizer.truncation["max_length"] == MAX_LENGTH
        self.session = ort_session(directory / "model.onnx")

    def tokenize(self, texts: list[str]):
        encs = self.tokenizer.encode_batch(list(texts), add_special_tokens=True)
        seq = max(len(e.ids) for e in encs)
        ids = np.full((len(encs), seq), PAD_ID, dtype=np.int64)
        mask = np.zeros((len(encs), seq), dtype=np.int64)
        for i, e in enumerate(encs):
            ids[i, : len(e.ids)] = e.ids
            mask[i, : len(e.ids)] = 1
        return ids, mask

    def embed(self, texts: list[str]) -> np.ndarray:
        """One batch, exactly as the worker runs it."""
        ids, mask = self.tokenize(texts)
        (hidden,) = self.session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )
        m = mask.astype(np.float32)[:, :, None]
        summed = (hidden.astype(np.float32) * m).sum(axis=1)
        counts = np.maximum(m.sum(axis=1), 1.0)
        mean = summed / counts
        norm = np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
        return (mean / norm).astype(np.float32)

    def embed_many(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Embed many texts, batching texts of similar length (result is per text)."""
        order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), i))
        out = np.zeros((len(texts), EMBED_DIM), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self.embed([texts[i] for i in idx])
        return out


def cached_embeddings(encoder: Encoder, texts: list[str], tag: str) -> np.ndarray:
    """embed_many with an on-disk cache keyed by the model, tokenizer and texts."""
    d = model_dir("encoder")
    h = hashlib.sha256()
    h.update(sha256_file(d / "model.onnx").encode())
    h.update(sha256_file(d / "tokenizer.json").encode())
    for t in texts:
        h.update(t.encode("utf-8") + b"\0")
    path = CACHE_DIR / f"emb-{tag}-{h.hexdigest()[:16]}.npy"
    if path.exists():
        return np.load(path)
    emb = encoder.embed_many(texts)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.save(path, emb)
    return emb
