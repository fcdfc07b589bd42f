package org.spdksr.datapath.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Encodes and decodes the server side of the NBD wire format on a blocking byte channel (proto.md
 * "Fixed newstyle negotiation", "Option reply", "Transmission"). It holds no state; the caller
 * serialises writes to one channel.
 */
public final class NbdCodec {
    /**
     * Longest option data accepted. GO/INFO carry at most a 4096-byte name plus a list of 16-bit
     * info requests; anything larger is hostile or a protocol violation and ends the session.
     */
    static final int MAX_OPTION_DATA = 64 << 10;

    private NbdCodec() {
    }

    /** The server's greeting: NBDMAGIC, IHAVEOPT and the handshake flags. */
    public static void writeGreeting(WritableByteChannel ch, int handshakeFlags) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(18);
        b.putLong(NbdProtocol.NBDMAGIC).putLong(NbdProtocol.IHAVEOPT).putShort((short) handshakeFlags).flip();
        writeFully(ch, b);
    }

    public static int readClientFlags(ReadableByteChannel ch) throws IOException {
        return readFully(ch, 4).getInt();
    }

    /**
     * Reads one option request and decodes its data.
     *
     * @throws NbdProtocolException if the magic is wrong or the data is longer than any valid
     *         option: the session cannot continue
     */
    public static NbdOption readOption(ReadableByteChannel ch) throws IOException {
        ByteBuffer h = readFully(ch, 16);
        long magic = h.getLong();
        if (magic != NbdProtocol.IHAVEOPT) {
            throw new NbdProtocolException("option request without IHAVEOPT magic (got 0x" + Long.toHexString(magic) + ")");
        }
        int code = h.getInt();
        int length = h.getInt();
        if (length < 0 || length > MAX_OPTION_DATA) {
            throw new NbdProtocolException("option " + code + " carries " + Integer.toUnsignedString(length)
                    + " bytes of data, more than the " + MAX_OPTION_DATA + " this server accepts");
        }
        ByteBuffer data = readFully(ch, length);
        return decodeOption(code, data);
    }

    static NbdOption decodeOption(int code, ByteBuffer data) {
        switch (code) {
            case NbdProtocol.OPT_EXPORT_NAME: {
                String name = string(data, data.remaining());
                return name == null ? new NbdOption.Malformed(code, "export name is not valid UTF-8 or too long")
                        : new NbdOption.ExportName(name);
            }
            case NbdProtocol.OPT_ABORT:
                return new NbdOption.Abort();
            case NbdProtocol.OPT_LIST:
                return data.hasRemaining() ? new NbdOption.Malformed(code, "NBD_OPT_LIST must carry no data")
                        : new NbdOption.ListExports();
            case NbdProtocol.OPT_INFO:
            case NbdProtocol.OPT_GO:
                return decodeQuery(code, data);
            default:
                return new NbdOption.Unsupported(code);
        }
    }

    /** INFO/GO data: u32 name length, name, u16 count, count x u16 info types; nothing may trail. */
    private static NbdOption decodeQuery(int code, ByteBuffer data) {
        if (data.remaining() < 6) {
            return new NbdOption.Malformed(code, "option data shorter than the 6 bytes of an empty request");
        }
        int nameLength = data.getInt();
        if (nameLength < 0 || nameLength > data.remaining() - 2) {
            return new NbdOption.Malformed(code, "export name length " + Integer.toUnsignedString(nameLength)
                    + " exceeds the option data");
        }
        String name = string(data, nameLength);
        if (name == null) {
            return new NbdOption.Malformed(code, "export name is not valid UTF-8 or too long");
        }
        int count = Short.toUnsignedInt(data.getShort());
        if (data.remaining() != 2 * count) {
            return new NbdOption.Malformed(code, count + " information requests announced but "
                    + data.remaining() + " bytes follow");
        }
        List<Integer> requests = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            requests.add(Short.toUnsignedInt(data.getShort()));
        }
        return new NbdOption.Query(code == NbdProtocol.OPT_GO, name, requests);
    }

    /** Decodes {@code length} bytes as strict UTF-8 without NUL (proto.md "Conventions"); null if invalid. */
    private static String string(ByteBuffer data, int length) {
        if (length > NbdProtocol.MAX_STRING_BYTES) {
            return null;
        }
        ByteBuffer slice = data.slice().limit(length);
        data.position(data.position() + length);
        try {
            String s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(slice).toString();
            return s.indexOf('\0') >= 0 ? null : s;
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    public static void writeOptionReply(WritableByteChannel ch, int option, NbdOptionReply reply) throws IOException {
        ByteBuffer payload = payload(reply).flip();
        ByteBuffer header = ByteBuffer.allocate(20).putLong(NbdProtocol.OPTION_REPLY_MAGIC).putInt(option)
                .putInt(reply.type()).putInt(payload.remaining()).flip();
        writeFully(ch, header, payload);
    }

    // Java 17 has no pattern matching for switch (a preview there), hence the instanceof chain.
    private static ByteBuffer payload(NbdOptionReply reply) {
        if (reply instanceof NbdOptionReply.Ack) {
            return ByteBuffer.allocate(0);
        } else if (reply instanceof NbdOptionReply.Server s) {
            byte[] name = s.name().getBytes(StandardCharsets.UTF_8);
            return ByteBuffer.allocate(4 + name.length).putInt(name.length).put(name);
        } else if (reply instanceof NbdOptionReply.ExportInfo i) {
            return ByteBuffer.allocate(12).putShort((short) NbdProtocol.INFO_EXPORT).putLong(i.size())
                    .putShort((short) i.transmissionFlags());
        } else if (reply instanceof NbdOptionReply.BlockSizeInfo i) {
            return ByteBuffer.allocate(14).putShort((short) NbdProtocol.INFO_BLOCK_SIZE).putInt(i.minimum())
                    .putInt(i.preferred()).putInt(i.maximum());
        } else if (reply instanceof NbdOptionReply.DescriptionInfo i) {
            byte[] text = truncated(i.description());
            return ByteBuffer.allocate(2 + text.length).putShort((short) NbdProtocol.INFO_DESCRIPTION).put(text);
        } else if (reply instanceof NbdOptionReply.Error e) {
            byte[] text = truncated(e.message());
            return ByteBuffer.allocate(text.length).put(text);
        }
        throw new IllegalArgumentException("unknown option reply " + reply);
    }

    /** Strings on the wire are capped at 4096 bytes of UTF-8; a longer one is cut at a character boundary. */
    static byte[] truncated(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length <= NbdProtocol.MAX_STRING_BYTES) {
            return b;
        }
        int cut = NbdProtocol.MAX_STRING_BYTES;
        while (cut > 0 && (b[cut] & 0xC0) == 0x80) {
            cut--; // b[cut] continues a multi-byte character: cut before that character
        }
        return Arrays.copyOf(b, cut);
    }

    /** The reply to NBD_OPT_EXPORT_NAME: size, transmission flags and, unless NO_ZEROES, 124 zero bytes. */
    public static void writeExportNameReply(WritableByteChannel ch, long size, int transmissionFlags, boolean noZeroes)
            throws IOException {
        ByteBuffer b = ByteBuffer.allocate(noZeroes ? 10 : 134);
        b.putLong(size).putShort((short) transmissionFlags);
        b.position(b.limit()).flip();
        writeFully(ch, b);
    }

    /**
     * Reads one request header.
     *
     * @return the command, or {@code null} if the client closed the connection between requests
     * @throws NbdProtocolException if the magic is wrong: the stream is out of step and must be dropped
     */
    public static NbdCommand readCommand(ReadableByteChannel ch) throws IOException {
        ByteBuffer h = ByteBuffer.allocate(NbdProtocol.REQUEST_HEADER_SIZE);
        if (!fill(ch, h, true)) {
            return null;
        }
        h.flip();
        int magic = h.getInt();
        if (magic != NbdProtocol.REQUEST_MAGIC) {
            throw new NbdProtocolException("request without the request magic (got 0x" + Integer.toHexString(magic) + ")");
        }
        int flags = Short.toUnsignedInt(h.getShort());
        int type = Short.toUnsignedInt(h.getShort());
        long handle = h.getLong();
        long offset = h.getLong(); // unsigned on the wire: a negative long is beyond any device
        long length = Integer.toUnsignedLong(h.getInt());
        return switch (type) {
            case NbdProtocol.CMD_READ -> new NbdCommand.Read(handle, flags, offset, length);
            case NbdProtocol.CMD_WRITE -> new NbdCommand.Write(handle, flags, offset, length);
            case NbdProtocol.CMD_DISC -> new NbdCommand.Disconnect(handle, flags);
            case NbdProtocol.CMD_FLUSH -> new NbdCommand.Flush(handle, flags);
            case NbdProtocol.CMD_TRIM -> new NbdCommand.Trim(handle, flags, offset, length);
            default -> new NbdCommand.Unknown(handle, flags, type, offset, length);
        };
    }

    /** The 16-byte simple reply header; a successful read's data follows it. */
    public static ByteBuffer simpleReplyHeader(long handle, int error) {
        return ByteBuffer.allocate(NbdProtocol.SIMPLE_REPLY_HEADER_SIZE).putInt(NbdProtocol.SIMPLE_REPLY_MAGIC)
                .putInt(error).putLong(handle).flip();
    }

    public static ByteBuffer readFully(ReadableByteChannel ch, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        fill(ch, b, false);
        return b.flip();
    }

    /**
     * Fills {@code b} to its limit. With {@code eofAllowed}, end of stream before the first byte
     * returns false; end of stream anywhere else is an {@link EOFException}.
     */
    public static boolean fill(ReadableByteChannel ch, ByteBuffer b, boolean eofAllowed) throws IOException {
        boolean first = true;
        while (b.hasRemaining()) {
            int n = ch.read(b);
            if (n < 0) {
                if (first && eofAllowed) {
                    return false;
                }
                throw new EOFException("the client closed the connection in the middle of a message");
            }
            if (n > 0) {
                first = false;
            }
        }
        return true;
    }

    /** Reads and drops {@code length} bytes (the payload of a refused write), keeping the stream in step. */
    public static void skip(ReadableByteChannel ch, long length) throws IOException {
        ByteBuffer scratch = ByteBuffer.allocate((int) Math.min(length, 1 << 20));
        long left = length;
        while (left > 0) {
            scratch.clear().limit((int) Math.min(left, scratch.capacity()));
            fill(ch, scratch, false);
            left -= scratch.limit();
        }
    }

    public static void writeFully(WritableByteChannel ch, ByteBuffer... buffers) throws IOException {
        for (ByteBuffer b : buffers) {
            while (b.hasRemaining()) {
                ch.write(b);
            }
        }
    }
}
