#!/usr/bin/python3
"""A checkpoint of `rnn train` loads into PyTorch and gives the same logits.

  tools/torch_lm_check.py --rnn build/rnn

For each cell (lstm, gru, rnn_tanh, rnn_relu): trains a small character model
for a few steps with `rnn train` (on a text made here), then

  - loads the checkpoint with tools/torch_model.py (nn.Embedding + nn.LSTM/GRU/RNN
    + nn.Linear, load_state_dict(strict=True)) and compares the logits of every
    position of a held-out text with `rnn eval --logits` (|a-b| <= 1e-5 + 1e-4|b|);
  - compares the mean cross-entropy `rnn eval` prints with PyTorch's.

Prints one line per cell and "torch lm check: N passed, N failed"; exits 1 on
any failure, 2 if torch cannot be imported.
"""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import numpy as np
    import torch  # noqa: F401
    import torch_model
except ImportError as e:
    sys.stderr.write(f"torch_lm_check.py: cannot import torch/numpy ({e}); run with /usr/bin/python3 "
                     "and Debian's python3-torch\n")
    sys.exit(2)

TEXT = "".join(f"Line {i}: the quick brown fox jumps over the lazy dog; \u00e9t\u00e9 {i * 7 % 13}.\n"
               for i in range(200))
HELD = "Line 3: the lazy dog jumps over the quick brown fox; \u00e9t\u00e9 42.\nLine 17: fox.\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rnn", default="build/rnn")
    a = ap.parse_args()
    passed = failed = 0
    with tempfile.TemporaryDirectory() as d:
        text, held = os.path.join(d, "text.txt"), os.path.join(d, "held.txt")
        with open(text, "w", encoding="utf-8") as f:
            f.write(TEXT)
        with open(held, "w", encoding="utf-8") as f:
            f.write(HELD)
        for cell in ["lstm", "gru", "rnn_tanh", "rnn_relu"]:
            out = os.path.join(d, cell)
            args = [a.rnn, "train", text, "--out", out, "--max-steps", "30", "--hidden", "24",
                    "--layers", "2", "--embed", "8", "--seq-len", "20", "--batch", "8",
                    "--eval-every", "30", "--quiet", "--lr", "5e-3"]
            args += ["--cell", "rnn", "--nonlinearity", cell[4:]] if cell.startswith("rnn") else ["--cell", cell]
            subprocess.run(args, check=True)
            ckpt = os.path.join(out, "last.safetensors")
            ours_npy = os.path.join(d, cell + ".npy")
            r = subprocess.run([a.rnn, "eval", ckpt, held, "--logits", ours_npy, "--chunk", "7"],
                               capture_output=True, text=True, check=True)
            ours_nats = float(r.stdout.split()[1])
            model, vocab, cfg = torch_model.load_checkpoint(ckpt)
            ids = torch_model.encode(open(held, encoding="utf-8").read(), vocab)
            theirs = torch_model.stream_logits(model, ids)
            theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
            ours = np.load(ours_npy)
            ok = ours.shape == theirs.shape
            worst = float(np.max(np.abs(ours - theirs) / (1e-5 + 1e-4 * np.abs(theirs)))) if ok else float("inf")
            total, count = torch_model.stream_nll(model, ids)
            nll = total / count
            ok = ok and worst <= 1.0 and abs(nll - ours_nats) <= 1e-4
            print(f"{cell:9s} logits {ours.shape} worst |a-b|/(atol+rtol|b|) = {worst:.3f}; "
                  f"nats/char ours {ours_nats:.4f} torch {nll:.4f}  {'ok' if ok else 'FAIL'}")
            passed += ok
            failed += not ok
    print(f"torch lm check: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
