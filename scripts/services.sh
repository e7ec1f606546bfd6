#!/usr/bin/env bash
# Start, stop and describe the real services the tests talk to: private instances on loopback, each
# on its own port with its own data dir, never the machine's system services.
#
#   scripts/services.sh up     [SERVICE…]  install if missing, initialise once, start (no-op if running)
#   scripts/services.sh down   [SERVICE…]  stop the instances this state dir started
#   scripts/services.sh env    [SERVICE…]  print the variables without starting anything
#   scripts/services.sh status [SERVICE…]  say what runs (exit 3 if something is not running)
#
# One script per service in scripts/services/ (mariadb, postgres, moto, victoriametrics, mongodb,
# bigquery; the README's table gives their ports and variables), on the shared helpers of
# scripts/services/lib.sh. With no SERVICE, all of them. `up` and `env` print ONLY
# `export NAME=value` lines on stdout (progress goes to stderr), so a caller can do:
#
#   services_env="$(scripts/services.sh up)" && eval "$services_env"
#
# State lives in ${FASTLANE_SERVICES_DIR:-<repo>/.services}/<service>/ (data dir, log, pid file).
#
# Adding a service: write scripts/services/<name>.sh with four functions, <name>_up, <name>_down,
# <name>_env and <name>_status, following mariadb.sh. Nothing here changes.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
SERVICES_DIR="$REPO/scripts/services"
STATE_DIR="${FASTLANE_SERVICES_DIR:-$REPO/.services}"
# Absolute and normalised: pid checks compare it with the servers' command lines, and PostgreSQL's
# programs run from another working directory.
STATE_DIR="$(realpath -m -- "$STATE_DIR")"
# Started in this order (the databases first, the slowest to start last).
ORDER=(mariadb postgres moto victoriametrics mongodb bigquery)

# Everything a command prints goes to stderr; only the `export` lines go to the real stdout, kept
# on fd 3 (see scripts/services/lib.sh).
exec 3>&1 1>&2
# shellcheck source=scripts/services/lib.sh
source "$SERVICES_DIR/lib.sh"

# Every service with a script: those of ORDER first, in that order, then any other, by name.
SERVICES=()
for svc in "${ORDER[@]}"; do
  [ -f "$SERVICES_DIR/$svc.sh" ] && SERVICES+=("$svc")
done
for script in "$SERVICES_DIR"/*.sh; do
  svc="$(basename "$script" .sh)"
  [ "$svc" = lib ] && continue
  [[ " ${SERVICES[*]} " == *" $svc "* ]] || SERVICES+=("$svc")
done

usage() {
  printf 'usage: %s up|down|env|status [SERVICE…]\nservices: %s\n' "$0" "${SERVICES[*]}" >&2
  exit 2
}

main() {
  [ $# -ge 1 ] || usage
  local cmd="$1"
  shift
  case "$cmd" in
    up | down | env | status) ;;
    -h | --help | help) usage ;;
    *) usage ;;
  esac
  local wanted=("$@") svc s known
  [ ${#wanted[@]} -gt 0 ] || wanted=("${SERVICES[@]}")
  for svc in "${wanted[@]}"; do
    known=0
    for s in "${SERVICES[@]}"; do [ "$s" = "$svc" ] && known=1; done
    [ "$known" = 1 ] || die "unknown service '$svc' (known: ${SERVICES[*]})"
  done
  # Only the services asked for are read (each finds its port as it is read).
  for svc in "${wanted[@]}"; do
    # shellcheck source=/dev/null
    source "$SERVICES_DIR/$svc.sh"
  done

  local rc=0
  for svc in "${wanted[@]}"; do
    if [ "$cmd" = status ]; then
      "${svc}_status" || rc=$?
    else
      "${svc}_$cmd"
    fi
  done
  return "$rc"
}

main "$@"
