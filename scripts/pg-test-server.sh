#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: a fresh cluster in a temporary folder,
# listening on 127.0.0.1 on a free port, with one password-protected superuser.
#
#   eval "$(scripts/pg-test-server.sh start)"   # exports AUTOML_TEST_POSTGRES and AUTOML_TEST_PG_DIR
#   ...                                         # tests connect with $AUTOML_TEST_POSTGRES
#   scripts/pg-test-server.sh stop "$AUTOML_TEST_PG_DIR"
#
# AUTOML_TEST_POSTGRES is postgresql://automl:PASSWORD@127.0.0.1:PORT/postgres, the
# password random per server: the tests check that it reaches no file. PostgreSQL
# refuses to run as root, so as root the server runs as the system user postgres
# (from Debian's postgresql package) through runuser. Needs Debian's postgresql
# (initdb and pg_ctl in /usr/lib/postgresql/<version>/bin); `scripts/install-deps.sh
# test` installs it.
set -euo pipefail

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  echo "pg-test-server: no initdb found (install Debian's postgresql)" >&2
  return 1
}

# Runs a command as the server's user: this user, or postgres when this is root.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start() {
  local bin dir port password
  bin=$(pg_bin)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/automl-pg.XXXXXX")
  chmod 700 "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
  # initdb reads the password from a file; it is gone as soon as the cluster exists.
  as_owner bash -c "umask 077; printf '%s\n' '$password' > '$dir/pw'"
  as_owner "$bin/initdb" -D "$dir/data" -U automl --auth=scram-sha-256 --pwfile="$dir/pw" -E UTF8 --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; return 1; }
  rm -f "$dir/pw"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
    || { cat "$dir/server.log" >&2; rm -rf "$dir"; return 1; }
  echo "export AUTOML_TEST_PG_DIR='$dir'"
  echo "export AUTOML_TEST_POSTGRES='postgresql://automl:$password@127.0.0.1:$port/postgres'"
}

stop() {
  local dir="${1:-${AUTOML_TEST_PG_DIR:-}}"
  [ -n "$dir" ] && [ -d "$dir/data" ] || { echo "pg-test-server: no server folder given" >&2; return 1; }
  as_owner "$(pg_bin)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start | stop [DIR]" >&2; exit 2 ;;
esac
