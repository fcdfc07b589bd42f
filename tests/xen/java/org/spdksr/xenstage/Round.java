package org.spdksr.xenstage;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.spdksr.datapath.blkifd.BlkifBackendService;
import org.spdksr.datapath.blkifd.QueueCounters;
import org.spdksr.datapath.blkifd.VbdBackend;
import org.spdksr.datapath.blkifd.XenbusState;
import org.spdksr.datapath.device.FileBlockDevice;
import org.spdksr.datapath.device.FileDeviceOptions;
import org.spdksr.datapath.sim.xenopsd.SimXenopsd;
import org.spdksr.datapath.sim.xenopsd.Vbd;
import org.spdksr.datapath.sim.xenopsd.VbdSpec;
import org.spdksr.datapath.xen.xenstore.Xenstore;

/**
 * One plug-to-unplug life of the guest's disk, driven by the guest's steps (guest-init.sh runs
 * the same sequence): plug, read the pattern, write + flush, discard, resize, frontend reset,
 * clean unplug. The guest loads xen-blkfront with different module parameters per round.
 */
final class Round {
    static final long PATTERN_BYTES = 8 * DiskImage.MIB;
    /** Where the guest writes and then discards, well past the pattern. */
    static final long WRITE_OFFSET = 16 * DiskImage.MIB;
    static final long WRITE_BYTES = 4 * DiskImage.MIB;
    static final long GROW_BYTES = 16 * DiskImage.MIB;
    /** A direct (non-indirect) request carries at most 11 segments of one page. */
    static final long MAX_DIRECT_REQUEST = 11 * 4096;
    private static final String DISK = "xvda";
    /** The xvda device number, (202 << 8) (blkif.md §5.2). */
    private static final int XVDA_DEVID = 51712;
    /** Generous: under TCG on a shared 2-core machine one step was seen to take 95 s (round 2 plug -> ready). */
    private static final Duration STEP = Duration.ofSeconds(180);

    private final int round;
    private final int domid;
    private final Xenstore xs;
    private final BlkifBackendService service;
    private final SimXenopsd xenopsd;
    private final GuestChannel guest;
    private final DiskImage image;
    private final int expectedRingOrder;
    private final boolean expectIndirect;
    private final Duration plugTimeout;

    Round(int round, int domid, Xenstore xs, BlkifBackendService service, SimXenopsd xenopsd, GuestChannel guest,
            DiskImage image, int expectedRingOrder, boolean expectIndirect, Duration plugTimeout) {
        this.round = round;
        this.domid = domid;
        this.xs = xs;
        this.service = service;
        this.xenopsd = xenopsd;
        this.guest = guest;
        this.image = image;
        this.expectedRingOrder = expectedRingOrder;
        this.expectIndirect = expectIndirect;
        this.plugTimeout = plugTimeout;
    }

