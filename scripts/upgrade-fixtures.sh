#!/usr/bin/env bash
# Regenerates the upgrade test's fixtures: databases written by a previous release of Castellan.
#
# Usage: scripts/upgrade-fixtures.sh [GIT_REF] [JAR]
#   GIT_REF  the release whose databases the new code must open (default: deafaff, the last main
#            before issue 14); the fixtures go to
#            castellan-cli/src/test/resources/upgrade/<GIT_REF>/
#   JAR      an already built castellan.jar of that ref (default: build it in a git worktree)
#
# Needs curl, jq, and PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth) with pg_dump.
# The scenario below and UpgradeTest must agree: the test asserts what this script wrote.
# The API key secrets it records are test fixtures only, printed into a test resource on purpose.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ref="${1:-deafaff}"
jar="${2:-}"
# shellcheck source=scripts/java-env.sh
. "$root/scripts/java-env.sh"
castellan_find_java

out="$root/castellan-cli/src/test/resources/upgrade/$ref"
work="$(mktemp -d)"
server_pid=""
db="castellan_upgrade_fixture_$$"
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  psql -h 127.0.0.1 -U postgres -d postgres -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
    >/dev/null 2>&1 || true
  if [ -d "$work/tree" ]; then git -C "$root" worktree remove --force "$work/tree" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "$jar" ]; then
  echo "building castellan at $ref..." >&2
  git -C "$root" worktree add --detach "$work/tree" "$ref" >&2
  (cd "$work/tree" && ./mvnw -q -B -ntp -DskipTests -Dspotless.check.skip=true \
    -Djacoco.skip=true -pl castellan-cli -am package) >&2
  cp "$work/tree/castellan-cli/target/castellan.jar" "$work/castellan.jar"
  jar="$work/castellan.jar"
fi

token="upgrade-fixture-bootstrap-token-0123456789"
base=""
api() { # METHOD PATH [BODY] [KEY]: prints the body, fails on a status >= 400
  local key="${4:-$token}"
  curl -sS --fail-with-body -X "$1" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' ${3:+-d "$3"} "$base$2"
}

start() { # store arguments...
  CASTELLAN_BOOTSTRAP_TOKEN="$token" "$JAVA_HOME/bin/java" -jar "$jar" serve \
    --host 127.0.0.1 --port 0 "$@" >"$work/serve.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 600); do
    port=$(sed -n 's/.*serving on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$work/serve.log" | head -n 1)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$work/serve.log" >&2; exit 1; }
  base="http://127.0.0.1:$port"
}

stop() {
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

model='{"schema_version":"1.1","type_definitions":[{"type":"user"},
 {"type":"team","relations":{"member":{"this":{}}},
  "metadata":{"relations":{"member":{"directly_related_user_types":[{"type":"user"}]}}}},
 {"type":"doc","relations":{"viewer":{"this":{}}},
  "metadata":{"relations":{"viewer":{"directly_related_user_types":[{"type":"user"},
   {"type":"team","relation":"member"},{"type":"user","condition":"level_ok"}]}}}}],
 "conditions":{"level_ok":{"name":"level_ok","expression":"level >= 3",
  "parameters":{"level":{"type_name":"TYPE_NAME_INT"}}}}}'

