#!/usr/bin/env bash
# Temporal's time-skipping test server (Java) from Maven Central, wrapped as an executable at
# $BAKEOFF_BIN/temporal-test-server. The SDK's own 'cached-download' needs the internet; with
# TestWorkflowEnvironment.createTimeSkipping({server: {executable: {type: 'existing-path', path}}})
# it runs our wrapper as `<path> <port> --enable-time-skipping` and SIGKILLs that pid at teardown,
# so the wrapper must `exec` java rather than fork it.
PROVISION_PART=testserver
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TEST_SERVER_VERSION=1.38.0
DEPENDENCY_PLUGIN_VERSION=3.8.1
HOME_DIR="$BAKEOFF_CACHE/temporal-test-server"
LIB_DIR="$HOME_DIR/lib"
CDS_ARCHIVE="$HOME_DIR/classes.jsa"
WRAPPER="$BAKEOFF_BIN/temporal-test-server"
STAMP="$HOME_DIR/version"

fetch_jars() {
  need_cmd mvn "install Maven (Debian: maven) to fetch the Temporal test server from Maven Central"
  local work="$BAKEOFF_CACHE/build/temporal-test-server"
  rm -rf "$work" "$LIB_DIR"; mkdir -p "$work" "$LIB_DIR"
  cat > "$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>bakeoff</groupId>
  <artifactId>temporal-test-server-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>io.temporal</groupId>
      <artifactId>temporal-test-server</artifactId>
      <version>$TEST_SERVER_VERSION</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>$DEPENDENCY_PLUGIN_VERSION</version>
      </plugin>
    </plugins>
  </build>
</project>
EOF
  log "mvn dependency:copy-dependencies io.temporal:temporal-test-server:$TEST_SERVER_VERSION -> $LIB_DIR"
  # -q still prints bare colour resets through jansi; strip them so the log stays readable.
  (cd "$work" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIB_DIR" 2>&1 \
    | sed -e $'s/\x1b\\[[0-9;]*m//g' -e '/^$/d' >&2) \
    || die "Maven could not fetch io.temporal:temporal-test-server:$TEST_SERVER_VERSION (see output above)"
  [ -f "$LIB_DIR/temporal-test-server-$TEST_SERVER_VERSION.jar" ] || die "temporal-test-server jar missing from $LIB_DIR"
  rm -rf "$work"
}

# The SDK gives the server 5 s to answer. Measured here under load 7 on 2 cores, time until the port
# accepts: plain java 2.0-3.4 s; C1-only JIT + serial GC 1.1-1.6 s; plus a class-data archive of this
# classpath 0.56-0.74 s.
write_wrapper() {
  local java_bin; java_bin=$(command -v java)
  local flags="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
  cat > "$WRAPPER.tmp" <<EOF
#!/bin/sh
# Temporal time-skipping test server $TEST_SERVER_VERSION; args: <port> [--enable-time-skipping].
# Written by scripts/provision/testserver.sh. exec: the SDK kills this pid to stop the server.
cds=""
[ -f '$CDS_ARCHIVE' ] && cds="-XX:SharedArchiveFile=$CDS_ARCHIVE -Xshare:auto"
exec '$java_bin' $flags \$cds \${TEMPORAL_TEST_SERVER_JAVA_OPTS:-} -cp '$LIB_DIR/*' io.temporal.testserver.TestServer "\$@"
EOF
  chmod +x "$WRAPPER.tmp"; mv "$WRAPPER.tmp" "$WRAPPER"
}

# Dump the classes the server loads at start into a CDS archive (JDK 13+): run it once, let it
# come up, stop it cleanly (the archive is written at exit).
build_cds_archive() {
  local java_bin; java_bin=$(command -v java)
  rm -f "$CDS_ARCHIVE"
  local port; port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$java_bin" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:ArchiveClassesAtExit="$CDS_ARCHIVE" \
    -cp "$LIB_DIR/*" io.temporal.testserver.TestServer "$port" --enable-time-skipping >"$HOME_DIR/cds.log" 2>&1 &
  local pid=$!
  local i
  for i in $(seq 1 120); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.5
  done
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  [ -f "$CDS_ARCHIVE" ] && log "class-data archive: $CDS_ARCHIVE ($(du -h "$CDS_ARCHIVE" | cut -f1))" \
    || log "no class-data archive written (see $HOME_DIR/cds.log); the server still runs, only slower to start"
}

need_cmd java "install a Java 17 runtime (Debian: openjdk-17-jre-headless) to run the Temporal test server"
mkdir -p "$HOME_DIR"
# The class-data archive only fits the JVM build that wrote it: a new JDK means a new archive.
WANT_STAMP="$TEST_SERVER_VERSION $(java -version 2>&1 | head -1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT_STAMP" ] && [ -x "$WRAPPER" ]; then
  log "reusing $WRAPPER (temporal-test-server $TEST_SERVER_VERSION, $(ls "$LIB_DIR" | wc -l) jars)"
else
  timed "maven fetch" fetch_jars
  write_wrapper
  timed "class-data archive" build_cds_archive
  echo "$WANT_STAMP" > "$STAMP"
  log "wrote $WRAPPER ($(ls "$LIB_DIR" | wc -l) jars, $(du -sh "$LIB_DIR" | cut -f1))"
fi
