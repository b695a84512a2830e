# Helpers shared by the service scripts (sourced, not run): installing Debian packages,
# running a server as its own system user, waiting for a port, asking a Bolt server.

# Installs Debian packages that are missing. Needs root (or password-less sudo); otherwise
# says what to install and fails. Package lists are refreshed once per call: images ship
# lists that can be older than the archive, whose superseded versions are gone.
install_packages() {
  local missing=()
  local package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo="sudo -n"
    else
      echo "$SCRIPT: ${missing[*]} not installed, and installing needs root; install them, or point the tests at your own servers (see README, Development)" >&2
      return 1
    fi
  fi
  echo "$SCRIPT: installing ${missing[*]} from Debian's packages" >&2
  # Packages must not start their own servers (Debian's would take the ports, with other
  # authentication): the scripts start theirs. A policy-rc.d that refuses is Debian's way.
  local policy=/usr/sbin/policy-rc.d placed_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
    placed_policy=1
  fi
  local status=0 log
  log="$(mktemp)"
  {
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq || true
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  } >"$log" 2>&1 || status=$?
  [ -n "$placed_policy" ] && $sudo rm -f "$policy"
  if [ $status -ne 0 ]; then
    tail -n 40 "$log" >&2
    echo "$SCRIPT: installing ${missing[*]} failed (apt-get's last lines above)" >&2
  fi
  rm -f "$log"
  return $status
}

# Runs a command as `user` when this script runs as root (servers refuse to run as root),
# as the caller otherwise.
as_service_user() {
  local user="$1"
  shift
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$user" -- "$@"
  else
    "$@"
  fi
}

# Whether something accepts TCP connections on 127.0.0.1:port.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Whether the process in pid file `$1` is alive (not a zombie).
pid_alive() {
  [ -f "$1" ] || return 1
  local pid state
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)"
  [ "$state" != "Z" ]
}

# Whether the Bolt server at URL (bolt://USER:PASSWORD@HOST:PORT[?database=NAME]) answers
# `RETURN 1`, asked with the official `neo4j` driver of the Python interpreter `$1`.
bolt_answers() {
  "$1" - "$2" <<'PYTHON' 2>/dev/null
import sys, urllib.parse
from neo4j import GraphDatabase
url = urllib.parse.urlsplit(sys.argv[1])
auth = (urllib.parse.unquote(url.username or ""), urllib.parse.unquote(url.password or ""))
database = dict(urllib.parse.parse_qsl(url.query)).get("database")
# An auto-commit query: execute_query would retry a refused connection for 30 s.
with GraphDatabase.driver(f"bolt://{url.hostname}:{url.port or 7687}", auth=auth, connection_timeout=2) as driver:
    with driver.session(database=database) as session:
        sys.exit(0 if session.run("RETURN 1 AS one").single()["one"] == 1 else 1)
PYTHON
}
