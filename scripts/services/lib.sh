# Sourced by scripts/services.sh (which see): what every service script shares — output on fd 3,
# logging, installs, pid and port bookkeeping, stopping a daemon.
# shellcheck shell=bash

# Everything a command prints goes to stderr; only the `export` lines go to the real stdout, kept
# on fd 3. Background daemons must not inherit fd 3 (or stdout): a caller's `$(…)` waits until every
# writer of its pipe has closed, so a daemon holding it would hang the caller forever.

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
emit() { printf 'export %s=%q\n' "$1" "$2" >&3; }

# Run a command with its output hidden, shown on stderr only if it fails.
quiet() {
  local out
  if ! out="$("$@" 2>&1)"; then
    printf '%s\n' "$out" >&2
    return 1
  fi
}

# Run as root directly, otherwise through sudo (only used for apt and /usr/sbin).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# apt-get install PACKAGE… without letting the packages start their system services: invoke-rc.d
# asks /usr/sbin/policy-rc.d first, and exit code 101 means "action forbidden". Whatever policy-rc.d
# was there before (Docker images ship one) is put back afterwards, even if the install fails.
apt_install_no_start() {
  local policy=/usr/sbin/policy-rc.d backup=/usr/sbin/policy-rc.d.fastlane-backup
  log "installing $* with apt-get (system services kept from starting)"
  (
    if as_root test -e "$policy"; then as_root mv "$policy" "$backup"; fi
    # shellcheck disable=SC2317  # called by the EXIT trap
    restore() {
      as_root rm -f "$policy"
      if as_root test -e "$backup"; then as_root mv "$backup" "$policy"; fi
    }
    trap restore EXIT
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
  )
}

# Is PID alive and running with ARG on its command line? Guards against a stale pid file whose
# pid has since been reused by an unrelated process.
pid_runs_with() {
  local pid="$1" arg="$2"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] &&
    tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qxF -- "$arg"
}

# Ports. A service takes FASTLANE_<SERVICE>_PORT when that is set (and fails loudly if the port is
# taken). Otherwise it takes the port its state dir recorded at an earlier start, else its default;
# when that port is held by something this state dir did not start (another checkout's services,
# an earlier session's, a system daemon), the next free span above it is used and recorded in
# <service>/port, so two checkouts on one machine never collide and `env`/`down` find it again.
port_taken() { (exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
span_free() {
  local p
  for ((p = $1; p < $1 + $2; p++)); do
    if port_taken "$p"; then return 1; fi
  done
}
# Does a pid file under the service's state dir name a live process (our instance)?
service_alive() {
  local f pid
  while IFS= read -r f; do
    pid="$(head -n 1 "$f" 2>/dev/null || true)"
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then return 0; fi
  done < <(find "$STATE_DIR/$1" -maxdepth 2 -name '*.pid' 2>/dev/null)
  return 1
}
# service_port NAME DEFAULT WIDTH EXPLICIT: the first of WIDTH consecutive ports the service uses.
service_port() {
  local name="$1" default="$2" width="$3" explicit="$4" file="$STATE_DIR/$1/port" port p
  if [ -n "$explicit" ]; then
    echo "$explicit"
    return
  fi
  port="$default"
  if [ -s "$file" ]; then port="$(cat "$file")"; fi
  if ! service_alive "$name" && ! span_free "$port" "$width"; then
    local taken="$port"
    port=""
    for ((p = default + 100; p < default + 3000; p += width)); do
      if span_free "$p" "$width"; then port="$p" && break; fi
    done
    [ -n "$port" ] || die "$name: port $taken is taken and no free port was found above $default"
    log "$name: port $taken is taken by another process; using $port (recorded in $file)"
  fi
  mkdir -p "$STATE_DIR/$name"
  if [ "$port" = "$default" ]; then rm -f "$file"; else echo "$port" >"$file"; fi
  echo "$port"
}

# Stop the daemon whose pid file is PIDFILE, if it is ours (MATCH is on its command line): TERM,
# then KILL after GRACE seconds. NAME and WHERE (its port or data dir) are for the log.
stop_daemon() {
  local name="$1" pidfile="$2" match="$3" where="$4" grace="${5:-10}" pid
  pid="$(if [ -s "$pidfile" ]; then cat "$pidfile"; fi)"
  if ! pid_runs_with "$pid" "$match"; then
    log "$name: nothing running on $where"
    rm -f "$pidfile"
    return
  fi
  log "$name: stopping pid $pid ($where)"
  kill "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + grace))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$pidfile"
}
