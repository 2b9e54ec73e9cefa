# Sourced by ./castellan, ./run-tests and .ci/run: finds a JDK 21+ and exports JAVA_HOME.
# Order: $JAVA_HOME, the `java` on PATH, then every JDK under /usr/lib/jvm (newest first).

castellan_java_version() {
  # Prints the major version of the java binary given, or nothing when it does not run.
  "$1" -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1
}

castellan_find_java() {
  local candidates=() java version
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME/bin/java")
  if command -v java >/dev/null 2>&1; then
    candidates+=("$(readlink -f "$(command -v java)")")
  fi
  for java in $(ls -d /usr/lib/jvm/*/bin/java 2>/dev/null | sort -rV); do
    candidates+=("$java")
  done
  for java in "${candidates[@]}"; do
    [ -x "$java" ] || continue
    version=$(castellan_java_version "$java")
    if [ -n "$version" ] && [ "$version" -ge 21 ]; then
      JAVA_HOME=$(cd "$(dirname "$java")/.." && pwd)
      CASTELLAN_JAVA_VERSION=$version
      export JAVA_HOME CASTELLAN_JAVA_VERSION
      return 0
    fi
  done
  cat >&2 <<'MSG'
castellan: no JDK 21 or newer found (looked at $JAVA_HOME, java on PATH, /usr/lib/jvm/*).
Install one, for example:  apt-get install -y openjdk-21-jdk-headless   (or Temurin 21/25)
then run again, or point JAVA_HOME at it.
MSG
  return 1
}
