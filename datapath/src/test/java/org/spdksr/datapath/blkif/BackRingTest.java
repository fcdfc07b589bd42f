package org.spdksr.datapath.blkif;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.spdksr.datapath.blkif.BlkifConstants.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The ring rules of blkif.md §1.8, with the test playing the frontend on the same page. */
class BackRingTest {
    private final ByteBuffer page = ByteBuffer.allocateDirect(PAGE_SIZE).order(ByteOrder.LITTLE_ENDIAN);

    BackRingTest() {
        // SHARED_RING_INIT (§1.1): indices 0, events 1.
        page.putInt(0, 0).putInt(4, 1).putInt(8, 0).putInt(12, 1);
    }

    private void publishRequests(int from, int count) {
        for (int i = from; i < from + count; i++) {
            int at = 64 + (i & 31) * 112;
            page.put(at, (byte) OP_READ).put(at + 1, (byte) 1).putLong(at + 8, i).putLong(at + 16, i * 8L);
            page.put(at + 29, (byte) 7);
        }
        page.putInt(0, from + count);
    }

    @Test
    void consumesEachRequestOnceAndAnswersInSlots() throws Exception {
        BackRing ring = new BackRing(page, Abi.X86_64, 0);
        publishRequests(0, 5);
        List<byte[]> taken = new ArrayList<>();
        assertThat(ring.consume(taken, 100)).isEqualTo(5);
        assertThat(ring.consume(taken, 100)).isZero();
        RequestDecoder decoder = new RequestDecoder(Abi.X86_64, 0);
        for (byte[] slot : taken) {
            BlkifRequest r = decoder.decode(slot);
            ring.putResponse(r.id(), r.operation(), RSP_OKAY);
        }
        assertThat(ring.pushResponses()).isTrue(); // rsp_event was 1
        assertThat(page.getInt(8)).isEqualTo(5);
        assertThat(page.getLong(64 + 4 * 112)).isEqualTo(4);
        assertThat(page.getShort(64 + 4 * 112 + 10)).isEqualTo(RSP_OKAY);
        assertThat(ring.inFlight()).isZero();
    }

    @Test
    void notifiesOnlyWhenTheFrontendAskedForIt() throws Exception {
        BackRing ring = new BackRing(page, Abi.X86_64, 0);
        publishRequests(0, 4);
        List<byte[]> taken = new ArrayList<>();
        ring.consume(taken, 100);
        page.putInt(12, 3); // the frontend wants a kick once rsp_prod passes 2
        ring.putResponse(0, OP_READ, RSP_OKAY);
        assertThat(ring.pushResponses()).isFalse();
        ring.putResponse(1, OP_READ, RSP_OKAY);
        ring.putResponse(2, OP_READ, RSP_OKAY);
        assertThat(ring.pushResponses()).isTrue();
        ring.putResponse(3, OP_READ, RSP_OKAY);
        assertThat(ring.pushResponses()).isFalse();
    }

    @Test
    void finalCheckSetsReqEventAndSeesLateRequests() throws Exception {
        BackRing ring = new BackRing(page, Abi.X86_64, 0);
        publishRequests(0, 2);
        List<byte[]> taken = new ArrayList<>();
        ring.consume(taken, 100);
        assertThat(ring.finalCheckForRequests()).isFalse();
        assertThat(page.getInt(4)).isEqualTo(3); // req_event = req_cons + 1
        publishRequests(2, 1);
        assertThat(ring.finalCheckForRequests()).isTrue();
    }

    @Test
    void neverTakesMoreThanTheRingHoldsUnanswered() throws Exception {
        BackRing ring = new BackRing(page, Abi.X86_64, 0);
        publishRequests(0, 32);
        List<byte[]> taken = new ArrayList<>();
        assertThat(ring.consume(taken, 1000)).isEqualTo(32);
        // The frontend overwrites answered-never slots and claims 32 more: still a full ring, but
        // nothing can be taken until responses free slots.
        publishRequests(32, 0);
        assertThat(ring.consume(taken, 1000)).isZero();
        assertThat(ring.hasUnconsumedRequests()).isFalse();
    }

    @Test
    void aProducerMoreThanARingAheadBreaksTheRing() throws Exception {
        BackRing ring = new BackRing(page, Abi.X86_64, 0);
        page.putInt(0, 33);
        assertThatThrownBy(() -> ring.consume(new ArrayList<>(), 100)).isInstanceOf(RingBrokenException.class)
                .hasMessageContaining("bogus");
        page.putInt(0, 0xffff_fff0); // "behind" is also more than a ring ahead in u32 arithmetic
        assertThatThrownBy(() -> ring.consume(new ArrayList<>(), 100)).isInstanceOf(RingBrokenException.class);
        assertThatThrownBy(() -> new BackRing(page, Abi.X86_64, 0)).isInstanceOf(RingBrokenException.class);
    }

    @Test
    void indicesWrapAroundU32() throws Exception {
        int start = 0xffff_fffc;
        page.putInt(0, start).putInt(8, start);
        BackRing ring = new BackRing(page, Abi.X86_64, 0);
        publishRequests(start, 8);
        List<byte[]> taken = new ArrayList<>();
        assertThat(ring.consume(taken, 100)).isEqualTo(8);
        for (int i = 0; i < 8; i++) {
            ring.putResponse(i, OP_READ, RSP_OKAY);
        }
        ring.pushResponses();
        assertThat(page.getInt(8)).isEqualTo(start + 8);
    }

    @Test
    void moreResponsesThanRequestsIsAProgrammingError() throws Exception {
        BackRing ring = new BackRing(page, Abi.X86_64, 0);
        assertThatThrownBy(() -> ring.putResponse(1, OP_READ, RSP_OKAY)).isInstanceOf(IllegalStateException.class);
    }
}
