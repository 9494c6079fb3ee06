#!/usr/bin/env bash
# Plants each dispatcher bug of test/sim/planted/[0-9R]*.patch (O*: run-overlay-mutants.sh) in a temporary copy of src/, builds it and hunts the
# checked simulation scenarios on a seed range; reports per bug whether some seed caught it, and the
# first catching seed and check per scenario. Not part of `npm test`.
# Usage: npm run sim:mutants -- [--seeds N] [--from S] [NAME-PREFIX ...]
set -u
root=$(cd "$(dirname "$0")/../../.." && pwd)
seeds=100
from=1
filters=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds=$2; shift 2 ;;
    --from) from=$2; shift 2 ;;
    *) filters+=("$1"); shift ;;
  esac
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
caught=0
total=0
for patch in "$root"/test/sim/planted/[0-9R]*.patch; do
  name=$(basename "$patch" .patch)
  if [ ${#filters[@]} -gt 0 ]; then
    keep=0
    for f in "${filters[@]}"; do case "$name" in "$f"*) keep=1 ;; esac; done
    [ $keep -eq 1 ] || continue
  fi
  total=$((total + 1))
  work="$tmp/$name"
  mkdir -p "$work"
  cp -r "$root/src" "$root/package.json" "$root/tsconfig.json" "$work/"
  ln -s "$root/node_modules" "$work/node_modules"
  if ! (cd "$work" && patch -s -p1 < "$patch"); then echo "$name: patch does not apply"; continue; fi
  if ! (cd "$work" && "$root/node_modules/.bin/tsc" -p tsconfig.json); then echo "$name: does not build"; continue; fi
  out=$(cd "$work" && node dist/src/sim/hunt.js --seeds "$seeds" --from "$from" --quiet --stop-at-first)
  if echo "$out" | grep -q "first seed"; then
    caught=$((caught + 1))
    echo "$name: CAUGHT"
  else
    echo "$name: NOT CAUGHT in seeds $from..$((from + seeds - 1))"
  fi
  echo "$out" | grep "first seed" | sed 's/^/    /'
  rm -rf "$work"
done
echo "$caught of $total planted bugs caught"
[ "$caught" -eq "$total" ]
