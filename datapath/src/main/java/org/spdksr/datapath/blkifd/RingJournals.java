package org.spdksr.datapath.blkifd;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.spdksr.datapath.blkif.Abi;

/**
 * Where a backend service keeps its rings' journals: one file per queue of each connected disk,
 * {@code <dir>/<domid>-<devid>.q<queue>}, in blkifd's run directory so a restarted blkifd finds
 * them; or nowhere but memory, for a backend that is not meant to survive its process.
 */
final class RingJournals {
    private final Path dir;

    private RingJournals(Path dir) {
        this.dir = dir;
    }

    static RingJournals inMemory() {
        return new RingJournals(null);
    }

    static RingJournals in(Path dir) {
        return new RingJournals(dir);
    }

    /**
     * Identifies one queue of one connection (the frontend, ring layout, pages and event channel),
     * so that a journal is taken over only by the connection that wrote it.
     */
    static long fingerprint(String frontend, FrontendConnection connection, int queue) {
        FrontendConnection.QueueKeys keys = connection.queues().get(queue);
        String identity = frontend + "|" + connection.abi().protocolName() + "|" + connection.ringPageOrder() + "|"
                + connection.queues().size() + "|" + queue + "|" + keys.ringRefs() + "|" + keys.eventChannel();
        long hash = 0xcbf29ce484222325L; // FNV-1a, 64 bits
        for (byte b : identity.getBytes(StandardCharsets.UTF_8)) {
            hash = (hash ^ (b & 0xff)) * 0x100000001b3L;
        }
        return hash;
    }

    RingJournal create(String disk, int queue, int slots, Abi abi, long fingerprint, int nextRequest)
            throws IOException {
        if (dir == null) {
            return RingJournal.inMemory(slots, abi.slotSize(), nextRequest);
        }
        return RingJournal.create(file(disk, queue), slots, abi.slotSize(), fingerprint, nextRequest);
    }

    Optional<RingJournal.Recovered> recover(String disk, int queue, int slots, Abi abi, long fingerprint,
            int publishedResponses) throws IOException, RingJournal.InconsistentJournalException {
        if (dir == null) {
            return Optional.empty();
        }
        return RingJournal.recover(file(disk, queue), slots, abi.slotSize(), fingerprint, publishedResponses);
    }

    /** Whether a previous process left journals for this disk. */
    boolean exist(String disk) throws IOException {
        return !files(disk).isEmpty();
    }

    /** The disk's connection ended: nothing of it is to be taken over. */
    void delete(String disk) throws IOException {
        for (Path f : files(disk)) {
            Files.deleteIfExists(f);
        }
    }

    private List<Path> files(String disk) throws IOException {
        if (dir == null || !Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> all = Files.list(dir)) {
            return all.filter(f -> f.getFileName().toString().startsWith(disk + ".q")).toList();
        }
    }

    private Path file(String disk, int queue) {
        return dir.resolve(disk + ".q" + queue);
    }
}
