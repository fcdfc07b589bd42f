package org.spdksr.datapath.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.device.BlockDeviceException;
import org.spdksr.datapath.device.FileBlockDevice;
import org.spdksr.datapath.device.FileDeviceOptions;
import org.spdksr.datapath.device.NullBlockDevice;

/** The server against a hand-written client over a real unix socket and a real file. */
class NbdServerTest {
    private static final int SIZE = 4 << 20;
    private static final int READ = 0;
    private static final int WRITE = 1;
    private static final int DISC = 2;
    private static final int FLUSH = 3;
    private static final int TRIM = 4;

    @TempDir
    Path dir;
    private Path file;
    private FileBlockDevice device;
    private NbdServer server;
    private Path socket;

    @BeforeEach
    void start() throws Exception {
        file = dir.resolve("disk.raw");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(SIZE);
        }
        device = FileBlockDevice.open(file, FileDeviceOptions.defaults());
        socket = dir.resolve("nbd.sock");
        server = NbdServer.start(socket, NbdServerConfig.defaults(), List.of(
                new NbdExport("disk", "", device, false, NbdExport.Ownership.CALLER),
                new NbdExport("ro", "", device, true, NbdExport.Ownership.CALLER)));
    }

    @AfterEach
    void stop() {
        server.close();
        device.close();
    }

    private NbdTestClient connect(String export) throws IOException {
        NbdTestClient c = new NbdTestClient(socket);
        assertThat(c.go(export).type()).isEqualTo(NbdProtocol.REP_ACK);
        return c;
    }

    static byte[] pattern(long seed, int n) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    // ---- negotiation -----------------------------------------------------------------------

    @Test
    void greetingOffersFixedNewstyleAndNoZeroes() throws Exception {
        try (NbdTestClient c = new NbdTestClient(socket)) {
            assertThat(c.handshakeFlags).isEqualTo(NbdProtocol.FLAG_FIXED_NEWSTYLE | NbdProtocol.FLAG_NO_ZEROES);
        }
    }

    @Test
    void infoDescribesWithoutEnteringTransmissionAndGoEnters() throws Exception {
        try (NbdTestClient c = new NbdTestClient(socket)) {
            c.sendOption(NbdProtocol.OPT_INFO, NbdTestClient.queryData("disk", NbdProtocol.INFO_BLOCK_SIZE));
            Map<Integer, ByteBuffer> infos = new HashMap<>();
            NbdTestClient.OptionReply r;
            while ((r = c.readOptionReply()).type() == NbdProtocol.REP_INFO) {
                ByteBuffer b = r.buffer();
                infos.put((int) b.getShort(), b);
            }
            assertThat(r.type()).isEqualTo(NbdProtocol.REP_ACK);
            assertThat(r.option()).isEqualTo(NbdProtocol.OPT_INFO);
            ByteBuffer export = infos.get(NbdProtocol.INFO_EXPORT);
            assertThat(export.getLong()).isEqualTo(SIZE);
            int flags = Short.toUnsignedInt(export.getShort());
            assertThat(flags & (NbdProtocol.TFLAG_HAS_FLAGS | NbdProtocol.TFLAG_SEND_FLUSH | NbdProtocol.TFLAG_SEND_FUA
                    | NbdProtocol.TFLAG_SEND_TRIM)).isEqualTo(NbdProtocol.TFLAG_HAS_FLAGS | NbdProtocol.TFLAG_SEND_FLUSH
                    | NbdProtocol.TFLAG_SEND_FUA | NbdProtocol.TFLAG_SEND_TRIM);
            ByteBuffer bs = infos.get(NbdProtocol.INFO_BLOCK_SIZE);
            assertThat(List.of(bs.getInt(), bs.getInt(), bs.getInt())).containsExactly(512, 4096, 32 << 20);
            // still negotiating: GO works on the same connection
            assertThat(c.go("ro").type()).isEqualTo(NbdProtocol.REP_ACK);
            assertThat(c.transmissionFlags & NbdProtocol.TFLAG_READ_ONLY).isNotZero();
            assertThat(c.transmissionFlags & NbdProtocol.TFLAG_SEND_TRIM).isZero();
            assertThat(c.read(0, 512).error()).isZero();
        }
    }

    @Test
    void unknownExportGetsAnErrorAndNegotiationContinues() throws Exception {
        try (NbdTestClient c = new NbdTestClient(socket)) {
            NbdTestClient.OptionReply r = c.go("nope");
            assertThat(r.type()).isEqualTo(NbdProtocol.REP_ERR_UNKNOWN);
            assertThat(new String(r.data(), StandardCharsets.UTF_8)).contains("nope");
            assertThat(c.go("disk").type()).isEqualTo(NbdProtocol.REP_ACK);
            assertThat(c.size).isEqualTo(SIZE);
        }
    }

    @Test
    void exportNameOfAnUnknownExportClosesTheSession() throws Exception {
        try (NbdTestClient c = new NbdTestClient(socket)) {
            c.sendOption(NbdProtocol.OPT_EXPORT_NAME, "nope".getBytes(StandardCharsets.UTF_8));
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test
    void exportNameEntersTransmissionWithoutTheZeroPadding() throws Exception {
        try (NbdTestClient c = new NbdTestClient(socket)) {
            c.sendOption(NbdProtocol.OPT_EXPORT_NAME, "disk".getBytes(StandardCharsets.UTF_8));
            ByteBuffer b = c.read(10);
            assertThat(b.getLong()).isEqualTo(SIZE);
            assertThat(b.getShort() & NbdProtocol.TFLAG_HAS_FLAGS).isNotZero();
            // the next bytes are a reply, not 124 zeros
            assertThat(c.write(0, pattern(1, 512)).error()).isZero();
        }
    }

    @Test
    void listAbortUnsupportedAndMalformedOptions() throws Exception {
        try (NbdTestClient c = new NbdTestClient(socket)) {
            c.sendOption(NbdProtocol.OPT_LIST, new byte[0]);
            List<String> names = new ArrayList<>();
            NbdTestClient.OptionReply r;
            while ((r = c.readOptionReply()).type() == NbdProtocol.REP_SERVER) {
                ByteBuffer b = r.buffer();
                byte[] n = new byte[b.getInt()];
                b.get(n);
                names.add(new String(n, StandardCharsets.UTF_8));
            }
            assertThat(r.type()).isEqualTo(NbdProtocol.REP_ACK);
            assertThat(names).containsExactly("disk", "ro");

            c.sendOption(NbdProtocol.OPT_LIST, new byte[] {1});
            assertThat(c.readOptionReply().type()).isEqualTo(NbdProtocol.REP_ERR_INVALID);
            c.sendOption(NbdProtocol.OPT_STRUCTURED_REPLY, new byte[0]);
            assertThat(c.readOptionReply().type()).isEqualTo(NbdProtocol.REP_ERR_UNSUP);
            c.sendOption(NbdProtocol.OPT_STARTTLS, new byte[0]);
            assertThat(c.readOptionReply().type()).isEqualTo(NbdProtocol.REP_ERR_UNSUP);
            c.sendOption(4242, new byte[] {1, 2, 3});
            NbdTestClient.OptionReply unsup = c.readOptionReply();
            assertThat(unsup.type()).isEqualTo(NbdProtocol.REP_ERR_UNSUP);
            assertThat(unsup.option()).isEqualTo(4242);
            // GO whose name length runs past the data
            c.sendOption(NbdProtocol.OPT_GO, ByteBuffer.allocate(6).putInt(100).putShort((short) 0).array());
            assertThat(c.readOptionReply().type()).isEqualTo(NbdProtocol.REP_ERR_INVALID);

            c.sendOption(NbdProtocol.OPT_ABORT, new byte[0]);
            assertThat(c.readOptionReply().type()).isEqualTo(NbdProtocol.REP_ACK);
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test
    void unknownClientFlagsAndHugeOptionsDropTheConnection() throws Exception {
        try (NbdTestClient c = new NbdTestClient(socket)) {
            c.sendOption(NbdProtocol.OPT_GO, new byte[0]); // sanity: malformed but harmless
            assertThat(c.readOptionReply().type()).isEqualTo(NbdProtocol.REP_ERR_INVALID);
            c.write(ByteBuffer.allocate(16).putLong(NbdProtocol.IHAVEOPT).putInt(NbdProtocol.OPT_GO).putInt(1 << 30).flip());
            assertThat(c.closedByServer()).isTrue();
        }
    }

    // ---- transmission ----------------------------------------------------------------------

    @Test
    void writeReadFlushFuaAndTrimReachTheFile() throws Exception {
        try (NbdTestClient c = connect("disk")) {
            byte[] data = pattern(2, 1 << 20);
            assertThat(c.write(0, data).error()).isZero();
            assertThat(c.read(0, 1 << 20).data()).isEqualTo(data);
            assertThat(c.call(FLUSH, 0, 0, 0, null).error()).isZero();
            assertThat(c.call(WRITE, NbdProtocol.CMD_FLAG_FUA, 1 << 20, 4096, pattern(3, 4096)).error()).isZero();
            assertThat(c.call(TRIM, 0, 0, 512 << 10, null).error()).isZero();
            assertThat(c.call(TRIM, NbdProtocol.CMD_FLAG_FUA, 512 << 10, 1000, null).error()).isZero();
        }
        byte[] content = Files.readAllBytes(file);
        byte[] expected = new byte[SIZE];
        System.arraycopy(pattern(2, 1 << 20), 0, expected, 0, 1 << 20);
        Arrays.fill(expected, 0, (512 << 10) + 1000, (byte) 0);
        System.arraycopy(pattern(3, 4096), 0, expected, 1 << 20, 4096);
        assertThat(content).isEqualTo(expected);
    }

    @Test
    void outOfRangeAndOversizedRequestsAreRefusedAndTheStreamStaysInStep() throws Exception {
        byte[] before;
        try (NbdTestClient c = connect("disk")) {
            assertThat(c.write(SIZE - 512, pattern(4, 512)).error()).isZero();
            before = Files.readAllBytes(file);
            assertThat(c.read(SIZE - 511, 512).error()).isEqualTo(NbdProtocol.EINVAL);
            assertThat(c.read(-512L, 512).error()).as("offset 2^64-512").isEqualTo(NbdProtocol.EINVAL);
            assertThat(c.write(SIZE, pattern(5, 512)).error()).isEqualTo(NbdProtocol.ENOSPC);
            assertThat(c.write(SIZE - 256, pattern(5, 512)).error()).isEqualTo(NbdProtocol.ENOSPC);
            assertThat(c.call(TRIM, 0, SIZE - 512, 1024, null).error()).isEqualTo(NbdProtocol.EINVAL);
            assertThat(c.read(0, (32 << 20) + 1).error()).isEqualTo(NbdProtocol.EINVAL);
            // a write above the maximum: its payload is consumed, the next request is understood
            assertThat(c.call(WRITE, 0, 0, (32 << 20) + 512, new byte[(32 << 20) + 512]).error())
                    .isEqualTo(NbdProtocol.EINVAL);
            assertThat(c.call(5 /* CACHE */, 0, 0, 512, null).error()).isEqualTo(NbdProtocol.EINVAL);
            assertThat(c.call(READ, 1 << 2 /* DF without structured replies */, 0, 512, null).error())
                    .isEqualTo(NbdProtocol.EINVAL);
            assertThat(c.call(WRITE, 1 << 1, 0, 512, pattern(6, 512)).error()).isEqualTo(NbdProtocol.EINVAL);
            assertThat(c.read(SIZE - 512, 512).data()).isEqualTo(pattern(4, 512));
        }
        assertThat(Files.size(file)).isEqualTo(SIZE);
        assertThat(Files.readAllBytes(file)).isEqualTo(before);
    }

    @Test
    void readOnlyExportRefusesWritesAndTrims() throws Exception {
        try (NbdTestClient c = connect("ro")) {
            assertThat(c.write(0, pattern(7, 512)).error()).isEqualTo(NbdProtocol.EPERM);
            assertThat(c.call(TRIM, 0, 0, 512, null).error()).isEqualTo(NbdProtocol.EPERM);
            assertThat(c.read(0, 512).error()).isZero();
        }
        assertThat(Files.readAllBytes(file)).containsOnly(0);
    }

    @Test
    void pipelinedRequestsAreAnsweredByHandle() throws Exception {
        try (NbdTestClient c = connect("disk")) {
            Map<Long, Integer> writes = new HashMap<>();
            for (int i = 0; i < 64; i++) {
                long h = c.handle();
                writes.put(h, i);
                c.command(WRITE, 0, h, (long) i * 65536, 65536, pattern(100 + i, 65536));
            }
            for (int i = 0; i < 64; i++) {
                NbdTestClient.Reply r = c.readReply();
                assertThat(writes.remove(r.handle())).as("reply to an outstanding write").isNotNull();
                assertThat(r.error()).isZero();
            }
            Map<Long, Integer> reads = new HashMap<>();
            for (int i = 0; i < 64; i++) {
                long h = c.handle();
                reads.put(h, i);
                c.command(READ, 0, h, (long) i * 65536, 65536, null);
            }
            for (int i = 0; i < 64; i++) {
                NbdTestClient.Reply r = c.readReply();
                Integer which = reads.remove(r.handle());
                assertThat(which).isNotNull();
                assertThat(r.data()).isEqualTo(pattern(100 + which, 65536));
            }
        }
    }

    @Test
    void severalClientsAtOnceEachSeeTheirOwnData() throws Exception {
        int clients = 6;
        int region = SIZE / clients & ~4095;
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            List<Future<Void>> done = new ArrayList<>();
            for (int k = 0; k < clients; k++) {
                int me = k;
                done.add(pool.submit(() -> {
                    try (NbdTestClient c = connect("disk")) {
                        Random rnd = new Random(me);
                        byte[] mine = new byte[region];
                        for (int round = 0; round < 40; round++) {
                            int off = rnd.nextInt(region / 512) * 512;
                            int len = Math.min(region - off, 512 * (1 + rnd.nextInt(64)));
                            byte[] d = pattern(me * 1000L + round, len);
                            System.arraycopy(d, 0, mine, off, len);
                            assertThat(c.write((long) me * region + off, d).error()).isZero();
                        }
                        assertThat(c.call(FLUSH, 0, 0, 0, null).error()).isZero();
                        assertThat(c.read((long) me * region, region).data()).isEqualTo(mine);
                        c.command(DISC, 0, c.handle(), 0, 0, null);
                        assertThat(c.closedByServer()).isTrue();
                    }
                    return null;
                }));
            }
            for (Future<Void> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    // ---- lifecycle -------------------------------------------------------------------------

    @Test
    void ownershipDecidesWhoClosesTheDevice() throws Exception {
        Path f2 = dir.resolve("owned.raw");
        try (RandomAccessFile raf = new RandomAccessFile(f2.toFile(), "rw")) {
            raf.setLength(65536);
        }
        FileBlockDevice owned = FileBlockDevice.open(f2, FileDeviceOptions.defaults());
        server.addExport(new NbdExport("owned", "", owned, false, NbdExport.Ownership.SERVER));
        assertThatThrownBy(() -> server.addExport(NbdExport.shared("owned", new NullBlockDevice(512))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("already exists");
        NbdTestClient c = connect("owned");
        assertThat(c.write(0, pattern(8, 4096)).error()).isZero();
        assertThat(server.removeExport("owned")).isTrue();
        assertThat(c.closedByServer()).as("clients of a removed export are disconnected").isTrue();
        c.close();
        assertThat(DeviceFutures.failure(owned.flush())).isEqualTo(BlockDeviceException.Reason.CLOSED);
        assertThat(server.removeExport("owned")).isFalse();
        server.close();
        // the caller-owned device stays usable after the server is gone
        DeviceFutures.await(device.flush());
        assertThat(Files.exists(socket)).isFalse();
    }

    @Test
    void closeDisconnectsClientsAndRefusesNewOnes() throws Exception {
        NbdTestClient idle = connect("disk");
        NbdTestClient negotiating = new NbdTestClient(socket);
        server.close();
        assertThat(idle.closedByServer()).isTrue();
        assertThat(negotiating.closedByServer()).isTrue();
        idle.close();
        negotiating.close();
        assertThatThrownBy(() -> new NbdTestClient(socket)).isInstanceOf(IOException.class);
    }

    @Test
    void refusesToReplaceAFileThatIsNotASocket() throws Exception {
        Path notASocket = dir.resolve("plain");
        Files.writeString(notASocket, "keep me");
        assertThatThrownBy(() -> NbdServer.start(notASocket, NbdServerConfig.defaults(), List.of()))
                .isInstanceOf(IOException.class).hasMessageContaining("not a socket");
        assertThat(Files.readString(notASocket)).isEqualTo("keep me");
    }
}
