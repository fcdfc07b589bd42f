package org.spdksr.datapath.vhost;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The driver side of the split ring against a device written here from the spec (virtio 1.2
 * §2.7): it walks descriptor chains (direct and indirect) exactly as a back end would.
 */
class SplitVirtqueueTest {
    private static final int SIZE = 16;

    private final ByteBuffer mem = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
    /** Descriptor addresses are offsets here: base 0. */
    private final SplitVirtqueue.Layout layout = SplitVirtqueue.Layout.at(0, SIZE, 6, 64);

    private SplitVirtqueue queue(boolean eventIdx, boolean indirect) {
        return new SplitVirtqueue(mem, 0, layout, eventIdx, indirect);
    }

    /** The device: next avail index it will read, and the used index it writes. */
    private int deviceAvail;
    private int deviceUsed;

    private List<Integer> deviceTakeAvailable() {
        List<Integer> heads = new ArrayList<>();
        int idx = Short.toUnsignedInt(mem.getShort((int) layout.availOffset() + 2));
        while ((deviceAvail & 0xffff) != idx) {
            heads.add((int) mem.getShort((int) (layout.availOffset() + 4 + 2 * (deviceAvail % SIZE))));
            deviceAvail++;
        }
        return heads;
    }

    private List<SplitVirtqueue.Buffer> deviceWalk(int head) {
        List<SplitVirtqueue.Buffer> chain = new ArrayList<>();
        long table = layout.descOffset();
        int i = head;
        short flags = mem.getShort((int) (table + 16L * i + 12));
        if ((flags & SplitVirtqueue.VIRTQ_DESC_F_INDIRECT) != 0) {
            table = mem.getLong((int) (table + 16L * i));
            i = 0;
        }
        while (true) {
            long at = table + 16L * i;
            flags = mem.getShort((int) at + 12);
            chain.add(new SplitVirtqueue.Buffer(mem.getLong((int) at), mem.getInt((int) at + 8),
                    (flags & SplitVirtqueue.VIRTQ_DESC_F_WRITE) != 0));
            if ((flags & SplitVirtqueue.VIRTQ_DESC_F_NEXT) == 0) {
                return chain;
            }
            i = mem.getShort((int) at + 14);
        }
    }

    private void deviceComplete(int head, int len) {
        int at = (int) (layout.usedOffset() + 4 + 8 * (deviceUsed % SIZE));
        mem.putInt(at, head).putInt(at + 4, len);
        deviceUsed++;
        mem.putShort((int) layout.usedOffset() + 2, (short) deviceUsed);
    }

    private static SplitVirtqueue.Buffer[] chain(Random rnd, int n) {
        SplitVirtqueue.Buffer[] b = new SplitVirtqueue.Buffer[n];
        for (int i = 0; i < n; i++) {
            b[i] = new SplitVirtqueue.Buffer(4096L * rnd.nextInt(100), 1 + rnd.nextInt(65536), rnd.nextBoolean());
        }
        return b;
    }

    private void randomTraffic(boolean indirect) {
        SplitVirtqueue vq = queue(false, indirect);
        Random rnd = new Random(indirect ? 1 : 2);
        Map<Integer, List<SplitVirtqueue.Buffer>> expected = new HashMap<>();
        List<Integer> inDevice = new ArrayList<>();
        for (int round = 0; round < 2000; round++) {
            if (rnd.nextBoolean()) {
                SplitVirtqueue.Buffer[] c = chain(rnd, 1 + rnd.nextInt(6));
                int head = vq.add(c, c.length);
                if (head >= 0) {
                    assertThat(expected).doesNotContainKey(head);
                    expected.put(head, List.of(c));
                } else {
                    assertThat(vq.freeDescriptors()).isLessThan(vq.cost(c.length));
                }
            }
            for (int head : deviceTakeAvailable()) {
                assertThat(deviceWalk(head)).isEqualTo(expected.get(head));
                inDevice.add(head);
            }
            Collections.shuffle(inDevice, rnd);
            int complete = rnd.nextInt(inDevice.size() + 1);
            for (int i = 0; i < complete; i++) {
                deviceComplete(inDevice.remove(inDevice.size() - 1), 0);
            }
            List<Integer> reaped = new ArrayList<>();
            vq.reap((head, len) -> reaped.add(head));
            reaped.forEach(expected::remove);
        }
        inDevice.forEach(h -> deviceComplete(h, 0));
        vq.reap((head, len) -> expected.remove(head));
        assertThat(expected).isEmpty();
        assertThat(vq.freeDescriptors()).isEqualTo(SIZE);
    }

