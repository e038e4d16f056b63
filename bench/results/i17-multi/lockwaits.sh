#!/bin/bash
# The events lock's cost with N workers: one scenario of the suite, pg_stat_activity sampled while its load runs.
# Usage (worktree root): bench/results/i17-multi/lockwaits.sh WORKERS SCENARIO
cd "$(dirname "$0")/../../.." || exit 1
OUT=bench/results/i17-multi; w=$1; sc=$2; d=$OUT/lockwaits-$sc-w$w
before=$(ls -d /tmp/avm-suite-* 2>/dev/null)
.venv/bin/python bench/suite.py --workers "$w" --scenarios "$sc" --duration 8 --warmup 2 --out-dir "$d" --quiet &
suite=$!
for _ in $(seq 1 300); do  # its temp directory, once its PostgreSQL runs
  new=$(comm -13 <(echo "$before" | sort) <(ls -d /tmp/avm-suite-* 2>/dev/null | sort) | tail -1)
  [ -n "$new" ] && [ -f "$new/.data/pg/postmaster.pid" ] && break; sleep 1
done
.venv/bin/python bench/lock_waits.py --data-dir "$new/.data" --suite-pid $suite --seconds 240 --interval 0.01 \
  --out "$d.json" > /dev/null 2>&1 &
sampler=$!
wait $suite; wait $sampler
