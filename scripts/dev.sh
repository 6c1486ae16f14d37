#!/usr/bin/env bash
# Bootstrap helpers behind `make run`, `make test` and `make stop`.
#
#   scripts/dev.sh venv        create .venv if missing and install the locked dependencies
#   scripts/dev.sh web         install the pinned browser assets (web/package-lock.json) with npm ci
#   scripts/dev.sh packages    make sure PostgreSQL >= 15 and PostGIS 3 are installed
#   scripts/dev.sh test-packages  make sure headless Chromium and GDAL (browser and GIS tests) are installed
#   scripts/dev.sh browser-packages  make sure headless Chromium is installed (the report's PDF)
#   scripts/dev.sh db-start    initialise (once) and start the project-local cluster in .data/
#   scripts/dev.sh db-stop     stop the project-local cluster
#   scripts/dev.sh db-url      print the URL of the project-local database
#
# The local cluster lives in .data/pg, listens on 127.0.0.1:$SIRKEL_PG_PORT (default 54329)
# and on a socket in .data/run, and never touches a system service. PostgreSQL refuses to run
# as root, so as root the cluster is owned by and run as the `postgres` account that the Debian
# package creates.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA="$ROOT/.data"
PGDATA_DIR="$DATA/pg"
SOCKET_DIR="$DATA/run"
PORT="${SIRKEL_PG_PORT:-54329}"
PYTHON="${PYTHON:-python3.11}"
PG_MIN_MAJOR=15

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# Run a PostgreSQL server binary as the account that owns the cluster.
as_pg() {
  if is_root; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_bindir() {
  # Newest installed major >= 15 that has PostGIS 3 for it.
  local major
  for major in $(ls /usr/lib/postgresql 2>/dev/null | sort -rn); do
    if [ "$major" -ge "$PG_MIN_MAJOR" ] 2>/dev/null \
      && [ -x "/usr/lib/postgresql/$major/bin/pg_ctl" ] \
      && ls "/usr/share/postgresql/$major/extension/postgis.control" >/dev/null 2>&1; then
      echo "/usr/lib/postgresql/$major/bin"
      return 0
    fi
  done
  return 1
}

cmd_venv() {
  if ! command -v "$PYTHON" >/dev/null 2>&1; then
    PYTHON=python3
    "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' \
      || die "Python 3.11 is required (found $("$PYTHON" --version 2>&1)). On Debian 12: apt-get install python3.11 python3.11-venv"
  fi
  local stamp="$ROOT/.venv/.installed"
  if [ ! -x "$ROOT/.venv/bin/python" ]; then
    say "creating .venv with $("$PYTHON" --version)"
    "$PYTHON" -m venv "$ROOT/.venv" \
      || die "could not create a virtual environment; on Debian: apt-get install python3-venv"
  fi
  # Reinstall only when the dependency declarations changed.
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ] || [ "$ROOT/constraints.txt" -nt "$stamp" ]; then
    say "installing the project and its locked dependencies into .venv"
    "$ROOT/.venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
    "$ROOT/.venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      -c "$ROOT/constraints.txt" -e "$ROOT[dev]"
    touch "$stamp"
  fi
}

# The embeddable map's browser assets (MapLibre GL JS, the Noto Sans font its labels are made
# from, axe-core for the accessibility tests) come from the npm registry at the versions
# web/package-lock.json pins, and are served by Sirkel itself: nothing loads from a CDN.
cmd_web() {
  local stamp="$ROOT/web/node_modules/.installed"
  if ! command -v npm >/dev/null 2>&1; then
    if is_root && command -v apt-get >/dev/null 2>&1; then
      say "installing Node.js and npm (for the map's browser assets) from the Debian packages"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
    else
      die "npm is missing (the embeddable map's assets come from the npm registry): sudo apt-get install nodejs npm"
    fi
  fi
  if [ ! -f "$stamp" ] || [ "$ROOT/web/package-lock.json" -nt "$stamp" ]; then
    say "installing the map's browser assets (npm ci in web/)"
    npm ci --prefix "$ROOT/web" --no-audit --no-fund --loglevel=error >/dev/null
    touch "$stamp"
  fi
}

cmd_packages() {
  if pg_bindir >/dev/null; then
    return 0
  fi
  local major pkgs
  if is_root && command -v apt-get >/dev/null 2>&1; then
    say "installing PostgreSQL and PostGIS from the Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    major=$(apt-cache show postgresql 2>/dev/null | sed -n 's/^Depends: .*postgresql-\([0-9][0-9]*\).*/\1/p' | head -n1)
    [ -n "$major" ] || major=$PG_MIN_MAJOR
    [ "$major" -ge "$PG_MIN_MAJOR" ] || die "the distribution's PostgreSQL is $major; Sirkel needs >= $PG_MIN_MAJOR"
    pkgs="postgresql-$major postgresql-contrib postgresql-$major-postgis-3 postgresql-$major-postgis-3-scripts"
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
    # The Debian package may start (and create) a system cluster; Sirkel does not use it.
    pg_bindir >/dev/null || die "PostgreSQL/PostGIS still missing after installing: $pkgs"
  else
    major=$(ls /usr/lib/postgresql 2>/dev/null | sort -rn | head -n1)
    [ -n "$major" ] || major=$PG_MIN_MAJOR
    die "PostgreSQL >= $PG_MIN_MAJOR with PostGIS 3 is missing. Install it with:
    sudo apt-get update && sudo apt-get install -y postgresql postgresql-contrib postgresql-$major-postgis-3
or set DATABASE_URL to a PostGIS database you already run."
  fi
}