    @Test
    void directChainsSurviveRandomOutOfOrderCompletion() {
        randomTraffic(false);
    }

    @Test
    void indirectChainsTakeOneDescriptorEach() {
        SplitVirtqueue vq = queue(false, true);
        SplitVirtqueue.Buffer[] c = chain(new Random(3), 5);
        for (int i = 0; i < SIZE; i++) {
            assertThat(vq.add(c, 5)).isEqualTo(i);
        }
        assertThat(vq.add(c, 5)).isEqualTo(-1);
        randomTrafficAfterReset(vq);
    }

    private void randomTrafficAfterReset(SplitVirtqueue vq) {
        vq.reset();
        deviceAvail = 0;
        deviceUsed = 0;
        assertThat(vq.freeDescriptors()).isEqualTo(SIZE);
        randomTraffic(true);
    }

    @Test
    void kickFollowsNoNotifyWithoutEventIdx() {
        SplitVirtqueue vq = queue(false, false);
        SplitVirtqueue.Buffer[] c = chain(new Random(4), 2);
        short before = vq.availIdx();
        vq.add(c, 2);
        assertThat(vq.needsKick(before)).isTrue();
        mem.putShort((int) layout.usedOffset(), (short) SplitVirtqueue.VIRTQ_USED_F_NO_NOTIFY);
        before = vq.availIdx();
        vq.add(c, 2);
        assertThat(vq.needsKick(before)).isFalse();
    }

    @Test
    void kickFollowsAvailEventWithEventIdx() {
        SplitVirtqueue vq = queue(true, false);
        SplitVirtqueue.Buffer[] c = chain(new Random(5), 1);
        int availEvent = (int) (layout.usedOffset() + 4 + 8 * SIZE);
        // The device asks to be kicked once entry 0 is published (avail_event = 0).
        short before = vq.availIdx();
        vq.add(c, 1);
        assertThat(vq.needsKick(before)).isTrue();
        // It now waits for index 5: adding entry 1 does not cross it.
        mem.putShort(availEvent, (short) 5);
        before = vq.availIdx();
        vq.add(c, 1);
        assertThat(vq.needsKick(before)).isFalse();
        // A batch that crosses 5 does.
        before = vq.availIdx();
        for (int i = 0; i < 4; i++) {
            vq.add(c, 1);
        }
        assertThat(vq.needsKick(before)).isTrue();
    }

    @Test
    void reapPublishesUsedEventWithEventIdx() {
        SplitVirtqueue vq = queue(true, false);
        SplitVirtqueue.Buffer[] c = chain(new Random(6), 1);
        vq.add(c, 1);
        vq.add(c, 1);
        for (int head : deviceTakeAvailable()) {
            deviceComplete(head, 0);
        }
        assertThat(vq.reap((h, l) -> { })).isEqualTo(2);
        assertThat(mem.getShort((int) (layout.availOffset() + 4 + 2 * SIZE))).isEqualTo((short) 2);
    }

    @Test
    void aHeadThatIsNotInFlightIsABrokenDevice() {
        SplitVirtqueue vq = queue(false, false);
        deviceComplete(7, 0);
        assertThatThrownBy(() -> vq.reap((h, l) -> { })).hasMessageContaining("descriptor 7, which is not in flight");
    }
}
