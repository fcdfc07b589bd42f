#!/bin/sh
# /init of the PV guest (busybox). Loads the stock xen-blkfront twice, with its defaults and then
# with multi-page rings, two queues and 256 indirect segments, and runs the checks of each round
# against the disk dom0's Java stage serves. The guest and dom0 take turns through two xenstore
# nodes in the guest's own data/ directory (Stage's GuestChannel): the guest writes data/step,
# dom0 answers in data/ack with "NAME ok [PAYLOAD]" or "NAME fail REASON".
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp

say() { echo "guest: [$(cut -d' ' -f1 /proc/uptime)s] $*"; }
die() {
    say "FAIL: $*"
    dmesg | grep -iE "blkfront|blkif|xvda|vbd" | tail -20
    xenstore-write data/step "fail $*"
    sleep 3; poweroff -f
}
# step NAME [ARGS]: announce NAME to dom0 and wait for its answer; its payload lands in $ACK.
step() {
    name=$1
    xenstore-write data/step "$*" || die "cannot write data/step"
    i=0
    while :; do
        a=$(xenstore-read data/ack 2>/dev/null)
        case "$a" in
            "$name ok"*) ACK=${a#"$name ok"}; ACK=${ACK# }; return 0 ;;
            "$name fail"*) die "dom0 reports: $a" ;;
        esac
        i=$((i + 1)); [ $i -lt 1500 ] || die "no answer from dom0 to $name"
        sleep 0.1
    done
}
# wait_until SECONDS TEST...: poll a shell test every 0.2 s.
wait_until() {
    n=$(($1 * 5)); shift
    while [ $n -gt 0 ]; do eval "$@" && return 0; n=$((n - 1)); sleep 0.2; done
    return 1
}
md5() { md5sum | cut -d' ' -f1; }
# Direct I/O, so every read and write reaches the backend instead of the guest's page cache.
read_md5() { dd if=/dev/xvda bs=1M skip=$1 count=$2 iflag=direct 2>/dev/null | md5; }
states() { echo "frontend state $(xenstore-read device/vbd/51712/state 2>&1), backend state $(xenstore-read "$(xenstore-read device/vbd/51712/backend 2>/dev/null)/state" 2>&1)"; }

