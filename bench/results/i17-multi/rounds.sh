#!/bin/bash
# The suite, one and two workers of this build (new) and main's build (main), alternated, same machine.
# Usage (from the worktree root): bench/results/i17-multi/rounds.sh RUN... where RUN is BUILD-wN-rK,
# e.g. new-w1-r1 new-w2-r1 main-w1-r1 main-w2-r1
cd "$(dirname "$0")/../../.." || exit 1
OUT=bench/results/i17-multi
SC=update_project,job_cycle,create_project_tenants,get_project,reference_append
for run in "$@"; do
  build=${run%%-*}; w=$(echo "$run" | sed 's/.*-w\([0-9]\)-.*/\1/')
  avm=$PWD/.venv/bin/avm; [ "$build" = main ] && avm=/work/main/.venv/bin/avm
  d=$OUT/suite-$run
  echo "$(date -u +%T) start $d load $(cut -d' ' -f1-3 /proc/loadavg)" >> $OUT/rounds.log
  timeout 900 .venv/bin/python bench/suite.py --avm "$avm" --workers "$w" --scenarios $SC \
    --duration 8 --warmup 2 --out-dir "$d" --quiet >> $OUT/rounds.log 2>&1
  echo "$(date -u +%T) end   $d load $(cut -d' ' -f1-3 /proc/loadavg)" >> $OUT/rounds.log
done
