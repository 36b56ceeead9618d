#!/usr/bin/env bash
# Runs every fuzz target for a short time ($1, default 3s). Longer fuzzing
# is a local habit: scripts/fuzz-smoke.sh 5m
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-3s}
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' || true)
  for t in $targets; do
    echo "-- $pkg $t ($budget)"
    go test -run='^$' -fuzz="^${t}\$" -fuzztime="$budget" "$pkg" >/tmp/fuzz-$$.log 2>&1 || { cat /tmp/fuzz-$$.log; exit 1; }
  done
done
rm -f /tmp/fuzz-$$.log
