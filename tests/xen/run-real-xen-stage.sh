#!/bin/bash
# The real-Xen stage (tests/xen/README.md): boots Xen 4.17 under QEMU (software emulation, no KVM
# needed) with a dom0 that runs blkifd's backend on the Linux Xen access layer (gntdev, evtchn,
# the xenstored socket) and a PV guest whose stock xen-blkfront uses it: first inside the stage's
# own Java main, then as the product, from the RPM installed in dom0 (its entry points, the blkifd
# Datapath.attach starts). The guest's checks and dom0's checks are in guest-init.sh and
# java/org/spdksr/xenstage; this script only builds the images, boots them, and turns the serial
# log into a verdict.
#
# usage: tests/xen/run-real-xen-stage.sh            (exit 0 = passed)
# env:   XEN_STAGE_DIR  work directory (default /tmp/spdksr-xen-stage); the log is serial.log there
#        XEN_STAGE_TIMEOUT  seconds before QEMU is killed (default 480)
#        JLINK_JDK      a JDK 17+ with jlink (default the Temurin 25 JDK, else the running javac's)
#        QEMU_CPU       QEMU CPU model (default max,-xsave: plain max crashes dom0 programs)
#        XEN_STAGE_INDIRECT  indirect segments blkifd offers (default: blkifd's own, 256); 0 turns
#                       indirect requests off, to run the other checks while they are broken
#        XEN_STAGE_XENSTORE=xenbus  blkifd reaches xenstored through /dev/xen/xenbus, not the socket
#        XEN_STAGE_ROUNDS=all  adds the product round (the RPM's entry points and blkifd); =product
#                       runs it alone. Not in CI yet: too slow under TCG (tests/xen/README.md)
#        XEN_STAGE_RPM  the spdk-sr RPM installed in dom0 (default: the newest in target/rpm, which
#                       rpm/ci.sh leaves; built with rpm/build.sh when there is none)
# needs (apt): qemu-system-x86 xen-hypervisor-4.17-amd64 xen-utils-4.17 xenstore-utils
#              linux-image-amd64 busybox-static cpio python3 libnbd-bin rpm, plus maven and a
#              Temurin JDK to build the jars and the RPM
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
W=${XEN_STAGE_DIR:-/tmp/spdksr-xen-stage}
TIMEOUT=${XEN_STAGE_TIMEOUT:-480}
CPU=${QEMU_CPU:-max,-xsave}
XB=/usr/lib/xen-4.17/bin
LIB=$REPO/target/root/usr/share/spdk-sr/lib
START=$(date +%s)

say() { echo "[xen-stage $(( $(date +%s) - START ))s] $*"; }
die() { echo "[xen-stage] FAILED: $*" >&2; exit 1; }

# ---- prerequisites: name the missing package instead of failing somewhere below ----
K=${XEN_STAGE_KERNEL:-$(ls /lib/modules 2>/dev/null | sort -V | tail -1)}
[ -n "$K" ] && [ -f "/boot/vmlinuz-$K" ] || die "no kernel in /boot and /lib/modules: apt-get install linux-image-amd64"
need() { [ -e "$1" ] || die "$1 is missing: apt-get install $2"; }
need /boot/xen-4.17-amd64.gz xen-hypervisor-4.17-amd64
need $XB/xl xen-utils-4.17
need $XB/xenstored xen-utils-4.17
need /usr/bin/xenstore xenstore-utils
need /bin/busybox busybox-static
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is missing: apt-get install qemu-system-x86"
command -v cpio >/dev/null || die "cpio is missing: apt-get install cpio"
command -v rpm2cpio >/dev/null || die "rpm2cpio is missing: apt-get install rpm"
need /usr/bin/nbdcopy libnbd-bin
PY=$(readlink -f /usr/bin/python3 2>/dev/null || true)
[ -x "$PY" ] || die "/usr/bin/python3 is missing: apt-get install python3"
PYLIB=/usr/lib/$(basename "$PY")
[ -f "$PYLIB/os.py" ] && [ -d "$PYLIB/encodings" ] || die "$PYLIB has no os.py or encodings/: apt-get install python3"
if [ -z "${JLINK_JDK:-}" ]; then
    if [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/jlink ]; then JLINK_JDK=/usr/lib/jvm/temurin-25-jdk-amd64
    else JLINK_JDK=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")"); fi
