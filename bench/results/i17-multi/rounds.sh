#!/bin/bash
# The suite, one and two workers of this build (new) and main's build (main), alternated, same machine.
# Usage (from the worktree root): bench/results/i17-multi/rounds.sh ROUNDS
cd "$(dirname "$0")/../../.." || exit 1
OUT=bench/results/i17-multi
SC=update_project,job_cycle,create_project_tenants,get_project,reference_append
for r in $(seq 1 "${1:-2}"); do
  for build in new main; do
    avm=.venv/bin/avm; [ $build = main ] && avm=/work/main/.venv/bin/avm
    for w in 1 2; do
      d=$OUT/suite-$build-w$w-r$r
      echo "$(date -u +%T) start $d load $(cut -d' ' -f1-3 /proc/loadavg)" >> $OUT/rounds.log
      timeout 900 .venv/bin/python bench/suite.py --avm $avm --workers $w --scenarios $SC \
        --duration 8 --warmup 2 --out-dir $d --quiet >> $OUT/rounds.log 2>&1
      echo "$(date -u +%T) end   $d load $(cut -d' ' -f1-3 /proc/loadavg)" >> $OUT/rounds.log
    done
  done
done
