#!/bin/sh
# Merges the COUNT shards that deploy/sweep-shard.sh left in OUTDIR into the whole sweep's
# report: the table on stdout (or JSON with --json), and with --out DIR sweep.json and the
# phase diagram sweep.svg. A missing shard is named before anything is merged; the binary
# then checks that every run is there exactly once.
#
#   deploy/sweep-merge.sh COUNT OUTDIR [-- REPORT-ARGS...]   (e.g. -- --out report --measure after-attempts)
#
# FAULTLINE_BIN names the study binary (default: metastable, found on PATH).
set -eu
if [ "$#" -lt 2 ]; then
    echo "usage: $0 COUNT OUTDIR [-- REPORT-ARGS...]" >&2
    exit 2
fi
count=$1
outdir=$2
shift 2
if [ "$#" -gt 0 ]; then
    [ "$1" = "--" ] || { echo "$0: expected -- before the report's flags, got '$1'" >&2; exit 2; }
    shift
fi
files=""
i=0
while [ "$i" -lt "$count" ]; do
    f="$outdir/shard-$i.jsonl"
    [ -f "$f" ] || { echo "$0: $f is missing: shard $i of $count has not finished (run it again)" >&2; exit 1; }
    files="$files $f"
    i=$((i + 1))
done
# shellcheck disable=SC2086 # the file names are ours and hold no spaces unless OUTDIR does
exec "${FAULTLINE_BIN:-metastable}" "$@" --merge $files
