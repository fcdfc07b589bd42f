package org.spdksr.datapath.nbd;

/** One option reply of the negotiation phase, encoded by {@link NbdCodec#writeOptionReply}. */
public sealed interface NbdOptionReply {
    /** The reply type on the wire. */
    int type();

    /** NBD_REP_ACK: the option is done. */
    record Ack() implements NbdOptionReply {
        @Override
        public int type() {
            return NbdProtocol.REP_ACK;
        }
    }

    /** NBD_REP_SERVER: one export of NBD_OPT_LIST. */
    record Server(String name) implements NbdOptionReply {
        @Override
        public int type() {
            return NbdProtocol.REP_SERVER;
        }
    }

    /** NBD_REP_INFO / NBD_INFO_EXPORT: size and transmission flags. */
    record ExportInfo(long size, int transmissionFlags) implements NbdOptionReply {
        @Override
        public int type() {
            return NbdProtocol.REP_INFO;
        }
    }

    /** NBD_REP_INFO / NBD_INFO_BLOCK_SIZE: minimum, preferred and maximum block sizes. */
    record BlockSizeInfo(int minimum, int preferred, int maximum) implements NbdOptionReply {
        @Override
        public int type() {
            return NbdProtocol.REP_INFO;
        }
    }

    /** NBD_REP_INFO / NBD_INFO_DESCRIPTION: a human-readable description. */
    record DescriptionInfo(String description) implements NbdOptionReply {
        @Override
        public int type() {
            return NbdProtocol.REP_INFO;
        }
    }

    /** An error reply (bit 31 set) with a message for a person. */
    record Error(int type, String message) implements NbdOptionReply {
        public Error {
            if (type >= 0) {
                throw new IllegalArgumentException("option error type 0x" + Integer.toHexString(type) + " lacks bit 31");
            }
        }
    }
}
