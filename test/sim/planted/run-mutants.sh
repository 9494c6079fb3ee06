#!/usr/bin/env bash
# Plants each dispatcher bug of test/sim/planted/[0-9R]*.patch (O*: run-overlay-mutants.sh) in a temporary copy of src/, builds it and hunts the
# checked simulation scenarios on a seed range; reports per bug whether some seed caught it, and the
# first catching seed and check per scenario. Not part of `npm test`.
# Usage: npm run sim:mutants -- [--seeds N] [--from S] [NAME-PREFIX ...]
set -u
root=$(cd "$(dirname "$0")/../../.." && pwd)
# shellcheck source=mutants-lib.sh
source "$root/test/sim/planted/mutants-lib.sh"
parse_mutant_args 100 1 "$@"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
caught=0
total=0
for patch in "$root"/test/sim/planted/[0-9R]*.patch; do
  name=$(basename "$patch" .patch)
  is_selected "$name" || continue
  total=$((total + 1))
  work="$tmp/$name"
  plant "$root" "$patch" "$work" src package.json tsconfig.json || continue
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
