#!/usr/bin/env bash
# The spdk-sr walk-through on the embedded default (file back end, no Xen, no SPDK).
# It drives the staged entry points exactly as xapi-storage-script does (smapiv3.md §3.1:
# `<Method> --json`, the arguments on stdin, the result on stdout) through the call sequences
# xapi makes for sr-create, PBD plug, vdi-create, snapshot, clone, resize, sr-scan and sr-destroy
# (smapiv3.md §6).
# usage: packaging/demo.sh [SR directory]   (default: a new temporary directory)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
root="$top/target/root"
volume="$root/usr/libexec/xapi-storage-script/volume/org.xen.xapi.storage.spdk"
if [ ! -e "$volume/Plugin.Query" ]; then
    echo "demo: no staged install tree at $root; build it first with: mvn -B -DskipTests package" >&2
    exit 1
fi
sr_dir=${1:-$(mktemp -d /tmp/spdk-sr-demo.XXXXXX)}
mkdir -p "$sr_dir"
log="$sr_dir.log"
: >"$log"

pretty() { python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), indent=2, ensure_ascii=False))'; }

# call <Method> <json arguments> [expect-error]: prints the call and its result, left in $result.
call() {
    local method=$1 args=$2 expect=${3:-}
    echo "── xapi-storage-script → $method"
    echo "   stdin: $args"
    set +e
    result=$(printf '%s' "$args" | "$volume/$method" --json 2>>"$log")
    local status=$?
    set -e
    echo "$result" | pretty | sed 's/^/   /'
    if [ $status -ne 0 ] && [ "$expect" = expect-error ]; then
        echo "   (exit status $status: an error record, as expected for this call)"
    elif [ $status -ne 0 ]; then
        echo "demo: $method failed unexpectedly (exit status $status); the plugin log is $log" >&2
        exit 1
    fi
    echo
}
field() { python3 -c 'import json,sys; v=json.load(sys.stdin); print(eval("v"+sys.argv[1]))' "$1" <<<"$result"; }

sr_uuid=$(python3 -c 'import uuid; print(uuid.uuid4())')
echo "spdk-sr demo: SR directory $sr_dir (plugin log: $log)"
echo

echo "### xe sm-list: xapi registers the SR type from Plugin.Query"
call Plugin.Query '{"dbg":"demo"}'

echo "### xe sr-create type=spdk device-config:path=$sr_dir"
call SR.create "{\"dbg\":\"demo\",\"uuid\":\"$sr_uuid\",\"configuration\":{\"path\":\"$sr_dir\"},\"name\":\"Demo SR\",\"description\":\"made by demo.sh\"}"
device_config=$result

echo "### PBD.plug: Plugin.Query, SR.attach, SR.stat"
call SR.attach "{\"dbg\":\"demo\",\"configuration\":$device_config}"
sr=$(field '')
call SR.stat "{\"dbg\":\"demo\",\"sr\":\"$sr\"}"

echo "### xe vdi-create virtual-size=3TiB (beyond the 2 TiB VHD limit): Volume.create, then Volume.set vdi-type"
call Volume.create "{\"dbg\":\"demo\",\"sr\":\"$sr\",\"name\":\"data disk\",\"description\":\"3 TiB, thin\",\"size\":3298534883328,\"sharable\":false}"
disk=$(field '["key"]')
call Volume.set "{\"dbg\":\"demo\",\"sr\":\"$sr\",\"key\":\"$disk\",\"k\":\"vdi-type\",\"v\":\"user\"}"

echo "### the guest writes (simulated here by writing into the volume file)"
disk_file="$sr_dir/volumes/$disk.raw"
printf 'hello from the guest' | dd of="$disk_file" bs=1 seek=1048576 conv=notrunc status=none
echo "   wrote 20 bytes at offset 1 MiB of $disk_file"
echo

echo "### xe vdi-snapshot: Volume.snapshot, then the keys xapi-storage-script writes"
call Volume.snapshot "{\"dbg\":\"demo\",\"sr\":\"$sr\",\"key\":\"$disk\"}"
snap=$(field '["key"]')
for kv in "vdi-type:user" "is_a_snapshot:true" "snapshot_of:$disk" "snapshot_time:$(date -u +%Y%m%dT%H:%M:%SZ)"; do
    call Volume.set "{\"dbg\":\"demo\",\"sr\":\"$sr\",\"key\":\"$snap\",\"k\":\"${kv%%:*}\",\"v\":\"${kv#*:}\"}"
done

echo "### xe vdi-clone of the snapshot: a writable copy"
call Volume.clone "{\"dbg\":\"demo\",\"sr\":\"$sr\",\"key\":\"$snap\"}"
clone=$(field '["key"]')
echo "   the clone holds the guest's data: '$(dd if="$sr_dir/volumes/$clone.raw" bs=1 skip=1048576 count=20 status=none)'"
echo

echo "### xe vdi-resize: grow to 4 TiB, then a refused shrink"
call Volume.resize "{\"dbg\":\"demo\",\"sr\":\"$sr\",\"key\":\"$disk\",\"new_size\":4398046511104}"
call Volume.resize "{\"dbg\":\"demo\",\"sr\":\"$sr\",\"key\":\"$disk\",\"new_size\":1073741824}" expect-error

echo "### xe sr-scan: SR.stat, SR.ls (every volume with its keys)"
call SR.ls "{\"dbg\":\"demo\",\"sr\":\"$sr\"}"
echo "   on disk: $(du -sh --apparent-size "$sr_dir/volumes" | cut -f1) apparent, $(du -sh "$sr_dir/volumes" | cut -f1) allocated"
echo

echo "### xe vdi-destroy of the clone, twice (the second is a no-op)"
call Volume.destroy "{\"dbg\":\"demo\",\"sr\":\"$sr\",\"key\":\"$clone\"}"
call Volume.destroy "{\"dbg\":\"demo\",\"sr\":\"$sr\",\"key\":\"$clone\"}"

echo "### a VDI that does not exist"
call Volume.stat "{\"dbg\":\"demo\",\"sr\":\"$sr\",\"key\":\"$clone\"}" expect-error

echo "### xe sr-destroy: SR.attach, SR.destroy"
call SR.destroy "{\"dbg\":\"demo\",\"sr\":\"$sr\"}"
echo "left in $sr_dir: $(ls -A "$sr_dir" | wc -l) entries"
echo "demo finished"
