package org.spdksr.datapath.sim.blkfront;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.spdksr.datapath.blkif.Abi;
import org.spdksr.datapath.blkif.BackRing;
import org.spdksr.datapath.blkif.BlkifConstants;
import org.spdksr.datapath.blkif.BlkifRequest;
import org.spdksr.datapath.blkif.RequestDecoder;
import org.spdksr.datapath.blkif.Segment;
import org.spdksr.datapath.xen.XenAccess;
import org.spdksr.datapath.xen.grant.CopySegment;
import org.spdksr.datapath.xen.grant.GrantMapping;
import org.spdksr.datapath.xen.grant.GrantRef;
import org.spdksr.datapath.xen.grant.GrantStatus;
import org.spdksr.datapath.xen.xenstore.Xenstore;

/**
 * The other party of the handshake tests, scripted step by step in dom0 with the real xenstore
 * client and the real (simulated) grant and event-channel services: it writes the backend keys
 * of blkif.md §5.4 and §5.6, maps the rings the frontend granted, and answers requests from an
 * in-memory disk with grant copy. Deliberately minimal: no validation beyond the decoder, which
 * is the real backend's job.
 */
final class ScriptedBackend implements AutoCloseable {
    final XenAccess xen;
    final String path;
    final int frontDomid;
    final byte[] disk;
    final Map<String, String> seenFrontendKeys = new HashMap<>();
    final List<Integer> seenOps = new CopyOnWriteArrayList<>();
    final List<Boolean> seenGrantsWritable = new CopyOnWriteArrayList<>();
    private final Map<Integer, Served> byPort = new ConcurrentHashMap<>();
    private Thread worker;
    private volatile boolean stop;

    private record Served(BackRing ring, GrantMapping mapping, RequestDecoder decoder) {
    }

    ScriptedBackend(XenAccess xen, String backendPath, int frontDomid, int sectors) {
        this.xen = xen;
        this.path = backendPath;
        this.frontDomid = frontDomid;
        this.disk = new byte[sectors * 512];
    }

    Xenstore xs() {
        return xen.xenstore();
    }

    void initWait(int maxOrder, int maxQueues) throws IOException {
        xs().transaction(tx -> {
            tx.write(path + "/max-ring-page-order", Integer.toString(maxOrder));
            tx.write(path + "/multi-queue-max-queues", Integer.toString(maxQueues));
            return null;
        });
        xs().write(path + "/state", "2");
    }

    /** Waits for the frontend's Initialised, records its keys, maps its rings, and goes Connected. */
    void connectWhenInitialised(String frontend, boolean persistent, int indirect) throws Exception {
        XenstoreWaits.await(xs(), frontend + "/state", v -> v.equals(Optional.of("3")) || v.equals(Optional.of("4")),
                "Initialised", Duration.ofSeconds(20));
        collect(frontend, "");
        int order = Integer.parseInt(seenFrontendKeys.getOrDefault("ring-page-order", "0"));
        Abi abi = Abi.fromProtocolKey(seenFrontendKeys.get("protocol")).orElseThrow();
        int queues = Integer.parseInt(seenFrontendKeys.getOrDefault("multi-queue-num-queues", "1"));
        for (int q = 0; q < queues; q++) {
            String pre = queues == 1 ? "" : "queue-" + q + "/";
            List<GrantRef> refs = new ArrayList<>();
            for (int i = 0; i < (1 << order); i++) {
                String key = order == 0 ? pre + "ring-ref" : pre + "ring-ref" + i;
                refs.add(new GrantRef(frontDomid, Integer.parseInt(seenFrontendKeys.get(key))));
            }
            GrantMapping m = xen.grants().map(refs, true);
            int port = xen.events().bindInterdomain(frontDomid,
                    Integer.parseInt(seenFrontendKeys.get(pre + "event-channel")));
            byPort.put(port, new Served(new BackRing(m.buffer(), abi, order), m, new RequestDecoder(abi, indirect)));
        }
        xs().transaction(tx -> {
            tx.write(path + "/sectors", Integer.toString(disk.length / 512));
            tx.write(path + "/sector-size", "512");
            tx.write(path + "/info", "0");
            tx.write(path + "/feature-flush-cache", "1");
            tx.write(path + "/feature-barrier", "1");
            tx.write(path + "/feature-discard", "1");
            tx.write(path + "/feature-persistent", persistent ? "1" : "0");
            if (indirect > 0) {
                tx.write(path + "/feature-max-indirect-segments", Integer.toString(indirect));
            }
            return null;
        });
        xs().write(path + "/state", "4");
        worker = new Thread(this::serve, "scripted-backend");
        worker.setDaemon(true);
        worker.start();
    }

    private void collect(String dir, String prefix) throws IOException {
        for (String child : xs().directory(dir)) {
            String p = dir + "/" + child;
            if (xs().directory(p).isEmpty()) {
                seenFrontendKeys.put(prefix + child, xs().readString(p));
            } else {
                collect(p, prefix + child + "/");
            }
        }
    }

