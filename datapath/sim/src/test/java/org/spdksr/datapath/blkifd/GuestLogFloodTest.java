package org.spdksr.datapath.blkifd;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.sim.blkfront.FrontOptions;
import org.spdksr.datapath.sim.blkfront.FrontRequest;
import org.spdksr.datapath.sim.blkfront.HostileFront;
import org.spdksr.datapath.sim.blkfront.Response;
import org.spdksr.datapath.sim.blkfront.SegmentDescriptor;
import org.spdksr.datapath.sim.blkfront.SimBlkfront;

/**
 * Issue 18: a guest sending nothing but bad requests must not be able to fill dom0's log (in
 * direct mode blkifd.log lives under /run, in RAM). 20,000 bad requests, half refused by the
 * checks (an unknown operation: RingQueue) and half by the grant copy (an unused grant:
 * RequestIo), each answered with an error; what blkifd wrote to its log for this device is
 * captured from slf4j-simple's stream (System.err) and must stay far below one byte per request,
 * while every rejection is still accounted for: written one by one, or counted in a summary.
 */
@Timeout(300)
class GuestLogFloodTest {
    private static final int BAD_REQUESTS = 20_000;
    private static final Pattern HELD_BACK = Pattern.compile("(\\d+) more warning\\(s\\) caused by the guest");

    @TempDir
    Path root;

    @Test
    void aFloodOfBadRequestsWritesABoundedLog() throws Exception {
        BlkifdRig rig = BlkifdRig.start(root.resolve("rig"), BlkifdRig.config());
        String device = "vbd " + BlkifdRig.GUEST + "/" + rig.vbd.devid();
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream original = System.err;
        long rejectedBefore;
        VbdReport report;
        try {
            SimBlkfront front = rig.connect(FrontOptions.defaults().withRingOrder(2).withPersistentGrants(false));
            HostileFront h = front.hostile();
            int unused = h.unusedGrantRef();
            rejectedBefore = rig.backend.counters().rejected();
            System.setErr(new PrintStream(new Tee(original, captured), true, StandardCharsets.UTF_8));
            int sent = 0;
            while (sent < BAD_REQUESTS) {
                List<HostileFront.Published> batch = new ArrayList<>();
                for (int i = 0; i < h.ringEntries() && sent < BAD_REQUESTS; i++, sent++) {
                    FrontRequest request = sent % 2 == 0
                            ? new FrontRequest.ReadWrite(42, h.newId(0), 0, List.of(SegmentDescriptor.of(unused, 0, 7)))
                            : new FrontRequest.ReadWrite(0, h.newId(0), 8, List.of(SegmentDescriptor.of(unused, 0, 7)));
                    batch.add(h.publish(0, request));
                }
                for (HostileFront.Published p : batch) {
                    Response r = p.response().get(BlkifdRig.WAIT.toSeconds(), TimeUnit.SECONDS);
                    assertThat(r.id()).isEqualTo(p.id());
                    assertThat(r.ok()).as("a bad request's answer").isFalse();
                }
            }
            report = VbdReport.of(rig.backend);
            rig.verifiedWriteRead(front, 0, 64, 4096); // still served
            front.disconnect(BlkifdRig.WAIT);
            rig.assertNoLiveMappings();
        } finally {
            rig.close(); // the device's service ends: what was held back is reported now
            System.setErr(original);
        }

        List<String> lines = captured.toString(StandardCharsets.UTF_8).lines().filter(l -> l.contains(device))
                .filter(l -> l.contains(" WARN ") || l.contains(" ERROR ")).toList();
        long bytes = lines.stream().mapToLong(l -> l.getBytes(StandardCharsets.UTF_8).length + 1).sum();
        long oneByOne = lines.stream().filter(l -> !HELD_BACK.matcher(l).find())
                .filter(l -> l.contains("rejected request") || l.contains("grant copy")).count();
        long heldBack = 0;
        for (String l : lines) {
            Matcher m = HELD_BACK.matcher(l);
            if (m.find()) {
                heldBack += Long.parseLong(m.group(1));
            }
        }
        System.out.printf("log flood: %d bad requests, %d log lines, %d bytes for %s: %.3f bytes per rejected"
                + " request (%d written one by one, %d counted in summaries)%n", BAD_REQUESTS, lines.size(), bytes,
                device, (double) bytes / BAD_REQUESTS, oneByOne, heldBack);

        assertThat(report.counters().rejected() - rejectedBefore).as("rejected by the checks, for spdk-sr status")
                .isEqualTo(BAD_REQUESTS / 2);
        assertThat(report.counters().errors()).as("refused grant copies").isGreaterThanOrEqualTo(BAD_REQUESTS / 2);
        assertThat(report.guestLogLinesHeldBack()).as("held back, for spdk-sr status") // new API
                .isEqualTo(BAD_REQUESTS - oneByOne); // new API
        assertThat(oneByOne).as("lines written one by one").isPositive();
        assertThat(oneByOne + heldBack).as("every rejection written or counted").isEqualTo(BAD_REQUESTS);
        assertThat(bytes).as("bytes logged for %d bad requests", BAD_REQUESTS).isLessThan(BAD_REQUESTS);
    }

    /** Writes to both streams: the console keeps its output, the test sees what was logged. */
    private static final class Tee extends OutputStream {
        private final OutputStream a;
        private final OutputStream b;

        Tee(OutputStream a, OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public synchronized void write(int x) throws java.io.IOException {
            a.write(x);
            b.write(x);
        }

        @Override
        public synchronized void write(byte[] buf, int off, int len) throws java.io.IOException {
            a.write(buf, off, len);
            b.write(buf, off, len);
        }

        @Override
        public synchronized void flush() throws java.io.IOException {
            a.flush();
            b.flush();
        }
    }
}
