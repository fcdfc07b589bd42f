package org.spdksr.datapath.attach;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What restarts a killed blkifd when it was started directly (no systemd, where the unit's
 * {@code Restart=on-abnormal} does this): a POSIX shell that runs blkifd as its child and starts it
 * again when a signal killed it (kill -9, the OOM killer, a JVM crash's abort), at once and at most
 * {@value #BURST} times a minute ({@value #BURST_ENV}), as systemd's start limit would. A blkifd that exited by itself
 * (0 after the last detach, or a failure it reported) and one stopped on purpose (SIGTERM, SIGINT,
 * SIGHUP, which the shell passes on) are not restarted. The restarted blkifd takes the guest's
 * rings over from their journals (issue 18). A shell, not a JVM: it costs dom0 about a megabyte.
 */
final class BlkifdSupervisor {
    /** Restarts allowed within a minute, as the unit's StartLimitBurst. */
    static final int BURST = 5;
    /** Overrides {@link #BURST} (a test that kills blkifd many times a minute). */
    static final String BURST_ENV = "SPDK_SR_BLKIFD_RESTART_BURST";

    private static final String SCRIPT = """
            pidfile=$1; burst=$2; shift 2
            echo $$ >"$pidfile"
            child=
            trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM INT HUP
            restarts=0
            window=$(date +%s)
            while :; do
                "$@" &
                child=$!
                while :; do
                    wait "$child"
                    status=$?
                    # A trapped signal ends wait early: wait again while blkifd lives.
                    kill -0 "$child" 2>/dev/null || break
                done
                case $status in
                    129|130|143) break ;;
                esac
                [ "$status" -gt 128 ] || break
                now=$(date +%s)
                if [ $((now - window)) -ge 60 ]; then window=$now; restarts=0; fi
                restarts=$((restarts + 1))
                if [ "$restarts" -gt "$burst" ]; then
                    echo "$(date -u +%FT%TZ) spdk-sr blkifd supervisor: blkifd was killed $restarts times within a minute (last: signal $((status - 128))); not starting it again. Look for the cause above; the next Datapath.attach or activate of the domain starts it." >&2
                    break
                fi
                echo "$(date -u +%FT%TZ) spdk-sr blkifd supervisor: blkifd (pid $child) was killed by signal $((status - 128)); starting it again (restart $restarts within a minute)" >&2
            done
            rm -f "$pidfile"
            exit "$status"
            """;

    private BlkifdSupervisor() {
    }

    /** {@code command} run under the supervisor, which writes its own pid to {@code pidFile}. */
    static List<String> wrap(Path pidFile, Map<String, String> env, List<String> command) {
        int burst = BURST;
        String configured = env.get(BURST_ENV);
        if (configured != null && configured.matches("[0-9]{1,4}")) {
            burst = Integer.parseInt(configured);
        }
        List<String> wrapped = new ArrayList<>(List.of("/bin/sh", "-c", SCRIPT, "spdk-sr-blkifd-supervisor",
                pidFile.toString(), Integer.toString(burst)));
        wrapped.addAll(command);
        return wrapped;
    }
}
