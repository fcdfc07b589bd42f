package org.spdksr.datapath.vhost;

import static org.spdksr.datapath.vhost.VirtioFeatures.has;

import java.io.IOException;
import java.util.List;

/**
 * The front-end start-up sequence on a fresh connection, in the order QEMU uses (vhost-user
 * spec, "Starting and stopping rings", "Multiple queue support"): feature negotiation, owner,
 * queue count, config; then memory table and rings. Run once at open and again after every
 * reconnect: a restarted back end knows nothing of the previous session.
 */
final class VhostHandshake {
    private VhostHandshake() {
    }

    /** What one negotiation settled. */
    record Negotiated(long features, long protocolFeatures, int queues, VirtioBlkConfig config) {
        boolean has(int bit) {
            return VirtioFeatures.has(features, bit);
        }
    }

    /**
     * Negotiates features and reads the virtio-blk config.
     *
     * @throws IOException if the back end lacks VIRTIO_F_VERSION_1 or the CONFIG protocol
     *         feature (without them this front end cannot know the layout or the capacity)
     */
    static Negotiated negotiate(VhostUserConnection c, int maxQueues) throws IOException {
        long offered = c.callU64(new VhostMessage.GetFeatures());
        if (!has(offered, VirtioFeatures.F_VERSION_1)) {
            throw new IOException("vhost-user back end at " + c.path() + " does not offer VIRTIO_F_VERSION_1 (features 0x"
                    + Long.toHexString(offered) + "); only virtio 1.x (little-endian) devices are supported");
        }
        if (!has(offered, VirtioFeatures.VHOST_USER_F_PROTOCOL_FEATURES)) {
            throw new IOException("vhost-user back end at " + c.path() + " does not offer VHOST_USER_F_PROTOCOL_FEATURES (features 0x"
                    + Long.toHexString(offered) + "), so its virtio-blk config (capacity) cannot be read; use a newer back end");
        }
        // Spec, "Protocol features": GET_PROTOCOL_FEATURES is allowed once the bit is offered, before SET_FEATURES.
        long protocol = c.callU64(new VhostMessage.GetProtocolFeatures()) & VirtioFeatures.WANTED_PROTOCOL;
        c.call(new VhostMessage.SetProtocolFeatures(protocol));
        if (has(protocol, VirtioFeatures.PROTOCOL_F_REPLY_ACK)) {
            c.enableReplyAck();
        }
        if (!has(protocol, VirtioFeatures.PROTOCOL_F_CONFIG)) {
            throw new IOException("vhost-user back end at " + c.path()
                    + " does not offer the CONFIG protocol feature, so its capacity cannot be read; use a newer back end");
        }
        c.call(new VhostMessage.SetOwner());
        int queueNum = has(protocol, VirtioFeatures.PROTOCOL_F_MQ)
                ? (int) Math.min(c.callU64(new VhostMessage.GetQueueNum()), 256) : 1;
        VhostReply.Config reply = (VhostReply.Config) c.call(new VhostMessage.GetConfig(0, VirtioBlkConfig.SIZE));
        VirtioBlkConfig config = VirtioBlkConfig.parse(reply.bytes());
        long features = offered & VirtioFeatures.WANTED;
        c.call(new VhostMessage.SetFeatures(features));
        int configQueues = has(features, VirtioFeatures.BLK_F_MQ) ? Math.max(1, config.numQueues()) : 1;
        int queues = Math.max(1, Math.min(maxQueues, Math.min(queueNum, configQueues)));
        return new Negotiated(features, protocol, queues, config);
    }

    /** SET_MEM_TABLE with the one shared region, its address doubling as guest address. */
    static void registerMemory(VhostUserConnection c, SharedRegion region) throws IOException {
        long address = region.address();
        c.call(new VhostMessage.SetMemTable(List.of(new VhostMessage.MemoryRegion(address, region.size(), address, 0)),
                new int[] {region.fd()}));
    }

    /**
     * Registers one ring at base 0 and enables it. The call fd goes before the kick fd because
     * libvhost-user starts serving a ring as soon as it has its kick fd.
     */
    static void startRing(VhostUserConnection c, BlkQueue q, boolean protocolFeatures) throws IOException {
        int i = q.index();
        SplitVirtqueue vq = q.virtqueue();
        SplitVirtqueue.Layout l = vq.layout();
        c.call(new VhostMessage.SetVringNum(i, l.size()));
        c.call(new VhostMessage.SetVringBase(i, 0));
        c.call(new VhostMessage.SetVringAddr(i, vq.address(l.descOffset()), vq.address(l.usedOffset()),
                vq.address(l.availOffset())));
        c.call(new VhostMessage.SetVringCall(i, q.callFd().fd()));
        c.call(new VhostMessage.SetVringKick(i, q.kickFd().fd()));
        if (protocolFeatures) {
            // Spec, "Ring states": with VHOST_USER_F_PROTOCOL_FEATURES rings start disabled.
            c.call(new VhostMessage.SetVringEnable(i, true));
        }
    }

    /** GET_VRING_BASE: the back end stops the ring and reports where it stopped. */
    static int stopRing(VhostUserConnection c, int index) throws IOException {
        return ((VhostReply.VringState) c.call(new VhostMessage.GetVringBase(index))).num();
    }
}