round() {
    r=$1; shift
    insmod /lib/modules/xen-blkfront.ko "$@" || die "insmod xen-blkfront $*"
    say "round $r: xen-blkfront loaded with '${*:-its defaults}'"
    step "$r:plug"; pattern=$ACK
    wait_until 60 '[ -b /dev/xvda ] && [ "$(cat /sys/block/xvda/size 2>/dev/null)" != 0 ]' \
        || die "round $r: /dev/xvda did not appear ($(states))"
    say "round $r: /dev/xvda is up, $(cat /sys/block/xvda/size) sectors; blkfront parameters:" \
        "$(for p in /sys/module/xen_blkfront/parameters/*; do printf '%s=%s ' "${p##*/}" "$(cat "$p")"; done)"
    say "round $r: blk-mq hardware queues: $(ls /sys/block/xvda/mq | wc -l), max_sectors_kb" \
        "$(cat /sys/block/xvda/queue/max_sectors_kb), max_segments $(cat /sys/block/xvda/queue/max_segments)"
    step "$r:ready"

    # 1. reads of the pattern dom0 wrote before the guest started
    marker=$(dd if=/dev/xvda bs=512 count=1 iflag=direct 2>/dev/null | head -c 22)
    got=$(read_md5 0 8)
    say "round $r: sector 0 starts with '$marker'; first 8 MiB md5 $got (dom0: $pattern)"
    [ "$got" = "$pattern" ] || die "round $r: the pattern read back wrong"
    step "$r:read"

    # 2. writes, made durable with fsync (a FLUSH request), then read back by dom0
    # write_cache turns from "write back" to "write through" when blkfront gives up on flushes
    # (a flush answered with an error): printed for the log, dom0 checks the flush counter.
    cache_before=$(cat /sys/block/xvda/queue/write_cache)
    dd if=/dev/urandom of=/tmp/w.bin bs=1M count=4 2>/dev/null
    sum=$(md5 < /tmp/w.bin)
    dd if=/tmp/w.bin of=/dev/xvda bs=1M seek=16 oflag=direct conv=fsync,notrunc 2>/dev/null \
        || die "round $r: write failed"
    sync /dev/xvda
    [ "$(read_md5 16 4)" = "$sum" ] || die "round $r: the guest reads back something else than it wrote"
    say "round $r: wrote 4 MiB at 16 MiB (md5 $sum), fsync done; write_cache '$cache_before' ->" \
        "'$(cat /sys/block/xvda/queue/write_cache)'"
    step "$r:written" "$sum"

    # 3. discard: the range must read back as zeros
    blkdiscard -o $((16 << 20)) -l $((4 << 20)) /dev/xvda || die "round $r: blkdiscard failed"
    zeros=$(dd if=/dev/zero bs=1M count=4 2>/dev/null | md5)
    [ "$(read_md5 16 4)" = "$zeros" ] || die "round $r: the discarded range does not read as zeros"
    say "round $r: discarded 4 MiB at 16 MiB; reads back as zeros"
    step "$r:discarded"

    # 4. online resize: dom0 grows the image and rewrites sectors
    step "$r:resize"; want=$ACK
    wait_until 30 '[ "$(cat /sys/block/xvda/size)" = "$want" ]' \
        || die "round $r: size stays $(cat /sys/block/xvda/size), dom0 says $want"
    say "round $r: resize seen: /sys/block/xvda/size = $want"
    step "$r:resized"

    # 5. frontend reset: unbind and bind the xen-blkfront driver
    echo vbd-51712 > /sys/bus/xen/drivers/vbd/unbind || die "round $r: unbind failed"
    wait_until 30 '[ ! -e /sys/block/xvda ]' || die "round $r: xvda stays after unbind"
    say "round $r: unbound ($(states))"
    echo vbd-51712 > /sys/bus/xen/drivers/vbd/bind || die "round $r: bind failed"
    wait_until 30 '[ -b /dev/xvda ] && [ "$(cat /sys/block/xvda/size 2>/dev/null)" = "$want" ]' \
        || die "round $r: xvda did not come back after bind ($(states))"
    [ "$(read_md5 0 8)" = "$pattern" ] || die "round $r: pattern wrong after the reset"
    say "round $r: reconnected after the frontend reset ($(states)); pattern reads back"
    step "$r:reset"

    # 6. clean unplug by the toolstack: online=0 + Closing; the frontend closes, the disk goes
    step "$r:unplug"
    wait_until 30 '[ ! -e /sys/block/xvda ]' || die "round $r: xvda stays after the unplug"
    say "round $r: clean unplug seen: xvda gone, frontend directory $(xenstore-read device/vbd/51712/state >/dev/null 2>&1 && echo present || echo removed)"
    step "$r:unplugged"
    rmmod xen_blkfront || die "rmmod xen_blkfront"
}

# The product round: the disk comes from the RPM's entry points and the blkifd Datapath.attach
# starts (ProductRound on dom0's side). dom0 kills blkifd during the writes below; they must all
# complete, with no I/O error in this kernel's log, and read back exactly. Then three restarts of
# the disk (unplug, deactivate/detach, attach/activate, plug), each reading everything back.
io_errors() { dmesg | grep -ciE "I/O error|blk_update_request|blkfront.*(error|fail)|Buffer I/O"; }
product() {
    insmod /lib/modules/xen-blkfront.ko || die "product: insmod xen-blkfront"
    step "p:plug"
    wait_until 90 '[ -b /dev/xvda ] && [ "$(cat /sys/block/xvda/size 2>/dev/null)" != 0 ]' \
        || die "product: /dev/xvda did not appear ($(states))"
    say "product: /dev/xvda is up, $(cat /sys/block/xvda/size) sectors"
    step "p:ready"
    dd if=/dev/urandom of=/tmp/p.bin bs=1M count=48 2>/dev/null
    want=$(md5 < /tmp/p.bin)
    errors_before=$(io_errors)
    step "p:writing"
    # 96 chunks of 512 KiB, O_DIRECT, one every 0.1 s: the kill lands in the middle.
    t0=$(cut -d' ' -f1 /proc/uptime)
    i=0
    while [ $i -lt 96 ]; do
        dd if=/tmp/p.bin of=/dev/xvda bs=512k skip=$i seek=$i count=1 iflag=fullblock oflag=direct conv=notrunc \
            2>/dev/null || die "product: write of chunk $i failed"
        i=$((i + 1)); sleep 0.1
    done
    sync /dev/xvda || die "product: fsync of /dev/xvda failed"
    say "product: 96 chunks written from ${t0}s to $(cut -d' ' -f1 /proc/uptime)s, fsync done"
    got=$(read_md5 0 48)
    [ "$got" = "$want" ] || die "product: the disk reads back other data than was written ($got, wrote $want)"
    [ "$(io_errors)" = "$errors_before" ] || die "product: the kernel logged I/O errors: $(dmesg | grep -iE 'I/O error|blkfront' | tail -5)"
    say "product: every block reads back as written (md5 $got), no I/O error in the kernel log"
    step "p:verified" "$got"
    n=1
    while [ $n -le 3 ]; do
        step "p$n:reboot"
        wait_until 60 '[ ! -e /sys/block/xvda ]' || die "product: xvda stays after the unplug of restart $n"
        step "p$n:down"
        wait_until 90 '[ -b /dev/xvda ] && [ "$(cat /sys/block/xvda/size 2>/dev/null)" != 0 ]' \
            || die "product: /dev/xvda did not come back for restart $n ($(states))"
        [ "$(read_md5 0 48)" = "$got" ] || die "product: restart $n: the disk lost data"
        # Each life writes one more MiB, so the next one and dom0's NBD read check fresh data.
        dd if=/dev/urandom of=/dev/xvda bs=1M seek=$((40 + n)) count=1 oflag=direct conv=fsync,notrunc 2>/dev/null \
            || die "product: restart $n: write failed"
        got=$(read_md5 0 48)
        [ "$(io_errors)" = "$errors_before" ] || die "product: restart $n: the kernel logged I/O errors"
        say "product: restart $n: data intact, 1 MiB more written (md5 $got)"
        step "p$n:up" "$got"
        n=$((n + 1))
    done
    step "p:unplug"
    wait_until 60 '[ ! -e /sys/block/xvda ]' || die "product: xvda stays after the last unplug"
    rmmod xen_blkfront || die "rmmod xen_blkfront"
}

say "init up, $(grep -c ^processor /proc/cpuinfo) vCPUs, kernel $(uname -r)"
if ! grep -q "xenstage.rounds=product" /proc/cmdline; then
    round 1
    round 2 max_ring_page_order=4 max_queues=2 max_indirect_segments=256
fi
if grep -qE "xenstage.rounds=(all|product)" /proc/cmdline; then
    product
fi
say "all rounds passed"
step done
poweroff -f
