#!/usr/bin/env python3
"""Writes tests/data/m2v-wordpiece/: a tiny Model2Vec model in the plain layout
(F16 "embeddings" [V, 8], no mapping) with a WordPiece tokenizer.json, and prints
the numpy reference's token ids and vectors for the strings used by
tests/test_model2vec.c. Deterministic (fixed seed).
usage: make_m2v_wordpiece.py [REFERENCE_PY]"""
import json, struct, sys, os
import numpy as np

d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "m2v-wordpiece")
vocab = ["[PAD]", "[UNK]", "[CLS]", "hello", "world", "##s", "cat", "##ing", "run", ",", "!", "the",
         "caf", "##é", "un", "##believ", "##able", "é", "naïve", "42", "_", "日", "本", "?", "'", "t",
         "don", "##ly", "quick", "fox"]
rng = np.random.default_rng(7)
E = rng.standard_normal((len(vocab), 8)).astype(np.float16)
hdr = json.dumps({"embeddings": {"dtype": "F16", "shape": list(E.shape), "data_offsets": [0, E.nbytes]}}).encode()
hdr += b" " * (-len(hdr) % 8)
with open(f"{d}/model.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(hdr)) + hdr + E.tobytes())
tok = {"version": "1.0", "normalizer": {"type": "BertNormalizer", "lowercase": True},
       "pre_tokenizer": {"type": "BertPreTokenizer"},
       "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                 "max_input_chars_per_word": 100, "vocab": {p: i for i, p in enumerate(vocab)}}}
json.dump(tok, open(f"{d}/tokenizer.json", "w"), ensure_ascii=False, indent=1)
if len(sys.argv) > 1:
    sys.path.insert(0, os.path.dirname(sys.argv[1]))
    from reference import Model
    m = Model(d)
    for t in ["Hello, worlds!", "The cats running quickly", "Unbelievable café naïve 42_日本?",
              "don't\tstop\u200b the fox", "zzz qqq", ""]:
        print(json.dumps(t, ensure_ascii=False), m.ids(t), [round(float(x), 7) for x in m.embed(t)])
