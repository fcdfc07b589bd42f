package org.spdksr.datapath.blkifd;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.Arrays;
import org.spdksr.datapath.sim.blkfront.FrontOptions;
import org.spdksr.datapath.sim.blkfront.SimBlkfront;

/**
 * The load of issue 18 in a JVM of its own, started by {@link BufferBackpressureTest} with a small
 * {@code -XX:MaxDirectMemorySize}, as blkifd's launcher sets one: 4 queues x a full ring of 1 MiB
 * indirect writes to a slow device. Prints one line, {@code RESULT requests=.. okay=.. errors=..
 * data=ok|bad peak=..}. Arguments: the rig directory and blkifd's buffer budget in bytes.
 */
final class BufferPressureChild {
    private BufferPressureChild() {
    }

    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[0]);
        long budget = Long.parseLong(args[1]);
        BlkifdRig.Config config = BlkifdRig.config().withFeatures(new BackendFeatures(0, 4, 256, 0));
        try (BlkifdRig rig = BlkifdRig.start(root, config, budget)) {
            rig.device.writeDelay(200);
            SimBlkfront f = rig.connect(FrontOptions.defaults().withQueues(4).withPersistentGrants(false));
            FullRingWrites.Result result = FullRingWrites.run(rig, f, 256);
            boolean same = true;
            for (int q = 0; q < result.data().size(); q++) {
                byte[] expected = result.data().get(q);
                same &= Arrays.equals(fileRange(rig, result.sectors().get(q), expected.length), expected);
            }
            System.out.println("RESULT requests=" + result.statuses().size() + " okay=" + result.okay() + " errors="
                    + result.errors() + " data=" + (same ? "ok" : "bad") + " peak=" + rig.device.peakWritesInFlight.get());
        }
        System.exit(0);
    }

    /** Without NIO, whose temporary direct buffers would compete for this JVM's small direct memory. */
    private static byte[] fileRange(BlkifdRig rig, long sector, int bytes) throws IOException {
        byte[] b = new byte[bytes];
        try (RandomAccessFile f = new RandomAccessFile(rig.volume.toFile(), "r")) {
            f.seek(sector * 512);
            f.readFully(b);
        }
        return b;
    }
}
