package org.spdksr.datapath.vhost;

import java.util.List;

/**
 * The front-end requests this implementation sends (vhost-user spec, "Front-end message types"),
 * one record each. {@link VhostCodec} turns them into bytes; {@link #fds()} travel beside them as
 * {@code SCM_RIGHTS}. {@link #reply()} says which reply the spec defines, if any.
 */
sealed interface VhostMessage {

    /** Request code (the spec's numbering). */
    int code();

    /** What the back end answers; {@link ReplyKind#NONE} unless REPLY_ACK asks for an ack. */
    ReplyKind reply();

    /** Descriptors attached to the message. */
    default int[] fds() {
        return new int[0];
    }

    enum ReplyKind { NONE, U64, VRING_STATE, CONFIG }

    record GetFeatures() implements VhostMessage {
        public int code() { return 1; }
        public ReplyKind reply() { return ReplyKind.U64; }
    }

    record SetFeatures(long features) implements VhostMessage {
        public int code() { return 2; }
        public ReplyKind reply() { return ReplyKind.NONE; }
    }

    record SetOwner() implements VhostMessage {
        public int code() { return 3; }
        public ReplyKind reply() { return ReplyKind.NONE; }
    }

    /** One region of the memory table: guest address, size, front-end address, offset into the fd. */
    record MemoryRegion(long guestAddress, long size, long userAddress, long mmapOffset) {
    }

    record SetMemTable(List<MemoryRegion> regions, int[] regionFds) implements VhostMessage {
        public SetMemTable {
            regions = List.copyOf(regions);
            regionFds = regionFds.clone();
            if (regions.size() != regionFds.length || regions.isEmpty() || regions.size() > 8) {
                throw new IllegalArgumentException("SET_MEM_TABLE takes 1..8 regions, one descriptor each");
            }
        }
        public int code() { return 5; }
        public ReplyKind reply() { return ReplyKind.NONE; }
        @Override
        public int[] fds() { return regionFds.clone(); }
    }

    record SetVringNum(int index, int num) implements VhostMessage {
        public int code() { return 8; }
        public ReplyKind reply() { return ReplyKind.NONE; }
    }

    /** Ring addresses in the front end's address space (the spec's "user addresses"). */
    record SetVringAddr(int index, long descriptors, long used, long available) implements VhostMessage {
        public int code() { return 9; }
        public ReplyKind reply() { return ReplyKind.NONE; }
    }

    record SetVringBase(int index, int base) implements VhostMessage {
        public int code() { return 10; }
        public ReplyKind reply() { return ReplyKind.NONE; }
    }

    /** Stops the ring and returns the next available index the back end would have read. */
    record GetVringBase(int index) implements VhostMessage {
        public int code() { return 11; }
        public ReplyKind reply() { return ReplyKind.VRING_STATE; }
    }

    record SetVringKick(int index, int fd) implements VhostMessage {
        public int code() { return 12; }
        public ReplyKind reply() { return ReplyKind.NONE; }
        @Override
        public int[] fds() { return new int[] {fd}; }
    }

    record SetVringCall(int index, int fd) implements VhostMessage {
        public int code() { return 13; }
        public ReplyKind reply() { return ReplyKind.NONE; }
        @Override
        public int[] fds() { return new int[] {fd}; }
    }

    record GetProtocolFeatures() implements VhostMessage {
        public int code() { return 15; }
        public ReplyKind reply() { return ReplyKind.U64; }
    }

    record SetProtocolFeatures(long features) implements VhostMessage {
        public int code() { return 16; }
        public ReplyKind reply() { return ReplyKind.NONE; }
    }

    record GetQueueNum() implements VhostMessage {
        public int code() { return 17; }
        public ReplyKind reply() { return ReplyKind.U64; }
    }

    record SetVringEnable(int index, boolean enable) implements VhostMessage {
        public int code() { return 18; }
        public ReplyKind reply() { return ReplyKind.NONE; }
    }

    record GetConfig(int offset, int size) implements VhostMessage {
        public int code() { return 24; }
        public ReplyKind reply() { return ReplyKind.CONFIG; }
    }
}
