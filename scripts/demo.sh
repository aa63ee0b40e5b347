#!/usr/bin/env bash
# The main-job demo (`make demo`): the content-addressed store doing its job
# on a scratch root: put, get, dedup, stats, gc to a budget, corruption
# caught, index rebuilt. Uses only the built `mithril` binary.
set -euo pipefail
BIN="$(cd "$(dirname "${1:-build/cli/mithril}")" && pwd)/$(basename "${1:-build/cli/mithril}")"
WORK="$(mktemp -d -t mithril-demo-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
ROOT="$WORK/root"
m() { "$BIN" --root "$ROOT" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. Make 40 fake compiled artifacts (.so/.py/.cpp-like, 4 KiB .. 2 MiB)"
mkdir -p "$WORK/art"
for i in $(seq 1 40); do
  size=$(( (i * 52429) % 2097152 + 4096 ))
  head -c "$size" /dev/urandom > "$WORK/art/kernel_$i.so"
done
du -sh "$WORK/art" | sed 's/\t.*/ of artifacts/'

step "2. Store them (names are BLAKE3 digests: b3sum agrees)"
m put "$WORK"/art/*.so > "$WORK/put.txt"
head -3 "$WORK/put.txt"
echo "   ..."
echo "b3sum says: $(b3sum "$WORK/art/kernel_1.so")"

step "3. Store them again: deduplicated, nothing new written"
m put "$WORK"/art/*.so > /dev/null
m stats | grep -E "Entries|Puts|Cache size"

step "4. Read one back (verified against its digest on the way)"
d=$(b3sum --no-names "$WORK/art/kernel_7.so")
m get "$d" -o "$WORK/back.so"
cmp "$WORK/art/kernel_7.so" "$WORK/back.so" && echo "kernel_7.so round-trips byte for byte"

step "5. Enforce a 10 MiB budget: least-recently-used entries go first"
m gc --max-size 10M
m get "$d" -o /dev/null && echo "kernel_7.so survived (it was just used)"

step "6. Flip one byte in a stored object: it is quarantined, never served"
victim=$(m ls --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["key"])')
obj="$ROOT/objects/${victim:0:2}/${victim:2:2}/$victim"
printf '\xff' | dd of="$obj" bs=1 seek=100 conv=notrunc status=none
m get "$victim" -o "$WORK/bad.so" || true
m stats | grep -E "Corruptions"

step "7. Lose the index: it is rebuilt from the objects on the next open"
rm -f "$ROOT"/index.db*
m stats | grep -E "Entries|Cache size"

step "8. Final statistics"
m stats