# The scenario: one store with a model, tuples (plain, through a team, conditional), a deleted
# tuple (so the changelog holds a delete), a custom RBAC role with a permission and a member, keys
# of every kind, a store grant made through /access, and audited allows, denials and changes.
scenario() { # properties file
  local props="$1" store model_id admin auditor scim reader writer writer_id writer_subject
  store=$(api POST /stores '{"name":"upgrade"}' | jq -r .id)
  model_id=$(api POST "/stores/$store/authorization-models" "$model" |
    jq -r .authorization_model_id)
  api POST "/stores/$store/write" '{"writes":{"tuple_keys":[
    {"object":"doc:1","relation":"viewer","user":"user:anne"},
    {"object":"team:eng","relation":"member","user":"user:bob"},
    {"object":"doc:2","relation":"viewer","user":"team:eng#member"},
    {"object":"doc:3","relation":"viewer","user":"user:carl",
     "condition":{"name":"level_ok","context":{"level":2}}},
    {"object":"doc:4","relation":"viewer","user":"user:dora"}]}}' >/dev/null
  api POST "/stores/$store/write" '{"deletes":{"tuple_keys":[
    {"object":"doc:4","relation":"viewer","user":"user:dora"}]}}' >/dev/null
  api POST /api/roles '{"name":"Upgrader","description":"made by the previous release"}' \
    >/dev/null
  api PUT /api/roles/upgrader/permissions '{"permission_ids":[103]}' >/dev/null
  api POST /api/roles/upgrader/members '{"subject":"user:alice"}' >/dev/null
  admin=$(api POST /api/keys '{"name":"old-admin","admin":true}' | jq -r .key)
  auditor=$(api POST /api/keys '{"name":"old-auditor","auditor":true}' | jq -r .key)
  scim=$(api POST /api/keys '{"name":"old-scim","scim":true}' | jq -r .key)
  reader=$(api POST /api/keys "{\"name\":\"old-reader\",\"store_id\":\"$store\",\"role\":\"reader\"}" |
    jq -r .key)
  local created
  created=$(api POST /api/keys "{\"name\":\"old-writer\",\"store_id\":\"$store\",\"role\":\"reader\"}")
  writer=$(jq -r .key <<<"$created")
  writer_id=$(jq -r .id <<<"$created")
  writer_subject=$(jq -r .subject <<<"$created")
  api POST "/api/stores/$store/access" "{\"subject\":\"$writer_subject\",\"role\":\"writer\"}" \
    >/dev/null
  api POST /scim/v2/Users '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName":"erin","active":true}' "$scim" >/dev/null
  # Audited decisions: an allow and a denial.
  api POST "/stores/$store/check" \
    '{"tuple_key":{"object":"doc:1","relation":"viewer","user":"user:anne"}}' "$reader" >/dev/null
  api POST "/stores/$store/check" \
    '{"tuple_key":{"object":"doc:1","relation":"viewer","user":"user:mallory"}}' "$reader" \
    >/dev/null
  api POST /api/authorize '{"subject":"user:alice","permission":"Workflows.Run"}' "$admin" \
    >/dev/null
  {
    echo "# Written by scripts/upgrade-fixtures.sh $ref: test fixtures, not real credentials."
    echo "bootstrap_token=$token"
    echo "store_id=$store"
    echo "model_id=$model_id"
    echo "admin_key=$admin"
    echo "auditor_key=$auditor"
    echo "scim_key=$scim"
    echo "reader_key=$reader"
    echo "writer_key=$writer"
    echo "writer_key_id=$writer_id"
    echo "audit_entries=$(api GET '/api/audit?limit=1000' "$auditor" | jq '.entries | length')"
  } >"$props"
}

rm -rf "$out"
mkdir -p "$out/h2" "$out/postgresql"

echo "embedded store..." >&2
start --data "$work/h2"
scenario "$out/h2/fixture.properties"
stop
cp "$work/h2/castellan.mv.db" "$out/h2/castellan.mv.db"

echo "PostgreSQL..." >&2
psql -h 127.0.0.1 -U postgres -d postgres -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db"
start --pg-url "jdbc:postgresql://127.0.0.1:5432/$db?user=postgres"
scenario "$out/postgresql/fixture.properties"
stop
# --inserts: the test loads the dump over JDBC, which cannot feed COPY ... FROM stdin.
pg_dump -h 127.0.0.1 -U postgres --no-owner --no-privileges --inserts "$db" \
  >"$out/postgresql/castellan.sql"

du -sh "$out"/* >&2
echo "fixtures in $out" >&2
