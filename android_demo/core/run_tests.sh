#!/usr/bin/env bash
# Compile the pure Kotlin core (src/main/kotlin) and its JUnit tests (src/test/kotlin) with
# kotlinc, then run the tests. No Gradle, no Android SDK, no network beyond apt:
# Debian's `kotlin` (1.3) and `junit4` packages are installed if missing.
# Build output goes to build/kotlinc/ (gitignored). Exit status: non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"

JUNIT_JAR=/usr/share/java/junit4.jar
HAMCREST_JAR=/usr/share/java/hamcrest-core.jar

missing=()
command -v kotlinc >/dev/null 2>&1 || missing+=(kotlin)
[[ -f "$JUNIT_JAR" && -f "$HAMCREST_JAR" ]] || missing+=(junit4)
if ((${#missing[@]})); then
  echo "run_tests.sh: installing ${missing[*]} with apt-get" >&2
  sudo=()
  if [[ "$(id -u)" != 0 ]]; then sudo=(sudo -n); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y -q "${missing[@]}" >/dev/null ||
    { "${sudo[@]}" apt-get update -q >/dev/null && "${sudo[@]}" apt-get install -y -q "${missing[@]}" >/dev/null; }
fi

# The Kotlin standard library next to the compiler (Debian: /usr/share/java).
kotlin_home="$(cd "$(dirname "$(readlink -f "$(command -v kotlinc)")")/.." && pwd)"
STDLIB=""
for candidate in "$kotlin_home/lib/kotlin-stdlib.jar" /usr/share/java/kotlin-stdlib.jar; do
  if [[ -f "$candidate" ]]; then STDLIB="$candidate"; break; fi
done
[[ -n "$STDLIB" ]] || { echo "run_tests.sh: kotlin-stdlib.jar not found" >&2; exit 2; }

# The core must stay free of Android: it is tested here, on a plain JVM.
if grep -rn --include='*.kt' -E '^import (android|androidx)\.' src/main/kotlin; then
  echo "run_tests.sh: the core must not import Android classes" >&2
  exit 1
fi

BUILD=build/kotlinc
rm -rf "$BUILD"
mkdir -p "$BUILD/main" "$BUILD/test"
start=$(date +%s)
compile() { # compile OUT_DIR CLASSPATH SOURCES [OPTIONS...]
  local log="$BUILD/kotlinc-$(basename "$1").log"
  if ! kotlinc -nowarn -jvm-target 1.8 -cp "$2" -d "$1" "${@:4}" "$3" >"$log" 2>&1; then
    grep -v -- '-Xverify:none' "$log" >&2 || true
    echo "run_tests.sh: compiling $3 failed" >&2
    exit 1
  fi
  grep -v -- '-Xverify:none' "$log" || true
}
compile "$BUILD/main" "$STDLIB" src/main/kotlin -module-name core
# Tests see the core's `internal` helpers, as in a Gradle test source set.
compile "$BUILD/test" "$BUILD/main:$JUNIT_JAR:$HAMCREST_JAR" src/test/kotlin -Xfriend-paths="$PWD/$BUILD/main" -module-name core
compiled=$(date +%s)

tests=$(cd "$BUILD/test" && find . -name '*Test.class' | sed -e 's|^\./||' -e 's|\.class$||' -e 's|/|.|g' | sort)
java -cp "$BUILD/main:$BUILD/test:src/test/resources:$STDLIB:$JUNIT_JAR:$HAMCREST_JAR" org.junit.runner.JUnitCore $tests
echo "run_tests.sh: compiled in $((compiled - start)) s, tests ran in $(($(date +%s) - compiled)) s"
