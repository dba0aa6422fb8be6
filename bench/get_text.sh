#!/bin/sh
# get_text.sh OUT -- write the benchmark text: the first ~1 MB of the King James
# Bible (public domain), from Debian's bible-kjv package, to OUT.
#
# Books Genesis .. 2 Samuel in canonical order, as `bible` prints them when its
# output is not a terminal (chapter headers, verse numbers, lines wrapped at 79
# columns: -l79 is the width used when $COLUMNS is unset, forced so $COLUMNS
# cannot change the result), cut at the first line boundary at or after
# 1,000,000 bytes. Deterministic for a given bible-kjv version (4.38 in Debian
# 12 gives 1,000,000 bytes, sha256 83c3fc40...a134); prints the byte count and
# the sha256 of OUT.
#
# If the `bible` command is missing it is installed with apt-get when we are root;
# otherwise the script fails with a message.

set -eu

LIMIT=1000000
BOOKS="Gen Exod Lev Num Deut Josh Judg Ruth 1Sam 2Sam"

die() { echo "get_text.sh: $*" >&2; exit 1; }

[ $# -eq 1 ] || { echo "usage: $0 OUT" >&2; exit 2; }
out=$1

if ! command -v bible >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "get_text.sh: installing bible-kjv with apt-get" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y bible-kjv >&2 ||
            die "apt-get install bible-kjv failed (try apt-get update first)"
        command -v bible >/dev/null 2>&1 || die "bible-kjv installed but no 'bible' command"
    else
        die "the 'bible' command is missing: install Debian's bible-kjv package (apt-get install bible-kjv, as root)"
    fi
fi

export LC_ALL=C
tmp=$(mktemp "${out}.XXXXXX") || die "cannot create a temporary file next to $out"
err=$(mktemp) || die "cannot create a temporary file"
trap 'rm -f "$tmp" "$tmp.raw" "$err"' EXIT INT TERM

# bible exits 0 even for an unknown book (it prints "Bad Book" on stderr), so any
# output on stderr counts as a failure.
: > "$tmp.raw"
for b in $BOOKS; do
    bible -l79 "${b}1:1-${b}99:999" >> "$tmp.raw" 2> "$err" || die "bible failed on book $b"
    [ ! -s "$err" ] || die "bible failed on book $b: $(cat "$err")"
done

# Keep whole lines until at least LIMIT bytes are written (text is ASCII; LC_ALL=C
# makes awk count bytes).
awk -v limit="$LIMIT" '{ print; n += length($0) + 1; if (n >= limit) exit }' "$tmp.raw" > "$tmp"
size=$(wc -c < "$tmp" | tr -d ' ')
[ "$size" -ge "$LIMIT" ] || die "only $size bytes of text (expected at least $LIMIT)"
rm -f "$tmp.raw"
chmod 644 "$tmp"
mv -f "$tmp" "$out"
sum=$(sha256sum "$out" | cut -d' ' -f1)
echo "$out: $size bytes, sha256 $sum"
