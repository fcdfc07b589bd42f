package org.spdksr.datapath.blkifd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ring journal tells a restarted blkifd exactly which requests its killed predecessor took and
 * did not answer, wherever the kill fell: each is answered once again, none twice, none lost.
 */
class RingJournalTest {
    private static final int SLOTS = 32;
    private static final int SLOT = 112;
    private static final long PRINT = 0x1234_5678_9abcL;

    @TempDir
    Path dir;

    private static byte[] request(int index) {
        byte[] b = new byte[SLOT];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(8, index);
        return b;
    }

    private static int indexIn(byte[] slot) {
        return ByteBuffer.wrap(slot).order(ByteOrder.LITTLE_ENDIAN).getInt(8);
    }

    private RingJournal.Recovered recover(Path file, int published) throws Exception {
        return RingJournal.recover(file, SLOTS, SLOT, PRINT, published).orElseThrow();
    }

    @Test
    void outOfOrderAnswersLeaveExactlyTheUnansweredRequests() throws Exception {
        Path file = dir.resolve("j");
        RingJournal j = RingJournal.create(file, SLOTS, SLOT, PRINT, 0);
        int e0 = j.taken(0, request(0));
        j.taken(1, request(1));
        int e2 = j.taken(2, request(2));
        // Request 2 finishes first: its response overwrites slot 0, where request 0 was.
        j.answering(e2, 0);
        j.published(e2);
        j.answering(e0, 1); // written, not yet published: the frontend has not seen it
        RingJournal.Recovered r = recover(file, 1);
        assertThat(r.nextRequestIndex()).isEqualTo(3);
        assertThat(r.outstanding()).extracting(RingJournal.Outstanding::requestIndex).containsExactly(0, 1);
        assertThat(r.outstanding()).allSatisfy(o -> assertThat(indexIn(o.slot())).isEqualTo(o.requestIndex()));
    }

    @Test
    void anAnswerPublishedJustBeforeTheKillIsNotGivenAgain() throws Exception {
        Path file = dir.resolve("j");
        RingJournal j = RingJournal.create(file, SLOTS, SLOT, PRINT, 0);
        int e0 = j.taken(0, request(0));
        j.answering(e0, 0);
        // killed after rsp_prod moved to 1, before the entry was freed
        RingJournal.Recovered r = recover(file, 1);
        assertThat(r.outstanding()).isEmpty();
        assertThat(r.nextRequestIndex()).isEqualTo(1);
    }

    @Test
    void anEntryWrittenBeforeTheNextRequestIndexStillCounts() throws Exception {
        Path file = dir.resolve("j");
        RingJournal j = RingJournal.create(file, SLOTS, SLOT, PRINT, 0);
        j.taken(0, request(0));
        j.taken(1, request(1));
        // a kill between the entry and the header: the header still says 1
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 1), 20);
        }
        RingJournal.Recovered r = recover(file, 0);
        assertThat(r.nextRequestIndex()).isEqualTo(2);
        assertThat(r.outstanding()).extracting(RingJournal.Outstanding::requestIndex).containsExactly(0, 1);
    }

    @Test
    void aFrontendThatMovedRspProdIsRefused() throws Exception {
        Path file = dir.resolve("j");
        RingJournal j = RingJournal.create(file, SLOTS, SLOT, PRINT, 0);
        j.taken(0, request(0));
        assertThatThrownBy(() -> recover(file, 5)).isInstanceOf(RingJournal.InconsistentJournalException.class)
                .hasMessageContaining("rsp_prod 5");
        assertThatThrownBy(() -> recover(file, -7)).isInstanceOf(RingJournal.InconsistentJournalException.class);
    }

    @Test
    void anotherConnectionsJournalIsNotTakenOver() throws Exception {
        Path file = dir.resolve("j");
        RingJournal.create(file, SLOTS, SLOT, PRINT, 0).taken(0, request(0));
        assertThat(RingJournal.recover(file, SLOTS, SLOT, PRINT + 1, 0)).isEmpty();
        assertThat(RingJournal.recover(file, SLOTS * 2, SLOT, PRINT, 0)).isEmpty();
        assertThat(RingJournal.recover(dir.resolve("none"), SLOTS, SLOT, PRINT, 0)).isEmpty();
    }

    /**
     * A model run: a full ring, answers in random order and batches, u32 indices wrapping, and a
     * kill at a random step; then the journal must name exactly the requests taken and not
     * published. Twice in a row, from the recovered state, as a second kill would.
     */
    @Test
    void aKillAtAnyStepRecoversExactlyWhatWasUnanswered() throws Exception {
        Random random = new Random(18);
        for (int run = 0; run < 400; run++) {
            Path file = dir.resolve("m" + run);
            int start = random.nextBoolean() ? 0 : -SLOTS - random.nextInt(3 * SLOTS); // wraps past 2^32
            RingJournal journal = RingJournal.create(file, SLOTS, SLOT, PRINT, start);
            Map<Integer, Integer> entryOf = new HashMap<>(); // taken and not freed: request -> entry
            Map<Integer, Integer> answeredAt = new HashMap<>(); // request -> response index
            int nextRequest = start;
            int rspPvt = start;
            int published = start;
            for (int life = 0; life < 2; life++) {
                int steps = random.nextInt(300);
                for (int step = 0; step < steps; step++) {
                    if (random.nextInt(3) > 0 && nextRequest - published < SLOTS) {
                        entryOf.put(nextRequest, journal.taken(nextRequest, request(nextRequest)));
                        nextRequest++;
                        continue;
                    }
                    List<Integer> batch = new ArrayList<>();
                    for (int i : entryOf.keySet()) {
                        if (!answeredAt.containsKey(i) && random.nextInt(3) == 0) {
                            batch.add(i);
                        }
                    }
                    for (int i : batch) {
                        answeredAt.put(i, rspPvt);
                        journal.answering(entryOf.get(i), rspPvt++);
                    }
                    int kill = random.nextInt(8);
                    if (kill == 0) {
                        break; // before rsp_prod moved: the batch is still outstanding
                    }
                    published = rspPvt;
                    if (kill == 1) {
                        break; // after rsp_prod moved, before the entries were freed
                    }
                    for (int i : batch) {
                        journal.published(entryOf.remove(i));
                        answeredAt.remove(i);
                    }
                }
                int pub = published;
                List<Integer> expected = entryOf.keySet().stream()
                        .filter(i -> !answeredAt.containsKey(i) || answeredAt.get(i) - pub >= 0)
                        .sorted((a, b) -> Integer.compare(a - pub, b - pub)).toList();
                RingJournal.Recovered r;
                try {
                    r = recover(file, published);
                } catch (RingJournal.InconsistentJournalException e) {
                    throw new AssertionError("run " + run + ", life " + life + ": start " + start + ", next " + nextRequest
                            + ", published " + published + ", taken " + entryOf + ", answered " + answeredAt, e);
                }
                assertThat(r.nextRequestIndex()).as("run %d, life %d", run, life).isEqualTo(nextRequest);
                assertThat(r.outstanding()).extracting(RingJournal.Outstanding::requestIndex)
                        .as("run %d, life %d", run, life).containsExactlyElementsOf(expected);
                // The restarted blkifd goes on from what it recovered; its answers start at rsp_prod.
                journal = r.journal();
                entryOf.clear();
                answeredAt.clear();
                for (RingJournal.Outstanding o : r.outstanding()) {
                    entryOf.put(o.requestIndex(), o.entry());
                    assertThat(indexIn(o.slot())).isEqualTo(o.requestIndex());
                }
                rspPvt = published;
            }
        }
    }
}
