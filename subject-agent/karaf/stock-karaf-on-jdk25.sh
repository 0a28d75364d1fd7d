#!/usr/bin/env bash
# Proves the subject agent on stock Apache Karaf 4.4.10 and JDK 25: downloads Karaf from Maven
# Central into target/, applies the three changes Karaf needs (the agent, a JAVA_OPTS that keeps the
# security-manager flag out, boot delegation of the agent's package), starts it, logs in over SSH on
# loopback as an admin and as a viewer, checks roles and command ACL refusals, and stops it.
# Prints PASS/FAIL per check and exits non-zero if any failed. Needs: JDK 25, ssh (openssh-client).
#   bash subject-agent/karaf/stock-karaf-on-jdk25.sh [--without-agent]
set -uo pipefail
cd "$(dirname "$0")/../.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
karaf_version=4.4.10
port=8101
work=subject-agent/target/stock-karaf
with_agent=true
[ "${1:-}" = "--without-agent" ] && with_agent=false

[ -f subject-agent/target/subject-agent-0.1.0-SNAPSHOT.jar ] || ./mvnw -q -B install -pl subject-agent -DskipTests
rm -rf "$work" && mkdir -p "$work"
./mvnw -q -B -N dependency:copy -Dartifact=org.apache.karaf:apache-karaf:$karaf_version:tar.gz -DoutputDirectory="$work"
tar xzf "$work/apache-karaf-$karaf_version.tar.gz" -C "$work"
home="$PWD/$work/apache-karaf-$karaf_version"

# 1. JAVA_OPTS non-empty: bin/inc then does not add -Djava.security.manager=allow, which JDK 24+ refuse.
agent_opt=""
if $with_agent; then
  cp subject-agent/target/subject-agent-0.1.0-SNAPSHOT.jar "$home/lib/subject-agent.jar"
  agent_opt='-javaagent:$(cd "$(dirname "$0")/.." \&\& pwd)/lib/subject-agent.jar'
fi
cat >> "$home/bin/setenv" <<SETENV
export JAVA_OPTS="-Xms128m -Xmx512m --enable-native-access=ALL-UNNAMED ${agent_opt//\\/}"
SETENV
# 2. Bundles reach the agent's Subjects class (on the boot class path) by boot delegation.
python3 - "$home" <<'PY'
import re, sys
home = sys.argv[1]
cfg = open(f"{home}/etc/config.properties").read()
block = re.search(r"org\.osgi\.framework\.bootdelegation = \\\n(?:.*\\\n)*.*", cfg).group(0)
with open(f"{home}/etc/custom.properties", "a") as f:
    f.write("\n# the subject agent's package, on the boot class path\n" + block + ", \\\n    org.backplane.subjectagent\n")
PY
# 3. SSH on loopback only; an admin and a viewer (the viewer may log in over SSH but holds no admin role).
sed -i "s/^sshHost = .*/sshHost = 127.0.0.1/; s/^sshPort = .*/sshPort = $port/" "$home/etc/org.apache.karaf.shell.cfg"
sed -i 's/^#karaf = karaf,_g_:admingroup/karaf = karaf,_g_:admingroup/; s/^#_g_\\:admingroup/_g_\\:admingroup/' "$home/etc/users.properties"
echo "viewer = viewer,viewer,ssh" >> "$home/etc/users.properties"

failures=0
check() { # name, command...
  local name=$1; shift
  if "$@"; then echo "PASS $name"; else echo "FAIL $name"; failures=$((failures + 1)); fi
}
askpass="$PWD/$work/askpass.sh"
ssh_as() { # user, command: the user's password is its name
  printf '#!/bin/sh\necho %s\n' "$1" > "$askpass"; chmod +x "$askpass"
  SSH_ASKPASS_REQUIRE=force SSH_ASKPASS="$askpass" DISPLAY=none timeout 30 ssh -p $port -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o PreferredAuthentications=password,keyboard-interactive \
    "$1@127.0.0.1" "$2" 2>&1 | tr -d '\r' | sed 's/\x1b\[[0-9;]*m//g' | grep -v "^Connection to .* closed"
}

echo "starting Karaf $karaf_version on $("$JAVA_HOME/bin/java" -version 2>&1 | head -1) (agent: $with_agent)"
"$home/bin/start"
for i in $(seq 1 60); do
  ssh_as karaf "shell:echo ready" 2>/dev/null | grep -q ready && break
  sleep 2
done
out=$(ssh_as karaf "jaas:whoami -r"); echo "$out" | sed 's/^/  admin whoami: /'
check "admin logs in over SSH and its session carries its roles" grep -qx "admin" <<< "$out"
out=$(ssh_as karaf "bundle:list -t 0 -s" | grep -c "org.apache.karaf"); echo "  admin bundle:list: $out Karaf bundles"
check "admin lists bundles" test "${out:-0}" -gt 10
ssh_as karaf "config:property-set -p org.backplane.smoke answer 42" > /dev/null
out=$(ssh_as karaf "config:property-list -p org.backplane.smoke"); echo "  admin config:property-list: $out"
check "admin changes configuration (config:property-set)" grep -q "answer = 42" <<< "$out"
out=$(ssh_as viewer "jaas:whoami -r"); echo "$out" | sed 's/^/  viewer whoami: /'
check "viewer logs in and holds the viewer role, not admin" bash -c "grep -qx viewer <<< '$out' && ! grep -qx admin <<< '$out'"
out=$(ssh_as viewer "bundle:list"); echo "$out" | head -3 | sed 's/^/  viewer bundle:list: /'
check "viewer may run bundle:list" bash -c "grep -q 'ID.*State' <<< '$out' && ! grep -q 'Command not found' <<< '$out'"
out=$(ssh_as viewer "config:property-set -p org.backplane.smoke answer 7"); echo "  viewer config:property-set: $out"
check "viewer is refused config:property-set (command ACL)" grep -q "Command not found\|Insufficient credentials" <<< "$out"
out=$(ssh_as viewer "bundle:stop 10"); echo "  viewer bundle:stop: $out"
check "viewer is refused bundle:stop (command ACL)" grep -q "Command not found\|Insufficient credentials" <<< "$out"
errors=$(grep -c "UnsupportedOperationException\|getSubject is not supported" "$home/data/log/karaf.log")
check "no 'getSubject is not supported' in karaf.log ($errors)" test "$errors" -eq 0

"$home/bin/stop"
for i in $(seq 1 90); do pgrep -f "karaf.base=$home" > /dev/null || break; sleep 1; done
running=$(pgrep -f "karaf.base=$home" | wc -l)
check "Karaf stops" test "$running" -eq 0
echo "$failures check(s) failed"
[ $failures -eq 0 ]
