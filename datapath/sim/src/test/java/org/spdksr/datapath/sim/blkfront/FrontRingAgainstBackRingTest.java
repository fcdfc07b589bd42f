package org.spdksr.datapath.sim.blkfront;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.spdksr.datapath.blkif.Abi;
import org.spdksr.datapath.blkif.BackRing;
import org.spdksr.datapath.blkif.BlkifRequest;
import org.spdksr.datapath.blkif.RequestDecoder;
import org.spdksr.datapath.blkif.RingBrokenException;

/** Both halves of the ring protocol (blkif.md §1.8) on one direct buffer: the frontend here, the backend's BackRing. */
class FrontRingAgainstBackRingTest {

    private static ByteBuffer pages(int order) {
        return ByteBuffer.allocateDirect(4096 << order);
    }

    @ParameterizedTest
    @CsvSource({"X86_64,0", "X86_32,0", "X86_64,2", "X86_32,4"})
    void requestsAndResponsesFlowAcrossManyWraps(Abi abi, int order) throws Exception {
        ByteBuffer shared = pages(order);
        FrontRing front = FrontRing.initialise(shared, abi, order);
        BackRing back = new BackRing(shared, abi, order);
        assertThat(front.entries()).isEqualTo(back.entries()).isEqualTo(32 << order);
        RequestEncoder enc = new RequestEncoder(abi, 51712);
        RequestDecoder dec = new RequestDecoder(abi, 0);
        long nextId = 0;
        List<Long> answered = new ArrayList<>();
        for (int round = 0; round < 10; round++) {
            int batch = front.freeSlots() - round % 3;
            for (int i = 0; i < batch; i++) {
                front.putRequest(enc.encode(new FrontRequest.ReadWrite(1, nextId++, i,
                        List.of(new SegmentDescriptor(8 + i, 0, 7)))));
            }
            front.pushRequests();
            List<byte[]> taken = new ArrayList<>();
            back.consume(taken, Integer.MAX_VALUE);
            assertThat(taken).hasSize(batch);
            for (byte[] slot : taken) {
                BlkifRequest r = dec.decode(slot);
                back.putResponse(r.id(), r.operation(), (short) 0);
            }
            back.pushResponses();
            front.consumeResponses(r -> {
                assertThat(r.operation()).isEqualTo(1);
                answered.add(r.id());
            });
            assertThat(front.outstanding()).isZero();
        }
        assertThat(answered).hasSize((int) nextId);
        for (int i = 0; i < answered.size(); i++) {
            assertThat(answered.get(i)).isEqualTo(i);
        }
    }

    @Test
    void requestNotificationFollowsReqEvent() throws Exception {
        ByteBuffer shared = pages(0);
        FrontRing front = FrontRing.initialise(shared, Abi.X86_64, 0);
        BackRing back = new BackRing(shared, Abi.X86_64, 0);
        RequestEncoder enc = new RequestEncoder(Abi.X86_64, 0);
        front.putRequest(enc.encode(new FrontRequest.ReadWrite(3, 1, 0, List.of())));
        assertThat(front.pushRequests()).as("req_event 1 asks for a kick at the first request").isTrue();
        front.putRequest(enc.encode(new FrontRequest.ReadWrite(3, 2, 0, List.of())));
        assertThat(front.pushRequests()).as("the backend has not re-armed req_event").isFalse();
        List<byte[]> taken = new ArrayList<>();
        back.consume(taken, 10);
        assertThat(back.finalCheckForRequests()).isFalse(); // sets req_event = req_cons + 1 = 3
        front.putRequest(enc.encode(new FrontRequest.ReadWrite(3, 3, 0, List.of())));
        assertThat(front.pushRequests()).isTrue();
        assertThat(back.finalCheckForRequests()).isTrue();
    }

    @Test
    void responseNotificationFollowsRspEventAndTheFinalCheckSeesLateResponses() throws Exception {
        ByteBuffer shared = pages(0);
        FrontRing front = FrontRing.initialise(shared, Abi.X86_32, 0);
        BackRing back = new BackRing(shared, Abi.X86_32, 0);
        RequestEncoder enc = new RequestEncoder(Abi.X86_32, 0);
        for (int i = 0; i < 3; i++) {
            front.putRequest(enc.encode(new FrontRequest.ReadWrite(3, i, 0, List.of())));
        }
        front.pushRequests();
        back.consume(new ArrayList<>(), 10);
        back.putResponse(0, 3, (short) 0);
        assertThat(back.pushResponses()).as("rsp_event 1").isTrue();
        List<Response> seen = new ArrayList<>();
        front.consumeResponses(seen::add);
        assertThat(front.finalCheckForResponses()).isFalse(); // rsp_event = 2
        assertThat(front.sharedRspEvent()).isEqualTo(2);
        back.putResponse(1, 3, (short) 0);
        assertThat(back.pushResponses()).isTrue();
        // The frontend does not re-arm: the next push is silent, but a final check finds it.
        front.consumeResponses(seen::add);
        back.putResponse(2, 3, (short) -1);
        assertThat(back.pushResponses()).isFalse();
        assertThat(front.finalCheckForResponses()).isTrue();
        front.consumeResponses(seen::add);
        assertThat(seen).extracting(Response::id).containsExactly(0L, 1L, 2L);
        assertThat(seen.get(2).status()).isEqualTo((short) -1);
    }

    @Test
    void indicesWrapAroundTwoToThe32() throws Exception {
        ByteBuffer shared = pages(0);
        FrontRing front = FrontRing.initialiseAt(shared, Abi.X86_64, 0, -5); // 0xfffffffb
        BackRing back = new BackRing(shared, Abi.X86_64, 0);
        RequestEncoder enc = new RequestEncoder(Abi.X86_64, 0);
        RequestDecoder dec = new RequestDecoder(Abi.X86_64, 0);
        for (int i = 0; i < 20; i++) {
            front.putRequest(enc.encode(new FrontRequest.ReadWrite(3, i, 0, List.of())));
        }
        assertThat(front.pushRequests()).isTrue();
        assertThat(front.sharedReqProd()).isEqualTo(15);
        List<byte[]> taken = new ArrayList<>();
        assertThat(back.consume(taken, 100)).isEqualTo(20);
        for (byte[] s : taken) {
            back.putResponse(dec.decode(s).id(), 3, (short) 0);
        }
        assertThat(back.pushResponses()).isTrue();
        List<Long> ids = new ArrayList<>();
        assertThat(front.consumeResponses(r -> ids.add(r.id()))).isEqualTo(20);
        assertThat(ids).hasSize(20).startsWith(0L).endsWith(19L);
        assertThat(front.outstanding()).isZero();
    }

    @Test
    void aProducerMoreThanARingAheadBreaksTheBackendRing() throws Exception {
        ByteBuffer shared = pages(0);
        FrontRing front = FrontRing.initialise(shared, Abi.X86_64, 0);
        BackRing back = new BackRing(shared, Abi.X86_64, 0);
        front.setSharedReqProd(33);
        assertThatThrownBy(() -> back.consume(new ArrayList<>(), 100)).isInstanceOf(RingBrokenException.class);
    }

    @Test
    void moreResponsesThanRequestsIsABackendProtocolViolation() {
        ByteBuffer shared = pages(0);
        FrontRing front = FrontRing.initialise(shared, Abi.X86_64, 0);
        shared.putInt(FrontRing.RSP_PROD, 1);
        assertThatThrownBy(() -> front.consumeResponses(r -> { }))
                .isInstanceOf(BackendMisbehavedException.class).hasMessageContaining("rsp_prod 1");
    }
}
