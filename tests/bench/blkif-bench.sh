#!/usr/bin/env bash
# The blkifd benchmark: prints one table of IOPS and MiB/s through a simulated guest's ring into
# blkifd (null, file and vhost-user-blk devices) beside fio on the same file, in the same run.
# usage: tests/bench/blkif-bench.sh [--seconds S] [--warmup S] [--size-mib N] [--depths 1,32,128]
#        [--devices null,file,vhost] [--dir D]
# The vhost device (vhost-user-blk to qemu-storage-daemon) runs only where qemu-storage-daemon is installed.
# Needs the staged tree (mvn -B -DskipTests package) and fio (apt-get install fio).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
lib="$top/target/root/usr/share/spdk-sr/lib"
if [ ! -d "$lib" ]; then
    echo "blkif-bench: no staged tree at $top/target/root; run: mvn -B -DskipTests package" >&2
    exit 1
fi
command -v fio >/dev/null || { echo "blkif-bench: fio is not installed (apt-get install fio)" >&2; exit 1; }
exec java -Xmx1g -XX:+UseParallelGC -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    -cp "$lib/*" org.spdksr.datapath.sim.bench.BlkifBench "$@"
