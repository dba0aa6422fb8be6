#!/usr/bin/python3
"""Writes the reliability cases' files of the bad-input catalogue
(tests/bad_inputs/files/rel_*): checkpoints that are valid safetensors and
valid rnn checkpoints in every respect but one, the kind of damage a file
from the internet or a hand-edited one carries:

  rel_absurd_config.safetensors   rnn.config asks for 2^20 hidden units x 1000
                                  layers (8.8e15 parameters); the file holds
                                  a tiny model's -- must be refused before
                                  anything that size is allocated
  rel_nan_weights.safetensors     a character model with a NaN weight
  rel_bad_flags/last.safetensors  --resume settings (rnn.loop) with a dropout
                                  of 5, outside [0, 0.99]
  rel_bad_hidden/last.safetensors  --resume settings with "hidden": 2.5
  rel_s2s_absurd.safetensors      the seq2seq checkpoint s2s_tiny.safetensors
                                  with seq2seq.config asking for 2^16 hidden
                                  units x 64 layers
  rel_s2s_nan.safetensors         the same checkpoint with an Inf weight

Needs numpy and build/rnn (it trains the small model the files start from).
Run: /usr/bin/python3 tools/gen_reliability_inputs.py tests/bad_inputs/files
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sttools  # noqa: E402


def main(out, rnn="build/rnn"):
    with tempfile.TemporaryDirectory() as tmp:
        text = os.path.join(tmp, "text.txt")
        with open(text, "w") as f:
            for i in range(60):
                f.write("line %d: the rain in spain stays mainly in the plain.\n" % (i % 7))
        run = os.path.join(tmp, "run")
        subprocess.run([rnn, "train", text, "--out", run, "--max-steps", "4", "--eval-every", "2",
                        "--hidden", "6", "--layers", "1", "--embed", "3", "--seq-len", "8",
                        "--batch", "2", "--seed", "3", "--quiet"], check=True)
        tensors, meta = sttools.load_file(os.path.join(run, "last.safetensors"))

    def save(name, t, m):
        path = os.path.join(out, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        sttools.save_file(t, path, m)

    cfg = json.loads(meta["rnn.config"])
    absurd = dict(cfg, hidden_size=1 << 20, num_layers=1000)
    save("rel_absurd_config.safetensors", tensors, dict(meta, **{"rnn.config": json.dumps(absurd)}))

    nan = {k: v.copy() for k, v in tensors.items()}
    nan["rnn.weight_hh_l0"].reshape(-1)[5] = np.nan
    save("rel_nan_weights.safetensors", nan, meta)

    loop = json.loads(meta["rnn.loop"])
    bad = dict(loop, flags=dict(loop["flags"], dropout=5.0))
    save("rel_bad_flags/last.safetensors", tensors, dict(meta, **{"rnn.loop": json.dumps(bad)}))
    bad = dict(loop, flags=dict(loop["flags"], hidden=2.5))
    save("rel_bad_hidden/last.safetensors", tensors, dict(meta, **{"rnn.loop": json.dumps(bad)}))

    # seq2seq checkpoints (s2s_tiny.safetensors is written by gen_bad_inputs.py)
    tensors, meta = sttools.load_file(os.path.join(out, "s2s_tiny.safetensors"))
    cfg = json.loads(meta["seq2seq.config"])
    absurd = dict(cfg, hidden=1 << 16, layers=64)
    save("rel_s2s_absurd.safetensors", tensors, dict(meta, **{"seq2seq.config": json.dumps(absurd)}))
    inf = {k: v.copy() for k, v in tensors.items()}
    inf["dec.rnn.weight_hh_l0"].reshape(-1)[3] = np.inf
    save("rel_s2s_nan.safetensors", inf, meta)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/bad_inputs/files")