    private void serve() {
        try {
            while (!stop) {
                for (int port : xen.events().awaitPending(Duration.ofMillis(100))) {
                    xen.events().unmask(port);
                    Served s = byPort.get(port);
                    if (s != null) {
                        drain(port, s);
                    }
                }
            }
        } catch (Exception e) {
            if (!stop) {
                e.printStackTrace();
            }
        }
    }

    private void drain(int port, Served s) throws Exception {
        do {
            List<byte[]> slots = new ArrayList<>();
            s.ring().consume(slots, Integer.MAX_VALUE);
            for (byte[] slot : slots) {
                BlkifRequest r = s.decoder().decode(slot);
                seenOps.add(r.operation());
                short status = execute(s.decoder(), r);
                // Indirect requests are answered with their inner operation, as Linux blkback does.
                int answer = r instanceof BlkifRequest.Indirect ind ? ind.indirectOp() : r.operation();
                s.ring().putResponse(r.id(), answer, status);
            }
            if (s.ring().pushResponses()) {
                xen.events().notify(port);
            }
        } while (s.ring().finalCheckForRequests());
    }

    private short execute(RequestDecoder decoder, BlkifRequest r) throws IOException {
        if (r instanceof BlkifRequest.Indirect ind) {
            ByteBuffer pages = ByteBuffer.allocateDirect(ind.indirectGrefs().size() * 4096);
            List<CopySegment> copies = new ArrayList<>();
            for (int i = 0; i < ind.indirectGrefs().size(); i++) {
                copies.add(CopySegment.fromGrant(new GrantRef(frontDomid, ind.indirectGrefs().get(i)), 0, pages,
                        i * 4096, 4096));
            }
            if (!xen.grants().copy(copies).stream().allMatch(GrantStatus::ok)) {
                return BlkifConstants.RSP_ERROR;
            }
            byte[] copy = new byte[pages.capacity()];
            pages.get(0, copy);
            r = decoder.resolveIndirect(ind, copy);
        }
        if (r instanceof BlkifRequest.Malformed m) {
            return m.status();
        }
        if (r instanceof BlkifRequest.Discard d) {
            java.util.Arrays.fill(disk, (int) (d.sector() * 512), (int) ((d.sector() + d.nrSectors()) * 512), (byte) 0);
            return BlkifConstants.RSP_OKAY;
        }
        BlkifRequest.Direct d = (BlkifRequest.Direct) r;
        long at = d.sector() * 512;
        ByteBuffer bounce = ByteBuffer.allocateDirect(4096);
        for (Segment seg : d.segments()) {
            GrantRef ref = new GrantRef(frontDomid, seg.gref());
            boolean write = d.ioOperation() != BlkifConstants.OP_READ;
            if (write) {
                seenGrantsWritable.add(writableMap(ref));
            }
            if (write) {
                if (!xen.grants().copy(List.of(CopySegment.fromGrant(ref, seg.offsetInPage(), bounce, 0,
                        seg.bytes()))).get(0).ok()) {
                    return BlkifConstants.RSP_ERROR;
                }
                bounce.get(0, disk, (int) at, seg.bytes());
            } else {
                bounce.put(0, disk, (int) at, seg.bytes());
                if (!xen.grants().copy(List.of(CopySegment.toGrant(bounce, 0, ref, seg.offsetInPage(),
                        seg.bytes()))).get(0).ok()) {
                    return BlkifConstants.RSP_ERROR;
                }
            }
            at += seg.bytes();
        }
        return BlkifConstants.RSP_OKAY;
    }

    /** Whether the grant can be mapped writable (a Windows-style read-only grant cannot, §2.2). */
    private boolean writableMap(GrantRef ref) {
        try (GrantMapping m = xen.grants().map(List.of(ref), true)) {
            return m.writable();
        } catch (IOException e) {
            return false;
        }
    }

    /** Follows a frontend close as blkback does (§5.7): Closing, then Closed once the frontend is Closed. */
    void followClose(String frontend) throws Exception {
        XenstoreWaits.await(xs(), frontend + "/state", v -> v.equals(Optional.of("5")) || v.equals(Optional.of("6")),
                "Closing", Duration.ofSeconds(20));
        xs().write(path + "/state", "5");
        XenstoreWaits.awaitValue(xs(), frontend + "/state", "6", Duration.ofSeconds(20));
        unmapAll();
        xs().write(path + "/state", "6");
    }

    void unmapAll() throws IOException {
        for (Map.Entry<Integer, Served> e : byPort.entrySet()) {
            xen.events().unbind(e.getKey());
            e.getValue().mapping().close();
        }
        byPort.clear();
    }

    @Override
    public void close() throws Exception {
        stop = true;
        if (worker != null) {
            worker.join(2000);
        }
        unmapAll();
    }
}
