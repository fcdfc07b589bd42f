package org.spdksr.datapath.blkifd;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.IntUnaryOperator;
import org.spdksr.datapath.sim.blkfront.FrontRequest;
import org.spdksr.datapath.sim.blkfront.GrantedPage;
import org.spdksr.datapath.sim.blkfront.HostileFront;
import org.spdksr.datapath.sim.blkfront.Operation;
import org.spdksr.datapath.sim.blkfront.Response;
import org.spdksr.datapath.sim.blkfront.SegmentDescriptor;
import org.spdksr.datapath.sim.blkfront.SimBlkfront;

/**
 * Test load of issue 18: every slot of every ring of a connected frontend filled at once with a
 * legal indirect write of {@code segments} whole pages (256 = 1 MiB, the largest request blkifd
 * offers). All requests of queue {@code q} write the same data to the same place, the
 * {@code q}-th stretch of the volume, so the file can be checked afterwards whatever order they
 * ran in. A guest may grant the same pages to many requests; that keeps the guest's memory small.
 */
final class FullRingWrites {
    /** What came back: the status of every request, and the data each queue wrote. */
    record Result(List<Short> statuses, List<byte[]> data, List<Long> sectors) {
        long okay() {
            return statuses.stream().filter(s -> s == Response.OKAY).count();
        }

        long errors() {
            return statuses.size() - okay();
        }
    }

    /** Each queue writes into its own MiB of the volume. */
    static final int STRETCH = 1 << 20;

    private FullRingWrites() {
    }

    /** Requests published and not necessarily answered yet. */
    record Load(HostileFront front, List<GrantedPage> pages, List<byte[]> data, List<Long> sectors,
            List<CompletableFuture<Response>> responses) {
        /** Waits for every response, then ends the grants. */
        Result await() throws Exception {
            List<Short> statuses = new ArrayList<>();
            for (CompletableFuture<Response> r : responses) {
                statuses.add(r.get(2 * BlkifdRig.WAIT.toSeconds(), TimeUnit.SECONDS).status());
            }
            pages.forEach(front::release);
            return new Result(statuses, data, sectors);
        }
    }

    static Result run(BlkifdRig rig, SimBlkfront front, int segments) throws Exception {
        return publish(rig, front, q -> segments).await();
    }

    /** Fills every ring; queue {@code q}'s writes have {@code segmentsOfQueue(q)} pages each. */
    static Load publish(BlkifdRig rig, SimBlkfront front, IntUnaryOperator segmentsOfQueue) {
        HostileFront h = front.hostile();
        List<GrantedPage> pages = new ArrayList<>();
        List<byte[]> data = new ArrayList<>();
        List<Long> sectors = new ArrayList<>();
        List<CompletableFuture<Response>> responses = new ArrayList<>();
        for (int q = 0; q < front.queueCount(); q++) {
            int segments = segmentsOfQueue.applyAsInt(q);
            byte[] d = rig.randomBytes(segments * SimBlkfront.PAGE);
            List<SegmentDescriptor> segs = new ArrayList<>();
            for (int i = 0; i < segments; i++) {
                byte[] page = new byte[SimBlkfront.PAGE];
                System.arraycopy(d, i * SimBlkfront.PAGE, page, 0, SimBlkfront.PAGE);
                GrantedPage p = h.grantToBackend(page, true); // the backend only reads a write's pages
                pages.add(p);
                segs.add(SegmentDescriptor.of(p.gref(), 0, 7));
            }
            GrantedPage descriptors = h.indirectPage(segs);
            pages.add(descriptors);
            long sector = (long) q * STRETCH / SimBlkfront.SECTOR;
            data.add(d);
            sectors.add(sector);
            for (int slot = 0; slot < h.ringEntries(); slot++) {
                FrontRequest.Indirect write = new FrontRequest.Indirect(Operation.WRITE.code(), h.newId(q), sector,
                        segments, List.of(descriptors.gref()));
                responses.add(h.publish(q, write).response());
            }
        }
        return new Load(h, pages, data, sectors, responses);
    }
}
