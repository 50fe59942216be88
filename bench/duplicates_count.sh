#!/usr/bin/env bash
# Counts the repeated blocks of code (issue 15) at a git revision, reproducibly.
#
#   bench/duplicates_count.sh [REV]      (default HEAD; "WORKTREE" = the working tree)
#
# Copies the git-tracked .py files of ledger/, pos/ and reports/ (Alembic's
# ledger/db/migrations left out: each revision is frozen history) into a temp
# dir, preserving paths, then runs `duplicates --most 200 --seconds 120` on it.
# Prints the pairs, the identical pairs (rows not marked `shape`) and the lines
# read; with -v also the tool's rows.
set -euo pipefail
verbose=0
if [[ "${1:-}" == "-v" ]]; then verbose=1; shift; fi
rev="${1:-HEAD}"
root="$(git rev-parse --show-toplevel)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$root"
if [[ "$rev" == "WORKTREE" ]]; then
    files=$(git ls-files -- ledger pos reports | grep '\.py$' | grep -v '^ledger/db/migrations/')
    for f in $files; do
        [[ -f "$f" ]] || continue
        mkdir -p "$tmp/$(dirname "$f")"
        cp "$f" "$tmp/$f"
    done
else
    files=$(git ls-tree -r --name-only "$rev" -- ledger pos reports | grep '\.py$' | grep -v '^ledger/db/migrations/')
    for f in $files; do
        mkdir -p "$tmp/$(dirname "$f")"
        git show "$rev:$f" >"$tmp/$f"
    done
fi
lines=$(cd "$tmp" && find . -name '*.py' -print0 | xargs -0 cat | wc -l)
out="$(duplicates --repo "$tmp" --most 200 --seconds 120)"
rows=$(grep -E '^D[0-9]+ ' <<<"$out" || true)
more=$(grep -oE '^\(\+[0-9]+ more pairs\)' <<<"$out" | grep -oE '[0-9]+' || echo 0)
nrows=$(grep -c . <<<"$rows" || true)
identical=$(grep -vc -w 'shape' <<<"$rows" || true)
if [[ "$rev" == "WORKTREE" ]]; then
    echo "rev working tree (on $(git rev-parse --short HEAD))"
else
    echo "rev $(git rev-parse --short "$rev")"
fi
echo "pairs $((nrows + more)) (rows $nrows + $more more), identical $identical, lines $lines"
head -1 <<<"$out"
grep -E '^(left out|incomplete):' <<<"$out" || true
if [[ $verbose == 1 ]]; then echo "$out"; fi
