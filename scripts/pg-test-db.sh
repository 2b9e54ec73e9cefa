# Sourced by ./run-tests when CASTELLAN_TEST_PG_URL is not set: makes sure a PostgreSQL server
# answers on 127.0.0.1:5432 (starting it, or installing it from Debian's packages, if needed),
# creates a throwaway database for this run, exports CASTELLAN_TEST_PG_URL, and drops the
# database on exit. Fails loudly when PostgreSQL cannot be reached: store tests never skip.

castellan_pg_ready() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -h 127.0.0.1 -p 5432 -q
  else
    (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
  fi
}

castellan_pg_start() {
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "run-tests: PostgreSQL is not installed; installing it from Debian's packages" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null || return 1
    else
      return 1
    fi
  fi
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  [ -n "$version" ] || return 1
  # Trust local TCP connections for the test user, as the CI machines are set up.
  local hba="/etc/postgresql/$version/main/pg_hba.conf"
  if [ -w "$hba" ] && ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null ||
    pg_ctlcluster --skip-systemctl-redirect "$version" main reload 2>/dev/null || true
}

castellan_pg_setup() {
  if ! castellan_pg_ready; then
    echo "run-tests: PostgreSQL is not answering on 127.0.0.1:5432; starting it" >&2
    castellan_pg_start
    for _ in $(seq 1 30); do
      castellan_pg_ready && break
      sleep 1
    done
  fi
  if ! castellan_pg_ready; then
    echo "run-tests: PostgreSQL is unreachable on 127.0.0.1:5432; the store tests need it." >&2
    echo "  Start it (pg_ctlcluster ... main start) or set CASTELLAN_TEST_PG_URL." >&2
    return 1
  fi
  CASTELLAN_TEST_DB="castellan_test_$(date +%s)_$$"
  if ! psql -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
      -c "CREATE DATABASE $CASTELLAN_TEST_DB" >/dev/null; then
    echo "run-tests: could not create the test database $CASTELLAN_TEST_DB as user postgres" >&2
    return 1
  fi
  trap 'psql -h 127.0.0.1 -U postgres -d postgres -q -c "DROP DATABASE IF EXISTS $CASTELLAN_TEST_DB WITH (FORCE)" >/dev/null 2>&1' EXIT
  CASTELLAN_TEST_PG_URL="jdbc:postgresql://127.0.0.1:5432/$CASTELLAN_TEST_DB?user=postgres"
  export CASTELLAN_TEST_PG_URL
  echo "run-tests: PostgreSQL test database $CASTELLAN_TEST_DB" >&2
}
