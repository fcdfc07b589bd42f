package org.spdksr.datapath.vhost;

/**
 * Feature bit numbers used here: device-independent ones (virtio 1.2 §6), virtio-blk ones
 * (§5.2.3), the vhost-user bit and protocol features (vhost-user spec, "Protocol features").
 */
final class VirtioFeatures {
    static final int BLK_F_SIZE_MAX = 1;
    static final int BLK_F_SEG_MAX = 2;
    static final int BLK_F_RO = 5;
    static final int BLK_F_BLK_SIZE = 6;
    static final int BLK_F_FLUSH = 9;
    static final int BLK_F_MQ = 12;
    static final int BLK_F_DISCARD = 13;
    static final int BLK_F_WRITE_ZEROES = 14;
    static final int RING_F_INDIRECT_DESC = 28;
    static final int RING_F_EVENT_IDX = 29;
    static final int VHOST_USER_F_PROTOCOL_FEATURES = 30;
    static final int F_VERSION_1 = 32;

    /** Everything this front end can drive; the negotiated set is this AND what the back end offers. */
    static final long WANTED = bit(BLK_F_SIZE_MAX) | bit(BLK_F_SEG_MAX) | bit(BLK_F_RO) | bit(BLK_F_BLK_SIZE)
            | bit(BLK_F_FLUSH) | bit(BLK_F_MQ) | bit(BLK_F_DISCARD) | bit(BLK_F_WRITE_ZEROES)
            | bit(RING_F_INDIRECT_DESC) | bit(RING_F_EVENT_IDX) | bit(VHOST_USER_F_PROTOCOL_FEATURES) | bit(F_VERSION_1);

    static final int PROTOCOL_F_MQ = 0;
    static final int PROTOCOL_F_REPLY_ACK = 3;
    static final int PROTOCOL_F_CONFIG = 9;

    static final long WANTED_PROTOCOL = bit(PROTOCOL_F_MQ) | bit(PROTOCOL_F_REPLY_ACK) | bit(PROTOCOL_F_CONFIG);

    private VirtioFeatures() {
    }

    static long bit(int n) {
        return 1L << n;
    }

    static boolean has(long features, int n) {
        return (features & bit(n)) != 0;
    }
}
