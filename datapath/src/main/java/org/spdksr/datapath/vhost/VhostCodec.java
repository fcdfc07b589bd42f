package org.spdksr.datapath.vhost;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.spdksr.datapath.vhost.VhostMessage.ReplyKind;

/**
 * Wire format of vhost-user messages (vhost-user spec, "Message format"): a 12-byte header of
 * little-endian u32 {@code request}, {@code flags}, {@code size}, then {@code size} bytes of
 * payload. Flags: bits 0-1 the version (1), bit 2 "reply", bit 3 "need reply" (REPLY_ACK).
 * No I/O here: {@link VhostUserConnection} moves the bytes.
 */
final class VhostCodec {
    static final int HEADER_SIZE = 12;
    static final int VERSION = 0x1;
    static final int FLAG_REPLY = 0x4;
    static final int FLAG_NEED_REPLY = 0x8;
    /** Set in the u64 of SET_VRING_KICK/CALL when no descriptor is attached (spec: "Ring states", bit 8). */
    static final long VRING_NOFD = 0x100;
    /** Payload size limit we accept in a reply: GET_CONFIG is at most 256 bytes of config plus its header. */
    static final int MAX_REPLY_PAYLOAD = 4096;

    private VhostCodec() {
    }

    /** Header and payload of {@code message}; {@code needReply} sets the REPLY_ACK flag. */
    static byte[] encode(VhostMessage message, boolean needReply) {
        ByteBuffer payload = payload(message);
        payload.flip();
        ByteBuffer out = ByteBuffer.allocate(HEADER_SIZE + payload.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(message.code());
        out.putInt(VERSION | (needReply ? FLAG_NEED_REPLY : 0));
        out.putInt(payload.remaining());
        out.put(payload);
        return out.array();
    }

    private static ByteBuffer payload(VhostMessage message) {
        ByteBuffer p = ByteBuffer.allocate(8 + 32 * 8).order(ByteOrder.LITTLE_ENDIAN);
        // Java 17 has no pattern-matching switch (a preview there), hence the instanceof chain.
        if (message instanceof VhostMessage.SetFeatures m) {
            p.putLong(m.features());
        } else if (message instanceof VhostMessage.SetProtocolFeatures m) {
            p.putLong(m.features());
        } else if (message instanceof VhostMessage.SetMemTable m) {
            // struct VhostUserMemory: u32 nregions, u32 padding, then the regions.
            p.putInt(m.regions().size()).putInt(0);
            for (VhostMessage.MemoryRegion r : m.regions()) {
                p.putLong(r.guestAddress()).putLong(r.size()).putLong(r.userAddress()).putLong(r.mmapOffset());
            }
        } else if (message instanceof VhostMessage.SetVringNum m) {
            p.putInt(m.index()).putInt(m.num());
        } else if (message instanceof VhostMessage.SetVringBase m) {
            p.putInt(m.index()).putInt(m.base());
        } else if (message instanceof VhostMessage.GetVringBase m) {
            p.putInt(m.index()).putInt(0);
        } else if (message instanceof VhostMessage.SetVringEnable m) {
            p.putInt(m.index()).putInt(m.enable() ? 1 : 0);
        } else if (message instanceof VhostMessage.SetVringAddr m) {
            // struct vhost_vring_addr: index, flags, desc, used, avail, log (no logging: 0).
            p.putInt(m.index()).putInt(0).putLong(m.descriptors()).putLong(m.used()).putLong(m.available()).putLong(0);
        } else if (message instanceof VhostMessage.SetVringKick m) {
            p.putLong(m.index() & 0xffL);
        } else if (message instanceof VhostMessage.SetVringCall m) {
            p.putLong(m.index() & 0xffL);
        } else if (message instanceof VhostMessage.GetConfig m) {
            // struct VhostUserConfig: offset, size, flags, then size bytes (zero in the request).
            p.putInt(m.offset()).putInt(m.size()).putInt(0).put(new byte[m.size()]);
        }
        // GET_FEATURES, GET_PROTOCOL_FEATURES, GET_QUEUE_NUM, SET_OWNER: no payload.
        return p;
    }

    /** Checks a reply header against the request it answers; returns the payload size to read. */
    static int replyPayloadSize(VhostMessage request, byte[] header) throws IOException {
        ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
        int code = h.getInt();
        int flags = h.getInt();
        int size = h.getInt();
        if (code != request.code()) {
            throw new IOException("vhost-user back end answered request " + request.code() + " (" + name(request)
                    + ") with a reply to request " + code + "; the connection is out of step");
        }
        if ((flags & 0x3) != VERSION || (flags & FLAG_REPLY) == 0) {
            throw new IOException("vhost-user reply to " + name(request) + " has flags 0x" + Integer.toHexString(flags)
                    + " (expected version 1 with the reply bit)");
        }
        if (size < 0 || size > MAX_REPLY_PAYLOAD) {
            throw new IOException("vhost-user reply to " + name(request) + " announces " + size + " bytes of payload");
        }
        return size;
    }

    /** Decodes the payload of a reply of the given kind (U64 also for REPLY_ACK). */
    static VhostReply decodeReply(VhostMessage request, ReplyKind kind, byte[] payload) throws IOException {
        ByteBuffer p = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
        switch (kind) {
            case U64 -> {
                expect(request, payload, 8);
                return new VhostReply.U64(p.getLong());
            }
            case VRING_STATE -> {
                expect(request, payload, 8);
                return new VhostReply.VringState(p.getInt(), p.getInt());
            }
            case CONFIG -> {
                if (payload.length < 12) {
                    throw new IOException("vhost-user GET_CONFIG reply has " + payload.length + " bytes, less than its 12-byte header");
                }
                int offset = p.getInt();
                int size = p.getInt();
                p.getInt(); // flags
                int asked = request instanceof VhostMessage.GetConfig g ? g.size() : size;
                if (size != payload.length - 12 || size != asked) {
                    // libvhost-user answers a GET_CONFIG it cannot serve with a zero-size config.
                    throw new IOException("vhost-user back end failed GET_CONFIG: it returned " + (payload.length - 12)
                            + " bytes of configuration, announced " + size + ", and " + asked
                            + " were asked for; the back end may not support that many config bytes");
                }
                byte[] bytes = new byte[size];
                p.get(bytes);
                return new VhostReply.Config(offset, bytes);
            }
            default -> throw new IllegalArgumentException("no reply expected for " + name(request));
        }
    }

    private static void expect(VhostMessage request, byte[] payload, int size) throws IOException {
        if (payload.length != size) {
            throw new IOException("vhost-user reply to " + name(request) + " has " + payload.length + " bytes of payload, expected " + size);
        }
    }

    private static final String[] NAMES = {null, "GET_FEATURES", "SET_FEATURES", "SET_OWNER", "RESET_OWNER",
        "SET_MEM_TABLE", "SET_LOG_BASE", "SET_LOG_FD", "SET_VRING_NUM", "SET_VRING_ADDR", "SET_VRING_BASE",
        "GET_VRING_BASE", "SET_VRING_KICK", "SET_VRING_CALL", "SET_VRING_ERR", "GET_PROTOCOL_FEATURES",
        "SET_PROTOCOL_FEATURES", "GET_QUEUE_NUM", "SET_VRING_ENABLE", "SEND_RARP", "NET_SET_MTU",
        "SET_BACKEND_REQ_FD", "IOTLB_MSG", "SET_VRING_ENDIAN", "GET_CONFIG"};

    /** The spec's name of a message, for errors. */
    static String name(VhostMessage message) {
        int code = message.code();
        return code > 0 && code < NAMES.length ? NAMES[code] : "request " + code;
    }
}