fi
[ -x "$JLINK_JDK/bin/jlink" ] || die "no jlink in $JLINK_JDK: set JLINK_JDK to a JDK 17+"

mkdir -p "$W"
rm -rf "$W/dom0" "$W/domu" "$W/classes"

# ---- the project's jars (built once; CI has built them in the main test step) ----
if ! ls "$LIB"/spdk-sr-datapath-*.jar >/dev/null 2>&1; then
    say "building the project's jars (mvn package)"
    (cd "$REPO" && mvn -B -q -DskipTests package)
fi
# Only what the backend needs at run time (jdeps: datapath -> jna, slf4j); the SQLite, Jackson and
# control-plane jars would triple the initramfs for nothing.
JARS=("$LIB"/spdk-sr-datapath-*.jar "$LIB"/jna-*.jar "$LIB"/slf4j-api-*.jar "$LIB"/slf4j-simple-*.jar)
for j in "${JARS[@]}"; do [ -f "$j" ] || die "missing jar $j"; done
# The xenopsd stand-in comes from the simulation jar, which the RPM does not ship: dom0 gets it
# beside the stage's own jar.
SIM_JAR=$(ls "$LIB"/spdk-sr-sim-*.jar 2>/dev/null | head -1 || true)
[ -f "$SIM_JAR" ] || die "no spdk-sr-sim jar in $LIB; run: mvn -B -DskipTests package"
JARS+=("$SIM_JAR")

# The product round reads the attach results and `spdk-sr status --json` with Jackson.
JARS+=("$LIB"/jackson-databind-*.jar "$LIB"/jackson-core-*.jar "$LIB"/jackson-annotations-*.jar)
for j in "${JARS[@]}"; do [ -f "$j" ] || die "missing jar $j"; done

# ---- the stage's own Java main, compiled against those jars ----
say "compiling the stage's Java main"
mkdir -p "$W/classes"
javac --release 17 -Xlint:all -Werror -d "$W/classes" -cp "$(IFS=:; echo "${JARS[*]}")" \
    $(find "$HERE/java" -name '*.java')
(cd "$W/classes" && "$JLINK_JDK/bin/jar" --create --file "$W/spdk-sr-xen-stage.jar" .)

# ---- the RPM dom0 installs: its runtime (java.base, java.logging, java.sql, with CDS and the AOT
# cache of the entry points) also runs the stage's Java main ----
RPM=${XEN_STAGE_RPM:-$(ls -t "$REPO"/target/rpm/RPMS/x86_64/spdk-sr-*.x86_64.rpm 2>/dev/null | head -1 || true)}
if [ -z "$RPM" ]; then
    say "no RPM in target/rpm: building one (rpm/build.sh)"
    SPDK_SR_JDK=$JLINK_JDK "$REPO/rpm/build.sh" >"$W/rpm-build.log" 2>&1 || die "rpm/build.sh failed; see $W/rpm-build.log"
    RPM=$(ls -t "$REPO"/target/rpm/RPMS/x86_64/spdk-sr-*.x86_64.rpm | head -1)
fi
[ -f "$RPM" ] || die "no RPM at $RPM"
# An RPM older than the jars would test other code than this checkout's.
for j in "$LIB"/spdk-sr-*.jar; do
    case $j in */spdk-sr-sim-*) continue ;; esac  # not in the RPM
    [ "$j" -nt "$RPM" ] && say "warning: $(basename "$j") is newer than $(basename "$RPM"); rerun rpm/build.sh to test this checkout's code"
done
say "dom0 installs $(basename "$RPM")"

# ---- helpers for the two initramfs trees ----
copy_bin() { # copy executables or libraries, with the shared libraries they need, into root $1
    local root=$1; shift
    local f l
    for f in "$@"; do
        mkdir -p "$root$(dirname "$f")"; cp -L "$f" "$root$f"
        for l in $(ldd "$f" 2>/dev/null | awk '/=>/ && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
            [ -e "$root$l" ] || { mkdir -p "$root$(dirname "$l")"; cp -L "$l" "$root$l"; }
        done
    done
}
busybox_root() {
    local r=$1 a
    mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,var/log,var/lib,lib/modules}
    # As on Debian and XCP-ng: xenstored puts its socket in /var/run/xenstored, and blkifd
    # looks for it in /run/xenstored.
    ln -s ../run "$r/var/run"
    cp /bin/busybox "$r/bin/busybox"
    for a in $(/bin/busybox --list-full); do [ -e "$r/$a" ] || ln -s /bin/busybox "$r/$a"; done
}
module() { cp "/lib/modules/$K/kernel/drivers/$2" "$1/lib/modules/"; }
pack() { (cd "$1" && find . | cpio -o -H newc --quiet | gzip -1) > "$2"; }
xenstore_tools() { # the xenstore-* commands are one binary that looks at its name
    local r=$1 t
    copy_bin "$r" /usr/bin/xenstore
    for t in read write ls list rm chmod exists watch; do ln -sf xenstore "$r/usr/bin/xenstore-$t"; done
}

