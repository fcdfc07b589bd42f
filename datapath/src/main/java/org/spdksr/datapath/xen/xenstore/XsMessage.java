package org.spdksr.datapath.xen.xenstore;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One xenstore message: the 16-byte {@code xsd_sockmsg} header fields plus the payload (blkif.md §4.1).
 * {@code type} is the raw wire number so that a server can answer unknown types with ENOSYS.
 */
public record XsMessage(int type, int reqId, int txId, byte[] payload) {

    public XsMessage {
        payload = payload.clone();
    }

    public static XsMessage of(XsMessageType type, int reqId, int txId, byte[] payload) {
        return new XsMessage(type.code(), reqId, txId, payload);
    }

    @Override
    public byte[] payload() {
        return payload.clone();
    }

    public int length() {
        return payload.length;
    }

    /** Payload as NUL-separated strings; a trailing NUL does not produce an empty last element. */
    public List<String> strings() {
        return splitNul(payload);
    }

    public static List<String> splitNul(byte[] bytes) {
        List<String> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == 0) {
                out.add(new String(bytes, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        if (start < bytes.length) {
            out.add(new String(bytes, start, bytes.length - start, StandardCharsets.UTF_8));
        }
        return out;
    }

    /** Joins strings, each followed by a NUL: the encoding of path, token and perm lists (blkif.md §4.2). */
    public static byte[] joinNul(String... parts) {
        int size = 0;
        byte[][] encoded = new byte[parts.length][];
        for (int i = 0; i < parts.length; i++) {
            encoded[i] = parts[i].getBytes(StandardCharsets.UTF_8);
            size += encoded[i].length + 1;
        }
        byte[] out = new byte[size];
        int pos = 0;
        for (byte[] e : encoded) {
            System.arraycopy(e, 0, out, pos, e.length);
            pos += e.length + 1;
        }
        return out;
    }
}
