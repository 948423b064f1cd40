"""Check model-assets/ the way the worker will use it. Exit 1 on any problem.

* active.json names a version directory with a manifest for every model;
* every file in each manifest exists with the listed sha256 and size;
* the ONNX graphs' inputs/outputs match the manifests;
* every golden example reproduces within its tolerance through the worker pipeline
  (tokenizer.json -> model.onnx -> mean pooling -> L2 norm -> heads.onnx / risk.onnx).
"""
import json
import sys

import numpy as np
import onnx

from common import ASSETS_DIR, STRESS_LEVELS, Encoder, ort_session, sha256_file

problems = []


def check(cond, msg):
    if not cond:
        problems.append(msg)


def close(got, want, tol, what):
    got, want = np.asarray(got, dtype=np.float64).ravel(), np.asarray(want, dtype=np.float64).ravel()
    ok = got.shape == want.shape and np.all(np.abs(got - want) <= tol)
    check(ok, f"{what}: got {got.round(6).tolist()} want {want.tolist()}")
    return float(np.abs(got - want).max()) if got.shape == want.shape else float("inf")


def main() -> int:
    active = json.loads((ASSETS_DIR / "active.json").read_text())
    manifests, dirs = {}, {}
    for kind in ("encoder", "text-heads", "risk"):
        d = ASSETS_DIR / kind / active[kind]
        dirs[kind] = d
        man = json.loads((d / "manifest.json").read_text())
        manifests[kind] = man
        check(man["name"] == kind and man["version"] == active[kind], f"{kind}: name/version")
        for fname, meta in man["files"].items():
            p = d / fname
            check(p.exists() and p.stat().st_size == meta["bytes"] and sha256_file(p) == meta["sha256"],
                  f"{kind}/{fname}: sha256/size mismatch")
            if fname.endswith(".onnx"):
                g = onnx.load(str(p), load_external_data=False).graph
                check([i.name for i in g.input] == [i["name"] for i in man["inputs"]], f"{kind}: inputs")
                check([o.name for o in g.output] == [o["name"] for o in man["outputs"]], f"{kind}: outputs")
        for dep, ver in man.get("requires", {}).items():
            check(active[dep] == ver, f"{kind} requires {dep} {ver}, active is {active[dep]}")

    worst = {}
    enc = Encoder(dirs["encoder"])
    g = manifests["encoder"]["golden"]
    emb = enc.embed([x["input"]["text"] for x in g])
    ids, mask = enc.tokenize([x["input"]["text"] for x in g])
    for i, x in enumerate(g):
        n = int(mask[i].sum())
        check(ids[i, :n].tolist() == x["expected"]["input_ids"], f"encoder golden {i}: input_ids")
        worst.setdefault("encoder", []).append(
            close(emb[i][:8], x["expected"]["embedding_first8"], x["tolerance"], f"encoder golden {i}"))

    heads = ort_session(dirs["text-heads"] / "heads.onnx")
    g = manifests["text-heads"]["golden"]
    outs = heads.run(["sentiment", "valence", "emotions"],
                     {"embedding": enc.embed([x["input"]["text"] for x in g])})
    for i, x in enumerate(g):
        for name, arr in zip(("sentiment", "valence", "emotions"), outs):
            worst.setdefault("text-heads", []).append(
                close(arr[i], x["expected"][name], x["tolerance"], f"text-heads golden {i} {name}"))
        check(abs(outs[0][i].sum() - 1) < 1e-5 and abs(outs[2][i].sum() - 1) < 1e-5, "softmax sums")

    risk = ort_session(dirs["risk"] / "risk.onnx")
    g = manifests["risk"]["golden"]
    (proba,) = risk.run(["probabilities"],
                        {"features": np.asarray([x["input"]["features"] for x in g], dtype=np.float32)})
    for i, x in enumerate(g):
        worst.setdefault("risk", []).append(
            close(proba[i], x["expected"]["probabilities"], x["tolerance"], f"risk golden {i}"))
        check(STRESS_LEVELS[int(proba[i].argmax())] == x["expected"]["stress_level"], f"risk golden {i} level")

    for kind, errs in worst.items():
        print(f"{kind}: {len(errs)} golden checks, max abs error {max(errs):.2e}")
    if problems:
        print("PROBLEMS:\n  " + "\n  ".join(problems))
        return 1
    print("model-assets OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