# ---- the guest: busybox, xenstore-read/write (over /dev/xen/xenbus), xen-blkfront ----
say "building the guest initramfs"
busybox_root "$W/domu"
module "$W/domu" block/xen-blkfront.ko
xenstore_tools "$W/domu"
install -m 0755 "$HERE/guest-init.sh" "$W/domu/init"
pack "$W/domu" "$W/domu.cpio.gz"

# ---- dom0: busybox, xenstored/xl/xenconsoled, the Xen driver modules, the Java runtime and jars ----
say "building the dom0 initramfs"
D=$W/dom0
busybox_root "$D"
copy_bin "$D" $XB/xenstored $XB/xl $XB/xenconsoled $XB/xen-init-dom0
xenstore_tools "$D"
copy_bin "$D" /lib/x86_64-linux-gnu/libgcc_s.so.1  # loaded by dlopen (pthread_cancel), ldd misses it
for m in xen/xen-privcmd.ko xen/xenfs/xenfs.ko xen/xen-evtchn.ko xen/xen-gntdev.ko xen/xen-gntalloc.ko; do
    module "$D" "$m"
done
mkdir -p "$D/etc/xen" "$D/var/lib/xen" "$D/var/lib/xenstored" "$D/var/log/xen" "$D/guest" "$D/opt/spdk-sr/lib"
# The RPM's files as `rpm -i` lays them out (its scriptlets only manage systemd units, which this
# dom0 has none of: blkifd is started directly, as on a host without systemd).
rpm2cpio "$RPM" | (cd "$D" && cpio -idm --quiet) || die "cannot unpack $RPM"
# The entry points are Python (smapiv3.md section 3.7). Python 3.11 has os and site frozen in;
# it needs only its encodings and the os.py and lib-dynload landmarks to start without warnings.
copy_bin "$D" "$PY"
ln -sf "$(basename "$PY")" "$D/usr/bin/python3"
mkdir -p "$D$PYLIB/lib-dynload"
cp "$PYLIB/os.py" "$D$PYLIB/"
cp -r "$PYLIB/encodings" "$D$PYLIB/"
find "$D$PYLIB" -name __pycache__ -prune -exec rm -rf {} +
copy_bin "$D" /usr/bin/nbdcopy  # dom0's read of the disk over the NBD export
printf 'autoballoon="off"\n' > "$D/etc/xen/xl.conf"
cp "/boot/vmlinuz-$K" "$D/guest/vmlinuz"
cp "$W/domu.cpio.gz" "$D/guest/domu.cpio.gz"
# No disk in the guest's configuration: the stage plugs it the way xenopsd would, for blkifd.
# 1.5 GiB: with persistent grants, blkfront preallocates a page per grant of every ring slot,
# (256 + 1) x 512 slots = 514 MiB per queue in round 2 (order 4, 256 indirect segments, 2 queues);
# with 256 MiB the guest panics "System is deadlocked on memory" as it connects.
cat > "$D/guest/domu.cfg" <<'EOF'
name = "domu"
type = "pv"
kernel = "/guest/vmlinuz"
ramdisk = "/guest/domu.cpio.gz"
extra = "console=hvc0 loglevel=4"
memory = 1536
vcpus = 2
on_crash = "preserve"
EOF
JRT=$D/usr/lib/spdk-sr/runtime
[ -x "$JRT/bin/java" ] || die "$RPM has no runtime in usr/lib/spdk-sr/runtime"
# The runtime's system libraries (its own, like libjli.so, come with it).
for so in "$JRT"/bin/java "$JRT"/lib/*.so "$JRT"/lib/server/libjvm.so; do
    for l in $(ldd "$so" 2>/dev/null | awk '/=>/ && $3 ~ /^\/(usr\/)?lib/ {print $3}'); do
        [ -e "$D$l" ] || { mkdir -p "$D$(dirname "$l")"; cp -L "$l" "$D$l"; }
    done
done
# The stage's main runs on the RPM's own jars (dom0-init.sh puts them on its class path).
cp "$W/spdk-sr-xen-stage.jar" "$D/opt/spdk-sr/lib/"
cp "$SIM_JAR" "$D/opt/spdk-sr/lib/spdk-sr-sim.jar"
install -m 0755 "$HERE/dom0-init.sh" "$D/init"
pack "$D" "$W/dom0.cpio.gz"
zcat /boot/xen-4.17-amd64.gz > "$W/xen"  # qemu -kernel loads the multiboot1 ELF, not the gzip
cp "/boot/vmlinuz-$K" "$W/vmlinuz"
say "images ready: dom0 initramfs $(du -h "$W/dom0.cpio.gz" | cut -f1), guest initramfs $(du -h "$W/domu.cpio.gz" | cut -f1)"

# ---- boot ----
# smap=0 smep=0: without them dom0 faults at its first bounce frame under TCG. dom0 gets 1.5 GiB:
# its initramfs holds the RPM (about 140 MB unpacked), and the product round runs the stage's JVM,
# two blkifd (the guest's, and dom0's NBD attachment) and the entry points' JVMs side by side.
XEN_ARGS="console=com1 com1=115200,8n1 dom0_mem=1536M,max:1536M loglvl=all guest_loglvl=all smap=0 smep=0"
LOG=$W/serial.log
: > "$LOG"
say "booting Xen under QEMU (TCG, -cpu $CPU, 2 vCPUs); log: $LOG"
BOOT=$(date +%s)
set +e
# 3.5 GiB: dom0 1.5 GiB, the guest 1.5 GiB, Xen the rest.
timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg,thread=multi -cpu "$CPU" -m 3584 -smp 2 \
    -display none -monitor none -serial "file:$LOG" -no-reboot -net none \
    -kernel "$W/xen" -append "$XEN_ARGS" \
    -initrd "$W/vmlinuz console=hvc0 earlyprintk=xen loglevel=5 xenstage.deadline=$((TIMEOUT - 80))${XEN_STAGE_INDIRECT:+ xenstage.indirect=$XEN_STAGE_INDIRECT}${XEN_STAGE_XENSTORE:+ xenstage.xenstore=$XEN_STAGE_XENSTORE}${XEN_STAGE_ROUNDS:+ xenstage.rounds=$XEN_STAGE_ROUNDS},$W/dom0.cpio.gz"
QEMU_RC=$?
set -e
say "QEMU exited ($QEMU_RC) after $(( $(date +%s) - BOOT ))s"

# ---- verdict ----
# The milestones with dom0's own clock, so a slow step shows where the time went.
grep -aE '\[dom0 |\[stage |guest: \[' "$LOG" | grep -aE 'init started|xenstored started|xen-init-dom0 done|guest created|java up|Xen access open|plugged|round [12]: /dev/xvda is up|clean unplug done|product: (killed|blkifd pid|restart|the guest verified|dom0 read|after the last detach)|STAGE|all rounds' \
    | sed 's/^/  /' || true
if grep -aq "STAGE RESULT: PASSED" "$LOG"; then
    say "PASSED (total $(( $(date +%s) - START ))s)"
    exit 0
fi
# What the stage, the guest and dom0 said, without Java stack frames and the kernel's boot log: the
# failing step, the check, and the guest kernel's complaint (e.g. blkfront's) are all in there.
echo "---- the run, as dom0, the Java stage and the guest tell it (last 80 lines) ----" >&2
grep -aE '^\[(dom0|java|domU|dmesg|blkifd [^]]*)\]' "$LOG" | grep -avE '^\[java\] +at |^\[java\] thread ' \
    | tail -80 >&2 || true
echo "---- failed checks and errors ----" >&2
grep -aE 'STAGE FAILED|CHECK FAILED|FAIL:|ERROR|WARN|Exception|wrong operation|disabled for further use|empty .* op failed|panic|Oops|BUG|segfault|general protection' "$LOG" \
    | grep -av 'STAGE RESULT: PASSED' | head -40 >&2 || true
[ "$QEMU_RC" = 124 ] && die "QEMU ran out of its $TIMEOUT s"
die "see $LOG"
