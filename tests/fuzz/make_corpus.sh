#!/bin/sh
# make_corpus.sh BUILD -- (re)creates the seed corpora in tests/fuzz/corpus/
# from files the repository already has (the bad-input catalogue's files,
# small PyTorch fixtures) plus a few hand-written documents, and the
# checkpoint seeds that fuzz_checkpoint writes itself (it needs
# BUILD/fuzz/replay_fuzz_checkpoint). Seeds are small: fuzzing starts from
# them, and `make test` replays every one through its target.
set -eu
build=${1:-build}
cd "$(dirname "$0")/../.."
c=tests/fuzz/corpus
bad=tests/bad_inputs/files
rm -rf "$c"
mkdir -p "$c/fuzz_safetensors" "$c/fuzz_npy" "$c/fuzz_json" "$c/fuzz_text" \
    "$c/fuzz_checkpoint" "$c/fuzz_flags" "$c/fuzz_csv" "$c/fuzz_tsv" "$c/fuzz_verbs" \
    "$c/fuzz_pairs"

for f in "$bad"/*.safetensors tests/fixtures/lstm_L1_uni_eq.safetensors \
    tests/fixtures/gru_L1_bi_var.safetensors tests/fixtures/run_rnn_relu/w.safetensors; do
    cp "$f" "$c/fuzz_safetensors/$(basename "$(dirname "$f")")_$(basename "$f")"
done
for f in "$bad"/*.npy tests/fixtures/run_lstm_bi_var/*.npy; do
    cp "$f" "$c/fuzz_npy/$(basename "$(dirname "$f")")_$(basename "$f")"
done
for f in "$bad"/*.txt; do
    head -c 2048 "$f" > "$c/fuzz_text/$(basename "$f")"
done
printf '[10,32,97,98,99,233]' > "$c/fuzz_text/vocab.json"
printf 'na\xc3\xafve caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n' > "$c/fuzz_text/utf8.txt"

# CSV: the forecasting catalogue's tables (small ones)
for f in "$bad"/*.csv; do
    head -c 4096 "$f" > "$c/fuzz_csv/$(basename "$f")"
done
printf 'date,"sales, units",price\r\n2024-01-01,"1,5",NA\r\n2024-01-02,"say ""hi""",3.5e2\r\n' \
    > "$c/fuzz_csv/quoted_crlf.csv"
# TSV: the classification catalogue's files, each under three option sets
# (the target's first byte, here in octal: 000 characters and labels, 001
# words and labels, 010 a label per character)
for f in "$bad"/*.tsv; do
    for sel in 000 001 010; do # octal: 0x00, 0x01, 0x08
        { printf "\\$sel"; head -c 2048 "$f"; } > "$c/fuzz_tsv/${sel}_$(basename "$f")"
    done
done
printf '\001pos\tgood film , really\nneg\tbad\n' > "$c/fuzz_tsv/001_words.tsv"
printf '\010NVD\tabc\nDDN\txyz\n' > "$c/fuzz_tsv/010_steps.tsv"
printf '["neg", "pos", "caf\\u00e9"]' > "$c/fuzz_tsv/labels.json"

# JSON: safetensors headers and the documents checkpoints carry
for f in "$bad"/lstm.safetensors "$bad"/tiny_lm.safetensors; do
    python3 -c 'import sys,struct; b=open(sys.argv[1],"rb").read(); n=struct.unpack("<Q",b[:8])[0]; sys.stdout.buffer.write(b[8:8+n])' \
        "$f" > "$c/fuzz_json/header_$(basename "$f" .safetensors).json"
done
printf '{"a": [1, -2.5e-3, true, false, null, "\\u00e9\\ud83d\\ude00\\n"], "b": {"c": {}}}' > "$c/fuzz_json/mixed.json"

RNN_FUZZ_WRITE_SEEDS=$c/fuzz_checkpoint "$build/fuzz/replay_fuzz_checkpoint" /dev/null >/dev/null
cp "$bad"/tiny_lm.safetensors "$c/fuzz_checkpoint/tiny_lm.safetensors"

# every verb's checkpoint, small, for fuzz_verbs
v=$c/fuzz_verbs
tmp=$(mktemp -d)
cp "$bad/tiny_lm.safetensors" "$v/train.safetensors"
cp "$bad/fc_tiny.safetensors" "$v/forecast.safetensors"
cp "$bad/lstm.safetensors" "$v/run_state_dict.safetensors"
"$build/rnn" classify generate sentiment --count 60 --seed 1 --output "$tmp/sent.tsv"
"$build/rnn" classify train "$tmp/sent.tsv" --tokens word --hidden 4 --embed 4 --max-steps 2 \
    --out "$tmp/cls" --quiet >/dev/null
cp "$tmp/cls/last.safetensors" "$v/classify.safetensors"
"$build/rnn" task dates --count 40 --seed 1 --output "$tmp/dates.tsv"
"$build/rnn" seq2seq train "$tmp/dates.tsv" --hidden 4 --embed 4 --layers 1 --max-steps 2 \
    --out "$tmp/s2s" --quiet >/dev/null
cp "$tmp/s2s/last.safetensors" "$v/seq2seq.safetensors"
rm -rf "$tmp"

# seq2seq pairs (the first byte picks the options, see fuzz_pairs.c)
p=$c/fuzz_pairs
{ printf '\000'; "$build/rnn" task dates --count 8 --seed 3; } > "$p/000_dates.tsv"
printf '\001the cat sat\tle chat assis\nhello world\tbonjour le monde\n\n' > "$p/001_words.tsv"
printf '\002abcdefgh\tab\nab\tabcdefghij\nx\ty\n' > "$p/002_long.tsv"
printf '\000caf\xc3\xa9\t\xe2\x82\xac\r\nno tab here\n\tempty source\n' > "$p/000_utf8_crlf.tsv"
for f in "$bad"/s2s_*.tsv; do
    [ -f "$f" ] && { printf '\000'; head -c 2048 "$f"; } > "$p/000_$(basename "$f")"
done

# flags and configs: the rnn.loop and rnn.config of a real checkpoint
python3 - "$c/fuzz_checkpoint/step2.safetensors" "$c/fuzz_flags" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
meta = json.loads(b[8:8 + n])["__metadata__"]
for key in ("rnn.config", "rnn.train"):
    open("%s/%s.json" % (sys.argv[2], key), "w").write(meta[key])
PY
printf '%s' '{"flags": {"cell": "gru", "hidden": 16, "layers": 1, "embed": 8, "dropout": 0.25, "seq-len": 20, "batch": 4, "optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "schedule": "step", "lr-decay-every": 10, "lr-decay": 0.5, "seed": "7", "on-nan": "skip", "threads": 2}, "best_val": 1.5, "best_step": 20, "evals_since_best": 0}' \
    > "$c/fuzz_flags/loop.json"
printf '%s' '{"cell": "rnn_relu", "vocab_size": 0, "input_size": 3, "hidden_size": 5, "num_layers": 2, "bidirectional": true, "dropout": 0.1, "output_size": 2, "readout": "attention", "conv_filters": 4, "conv_kernel": 3, "conv_dilation": 2, "cond_classes": 3, "cond_size": 2}' \
    > "$c/fuzz_flags/config_full.json"
du -sh "$c"
