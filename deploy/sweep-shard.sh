#!/bin/sh
# Runs shard INDEX of COUNT of a faultline sweep and keeps its rows in OUTDIR/shard-INDEX.jsonl
# (written whole: to a temporary name, then renamed, so a failed shard leaves no half file).
# Every batch system calls this same script: Slurm with $SLURM_ARRAY_TASK_ID, a Kubernetes
# indexed Job with $JOB_COMPLETION_INDEX, a laptop with a loop.
#
#   deploy/sweep-shard.sh INDEX COUNT OUTDIR -- STUDY-ARGS...
#
# FAULTLINE_BIN names the study binary (default: metastable, found on PATH).
set -eu
if [ "$#" -lt 4 ] || [ "$4" != "--" ]; then
    echo "usage: $0 INDEX COUNT OUTDIR -- STUDY-ARGS... (e.g. -- --sweep spike-rps=200:400:25 --seeds 5)" >&2
    exit 2
fi
index=$1
count=$2
outdir=$3
shift 4
mkdir -p "$outdir"
tmp="$outdir/.shard-$index.jsonl.tmp"
"${FAULTLINE_BIN:-metastable}" "$@" --shard "$index/$count" >"$tmp"
mv "$tmp" "$outdir/shard-$index.jsonl"
