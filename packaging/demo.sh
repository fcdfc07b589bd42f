#!/usr/bin/env bash
# The spdk-sr end-to-end demo on a machine with no Xen and no SPDK (ARCHITECTURE.md §3):
# a simulated Xen host (xenstored, a guest domain), a file-backed SR and a volume made through the
# staged entry points exactly as xapi-storage-script calls them (smapiv3.md §3.1: `<Method> --json`,
# arguments on stdin, result on stdout), a VM start (Datapath.attach + activate start blkifd),
# xenopsd's VBD plug, a simulated guest that connects its ring and runs a verified workload and a
# short benchmark, then VM shutdown (deactivate, detach), snapshot, clone and clean-up (§6).
# Exits non-zero if any step fails.
# usage: packaging/demo.sh [work directory]   (default: a new temporary directory, removed at the end)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
root="$top/target/root"
volume="$root/usr/libexec/xapi-storage-script/volume/org.xen.xapi.storage.spdk"
datapath="$root/usr/libexec/xapi-storage-script/datapath/spdk-sr"
lib="$root/usr/share/spdk-sr/lib"
if [ ! -e "$volume/Plugin.Query" ] || [ ! -e "$datapath/Datapath.attach" ]; then
    echo "demo: no staged install tree at $root; build it first with: mvn -B -DskipTests package" >&2
    exit 1
fi
keep=${1:+yes}
work=${1:-$(mktemp -d /tmp/spdk-sr-demo.XXXXXX)}
mkdir -p "$work"
log="$work/plugin.log"
: >"$log"
domid=5
export SPDKSR_XEN_MODE=sim SPDKSR_XEN_SIM_ROOT="$work/xen" SPDK_SR_RUN_DIR="$work/run"
java=${JAVA_HOME:+$JAVA_HOME/bin/}java
declare -a timings=()
host_pid=

cleanup() {
    local status=$?
    if [ -n "$host_pid" ]; then
        exec {SIMHOST[1]}>&- 2>/dev/null || true   # closing its stdin stops the simulated host
        wait "$host_pid" 2>/dev/null || true
    fi
    for pidfile in "$work"/run/*/blkifd.pid; do
        [ -e "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    if [ $status -ne 0 ]; then
        echo "demo FAILED (exit $status); logs: $log and $work/run/*/blkifd.log" >&2
    elif [ -z "$keep" ]; then
        rm -rf "$work"
    fi
}
trap cleanup EXIT

now() { date +%s%N; }
ms_since() { echo $(( ($(now) - $1) / 1000000 )); }
oneline() { python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), ensure_ascii=False))'; }
field() { python3 -c 'import json,sys; v=json.load(sys.stdin); print(eval("v"+sys.argv[1]))' "$1" <<<"$result"; }

# call <volume|datapath> <Method> <json arguments>: prints the call and its answer, left in $result.
call() {
    local dir=$volume
    [ "$1" = datapath ] && dir=$datapath
    local method=$2 args=$3 t0
    t0=$(now)
    set +e
    result=$(printf '%s' "$args" | "$dir/$method" --json 2>>"$log")
    local status=$?
    set -e
    local took
    took=$(ms_since "$t0")
    timings+=("$method:$took")
    printf '   %-22s %5d ms  → %s\n' "$method" "$took" "$(echo "$result" | oneline | cut -c1-150)"
    if [ $status -ne 0 ]; then
        echo "demo: $method failed (exit status $status); the plugin log is $log" >&2
        exit 1
    fi
}

echo "spdk-sr demo: no Xen, no SPDK; work directory $work"
echo
echo "### 1. a simulated Xen host: xenstored and guest domain $domid (separate process)"
coproc SIMHOST { exec "$java" -cp "$lib/*" -Dorg.slf4j.simpleLogger.logFile=System.err \
    org.spdksr.datapath.xen.sim.SimXenHostMain "$work/xen" "$domid:16384:65536" 2>>"$work/simhost.log"; }
host_pid=$SIMHOST_PID
read -r -t 60 ready <&"${SIMHOST[0]}"
echo "   $ready"
echo

