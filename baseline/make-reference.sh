#!/usr/bin/env bash
# Makes the reference artifacts the build baselines exported packages against (bnd-baseline-maven-plugin):
# the bundles as they were at a given commit, reduced to their exported packages and manifest, in a
# Maven-layout repository inside this checkout (baseline/repository), so a fresh clone needs nothing
# from outside to check that an incompatible API change comes with the right version bump.
#
#   bash baseline/make-reference.sh 4d70dfd 0.1.0-baseline
#
# Re-run it at a release, with that release's commit and a new version, and point the build's
# baseline.version property at it.
set -euo pipefail
commit="$1"
version="$2"
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'git -C "$here" worktree remove --force "$work/src" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git -C "$here" worktree add -q "$work/src" "$commit"
modules=(api-bundle cpu-reference-bundle cuda-backend-bundle metal-backend-bundle)
(cd "$work/src" && JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}" ./mvnw -B -q package -DskipTests \
    -pl "$(IFS=,; echo "${modules[*]}")" -am)
for m in "${modules[@]}"; do
  jar="$work/src/$m/target/$m-0.1.0-SNAPSHOT.jar"
  out="$here/baseline/repository/org/backplane/$m/$version"
  mkdir -p "$out"
  # The manifest and the classes of exported packages only (a package's own directory, not the ones below it).
  python3 - "$jar" "$out/$m-$version.jar" <<'PY'
import re, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as z:
    manifest = z.read("META-INF/MANIFEST.MF").decode().replace("\r", "").replace("\n ", "")
    exports = re.search(r"^Export-Package: (.*)$", manifest, re.M).group(1)
    packages = {p.replace(".", "/") for p in re.findall(r"(?:^|,)([a-z][\w.]*)(?=;)", exports)}
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            folder = info.filename.rsplit("/", 1)[0]
            if info.filename == "META-INF/MANIFEST.MF" or (not info.is_dir() and folder in packages):
                entry = zipfile.ZipInfo(info.filename, (1980, 1, 1, 0, 0, 0))
                entry.compress_type = zipfile.ZIP_DEFLATED
                out.writestr(entry, z.read(info.filename))
PY
  cat > "$out/$m-$version.pom" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>org.backplane</groupId>
  <artifactId>$m</artifactId>
  <version>$version</version>
  <description>Baseline reference: the exported packages of $m at commit $commit.</description>
</project>
POM
  for f in "$out/$m-$version.jar" "$out/$m-$version.pom"; do sha1sum "$f" | cut -d' ' -f1 > "$f.sha1"; done
  echo "baseline: $m at $commit -> $out ($(du -h "$out/$m-$version.jar" | cut -f1))"
done
