#!/bin/bash
# The real-Xen stage (tests/xen/README.md): boots Xen 4.17 under QEMU (software emulation, no KVM
# needed) with a dom0 that runs blkifd's backend on the Linux Xen access layer (gntdev, evtchn,
# the xenstored socket) and a PV guest whose stock xen-blkfront uses it. The guest's checks and
# dom0's checks are in guest-init.sh and java/org/spdksr/xenstage; this script only builds the
# images, boots them, and turns the serial log into a verdict.
#
# usage: tests/xen/run-real-xen-stage.sh            (exit 0 = passed)
# env:   XEN_STAGE_DIR  work directory (default /tmp/spdksr-xen-stage); the log is serial.log there
#        XEN_STAGE_TIMEOUT  seconds before QEMU is killed (default 480)
#        JLINK_JDK      a JDK 17+ with jlink (default the Temurin 25 JDK, else the running javac's)
#        QEMU_CPU       QEMU CPU model (default max,-xsave: plain max crashes dom0 programs)
#        XEN_STAGE_INDIRECT  indirect segments blkifd offers (default: blkifd's own, 256); 0 turns
#                       indirect requests off, to run the other checks while they are broken
#        XEN_STAGE_XENSTORE=xenbus  blkifd reaches xenstored through /dev/xen/xenbus, not the socket
# needs (apt): qemu-system-x86 xen-hypervisor-4.17-amd64 xen-utils-4.17 xenstore-utils
#              linux-image-amd64 busybox-static cpio, plus maven and a JDK to build the jars
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

# ---- the stage's own Java main, compiled against those jars ----
say "compiling the stage's Java main"
mkdir -p "$W/classes"
javac --release 17 -Xlint:all -Werror -d "$W/classes" -cp "$(IFS=:; echo "${JARS[*]}")" \
    $(find "$HERE/java" -name '*.java')
(cd "$W/classes" && "$JLINK_JDK/bin/jar" --create --file "$W/spdk-sr-xen-stage.jar" .)

# ---- a jlink runtime: java.base + java.logging (JNA logs through java.util.logging; its
# java.desktop use is for AWT windows only). --generate-cds-archive gives the JDK classes a CDS
# archive (used by default); with it and C1 only, the JVM prints its first line about 5 s after
# exec under TCG (not compared without it). Rebuilt only when the JDK changes.
JRT=$W/jrt
if [ ! -f "$JRT/release" ] || [ "$JRT/release" -ot "$JLINK_JDK/release" ]; then
    say "jlink: java.base,java.logging from $JLINK_JDK"
    rm -rf "$JRT"
    "$JLINK_JDK/bin/jlink" --add-modules java.base,java.logging --strip-debug --no-man-pages \
        --no-header-files --generate-cds-archive --output "$JRT"
    rm -f "$JRT/lib/server/classes_nocoops.jsa"  # only for heaps above 32 GiB
fi

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
cp -a "$JRT" "$D/opt/jrt"
# The runtime's system libraries (its own, like libjli.so, come with it).
for so in "$JRT"/bin/java "$JRT"/lib/*.so "$JRT"/lib/server/libjvm.so; do
    for l in $(ldd "$so" 2>/dev/null | awk '/=>/ && $3 ~ /^\/(usr\/)?lib/ {print $3}'); do
        [ -e "$D$l" ] || { mkdir -p "$D$(dirname "$l")"; cp -L "$l" "$D$l"; }
    done
done
cp "${JARS[@]}" "$W/spdk-sr-xen-stage.jar" "$D/opt/spdk-sr/lib/"
install -m 0755 "$HERE/dom0-init.sh" "$D/init"
pack "$D" "$W/dom0.cpio.gz"
zcat /boot/xen-4.17-amd64.gz > "$W/xen"  # qemu -kernel loads the multiboot1 ELF, not the gzip
cp "/boot/vmlinuz-$K" "$W/vmlinuz"
say "images ready: dom0 initramfs $(du -h "$W/dom0.cpio.gz" | cut -f1), guest initramfs $(du -h "$W/domu.cpio.gz" | cut -f1)"

# ---- boot ----
# smap=0 smep=0: without them dom0 faults at its first bounce frame under TCG. dom0 gets 1 GiB.
XEN_ARGS="console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M loglvl=all guest_loglvl=all smap=0 smep=0"
LOG=$W/serial.log
: > "$LOG"
say "booting Xen under QEMU (TCG, -cpu $CPU, 2 vCPUs); log: $LOG"
BOOT=$(date +%s)
set +e
# 3 GiB: dom0 1 GiB, the guest 1.5 GiB, Xen the rest.
timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg,thread=multi -cpu "$CPU" -m 3072 -smp 2 \
    -display none -monitor none -serial "file:$LOG" -no-reboot -net none \
    -kernel "$W/xen" -append "$XEN_ARGS" \
    -initrd "$W/vmlinuz console=hvc0 earlyprintk=xen loglevel=5${XEN_STAGE_INDIRECT:+ xenstage.indirect=$XEN_STAGE_INDIRECT}${XEN_STAGE_XENSTORE:+ xenstage.xenstore=$XEN_STAGE_XENSTORE},$W/dom0.cpio.gz"
QEMU_RC=$?
set -e
say "QEMU exited ($QEMU_RC) after $(( $(date +%s) - BOOT ))s"

# ---- verdict ----
# The milestones with dom0's own clock, so a slow step shows where the time went.
grep -aE '\[dom0 |\[stage |guest: \[' "$LOG" | grep -aE 'init started|xenstored started|xen-init-dom0 done|guest created|java up|Xen access open|plugged|round [12]: /dev/xvda is up|clean unplug done|STAGE|all rounds' \
    | sed 's/^/  /' || true
if grep -aq "STAGE RESULT: PASSED" "$LOG"; then
    say "PASSED (total $(( $(date +%s) - START ))s)"
    exit 0
fi
# What the stage, the guest and dom0 said, without Java stack frames and the kernel's boot log: the
# failing step, the check, and the guest kernel's complaint (e.g. blkfront's) are all in there.
echo "---- the run, as dom0, the Java stage and the guest tell it (last 80 lines) ----" >&2
grep -aE '^\[(dom0|java|domU|dmesg)\]' "$LOG" | grep -avE '^\[java\] +at |^\[java\] thread ' \
    | tail -80 >&2 || true
echo "---- failed checks and errors ----" >&2
grep -aE 'STAGE FAILED|CHECK FAILED|FAIL:|ERROR|WARN|Exception|wrong operation|disabled for further use|empty .* op failed|panic|Oops|BUG|segfault|general protection' "$LOG" \
    | grep -av 'STAGE RESULT: PASSED' | head -40 >&2 || true
[ "$QEMU_RC" = 124 ] && die "QEMU ran out of its $TIMEOUT s"
die "see $LOG"