echo "### 2. xe sr-create type=spdk device-config:path=$work/sr, PBD plug, vdi-create (volume plugin)"
mkdir -p "$work/sr"
sr_uuid=$(python3 -c 'import uuid; print(uuid.uuid4())')
call volume Plugin.Query '{"dbg":"demo"}'
call datapath Plugin.Query '{"dbg":"demo"}'
call volume SR.create "{\"dbg\":\"demo\",\"uuid\":\"$sr_uuid\",\"configuration\":{\"path\":\"$work/sr\"},\"name\":\"Demo SR\",\"description\":\"made by demo.sh\"}"
device_config=$result
call volume SR.attach "{\"dbg\":\"demo\",\"configuration\":$device_config}"
sr=$(field '')
call volume Volume.create "{\"dbg\":\"demo\",\"sr\":\"$sr\",\"name\":\"system disk\",\"description\":\"demo VM\",\"size\":268435456,\"sharable\":false}"
disk=$(field '["key"]')
call volume Volume.set "{\"dbg\":\"demo\",\"sr\":\"$sr\",\"key\":\"$disk\",\"k\":\"vdi-type\",\"v\":\"user\"}"
call volume Volume.stat "{\"dbg\":\"demo\",\"sr\":\"$sr\",\"key\":\"$disk\"}"
uri=$(python3 -c 'import json,sys; print([u for u in json.load(sys.stdin)["uri"] if u.startswith("spdk-sr:")][0])' <<<"$result")
echo "   the datapath URI xapi-storage-script picks (§2.5): $uri"
echo

echo "### 3. xe vm-start: VDI.attach3 and VDI.activate3 (datapath plugin: blkifd starts for domain $domid)"
t_attach=$(now)
call datapath Datapath.attach "{\"dbg\":\"demo\",\"uri\":\"$uri\",\"domain\":\"$domid\"}"
backend=$result
call datapath Datapath.activate "{\"dbg\":\"demo\",\"uri\":\"$uri\",\"domain\":\"$domid\"}"
echo "   blkifd for domain $domid: pid $(cat "$work/run/$domid/blkifd.pid"), control socket $work/run/$domid/control.sock"
echo

echo "### 4. xenopsd plugs the VBD; the guest connects, runs a verified workload and a benchmark"
t_guest=$(now)
"$java" -cp "$lib/*" -Dorg.slf4j.simpleLogger.logFile=System.err -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    org.spdksr.datapath.sim.bench.DemoGuestMain "$work/xen" "$domid" xvda "$work/run" "$backend" 2>>"$work/guest.log"
guest_ms=$(ms_since "$t_guest")
echo

echo "### 5. xe vm-shutdown: VDI.deactivate and VDI.detach (blkifd flushes, then exits after its last disk)"
blkifd_pid=$(cat "$work/run/$domid/blkifd.pid")
call datapath Datapath.deactivate "{\"dbg\":\"demo\",\"uri\":\"$uri\",\"domain\":\"$domid\"}"
call datapath Datapath.detach "{\"dbg\":\"demo\",\"uri\":\"$uri\",\"domain\":\"$domid\"}"
if kill -0 "$blkifd_pid" 2>/dev/null; then
    echo "demo: blkifd (pid $blkifd_pid) still runs after the last detach" >&2
    exit 1
fi
echo "   blkifd pid $blkifd_pid has exited"
echo

echo "### 6. xe vdi-snapshot and vdi-clone: the guest's data is in the copies"
call volume Volume.snapshot "{\"dbg\":\"demo\",\"sr\":\"$sr\",\"key\":\"$disk\"}"
snap=$(field '["key"]')
call volume Volume.set "{\"dbg\":\"demo\",\"sr\":\"$sr\",\"key\":\"$snap\",\"k\":\"is_a_snapshot\",\"v\":\"true\"}"
call volume Volume.clone "{\"dbg\":\"demo\",\"sr\":\"$sr\",\"key\":\"$snap\"}"
clone=$(field '["key"]')
marker=$(dd if="$work/sr/volumes/$clone.raw" bs=1 skip=1048576 count=20 status=none)
echo "   the clone reads at 1 MiB: '$marker'"
if [ "$marker" != "hello from the guest" ]; then
    echo "demo: the clone does not hold the guest's write" >&2
    exit 1
fi
echo

echo "### 7. clean up: vdi-destroy x3, sr-destroy"
for key in "$clone" "$snap" "$disk"; do
    call volume Volume.destroy "{\"dbg\":\"demo\",\"sr\":\"$sr\",\"key\":\"$key\"}"
done
call volume SR.destroy "{\"dbg\":\"demo\",\"sr\":\"$sr\"}"
echo

echo "### results"
printf '   %-44s %s\n' "entry-point calls (one JVM each)" "${#timings[@]}"
for t in "${timings[@]}"; do
    case "$t" in Datapath.attach:*|Datapath.activate:*|Datapath.deactivate:*|Datapath.detach:*)
        printf '   %-44s %s ms\n' "${t%%:*}" "${t#*:}";;
    esac
done
printf '   %-44s %s ms\n' "guest: plug, connect, workload, benchmark, unplug" "$guest_ms"
printf '   %-44s %s\n' "verified workload and guest checks" "OK"
printf '   %-44s %s\n' "guest write visible in snapshot clone" "OK"
echo "demo finished: every step succeeded"
