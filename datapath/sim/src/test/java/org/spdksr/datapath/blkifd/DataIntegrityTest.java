package org.spdksr.datapath.blkifd;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.spdksr.datapath.blkif.Abi;
import org.spdksr.datapath.sim.blkfront.FrontOptions;
import org.spdksr.datapath.sim.blkfront.Operation;
import org.spdksr.datapath.sim.blkfront.Response;
import org.spdksr.datapath.sim.blkfront.SimBlkfront;

/**
 * Data integrity through the real blkifd on a file device: random mixes of sizes, offsets and
 * operations (read, write, flush, flush with data, barrier, barrier with data, discard) across
 * several queues at deep queue depth, checked read by read against a model and, at the end,
 * against the backing file's bytes and a full read-back through the ring. Plus explicit indirect
 * requests of 256 unaligned segments.
 */
@Timeout(240)
class DataIntegrityTest {
    private static final long VOLUME_SECTORS = 65536; // 32 MiB

    @TempDir
    Path root;
    private BlkifdRig rig;

    @AfterEach
    void tearDown() throws Exception {
        if (rig != null) {
            try {
                rig.closeFronts();
                rig.assertNoLiveMappings();
                rig.assertContained();
            } finally {
                rig.close();
            }
        }
    }

    static Stream<Arguments> mixes() {
        return Stream.of(
                Arguments.of("4 queues, order 2, persistent, 256 indirect, 32 deep", FrontOptions.defaults()
                        .withQueues(4).withRingOrder(2), 32, 3000),
                Arguments.of("2 queues x86_32 order 4, windows grants, 128 deep", FrontOptions.windows()
                        .withAbi(Abi.X86_32).withQueues(2).withRingOrder(4), 128, 2500),
                Arguments.of("4 queues, order 0, always indirect, no persistent, ring-deep", FrontOptions.defaults()
                        .withQueues(4).withRingOrder(0).withPersistentGrants(false)
                        .withIndirect(FrontOptions.IndirectPolicy.ALWAYS), 48, 2500),
                Arguments.of("stock linux: 1 queue, order 0, 32 indirect", FrontOptions.stockLinux(), 32, 1500));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("mixes")
    void randomMixVerifiedAgainstTheModelAndTheFile(String name, FrontOptions options, int depth, int requests)
            throws Exception {
        rig = BlkifdRig.start(root, BlkifdRig.config().withVolumeSectors(VOLUME_SECTORS)
                .withFeatures(new BackendFeatures(4, 4, 256, 256)));
        SimBlkfront front = rig.connect(options);
        assertThat(front.queueCount()).isEqualTo(options.queues());
        MixedLoad load = new MixedLoad(front, 0, rig.volumeBytes(), name.hashCode());
        load.run(depth, requests);
        assertThat(load.problems).as(name).isEmpty();
        for (MixedLoad.Op op : MixedLoad.Op.values()) {
            if (op != MixedLoad.Op.DISCARD || front.backendInfo().discard()) {
                assertThat(load.done[op.ordinal()]).as("completed " + op).isPositive();
            }
        }
        assertThat(load.unalignedRequests).as("unaligned requests").isPositive();
        if (front.indirectSegments() > 0) {
            assertThat(load.indirectRequests).as("indirect requests").isPositive();
        }
        assertThat(front.protocolViolations()).isEmpty();
        assertThat(front.flush().get(30, TimeUnit.SECONDS).status()).isEqualTo(Response.OKAY);

        BlkifdRig.assertSameBytes(rig.volumeBytes(), load.model, "the file against the model");
        int chunk = 88 * 512 - 512 * 7;
        if (front.indirectSegments() > 0) {
            chunk = Math.min(front.indirectSegments(), 256) * 4096;
        }
        for (long s = 0; s < VOLUME_SECTORS; s += chunk / 512) {
            int bytes = (int) Math.min(chunk, (VOLUME_SECTORS - s) * 512);
            Response r = front.submit((int) (s % front.queueCount()), Operation.READ, s, new byte[bytes])
                    .get(30, TimeUnit.SECONDS);
            assertThat(r.status()).isEqualTo(Response.OKAY);
            BlkifdRig.assertSameBytes(r.data(), Arrays.copyOfRange(load.model, (int) s * 512, (int) s * 512 + bytes),
                    "read-back at sector " + s);
        }
        assertThat(front.disconnect(BlkifdRig.WAIT)).isTrue();
    }

    static Stream<Arguments> indirect256() {
        return Stream.of(Arguments.of(Abi.X86_64, true), Arguments.of(Abi.X86_64, false),
                Arguments.of(Abi.X86_32, true), Arguments.of(Abi.X86_32, false));
    }

    /**
     * 256 segments in one indirect request, starting at sector 3 of the first page and ending at
     * sector 5 of the last (2043 sectors), written then read back starting at sector 1 of the page.
     */
    @ParameterizedTest(name = "{0}, persistent {1}")
    @MethodSource("indirect256")
    void indirectRequestsOf256UnalignedSegments(Abi abi, boolean persistent) throws Exception {
        rig = BlkifdRig.start(root, BlkifdRig.config().withVolumeSectors(VOLUME_SECTORS));
        SimBlkfront front = rig.connect(FrontOptions.defaults().withAbi(abi).withPersistentGrants(persistent)
                .withQueues(2));
        assertThat(front.indirectSegments()).isEqualTo(256);
        int sectors = 256 * 8 - 3 - 2;
        for (int q = 0; q < 2; q++) {
            long sector = 1000 + q * 5000L + 1; // an odd sector too
            byte[] data = rig.randomBytes(sectors * 512);
            assertThat(front.submit(q, Operation.WRITE, sector, data, 3).get(30, TimeUnit.SECONDS).status())
                    .isEqualTo(Response.OKAY);
            BlkifdRig.assertSameBytes(rig.fileRange(sector, data.length), data, "file after the 256-segment write");
            Response r = front.submit(q, Operation.READ, sector, new byte[data.length], 1).get(30, TimeUnit.SECONDS);
            assertThat(r.status()).isEqualTo(Response.OKAY);
            BlkifdRig.assertSameBytes(r.data(), data, "256-segment read");
            // One more segment than advertised cannot be sent: the frontend refuses to build it.
            byte[] tooBig = new byte[(256 * 8 - 3 + 1) * 512];
            org.assertj.core.api.Assertions.assertThatThrownBy(
                    () -> front.submit(0, Operation.WRITE, 0, tooBig, 3)).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(front.protocolViolations()).isEmpty();
    }
}
