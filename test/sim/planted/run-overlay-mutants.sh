#!/usr/bin/env bash
# Plants each overlay bug of test/sim/planted/O*.patch in a temporary copy of the project and runs the
# overlay-daemons fault simulation (test/sim/overlay-faults.sim.test.ts) on its seed range; reports per
# bug whether some seed caught it, the first catching seed and what that seed found. Not part of
# `npm test`. Usage: npm run sim:overlay-mutants -- [--seeds N] [--from S] [NAME-PREFIX ...]
set -u
root=$(cd "$(dirname "$0")/../../.." && pwd)
# shellcheck source=mutants-lib.sh
source "$root/test/sim/planted/mutants-lib.sh"
parse_mutant_args 400 1000 "$@"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
caught=0
total=0
for patch in "$root"/test/sim/planted/O*.patch; do
  name=$(basename "$patch" .patch)
  is_selected "$name" || continue
  total=$((total + 1))
  work="$tmp/$name"
  plant "$root" "$patch" "$work" src test package.json tsconfig.json vitest.config.ts || continue
  out=$(cd "$work" && OVERLAY_FAULT_SEEDS=$seeds OVERLAY_FAULT_SEED=$from \
    "$root/node_modules/.bin/vitest" run test/sim/overlay-faults.sim.test.ts 2>&1 | sed 's/\x1b\[[0-9;]*m//g')
  first=$(echo "$out" | grep -o '"seed [0-9]*: [^"]*' | head -1 | cut -c2-)
  if [ -n "$first" ]; then
    caught=$((caught + 1))
    count=$(echo "$out" | grep -c '"seed [0-9]*: ')
    echo "$name: CAUGHT by $count of $seeds seeds from $from"
    echo "    first: ${first:0:300}"
  else
    echo "$name: NOT CAUGHT in seeds $from..$((from + seeds - 1))"
    echo "$out" | grep -E "Tests |AssertionError" | head -3 | sed 's/^/    /'
  fi
  rm -rf "$work"
done
echo "$caught of $total planted overlay bugs caught"
[ "$caught" -eq "$total" ]
