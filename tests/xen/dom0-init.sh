#!/bin/sh
# /init of dom0 (busybox + Xen tools + the spdk-sr RPM's files). Starts xenstored and the Xen
# daemons, creates the PV guest WITHOUT a disk (the disk is plugged later by the Java stage, which
# plays xenopsd and serves it with blkifd), runs the stage, prints its verdict and powers off.
# Verdict lines start with "STAGE RESULT:" so the host script can pick them out of the serial log.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin:/usr/lib/xen-4.17/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm; mount -t devpts devpts /dev/pts; mount -t tmpfs tmpfs /run
# The image lives on tmpfs: it supports sparse files and FALLOC_FL_PUNCH_HOLE (discard).
mkdir -p /data; mount -t tmpfs -o size=512m data /data
mkdir -p /run/xenstored /run/xen /var/log/xen/console
T() { echo "[dom0 $(cut -d' ' -f1 /proc/uptime)s] $*"; }
finish() { T "$1"; sleep 1; poweroff -f; }
# busybox sed has no -u: awk with fflush() prefixes lines without holding them back.
prefix() { awk -v p="$1" '{ print p $0; fflush() }'; }
# On failure: which tasks are stuck in the kernel (sysrq w), and the kernel's recent messages.
diagnose() {
    echo w > /proc/sysrq-trigger
    T "xenstore (backend and guest device trees):"
    xenstore-ls -fp /local/domain/0/backend 2>&1 | prefix "[xs] "
    xenstore-ls -fp /local/domain/1/device 2>&1 | prefix "[xs] "
    xenstore-ls -f /local/domain/1/data 2>&1 | prefix "[xs] "
    T "xenstored trace, the disk's nodes (last 150 lines):"
    grep -a "qdisk/1/51712\|vbd/51712" /var/log/xen/xenstored-trace.log | tail -150 | prefix "[xst] "
    # The kernel's messages since /init started (the boot log is noise here).
    T "dmesg since /init:"; dmesg | awk 'seen; /Run \/init/ { seen = 1 }' | tail -100 | prefix "[dmesg] "
    # The product round's blkifd processes (one per domain) log to files of their own.
    for f in /run/spdk-sr/blkifd/*/blkifd.log; do
        [ -f "$f" ] || continue
        T "$f (last 60 lines):"; tail -60 "$f" | prefix "[blkifd $(basename "$(dirname "$f")")] "
    done
}

T "init started"
# Boot is over: from now on the kernel's info messages (hung-task stacks, sysrq output) matter,
# and a stuck task should be reported within 30 s rather than 120 s.
echo 7 > /proc/sys/kernel/printk
echo 30 > /proc/sys/kernel/hung_task_timeout_secs 2>/dev/null || true
for m in xen-privcmd xenfs xen-evtchn xen-gntdev xen-gntalloc; do
    insmod /lib/modules/$m.ko || T "insmod $m failed"
done
mount -t xenfs xenfs /proc/xen
T "Xen modules loaded"
[ -c /dev/xen/gntdev ] && [ -c /dev/xen/evtchn ] || finish "STAGE RESULT: FAILED: no gntdev/evtchn in /dev/xen: $(ls /dev/xen)"
# -T: xenstored's trace of every request and reply, shown (for the disk's nodes) when the stage fails.
xenstored -T /var/log/xen/xenstored-trace.log || finish "STAGE RESULT: FAILED: xenstored did not start"
i=0; while [ ! -S /run/xenstored/socket ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
# blkifd would quietly fall back to /dev/xen/xenbus without the socket; XCP-ng has the socket.
[ -S /run/xenstored/socket ] || finish "STAGE RESULT: FAILED: no xenstored socket in /run/xenstored"
T "xenstored started"

# The Java stage starts now, while xen-init-dom0 (13-18 s under TCG) runs, so JVM start-up and
# writing the image's pattern overlap with it. It finds the guest's domid by name once xl made it.
# The RPM's runtime runs the stage too, on the RPM's jars (JNA's native library as the RPM
# extracted it, so nothing unpacks into /tmp).
JAVA="/usr/lib/spdk-sr/runtime/bin/java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx192m -Xss512k"
JAVA="$JAVA --enable-native-access=ALL-UNNAMED -Djna.boot.library.path=/usr/lib/spdk-sr/native -Djna.nounpack=true"
CP=/opt/spdk-sr/lib/spdk-sr-xen-stage.jar:/opt/spdk-sr/lib/spdk-sr-sim.jar
for j in spdk-sr-datapath jna slf4j-api slf4j-simple jackson-databind jackson-core jackson-annotations; do
    CP="$CP:$(ls /usr/share/spdk-sr/lib/$j-[0-9]*.jar)"
done
# xenstage.indirect=N on the kernel command line (XEN_STAGE_INDIRECT on the host) sets the
# indirect segments blkifd offers; 0 withdraws the offer.
# xenstage.xenstore=xenbus (XEN_STAGE_XENSTORE on the host) hides the socket from blkifd, so that
# it talks to xenstored through /dev/xen/xenbus, its fallback when there is no socket.
# xenstage.deadline=S: the uptime at which a stage still running is reported hung (the host
# passes its QEMU timeout minus 80 s, so the report makes it out before QEMU is killed).
DEADLINE=400
for w in $(cat /proc/cmdline); do
    case $w in
        xenstage.deadline=*) DEADLINE=${w#*=} ;;
        # xenstage.rounds=all|product (XEN_STAGE_ROUNDS on the host): add the product round, or run
        # it alone, in both the stage and the guest (its kernel command line says so too).
        xenstage.rounds=*)
            JAVA="$JAVA -Dxenstage.rounds=${w#*=}"
            sed -i "s/^extra = \"\\(.*\\)\"\$/extra = \"\\1 $w\"/" /guest/domu.cfg ;;
        xenstage.indirect=*) JAVA="$JAVA -Dxenstage.indirectSegments=${w#*=}" ;;
        xenstage.xenstore=xenbus) JAVA="env XENSTORED_PATH=/run/xenstored/no-such-socket $JAVA" ;;
    esac
done
T "starting the Java stage"
( $JAVA -cp "$CP" org.spdksr.xenstage.Stage domu /data/disk.img 2>&1; echo "exit status $?" ) \
    | prefix "[java] " | tee /var/log/java.log &

xen-init-dom0 > /var/log/xen/init-dom0.log 2>&1 \
    || { cat /var/log/xen/init-dom0.log; finish "STAGE RESULT: FAILED: xen-init-dom0"; }
T "xen-init-dom0 done"
xenconsoled --log=guest --log-dir=/var/log/xen/console || finish "STAGE RESULT: FAILED: xenconsoled"
T "creating the guest (no disk yet)"
xl create /guest/domu.cfg > /var/log/xen/xl-create.log 2>&1 \
    || { cat /var/log/xen/xl-create.log; finish "STAGE RESULT: FAILED: xl create"; }
T "guest created as domain $(xl domid domu)"

# Stream the guest console into our own output, so the serial log holds both, interleaved.
( while [ ! -e /var/log/xen/console/guest-domu.log ]; do sleep 0.2; done
  tail -f /var/log/xen/console/guest-domu.log | prefix "[domU] " ) &

# The stage ends with "exit status N"; it has its own time limits per step, and this one is for a
# stage stuck in the kernel: at $DEADLINE s of uptime (the host kills QEMU 80 s later) the JVM's
# thread dump (SIGQUIT) and the blocked tasks show where.
while ! grep -q "^\[java\] exit status" /var/log/java.log 2>/dev/null; do
    sleep 1
    if [ "$(cut -d. -f1 /proc/uptime)" -ge "$DEADLINE" ]; then
        T "the stage is still running at $DEADLINE s of uptime: thread dump and blocked tasks"
        kill -QUIT $(pidof java) 2>/dev/null; sleep 3; diagnose
        finish "STAGE RESULT: FAILED: the stage hung"
    fi
done
sleep 2  # let the guest console catch up
# blkifd's own log line names the ring order and queue count it connected with.
grep "connected:" /var/log/java.log | sed 's/^/[dom0] blkifd saw: /'
if grep -q "STAGE PASSED" /var/log/java.log && grep -q "rounds 1 and 2 skipped" /var/log/java.log; then
    finish "STAGE RESULT: PASSED (the product round only)"
fi
if grep -q "STAGE PASSED" /var/log/java.log; then
    grep -q "connected: 2 queue(s), ring order 0" /var/log/java.log \
        || finish "STAGE RESULT: FAILED: blkifd did not log a 2-queue, order-0 connection in round 1"
    grep -q "connected: 2 queue(s), ring order 4" /var/log/java.log \
        || finish "STAGE RESULT: FAILED: blkifd did not log a 2-queue, order-4 connection in round 2"
    finish "STAGE RESULT: PASSED"
fi
T "xl list:"; xl list
diagnose
finish "STAGE RESULT: FAILED: $(grep -m1 'STAGE FAILED' /var/log/java.log | sed 's/.*STAGE FAILED: //')"
