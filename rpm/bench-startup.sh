#!/usr/bin/env bash
# Per-call latency of the installed entry points against a Python 3 baseline (xcp-ng-host.md §2):
# installs the RPM into a scratch root, makes a file-backed SR with one volume through the
# installed entry points, then times, in the same run, with hyperfine:
#   - a Python 3 script that reads the same Volume.stat arguments and prints a volume record;
#   - Volume.stat through the installed entry point (shim -> launcher -> bundled runtime + AOT cache);
#   - the same with the AOT cache switched off (what the cache buys);
#   - Plugin.Query (no SQLite) through the installed entry point.
# A benchmark, not a test: the figures depend on the machine and its load.
# usage: rpm/bench-startup.sh [rpm file] [runs]   (default: the RPM rpm/build.sh made, 20 runs)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
rpm_file=${1:-$(ls -t "$top"/target/rpm/RPMS/x86_64/spdk-sr-*.x86_64.rpm 2>/dev/null | head -1 || true)}
runs=${2:-20}
[ -n "$rpm_file" ] && [ -f "$rpm_file" ] || { echo "bench-startup: no RPM; build one with rpm/build.sh" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "bench-startup: hyperfine is missing (apt-get install hyperfine)" >&2; exit 1; }

work=$(mktemp -d /tmp/spdk-sr-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root"
(cd "$root" && rpm2cpio "$rpm_file" | cpio -idm --quiet)
vol="$root/usr/libexec/xapi-storage-script/volume/org.xen.xapi.storage.spdk"
export SPDK_SR_STATE_DIR="$work/state"

call() { printf '%s' "$2" | "$vol/$1" --json 2>>"$work/plugin.log"; }
field() { python3 -c 'import json,sys; v=json.load(sys.stdin); print(v if isinstance(v, str) else v[sys.argv[1]])' "$1"; }
mkdir -p "$work/sr"
config=$(call SR.create "{\"dbg\":\"bench\",\"uuid\":\"$(python3 -c 'import uuid; print(uuid.uuid4())')\",\"configuration\":{\"path\":\"$work/sr\"},\"name\":\"bench\",\"description\":\"\"}")
sr=$(call SR.attach "{\"dbg\":\"bench\",\"configuration\":$config}" | field -)
key=$(call Volume.create "{\"dbg\":\"bench\",\"sr\":\"$sr\",\"name\":\"d\",\"description\":\"\",\"size\":1073741824,\"sharable\":false}" | field key)
printf '{"dbg":"bench","sr":"%s","key":"%s"}' "$sr" "$key" >"$work/stat.json"
printf '{"dbg":"bench"}' >"$work/query.json"

# The baseline: what a Python SMAPIv3 plugin does at least (start, read, parse, print a record).
cat >"$work/baseline.py" <<'EOF'
#!/usr/bin/python3
import json, sys
args = json.load(sys.stdin)
print(json.dumps({"key": args["key"], "uuid": args["key"], "name": "d", "description": "", "read_write": True,
                  "sharable": False, "virtual_size": 1073741824, "physical_utilisation": 0,
                  "uri": ["spdk-sr://" + args["sr"] + "/" + args["key"]], "keys": {}}))
EOF
chmod +x "$work/baseline.py"
call Volume.stat "$(cat "$work/stat.json")" >/dev/null || { echo "bench-startup: Volume.stat fails; see $work/plugin.log" >&2; exit 1; }
SPDK_SR_JAVA_OPTS=-XX:AOTMode=on call Volume.stat "$(cat "$work/stat.json")" >/dev/null \
    || { echo "bench-startup: the installed runtime refuses its AOT cache; see $work/plugin.log" >&2; exit 1; }

echo "spdk-sr start-up benchmark: $(basename "$rpm_file"), $runs runs each, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine --style basic --warmup 3 --runs "$runs" --export-json "$work/result.json" \
    -n "python3 baseline (reads the stat JSON, prints a record)" "$work/baseline.py <$work/stat.json" \
    -n "Volume.stat: shim + launcher + runtime + AOT cache" "$vol/Volume.stat --json <$work/stat.json 2>/dev/null" \
    -n "Volume.stat: the same, AOT cache off" "SPDK_SR_JAVA_OPTS=-XX:AOTMode=off $vol/Volume.stat --json <$work/stat.json 2>/dev/null" \
    -n "Plugin.Query: shim + launcher + runtime + AOT cache" "$vol/Plugin.Query --json <$work/query.json 2>/dev/null" \
    >"$work/hyperfine.log" 2>&1 || { cat "$work/hyperfine.log" >&2; exit 1; }

python3 - "$work/result.json" <<'EOF'
import json, statistics, sys
results = json.load(open(sys.argv[1]))["results"]
base = statistics.median(results[0]["times"])
print("| Variant | median wall | min wall | mean user CPU | mean sys CPU | median vs Python |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for r in results:
    med = statistics.median(r["times"])
    print("| %s | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %.1fx |" % (
        r["command"], med * 1000, r["min"] * 1000, r["user"] * 1000, r["system"] * 1000, med / base))
EOF