# Debian's headless Chromium prints the yearly report as PDF (GET /v1/impact/report/{year}.pdf,
# app/render/pdf.py): `make run` installs it as root; elsewhere the PDF answers 503
# pdf_unavailable and this says how to install it.
cmd_browser_packages() {
  install_missing "the report's PDF" chromium:chromium fonts-dejavu-core:/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
}

# What the test suite needs besides: Chromium also renders the report, the API docs and the
# embedded map in the tests (tests/api/test_impact_report_render.py, test_docs_offline.py,
# test_embed_browser.py), and GDAL's command-line tools read the OGC API as QGIS would
# (tests/api/test_ogc.py). Installed as root; otherwise those tests say how, and skip —
# unless SIRKEL_REQUIRE_CHROMIUM=1 (CI sets it), when they fail.
cmd_test_packages() {
  install_missing "the browser and GIS tests" chromium:chromium fonts-dejavu-core:/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf gdal-bin:ogr2ogr
}

# install_missing WHY package:command-or-file ...: installs the packages whose command (or
# file) is missing, from the Debian packages when root, or says how.
install_missing() {
  local why=$1 missing=() pair pkg what
  shift
  for pair in "$@"; do
    pkg=${pair%%:*}
    what=${pair#*:}
    if [[ $what == /* ]]; then
      [ -e "$what" ] || missing+=("$pkg")
    else
      command -v "$what" >/dev/null 2>&1 || missing+=("$pkg")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  if is_root && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} (for $why) from the Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    say "missing for $why: ${missing[*]} (sudo apt-get install ${missing[*]})"
  fi
}

pg_password_file="$DATA/pg-password"

cmd_db_start() {
  cmd_packages
  local bin
  bin=$(pg_bindir) || die "no PostgreSQL >= $PG_MIN_MAJOR with PostGIS 3 found"
  mkdir -p "$DATA"
  if is_root; then
    id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' account (created by the Debian package)"
    runuser -u postgres -- test -x "$DATA" \
      || die "the postgres account cannot reach $DATA (a parent directory is not traversable); clone the project somewhere like /srv or /work, or set DATABASE_URL"
  fi
  if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
    if [ -e "$PGDATA_DIR" ] && [ -n "$(ls -A "$PGDATA_DIR" 2>/dev/null)" ]; then
      die "$PGDATA_DIR exists but is not a cluster; refusing to initialise over it"
    fi
    say "initialising a PostgreSQL cluster in .data/pg (port $PORT)"
    mkdir -p "$PGDATA_DIR" "$SOCKET_DIR"
    umask 077
    head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$pg_password_file"
    if is_root; then
      chown postgres: "$PGDATA_DIR" "$SOCKET_DIR" "$pg_password_file"
    fi
    as_pg "$bin/initdb" -D "$PGDATA_DIR" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      --pwfile="$pg_password_file" -E UTF8 --locale=C.UTF-8 >/dev/null
    if is_root; then chown root: "$pg_password_file"; fi
    chmod 600 "$pg_password_file"
    cat >> "$PGDATA_DIR/postgresql.conf" <<CONF
# Sirkel's project-local cluster (scripts/dev.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$SOCKET_DIR'
shared_buffers = 256MB
max_connections = 100
CONF
  fi
  mkdir -p "$SOCKET_DIR"
  if is_root; then chown postgres: "$SOCKET_DIR"; fi
  if as_pg "$bin/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
    say "PostgreSQL already running on 127.0.0.1:$PORT"
  else
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
      die "port $PORT is taken by another server; choose another: SIRKEL_PG_PORT=54330 make run"
    fi
    say "starting PostgreSQL on 127.0.0.1:$PORT"
    # The port is given at every start (not written into postgresql.conf), so SIRKEL_PG_PORT
    # can change between runs.
    as_pg "$bin/pg_ctl" -D "$PGDATA_DIR" -l "$PGDATA_DIR/server.log" -o "-p $PORT" -w -t 60 start >/dev/null \
      || { tail -n 20 "$PGDATA_DIR/server.log" >&2; die "PostgreSQL did not start (log: .data/pg/server.log)"; }
  fi
  # Database and extensions (idempotent). The app role is the cluster's superuser: this is a
  # local development cluster; production runs with extensions created by the DBA.
  if ! as_pg "$bin/psql" -h "$SOCKET_DIR" -p "$PORT" -U postgres -d postgres -Atqc \
      "SELECT 1 FROM pg_database WHERE datname = 'sirkel'" | grep -q 1; then
    as_pg "$bin/createdb" -h "$SOCKET_DIR" -p "$PORT" -U postgres sirkel
  fi
}

cmd_db_stop() {
  local bin
  bin=$(pg_bindir) || { say "PostgreSQL is not installed; nothing to stop"; return 0; }
  if [ -f "$PGDATA_DIR/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
    say "stopping the local PostgreSQL cluster"
    as_pg "$bin/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null
  else
    say "the local PostgreSQL cluster is not running"
  fi
}

cmd_db_url() {
  [ -f "$pg_password_file" ] || die "no local cluster yet; run: make run"
  printf 'postgresql+asyncpg://postgres:%s@127.0.0.1:%s/sirkel\n' "$(cat "$pg_password_file")" "$PORT"
}

case "${1:-}" in
  venv) cmd_venv ;;
  web) cmd_web ;;
  packages) cmd_packages ;;
  test-packages) cmd_test_packages ;;
  browser-packages) cmd_browser_packages ;;
  db-start) cmd_db_start ;;
  db-stop) cmd_db_stop ;;
  db-url) cmd_db_url ;;
  *) die "usage: scripts/dev.sh venv|web|packages|test-packages|browser-packages|db-start|db-stop|db-url" ;;
esac
