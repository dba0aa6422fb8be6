#!/usr/bin/python3
"""Writes the small files of the bad-input catalogue (tests/bad_inputs/files).

Each file is broken in one specific way; tests/bad_inputs/cases.tsv says
which command must reject it, with which exit status and message. Needs
numpy, and build/rnn for the one valid checkpoint (tiny_lm.safetensors).
Run: /usr/bin/python3 tools/gen_bad_inputs.py tests/bad_inputs/files
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np


def safetensors_bytes(header, data=b"", raw_header=None):
    h = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def st_tensors(tensors, meta=None):
    """tensors: list of (name, float32 array) -> valid safetensors bytes."""
    header, blobs, off = {}, [], 0
    if meta:
        header["__metadata__"] = meta
    for name, a in tensors:
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    return safetensors_bytes(header, b"".join(blobs))


def lstm_state(rng, I=4, H=3, layers=1, bi=False, drop=(), extra=()):
    out = []
    for l in range(layers):
        for sfx in ([""] + (["_reverse"] if bi else [])):
            inp = I if l == 0 else H * (2 if bi else 1)
            for n, shape in (("weight_ih", (4 * H, inp)), ("weight_hh", (4 * H, H)),
                             ("bias_ih", (4 * H,)), ("bias_hh", (4 * H,))):
                name = f"{n}_l{l}{sfx}"
                if name not in drop:
                    out.append((name, rng.uniform(-0.5, 0.5, shape).astype(np.float32)))
    out.extend(extra)
    return out


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    rng = np.random.default_rng(0)

    def put(name, data):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)

    good = st_tensors(lstm_state(rng))
    put("lstm.safetensors", good)
    np.save(os.path.join(outdir, "x.npy"), rng.normal(size=(5, 2, 4)).astype(np.float32))

    # --- safetensors, malformed containers
    put("truncated.safetensors", good[: len(good) - 10])
    put("short.safetensors", b"\x10\x00\x00")
    put("huge_header.safetensors", struct.pack("<Q", 1 << 40) + b"{}")
    put("header_past_end.safetensors", struct.pack("<Q", 4096) + b'{"a":1}')
    put("not_json.safetensors", safetensors_bytes(None, raw_header=b"{not json}"))
    put("array_header.safetensors", safetensors_bytes(None, raw_header=b"[1, 2]"))
    put("nan_shape.safetensors", safetensors_bytes(
        None, raw_header=b'{"weight_hh_l0":{"dtype":"F32","shape":[NaN,3],"data_offsets":[0,0]}}'))
    put("float_shape.safetensors", safetensors_bytes(
        {"weight_hh_l0": {"dtype": "F32", "shape": [3.5, 3], "data_offsets": [0, 42]}}, b"\0" * 42))
    put("negative_shape.safetensors", safetensors_bytes(
        {"weight_hh_l0": {"dtype": "F32", "shape": [-12, 3], "data_offsets": [0, 0]}}))
    put("bad_dtype.safetensors", safetensors_bytes(
        {"weight_hh_l0": {"dtype": "F33", "shape": [12, 3], "data_offsets": [0, 144]}}, b"\0" * 144))
    put("size_mismatch.safetensors", safetensors_bytes(
        {"weight_hh_l0": {"dtype": "F32", "shape": [12, 3], "data_offsets": [0, 140]}}, b"\0" * 140))
    put("overlap.safetensors", safetensors_bytes(
        {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
         "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12))
    put("hole.safetensors", safetensors_bytes(
        {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
         "b": {"dtype": "F32", "shape": [2], "data_offsets": [12, 20]}}, b"\0" * 20))
    put("duplicate.safetensors", safetensors_bytes(None, raw_header=(
        b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
        b'"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}')), )
    # the duplicate file needs its data: rewrite with 8 bytes appended
    with open(os.path.join(outdir, "duplicate.safetensors"), "ab") as f:
        f.write(b"\0" * 8)
    put("overflow.safetensors", safetensors_bytes(
        {"a": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 0]}}))
    put("int_weights.safetensors", safetensors_bytes(
        {"weight_ih_l0": {"dtype": "I32", "shape": [12, 4], "data_offsets": [0, 192]},
         "weight_hh_l0": {"dtype": "I32", "shape": [12, 3], "data_offsets": [192, 336]},
         "bias_ih_l0": {"dtype": "I32", "shape": [12], "data_offsets": [336, 384]},
         "bias_hh_l0": {"dtype": "I32", "shape": [12], "data_offsets": [384, 432]}}, b"\0" * 432))

    # --- safetensors, valid containers holding the wrong model
    put("missing_bias.safetensors", st_tensors(lstm_state(rng, drop=("bias_hh_l0",))))
    put("no_rnn.safetensors", st_tensors([("fc.weight", np.zeros((2, 3), np.float32))]))
    put("prefixed.safetensors", st_tensors([("encoder.rnn." + n, a) for n, a in lstm_state(rng)]))
    put("gates2.safetensors", st_tensors([
        ("weight_ih_l0", np.zeros((6, 4), np.float32)), ("weight_hh_l0", np.zeros((6, 3), np.float32)),
        ("bias_ih_l0", np.zeros(6, np.float32)), ("bias_hh_l0", np.zeros(6, np.float32))]))
    put("gates_ragged.safetensors", st_tensors([
        ("weight_ih_l0", np.zeros((10, 4), np.float32)), ("weight_hh_l0", np.zeros((10, 3), np.float32))]))
    put("wrong_shape.safetensors", st_tensors(
        lstm_state(rng, drop=("bias_ih_l0",)) + [("bias_ih_l0", np.zeros(11, np.float32))]))
    put("layer_gap.safetensors", st_tensors(
        lstm_state(rng) + [(n.replace("_l0", "_l2"), a) for n, a in lstm_state(rng, I=3)]))
    put("proj.safetensors", st_tensors(lstm_state(rng) + [("weight_hr_l0", np.zeros((2, 3), np.float32))]))

    # --- .npy
    x = np.load(os.path.join(outdir, "x.npy"))
    xb = open(os.path.join(outdir, "x.npy"), "rb").read()
    put("truncated.npy", xb[:-7])
    put("bad_magic.npy", b"\x93NUMPZ" + xb[6:])
    np.save(os.path.join(outdir, "fortran.npy"), np.asfortranarray(x))
    np.save(os.path.join(outdir, "bigendian.npy"), x.astype(">f4"))
    np.save(os.path.join(outdir, "x_int.npy"), (x * 10).astype(np.int64))
    np.save(os.path.join(outdir, "x_2d.npy"), x[0])
    np.save(os.path.join(outdir, "x_wrong_i.npy"), rng.normal(size=(5, 2, 7)).astype(np.float32))
    np.save(os.path.join(outdir, "x_empty.npy"), np.zeros((0, 2, 4), np.float32))
    np.save(os.path.join(outdir, "len_zero.npy"), np.array([0, 5], np.int64))
    np.save(os.path.join(outdir, "len_big.npy"), np.array([6, 5], np.int64))
    np.save(os.path.join(outdir, "len_float.npy"), np.array([5.0, 5.0], np.float32))
    np.save(os.path.join(outdir, "len_3.npy"), np.array([5, 5, 5], np.int32))
    np.save(os.path.join(outdir, "h0_wrong.npy"), np.zeros((2, 2, 3), np.float32))
    hdr = b"{'descr': '<f4', 'fortran_order': False, 'shape': (5, NaN, 4), }"
    hdr += b" " * (-(10 + len(hdr) + 1) % 64) + b"\n"
    put("nan_shape.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr + b"\0" * 160)
    put("empty_file.npy", b"")

    # --- texts for the language-model verbs
    text = "".join(f"line {i % 10}: the rain in spain stays mainly in the plain.\n" for i in range(80))
    put("text.txt", text.encode())
    put("short.txt", b"tiny text\n")
    put("empty.txt", b"")
    put("binary.txt", b"GIF89a\x01\x00\x01\x00\x00\xff\x00,\x00\x00")
    put("bad_utf8.txt", "caf\u00e9 ok\nsecond line ".encode() + b"\xc3\x28 broken\n")
    put("unknown_char.txt", "the rain in sp\u00e4in\n".encode())
    # a real (tiny) checkpoint of the text above, made by the rnn binary
    rnn = os.path.join(os.path.dirname(__file__), "..", "build", "rnn")
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([rnn, "train", os.path.join(outdir, "text.txt"), "--out", d, "--max-steps", "2",
                        "--hidden", "4", "--embed", "4", "--layers", "1", "--seq-len", "8", "--batch", "2",
                        "--quiet"], check=True)
        shutil.copy(os.path.join(d, "last.safetensors"), os.path.join(outdir, "tiny_lm.safetensors"))
    classify_files(outdir, rnn)
    forecast_files(outdir, rnn)
    seq2seq_files(outdir, rnn)


def classify_files(outdir, rnn):
    """Files for `rnn classify`, `rnn train --conditioned` and `rnn sample
    --condition`: broken TSVs and .npy labels, and two tiny checkpoints."""
    def put(name, data):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())

    good = ["the film was good", "the plot was dull", "a lovely ending", "boring and slow",
            "great acting", "the music was awful", "a fine story", "weak and tedious"]
    lines = "".join(f"{'pos' if i % 2 == 0 else 'neg'}\t{good[i % 8]}\n" for i in range(40))
    put("cls_train.tsv", lines)
    put("cls_ragged.tsv", "pos\tthe film was good\nneg\tthe plot was dull\nno tab on this line\n")
    put("cls_fields.tsv", "pos\tthe film was good\nneg\tthe plot\twas dull\n")
    put("cls_empty_text.tsv", "pos\tthe film was good\nneg\tthe plot was dull\n\npos\t\n")
    put("cls_one_label.tsv", "pos\tthe film was good\npos\tgreat acting\npos\ta fine story\n")
    put("cls_steps_ragged.tsv", "DDD_NNNN\tthe film\nN V N N V\tabcdef\n")
    put("cls_unseen_label.tsv", "pos\tthe film was good\nneutral\tthe plot was dull\n")
    put("cls_unknown_char.tsv", "the film was good\nthe plot was dull\na caf\u00e9 story\n")
    put("cls_too_long.tsv", "the film was good\n" + "the plot was dull " * 4 + "\n")
    put("cls_text_only.tsv", "the film was good\nthe plot was dull\n")
    put("cls_mixed.tsv", "pos\tthe film was good\nthe plot was dull\n")
    np.save(os.path.join(outdir, "cls_x.npy"), np.zeros((4, 3, 2), np.float32))
    np.save(os.path.join(outdir, "cls_y.npy"), np.array([0, 1, 0, 1], np.int64))
    np.save(os.path.join(outdir, "cls_y_float.npy"), np.array([0, 1, 0, 1], np.float32))
    np.save(os.path.join(outdir, "cls_y_neg.npy"), np.array([0, -2, 0, 1], np.int64))
    np.save(os.path.join(outdir, "cls_y_5.npy"), np.array([0, 1, 0, 1, 1], np.int64))
    np.save(os.path.join(outdir, "cls_y_steps.npy"), np.zeros((4, 3), np.int64))
    np.save(os.path.join(outdir, "cls_len_zero.npy"), np.array([0, 3, 3, 3], np.int64))
    np.save(os.path.join(outdir, "cls_x_nan.npy"), np.array([[[0, 1], [np.nan, 0], [0, 0]]] * 4, np.float32))
    # tiny real checkpoints, made by the rnn binary
    small = ["--max-steps", "2", "--hidden", "4", "--embed", "4", "--batch", "4", "--quiet"]
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([rnn, "classify", "train", os.path.join(outdir, "cls_train.tsv"), "--out", d,
                        "--max-len", "40"] + small, check=True, stdout=subprocess.DEVNULL)
        shutil.copy(os.path.join(d, "last.safetensors"), os.path.join(outdir, "tiny_cls.safetensors"))
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([rnn, "train", os.path.join(outdir, "cls_train.tsv"), "--conditioned", "--out", d,
                        "--layers", "1"] + small, check=True)
        shutil.copy(os.path.join(d, "last.safetensors"), os.path.join(outdir, "tiny_cond.safetensors"))


def forecast_files(outdir, rnn):
    """CSV series for `rnn forecast`, each broken one way, a good one (fc_ok.csv:
    60 monthly rows, target y, feature x) and a tiny checkpoint trained on it
    with a feature column (fc_tiny.safetensors)."""
    def put(name, text):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(text.encode())

    def rows(n, y=lambda i: 10 + (i * 7) % 12 + 0.5 * (i % 5)):
        return "".join(f"{2000 + i // 12}-{i % 12 + 1:02d},{y(i):g},{(i * 3) % 7}\n" for i in range(n))

    head = "date,y,x\n"
    put("fc_ok.csv", head + rows(60))
    put("fc_no_header.csv", rows(60))
    put("fc_numbers.csv", "".join(f"{10 + i % 7}\n" for i in range(60)))
    lines = rows(60).splitlines(True)
    put("fc_non_numeric.csv", head + "".join(lines[:5]) + "2000-06,abc,1\n" + "".join(lines[6:]))
    put("fc_nan.csv", head + "".join(lines[:3]) + "2000-04,NaN,1\n" + "".join(lines[4:]))
    put("fc_missing.csv", head + "".join(lines[:2]) + "2000-03,,1\n" + "".join(lines[3:]))
    put("fc_inf.csv", head + "".join(lines[:7]) + "2000-08,inf,1\n" + "".join(lines[8:]))
    put("fc_ragged.csv", head + "".join(lines[:4]) + "2000-05,3\n" + "".join(lines[5:]))
    put("fc_unclosed.csv", head + lines[0] + '"2000-02,11,1\n' + "".join(lines[2:]))
    put("fc_short.csv", head + rows(20))
    put("fc_zero.csv", head + "".join(lines[:1]) + "2000-02,0,1\n" + "".join(lines[2:]))
    put("fc_constant.csv", "date,y\n" + "".join(f"{2000 + i // 12}-{i % 12 + 1:02d},5\n" for i in range(48))
        + "".join(f"2004-{i + 1:02d},{6 + i}\n" for i in range(12)))
    put("fc_empty.csv", "")
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([rnn, "forecast", "train", os.path.join(outdir, "fc_ok.csv"), "--target", "y",
                        "--features", "x", "--time", "date", "--lookback", "24", "--horizon", "6",
                        "--strategy", "direct",
                        "--test-size", "6", "--val-size", "6", "--hidden", "4", "--max-steps", "2",
                        "--out", d, "--quiet"], check=True, stdout=subprocess.DEVNULL)
        shutil.copy(os.path.join(d, "last.safetensors"), os.path.join(outdir, "fc_tiny.safetensors"))


def seq2seq_files(outdir, rnn):
    """Files for `rnn seq2seq` (source<TAB>target pairs, sources to translate)
    and a tiny checkpoint trained on s2s_ok.tsv (--max-len 40)."""
    def put(name, data):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())

    ok = ["3 de marzo de 1999\t1999-03-03", "July 4, 1976\t1976-07-04", "1/2/03\t2003-02-01",
          "the 9th of May, 1950\t1950-05-09", "31 Dec 49\t2049-12-31", "12.10.1988\t1988-10-12"]
    put("s2s_ok.tsv", "".join(line + "\n" for line in ok))
    put("s2s_ragged.tsv", ok[0] + "\n" + ok[1] + "\n" + "1/2/03 2003-02-01\n")
    put("s2s_fields.tsv", ok[0] + "\n" + "July 4\t1976\t1976-07-04\n")
    put("s2s_long_word.tsv", ok[0] + "\n" + "x" * 1001 + " 4\t1976-07-04\n")
    put("s2s_empty_target.tsv", "3 de marzo de 1999\t\n")
    put("s2s_empty_source.tsv", ok[0] + "\n" + "\t1976-07-04\n")
    put("s2s_bad_utf8.tsv", ok[0].encode() + b"\n" + b"caf\xc3\x28\t2000-01-01\n")
    put("s2s_src_ok.txt", "3 de marzo de 1999\nJuly 4, 1976\n")
    put("s2s_src_empty_line.txt", "3 de marzo de 1999\n\nJuly 4, 1976\n")
    put("s2s_src_unknown.txt", "3 \u2603 marzo\n")
    put("s2s_src_long.txt", "1" * 41 + "\n")
    put("s2s_src_bad_utf8.txt", b"July\xc3\x28 4\n")
    put("s2s_eval_unknown.tsv", ok[0] + "\n" + "4 \u2603 1976\t1976-07-04\n")
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([rnn, "seq2seq", "train", os.path.join(outdir, "s2s_ok.tsv"), "--out", d,
                        "--max-steps", "2", "--hidden", "4", "--embed", "4", "--layers", "1",
                        "--batch", "2", "--max-len", "40", "--val-frac", "0", "--quiet"],
                       check=True, stdout=subprocess.DEVNULL)
        shutil.copy(os.path.join(d, "last.safetensors"), os.path.join(outdir, "s2s_tiny.safetensors"))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/bad_inputs/files")
