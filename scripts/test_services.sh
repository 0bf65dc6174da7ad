#!/usr/bin/env bash
# PostgreSQL (database `test`, trust auth for local TCP) and Redis on 127.0.0.1 for the tests.
# Uses them when they already answer; otherwise installs Debian's postgresql/redis-server
# (as root or with sudo -n) and starts them; otherwise says which tests will be skipped.
set -uo pipefail

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo -n "$@"; else return 1; fi
}

port_open() {  # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && exec 3>&- 3<&-
}

wait_port() {
  for _ in $(seq 1 60); do port_open 127.0.0.1 "$1" && return 0; sleep 0.5; done
  return 1
}

installed() { dpkg -s "$1" >/dev/null 2>&1; }

install_packages() {
  local missing=()
  for package in "$@"; do installed "$package" || missing+=("$package"); done
  [ ${#missing[@]} = 0 ] && return 0
  echo "test: installing Debian's ${missing[*]} for the database and hosting tests ..."
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

start_postgres() {
  install_packages postgresql || return 1
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
  [ -n "$version" ] || return 1
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_port 5432 || return 1
  # The tests connect as postgres over TCP without a password, to a database named test.
  local hba="/etc/postgresql/$version/main/pg_hba.conf"
  if ! as_root grep -q "synanno-dash tests" "$hba"; then
    as_root sh -c "printf '# synanno-dash tests\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' | cat - '$hba' > '$hba.new' && mv '$hba.new' '$hba'"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  fi
  as_root su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='test'\"" | grep -q 1 ||
    as_root su postgres -c "createdb test"
}

start_redis() {
  install_packages redis-server || return 1
  as_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" >/dev/null
  wait_port 6379
}

if port_open 127.0.0.1 5432; then
  echo "test: PostgreSQL answers on 127.0.0.1:5432"
elif start_postgres; then
  echo "test: PostgreSQL started on 127.0.0.1:5432"
else
  echo "test: PostgreSQL is not running and could not be installed or started (needs root or" >&2
  echo "      sudo): the PostgreSQL variants of the store and hosting tests will be SKIPPED." >&2
  echo "      Start one (apt-get install postgresql) or set SYNANNO_TEST_POSTGRES_URL." >&2
fi

if port_open 127.0.0.1 6379; then
  echo "test: Redis answers on 127.0.0.1:6379"
elif start_redis; then
  echo "test: Redis started on 127.0.0.1:6379"
else
  echo "test: Redis is not running and could not be installed or started (needs root or sudo):" >&2
  echo "      the tests that need it will be SKIPPED. Install it with apt-get install redis-server." >&2
fi
