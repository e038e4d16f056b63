#!/bin/bash
# The events lock's cost with N workers: one scenario of the suite, pg_stat_activity sampled while its load runs.
# Usage (worktree root): bench/results/i17-multi/lockwaits.sh WORKERS SCENARIO
cd "$(dirname "$0")/../../.." || exit 1
OUT=bench/results/i17-multi; w=$1; sc=$2; d=$OUT/lockwaits-$sc-w$w
.venv/bin/python bench/suite.py --workers "$w" --scenarios "$sc" --duration 8 --warmup 2 --out-dir "$d" --quiet &
suite=$!
new=""
for _ in $(seq 1 600); do  # its temp directory (its avm serve's working directory), once its PostgreSQL runs
  for child in $(cat /proc/$suite/task/$suite/children 2>/dev/null); do
    cwd=$(readlink /proc/$child/cwd 2>/dev/null)
    case "$cwd" in /tmp/avm-suite-*) [ -f "$cwd/.data/pg/postmaster.pid" ] && new=$cwd ;; esac
  done
  [ -n "$new" ] && break; sleep 0.5
done
.venv/bin/python bench/lock_waits.py --data-dir "$new/.data" --suite-pid $suite --seconds 240 --interval 0.01 \
  --out "$d.json" > /dev/null 2>&1 &
sampler=$!
wait $suite; wait $sampler