    void run() throws Exception {
        guest.await(step("plug"), plugTimeout);
        FileBlockDevice device = FileBlockDevice.open(image.path(), FileDeviceOptions.defaults());
        VbdBackend vbd = service.serve(domid, XVDA_DEVID, device, false);
        Vbd plugged = xenopsd.plug(VbdSpec.qdisk(domid, DISK, false, image.path().toString(), Map.of()));
        xenopsd.awaitHotplugConnected(plugged, Duration.ofSeconds(30));
        Stage.log("round " + round + ": plugged " + plugged.backendPath() + " -> " + plugged.frontendPath());
        guest.ok(step("plug"), image.md5(0, PATTERN_BYTES));

        guest.await(step("ready"), STEP);
        checkConnection(vbd, plugged);
        QueueCounters.Snapshot before = vbd.counters();
        guest.ok(step("ready"), "");

        guest.await(step("read"), STEP);
        QueueCounters.Snapshot afterRead = vbd.counters();
        long reads = afterRead.reads() - before.reads();
        long bytes = afterRead.bytesRead() - before.bytesRead();
        long average = reads == 0 ? 0 : bytes / reads;
        Stage.log("round " + round + ": the guest's direct read of " + PATTERN_BYTES + " bytes took " + reads
                + " read requests, " + average + " bytes each on average");
        check(bytes >= PATTERN_BYTES, "the backend served only " + bytes + " bytes of the guest's read");
        if (expectIndirect) {
            check(average > MAX_DIRECT_REQUEST, "requests of " + average + " bytes on average: no indirect requests seen");
        } else {
            Stage.log("round " + round + ": indirect segments not offered (xenstage.indirectSegments=0): not checked");
        }
        guest.ok(step("read"), "");

        String written = guest.await(step("written"), STEP);
        String md5 = image.md5(WRITE_OFFSET, WRITE_BYTES);
        QueueCounters.Snapshot afterWrite = vbd.counters();
        Stage.log("round " + round + ": image md5 at " + WRITE_OFFSET + " is " + md5 + ", guest wrote " + written
                + "; counters " + afterWrite);
        check(md5.equals(written), "the image does not hold what the guest wrote");
        check(afterWrite.flushes() > afterRead.flushes(), "no flush reached the backend for the guest's fsync");
        // Measured before the guest is let go: it discards at once, and a later look could already
        // see the hole (a race seen in CI).
        long blocksBefore = allocatedBlocks();
        guest.ok(step("written"), "");

        guest.await(step("discarded"), STEP);
        long nonZero = image.firstNonZero(WRITE_OFFSET, WRITE_BYTES);
        long blocksAfter = allocatedBlocks();
        QueueCounters.Snapshot afterDiscard = vbd.counters();
        Stage.log("round " + round + ": after discard: first non-zero byte " + nonZero + ", allocated 512-byte blocks "
                + blocksBefore + " -> " + blocksAfter + ", discards " + afterDiscard.discards());
        check(afterDiscard.discards() > afterWrite.discards(), "no discard request reached the backend");
        check(nonZero < 0, "the discarded range still holds data at offset " + nonZero);
        check(blocksBefore - blocksAfter >= WRITE_BYTES / 512, "the discarded range was not punched out of the file");
        guest.ok(step("discarded"), "");

        guest.await(step("resize"), STEP);
        long newSize = image.size() + GROW_BYTES;
        image.grow(newSize);
        vbd.resized();
        Stage.log("round " + round + ": image grown to " + newSize + " bytes, sectors now "
                + xs.readString(plugged.backendPath() + "/sectors"));
        guest.ok(step("resize"), Long.toString(newSize / 512));
        guest.await(step("resized"), STEP);
        guest.ok(step("resized"), "");

        guest.await(step("reset"), STEP);
        Stage.log("round " + round + ": after the frontend reset: backend state " + vbd.state() + ", frontend state "
                + xs.readIfExists(plugged.frontendPath() + "/state").orElse("<gone>"));
        checkConnection(vbd, plugged);
        guest.ok(step("reset"), "");

        guest.await(step("unplug"), STEP);
        xenopsd.unplugClean(plugged, Duration.ofSeconds(30));
        vbd.finished().get(30, TimeUnit.SECONDS);
        device.close();
        check(xs.readIfExists(plugged.backendPath()).isEmpty(), "the backend directory is still there");
        Stage.log("round " + round + ": clean unplug done (frontend Closed, hotplug-status removed, trees removed); "
                + "final counters " + vbd.counters());
        guest.ok(step("unplug"), "");
        guest.await(step("unplugged"), STEP);
        guest.ok(step("unplugged"), "");
    }

    /** What the backend connected with, against what the frontend wrote and what this round asked for. */
    private void checkConnection(VbdBackend vbd, Vbd plugged) throws IOException {
        String fe = plugged.frontendPath() + "/";
        int order = Integer.parseInt(xs.readIfExists(fe + "ring-page-order").orElse("0").trim());
        int queues = Integer.parseInt(xs.readIfExists(fe + "multi-queue-num-queues").orElse("1").trim());
        Stage.log("round " + round + ": backend " + vbd.state() + " with " + vbd.queueCount()
                + " queue(s); frontend wrote ring-page-order " + order + ", queues " + queues
                + ", indirect offer " + xs.readIfExists(plugged.backendPath() + "/feature-max-indirect-segments")
                        .orElse("<none>"));
        check(vbd.state() == XenbusState.CONNECTED, "the backend is " + vbd.state() + ", not Connected");
        check(vbd.queueCount() == queues, "the backend runs " + vbd.queueCount() + " queue(s), the frontend set up "
                + queues);
        check(order == expectedRingOrder, "the frontend chose ring order " + order + ", expected " + expectedRingOrder);
        check(queues == 2, "the frontend set up " + queues + " queue(s), expected 2 (2 vCPUs, 2 backend queues)");
    }

    /** st_blocks of the image (busybox stat), to see the holes a discard punches. */
    private long allocatedBlocks() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("stat", "-c", "%b", image.path().toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        if (p.waitFor() != 0) {
            throw new IOException("stat failed: " + out);
        }
        return Long.parseLong(out);
    }

    private String step(String name) {
        return round + ":" + name;
    }

    /**
     * A failed check is recorded and the round goes on, so one run shows every problem; the guest
     * stops the run itself when its disk is unusable.
     */
    private void check(boolean ok, String failure) {
        if (!ok) {
            Stage.failed("round " + round + ": " + failure);
        }
    }
}
