#!/usr/bin/env bash
# Shared by run-mutants.sh and run-overlay-mutants.sh (sourced, not run): argument parsing, the
# NAME-PREFIX filter, and planting one patch in a temporary copy of the project.

# parse_mutant_args DEFAULT_SEEDS DEFAULT_FROM ARGS...: sets seeds, from and filters (name prefixes).
parse_mutant_args() {
  seeds=$1
  from=$2
  shift 2
  filters=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --seeds) seeds=$2; shift 2 ;;
      --from) from=$2; shift 2 ;;
      *) filters+=("$1"); shift ;;
    esac
  done
}

# is_selected NAME: true when no filter was given or NAME starts with one of them.
is_selected() {
  [ ${#filters[@]} -eq 0 ] && return 0
  local f
  for f in "${filters[@]}"; do case "$1" in "$f"*) return 0 ;; esac; done
  return 1
}

# plant ROOT PATCH WORK PATHS...: copies PATHS of ROOT into WORK, links node_modules and applies PATCH;
# says so and fails when the patch does not apply.
plant() {
  local root=$1 patch=$2 work=$3
  shift 3
  mkdir -p "$work"
  local path
  for path in "$@"; do cp -r "$root/$path" "$work/"; done
  ln -s "$root/node_modules" "$work/node_modules"
  if ! (cd "$work" && patch -s -p1 < "$patch"); then
    echo "$(basename "$patch" .patch): patch does not apply"
    return 1
  fi
}
