package org.spdksr.datapath.blkifd;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The requests one ring's queue has taken and not yet answered, in shared memory that outlives the
 * process (a file in blkifd's run directory, a tmpfs). After a kill -9 the restarted blkifd cannot
 * learn them from the ring: its private {@code req_cons} is lost, and responses written out of
 * order have already overwritten the slots of some requests still outstanding (blkif.md §1.1:
 * requests and responses share the slots). From this journal and the published {@code rsp_prod}
 * it knows exactly which requests are outstanding, executes them again (legal: the block layer
 * orders no requests in flight) and answers each exactly once: a second response to an id would
 * make Linux blkfront declare the ring broken.
 *
 * <p>Each entry is written before its request's I/O starts and marked with the response index it
 * is answered at before the response is written to the ring; an entry answered at an index the
 * published {@code rsp_prod} has passed was seen by the frontend. Stores a killed process made are
 * all in the file (the page cache is not the process's), so only their order matters; a crash of
 * the host ends the guest too. One queue worker owns a journal; not thread-safe.
 *
 * <pre>
 * header (64 bytes): magic, version, slots, slot size, next request index, connection fingerprint
 * entry: state (free, taken, answered), request index, response index, 0, the request slot's bytes
 * </pre>
 */
final class RingJournal {
    private static final VarHandle INT = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long MAGIC = 0x314a52534b445053L; // "SPDKSRJ1"
    private static final int VERSION = 1;
    private static final int HEADER = 64;
    private static final int H_SLOTS = 12;
    private static final int H_SLOT_SIZE = 16;
    private static final int H_NEXT_REQUEST = 20;
    private static final int H_FINGERPRINT = 24;
    private static final int E_STATE = 0;
    private static final int E_REQUEST = 4;
    private static final int E_RESPONSE = 8;
    private static final int E_BYTES = 16;
    private static final int FREE = 0;
    private static final int TAKEN = 1;
    private static final int ANSWERED = 2;

    private final ByteBuffer memory;
    private final int slots;
    private final int slotSize;
    private final int entrySize;
    private final Deque<Integer> free = new ArrayDeque<>();

    /** A request the previous process took and did not answer, to execute again. */
    record Outstanding(int requestIndex, int entry, byte[] slot) {}

    /** A journal taken over from a previous process, and what it left to do. */
    record Recovered(RingJournal journal, int nextRequestIndex, List<Outstanding> outstanding) {}

    /** The journal does not describe the ring it is meant for: the ring cannot be taken over. */
    static final class InconsistentJournalException extends Exception {
        private static final long serialVersionUID = 1L;

        InconsistentJournalException(String message) {
            super(message);
        }
    }

    private RingJournal(ByteBuffer memory, int slots, int slotSize) {
        this.memory = memory.order(ByteOrder.LITTLE_ENDIAN);
        this.slots = slots;
        this.slotSize = slotSize;
        this.entrySize = entrySize(slotSize);
    }

    private static int entrySize(int slotSize) {
        return (E_BYTES + slotSize + 7) & ~7;
    }

    private static long bytes(int slots, int slotSize) {
        return HEADER + (long) slots * entrySize(slotSize);
    }

    /** A journal in this process's memory only: for a backend that does not survive its process (tests). */
    static RingJournal inMemory(int slots, int slotSize, int nextRequestIndex) {
        RingJournal j = new RingJournal(ByteBuffer.allocateDirect(Math.toIntExact(bytes(slots, slotSize))), slots,
                slotSize);
        j.format(0, nextRequestIndex);
        return j;
    }

    /** A new, empty journal in {@code file} for a connection just made, replacing any earlier one. */
    static RingJournal create(Path file, int slots, int slotSize, long fingerprint, int nextRequestIndex)
            throws IOException {
        Files.createDirectories(file.getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".new");
        RingJournal j;
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            j = new RingJournal(ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes(slots, slotSize)), slots, slotSize);
        }
        j.format(fingerprint, nextRequestIndex);
        // A restart between the two must find either no journal or a whole one.
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return j;
    }

    /**
     * Takes over the journal a killed process left for this connection.
     *
     * @param publishedResponses the ring's {@code rsp_prod} as the frontend sees it
     * @return empty if there is no journal of this connection (another fingerprint, or none)
     * @throws InconsistentJournalException if the journal and the ring disagree (a frontend that
     *     moved {@code rsp_prod} meanwhile, a damaged file)
     */
    static Optional<Recovered> recover(Path file, int slots, int slotSize, long fingerprint, int publishedResponses)
            throws IOException, InconsistentJournalException {
        if (!Files.isRegularFile(file) || Files.size(file) != bytes(slots, slotSize)) {
            return Optional.empty();
        }
        RingJournal j;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            j = new RingJournal(ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes(slots, slotSize)), slots, slotSize);
        }
        if (j.memory.getLong(0) != MAGIC || j.memory.getInt(8) != VERSION || j.memory.getInt(H_SLOTS) != slots
                || j.memory.getInt(H_SLOT_SIZE) != slotSize || j.memory.getLong(H_FINGERPRINT) != fingerprint) {
            return Optional.empty();
        }
        return Optional.of(j.recoverState(publishedResponses));
    }

    private void format(long fingerprint, int nextRequestIndex) {
        for (int i = 0; i < memory.capacity(); i += 8) {
            memory.putLong(i, 0);
        }
        memory.putLong(0, MAGIC);
        memory.putInt(8, VERSION);
        memory.putInt(H_SLOTS, slots);
        memory.putInt(H_SLOT_SIZE, slotSize);
        memory.putLong(H_FINGERPRINT, fingerprint);
        INT.setRelease(memory, H_NEXT_REQUEST, nextRequestIndex);
        for (int e = 0; e < slots; e++) {
            free.add(e);
        }
    }

    private Recovered recoverState(int published) throws InconsistentJournalException {
        int next = (int) INT.getAcquire(memory, H_NEXT_REQUEST);
        List<Outstanding> outstanding = new ArrayList<>();
        Set<Integer> indices = new HashSet<>();
        for (int e = 0; e < slots; e++) {
            int at = HEADER + e * entrySize;
            int state = (int) INT.getAcquire(memory, at + E_STATE);
            int request = memory.getInt(at + E_REQUEST);
            boolean pending = state == TAKEN
                    || (state == ANSWERED && !before(memory.getInt(at + E_RESPONSE), published));
            if (state != TAKEN && state != ANSWERED && state != FREE) {
                throw new InconsistentJournalException("journal entry " + e + " has the unknown state " + state);
            }
            if (!pending) {
                memory.putInt(at + E_STATE, FREE);
                free.add(e);
                continue;
            }
            if (!indices.add(request)) {
                throw new InconsistentJournalException("request index " + Integer.toUnsignedString(request)
                        + " is journaled twice");
            }
            // The entry is written before the next-request index; a kill between the two leaves it one ahead.
            // (A request may be outstanding any number of requests behind: others overtake it.)
            if (request == next) {
                next = request + 1;
            }
            byte[] slot = new byte[slotSize];
            memory.get(at + E_BYTES, slot);
            outstanding.add(new Outstanding(request, e, slot));
            // Answered anew from here on: the old response index may be passed by other answers, and
            // a second kill must not take this one for published.
            INT.setRelease(memory, at + E_STATE, TAKEN);
        }
        long consumed = Integer.toUnsignedLong(next - published);
        if (consumed > slots || consumed != outstanding.size()) {
            throw new InconsistentJournalException("the ring's rsp_prod " + Integer.toUnsignedString(published)
                    + " and the journal (next request " + Integer.toUnsignedString(next) + ", " + outstanding.size()
                    + " unanswered) disagree");
        }
        INT.setRelease(memory, H_NEXT_REQUEST, next);
        // Oldest first; any outstanding request is less than 2^31 behind rsp_prod.
        outstanding.sort(Comparator.comparingInt(o -> o.requestIndex() - published));
        return new Recovered(this, next, List.copyOf(outstanding));
    }

    /** Whether response index {@code index} is below the published {@code rsp_prod}, as free-running u32. */
    private static boolean before(int index, int published) {
        return published - 1 - index >= 0; // modular distance below 2^31
    }

    /**
     * Records request {@code requestIndex}, just copied off the ring, before anything is done for it.
     *
     * @return the entry, to name when it is answered
     */
    int taken(int requestIndex, byte[] slot) {
        Integer e = free.pollFirst();
        if (e == null) {
            // The ring bounds what is unanswered (RING_REQUEST_CONS_OVERFLOW), so this is a bug.
            throw new IllegalStateException("ring journal full: more than " + slots + " requests unanswered");
        }
        int at = HEADER + e * entrySize;
        memory.put(at + E_BYTES, slot, 0, Math.min(slot.length, slotSize));
        memory.putInt(at + E_REQUEST, requestIndex);
        INT.setRelease(memory, at + E_STATE, TAKEN);
        INT.setRelease(memory, H_NEXT_REQUEST, requestIndex + 1);
        return e;
    }

    /** Records that entry {@code entry} is answered at response index {@code responseIndex}, before the response is written. */
    void answering(int entry, int responseIndex) {
        int at = HEADER + entry * entrySize;
        memory.putInt(at + E_RESPONSE, responseIndex);
        INT.setRelease(memory, at + E_STATE, ANSWERED);
        VarHandle.storeStoreFence(); // the mark before the response slot's bytes
    }

    /** The response of entry {@code entry} is published: the entry is free again. */
    void published(int entry) {
        INT.setRelease(memory, HEADER + entry * entrySize + E_STATE, FREE);
        free.addLast(entry);
    }

    int slots() {
        return slots;
    }
}
