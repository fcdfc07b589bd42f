# What the three spdk-sr launchers share (spdk-sr-smapi, spdk-sr-blkifd, spdk-sr): the host
# settings file, the choice of Java runtime, the class path, and the bundled runtime's AOT cache
# and native libraries. Sourced, never run: installed 0644 as <root>/usr/share/spdk-sr/launcher.sh.
# The caller sets $root (/ on a host, target/root in the staged tree; both share one layout) and
# then calls, in this order: spdk_sr_read_conf, spdk_sr_pick_java, spdk_sr_class_path,
# spdk_sr_runtime_flags. POSIX sh: /bin/sh is bash on a dom0 but dash on Debian build machines.

spdk_sr_lib="$root/usr/share/spdk-sr/lib"
spdk_sr_private="$root/usr/lib/spdk-sr"
spdk_sr_aot="$spdk_sr_private/spdk-sr.aot"

# Host settings (<root>/etc/spdk-sr/spdk-sr.conf documents each key), exported so that the
# processes a launcher starts (the datapath's blkifd) see them too. A variable already in the
# environment wins. The file is parsed, not sourced, so that it can hold nothing but settings.
spdk_sr_read_conf() {
    spdk_sr_conf=${SPDK_SR_CONF:-$root/etc/spdk-sr/spdk-sr.conf}
    [ -r "$spdk_sr_conf" ] || return 0
    while IFS= read -r spdk_sr_line || [ -n "$spdk_sr_line" ]; do
        case $spdk_sr_line in '' | '#'*) continue ;; esac
        spdk_sr_key=${spdk_sr_line%%=*}
        spdk_sr_value=${spdk_sr_line#*=}
        case $spdk_sr_value in \"*\") spdk_sr_value=${spdk_sr_value#\"}; spdk_sr_value=${spdk_sr_value%\"} ;; esac
        case $spdk_sr_key in
            SPDK_SR_STATE_DIR | SPDK_SR_JAVA_OPTS | SPDK_SR_BLKIFD_JAVA_OPTS | SPDK_SR_BLKIFD_LAUNCH | \
            SPDK_SR_BLKIFD_BUFFER_MIB | SPDK_SR_BLKIFD_RESTART_BURST | SPDK_SR_VHOST_MEMORY | \
            SPDK_SR_VHOST_REGION_MIB)
                eval "[ -n \"\${$spdk_sr_key+set}\" ] || { $spdk_sr_key=\$spdk_sr_value; export $spdk_sr_key; }" ;;
            *) echo "spdk-sr: ignoring unknown line '$spdk_sr_line' in $spdk_sr_conf (see the comments in that file)" >&2 ;;
        esac
    done <"$spdk_sr_conf"
}

# Sets spdk_sr_java, and spdk_sr_bundled=yes when it is the runtime the RPM ships (rpm/build.sh):
# $SPDK_SR_JAVA, then the bundled runtime, then $JAVA_HOME, then java on the PATH.
spdk_sr_pick_java() {
    spdk_sr_bundled=
    if [ -n "${SPDK_SR_JAVA:-}" ]; then
        spdk_sr_java=$SPDK_SR_JAVA
    elif [ -x "$spdk_sr_private/runtime/bin/java" ]; then
        spdk_sr_java="$spdk_sr_private/runtime/bin/java"
        spdk_sr_bundled=yes
    elif [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
        spdk_sr_java="$JAVA_HOME/bin/java"
    else
        spdk_sr_java=java
    fi
}

# Sets spdk_sr_cp: the class path in the fixed order stage.sh wrote (not lib/*, whose order is the
# directory's), because an AOT cache is only used with the class path it was made with
# (xcp-ng-host.md §2.2). Sets spdk_sr_stale to a jar newer than the cache, if any: JDK 25.0.3 was
# seen to serve classes from the cache even after their jar changed (a hand-replaced jar; the RPM
# ships both together), so such a jar turns the cache off.
spdk_sr_class_path() {
    spdk_sr_cp=
    spdk_sr_stale=
    while IFS= read -r spdk_sr_jar; do
        spdk_sr_cp="$spdk_sr_cp${spdk_sr_cp:+:}$spdk_sr_lib/$spdk_sr_jar"
        [ "$spdk_sr_lib/$spdk_sr_jar" -nt "$spdk_sr_aot" ] && spdk_sr_stale=$spdk_sr_jar
    done <"$root/usr/share/spdk-sr/classpath"
}

# Sets spdk_sr_flags, the options every launcher passes:
#  - JVM warnings (an unusable AOT cache, say) to stderr: by default they go to stdout, which only
#    the result of a SMAPIv3 call may reach (smapiv3.md §3.2) and `spdk-sr status --json` prints;
#  - SLF4J's simple logger on stderr with time stamps;
#  - with the bundled runtime: its AOT cache, made by a training run through spdk-sr-smapi with
#    the same class path (xcp-ng-host.md §1.6, §2.2), and the native libraries extracted from the
#    jars at build time, so that no process unpacks a .so into /tmp (and the glibc check covers
#    what is loaded). The cache also serves blkifd, which keeps its JIT: JDK 25 takes a cache
#    trained with C1 only, and RpmInstallTest starts blkifd with -XX:AOTMode=on to prove it.
# Only the cache's class data, never its machine code: JDK 25 also stores adapters and stubs
# compiled for the build machine's CPU and loads them on any CPU (seen: "Loaded 483 AOT code
# entries" with -XX:UseAVX=0), so a host without the builder's AVX level dies of SIGILL in every
# call (found by the real-Xen stage, whose CPU has no AVX). Class data is what saves the time
# (~385 vs ~397 ms a call here). rpm/build.sh trains with the same flags.
spdk_sr_aot_data_only="-XX:+UnlockDiagnosticVMOptions -XX:-AOTAdapterCaching -XX:-AOTStubCaching"

spdk_sr_runtime_flags() {
    spdk_sr_flags="-Xlog:disable -Xlog:all=warning:stderr -Dorg.slf4j.simpleLogger.logFile=System.err"
    # The format holds no space or glob character, so it survives the unquoted expansion.
    spdk_sr_flags="$spdk_sr_flags -Dorg.slf4j.simpleLogger.showDateTime=true"
    spdk_sr_flags="$spdk_sr_flags -Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ"
    [ -n "$spdk_sr_bundled" ] || return 0
    if [ -f "$spdk_sr_aot" ] && [ -z "$spdk_sr_stale" ]; then
        spdk_sr_flags="$spdk_sr_flags -XX:AOTCache=$spdk_sr_aot $spdk_sr_aot_data_only"
    elif [ -f "$spdk_sr_aot" ]; then
        echo "spdk-sr: $spdk_sr_lib/$spdk_sr_stale is newer than the AOT cache $spdk_sr_aot, so the cache is not" \
            "used and every start is slower. Reinstall the spdk-sr RPM instead of replacing jars." >&2
    fi
    if [ -d "$spdk_sr_private/native" ]; then
        spdk_sr_flags="$spdk_sr_flags -Djna.boot.library.path=$spdk_sr_private/native -Djna.nounpack=true"
        spdk_sr_flags="$spdk_sr_flags -Dorg.sqlite.lib.path=$spdk_sr_private/native -Dorg.sqlite.lib.name=libsqlitejdbc.so"
    fi
    # JDK 24+ warns on every System.load from the class path (JEP 472) unless told it is expected.
    spdk_sr_flags="$spdk_sr_flags --enable-native-access=ALL-UNNAMED"
}
