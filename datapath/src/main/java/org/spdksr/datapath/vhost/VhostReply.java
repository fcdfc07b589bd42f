package org.spdksr.datapath.vhost;

/** What the back end answers to a {@link VhostMessage} (vhost-user spec, "Message specification"). */
sealed interface VhostReply {

    /** A u64 payload: features, queue count, or a REPLY_ACK status (0 = success). */
    record U64(long value) implements VhostReply {
    }

    /** A vring state: the index and the base for GET_VRING_BASE. */
    record VringState(int index, int num) implements VhostReply {
    }

    /** The device configuration space bytes of GET_CONFIG. */
    record Config(int offset, byte[] bytes) implements VhostReply {
        public Config {
            bytes = bytes.clone();
        }

        @Override
        public byte[] bytes() {
            return bytes.clone();
        }
    }
}
