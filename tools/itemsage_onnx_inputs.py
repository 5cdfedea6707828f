#!/usr/bin/env python3
"""Model inputs of an exported ItemSage ONNX model, computed from a catalogue with numpy only.

Reads the specification written beside the model by `pinnersage itemsage export` (X.features.json) and a dataset in
the generic layout (items.tsv, vectors/NAME.npy + NAME.ids), and returns the graph's feeds: token_ids, token_weights,
vectors, vector_mask. Serving with onnxruntime (any provider):

    import json, onnxruntime as ort
    from itemsage_onnx_inputs import inputs
    spec = json.load(open("tower.features.json", encoding="utf-8"))
    item_ids, feeds = inputs(spec, "path/to/dataset")
    session = ort.InferenceSession("tower.onnx", providers=["CPUExecutionProvider"])
    embeddings = session.run(["embedding"], feeds)[0]  # [n, d], unit rows

Command line (used by the project's tests):
    python3 itemsage_onnx_inputs.py SPEC.json DATASET OUT_DIR [--check MODEL.onnx]
writes OUT_DIR/NAME.npy for every input (and item_ids.txt); --check validates the model with onnx.checker.

Tokenisation follows the spec's rules. Normalisation uses Python's unicodedata NFKC and str.lower(), which agrees with
the exporter's tables for the Basic Multilingual Plane except the cases the spec lists (canonical reordering of
several marks, Hangul jamo composition, supplementary-plane characters, which Python handles by code point).
"""
import json
import os
import sys
import unicodedata

import numpy as np


def _words(value):
    out, current = [], []
    for ch in value:
        category = unicodedata.category(ch)
        if category[0] == "L" or category in ("Nd", "Mn", "Mc"):
            current.append(ch)
        elif current:
            out.append("".join(current))
            current = []
    if current:
        out.append("".join(current))
    return out


def tokens(field, rules):
    """(kind, token) pairs of a raw field: kind 0 unigram, 1 bigram, 2 trigram, in the spec's order."""
    text = unicodedata.normalize("NFKC", field).lower()
    mark = rules["boundary_marker"]
    for value in text.split(rules["value_separator"]):
        words = _words(value)
        for w in words:
            yield 0, w
        for a, b in zip(words, words[1:]):
            yield 1, a + " " + b
        for w in words:
            padded = mark + w + mark
            for k in range(len(padded) - 2):
                yield 2, padded[k:k + 3]


def inputs(spec, dataset, item_ids=None):
    """(item ids, {input name: array}) for the catalogue's items (all, or item_ids in that order)."""
    with open(os.path.join(dataset, "items.tsv"), encoding="utf-8") as f:
        header = f.readline().rstrip("\r\n").split("\t")
        rows = [line.rstrip("\r\n").split("\t") for line in f if line.strip("\r\n")]
    if item_ids is not None:
        by_id = {r[0]: r for r in rows}
        rows = [by_id[i] for i in item_ids]
    n = len(rows)
    feeds = {}

    text = spec["text"]
    fields = text["fields"]
    if fields:
        vocabulary, next_id = {}, 0
        for kind, key in enumerate(("unigrams", "bigrams", "trigrams")):
            for token in text["vocabulary"][key]:
                vocabulary[(kind, token)] = next_id
                next_id += 1
        columns = [header.index(c) for c in fields]
        rules = text["tokenization"]
        seqs = [[[vocabulary[t] for t in tokens(r[c], rules) if t in vocabulary] for c in columns] for r in rows]
        longest = max([1] + [len(s) for item in seqs for s in item])
        ids = np.zeros((n, len(fields), longest), np.int64)
        weights = np.zeros((n, len(fields), longest), np.float32)
        for b, item in enumerate(seqs):
            for f, seq in enumerate(item):
                ids[b, f, :len(seq)] = seq
                weights[b, f, :len(seq)] = 1
        feeds["token_ids"], feeds["token_weights"] = ids, weights

    vec = spec["vectors"]
    slots, dim = vec["slots"], vec["dimension"]
    if slots:
        vectors = np.zeros((n, slots, dim), np.float32)
        mask = np.zeros((n, slots), np.float32)
        used = np.zeros(n, np.int64)
        for s, name in enumerate(vec["sets"]):
            table = np.load(os.path.join(dataset, "vectors", name + ".npy"))
            with open(os.path.join(dataset, "vectors", name + ".ids"), encoding="utf-8") as f:
                row_of = {line.rstrip("\r\n"): i for i, line in enumerate(f)}
            for b, r in enumerate(rows):
                i = row_of.get(r[0])
                if i is None:
                    continue
                slot = s if vec["slot_layout"] == "by_set" else used[b]
                used[b] += 1
                v = table[i].astype(np.float64)
                norm = np.linalg.norm(v)
                if norm > 0:
                    vectors[b, slot, :len(v)] = v * np.sqrt(len(v)) / norm
                mask[b, slot] = 1
        feeds["vectors"], feeds["vector_mask"] = vectors, mask
    return [r[0] for r in rows], feeds


def main(argv):
    if len(argv) not in (4, 6) or (len(argv) == 6 and argv[4] != "--check"):
        print(__doc__, file=sys.stderr)
        return 3
    with open(argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    item_ids, feeds = inputs(spec, argv[2])
    os.makedirs(argv[3], exist_ok=True)
    for name, array in feeds.items():
        np.save(os.path.join(argv[3], name + ".npy"), array)
    with open(os.path.join(argv[3], "item_ids.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(item_ids) + "\n")
    if len(argv) == 6:
        import onnx
        model = onnx.load(argv[5])
        onnx.checker.check_model(model, full_check=True)
        names = [i.name for i in model.graph.input]
        if names != list(feeds):
            print(f"inputs differ: model {names}, spec {list(feeds)}", file=sys.stderr)
            return 1
        print("onnx.checker: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
