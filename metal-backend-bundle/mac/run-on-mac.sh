#!/usr/bin/env bash
# Runs the Metal backend's test suite against real Metal on an Apple-silicon Mac:
#   bash metal-backend-bundle/mac/run-on-mac.sh
# Needs JDK 25 (JAVA_HOME) and Maven Central. The contract test kit, every op's numeric conformance
# against the CPU reference, and the bad-input, reset, stop and observation tests run on the Mac's
# GPU through the same code as on Linux; the tests that need the simulator's fault injection or call
# log (tag "simulator") are left out. Results: metal-backend-bundle/target/surefire-reports.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(uname -s)" != Darwin ]; then
  echo "run-on-mac.sh: this runs on macOS; on Linux, ./mvnw verify runs the same suite against the Metal simulator" >&2
  exit 1
fi
./mvnw -B install -DskipTests -pl metal-backend-bundle -am
./mvnw -B verify -Pmetal-mac -pl metal-backend-bundle
