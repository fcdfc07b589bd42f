package org.spdksr.plugin.protocol;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Reads the {@code --json} request from stdin (smapiv3.md §3.1) into a JSON tree, refusing with
 * {@code Invalid_arguments} what no xapi-storage-script call can be: more than {@link #LIMIT}
 * bytes, bytes that are not UTF-8 (RFC 8259 §8.1: JSON between systems is UTF-8), JSON
 * that does not parse, or an object that names an argument twice (which of the two is meant?).
 */
final class RequestReader {
    /**
     * The largest request read. The biggest real calls (SR.create with a device-config, Volume.set
     * of a key xapi writes, §5) are a few KiB; 4 MiB leaves three orders of magnitude of room while
     * keeping a hostile stdin from exhausting the JVM's heap (it used to end in OutOfMemoryError
     * with nothing on stdout).
     */
    static final int LIMIT = 4 << 20;

    /**
     * How much of an oversized request is read and thrown away before answering, so that a
     * caller writing all of stdin before reading stdout gets the error record, not EPIPE. A caller
     * that writes more than this is not xapi; it gets the answer on a pipe it may have closed.
     */
    static final long DRAIN_LIMIT = 1L << 30;

    private final ObjectMapper json;

    RequestReader(ObjectMapper json) {
        this.json = json;
    }

    JsonNode read(MethodSpec spec, InputStream stdin) throws IOException {
        // Read to EOF: xapi-storage-script sends no trailing newline and then closes stdin (§3.1).
        byte[] bytes = stdin.readNBytes(LIMIT + 1);
        if (bytes.length > LIMIT) {
            long drained = drain(stdin);
            throw ArgumentDecoder.invalid(spec, "stdin holds " + (drained >= DRAIN_LIMIT ? "more than " : "")
                    + (bytes.length + drained) + " bytes, more than the " + (LIMIT >> 20) + " MiB an SMAPIv3 "
                    + "call is allowed (the largest real ones are a few KiB); nothing was done");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            throw ArgumentDecoder.invalid(spec, "stdin is not UTF-8 (byte " + firstBadByte(bytes)
                    + " is not part of a UTF-8 character); JSON must be UTF-8 (RFC 8259 §8.1) and nothing was done");
        }
        try (JsonParser parser = json.createParser(text)) {
            // Last-one-wins would silently pick one of two conflicting values.
            parser.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
            JsonNode tree = json.readTree(parser);
            if (parser.nextToken() != null) {
                throw ArgumentDecoder.invalid(spec, "stdin holds more than one JSON value");
            }
            return tree;
        } catch (JsonProcessingException e) {
            throw ArgumentDecoder.invalid(spec, "stdin is not valid JSON (" + e.getOriginalMessage() + ")");
        }
    }

    private static long drain(InputStream stdin) throws IOException {
        long total = 0;
        byte[] buffer = new byte[1 << 16];
        int n;
        while (total < DRAIN_LIMIT && (n = stdin.read(buffer)) > 0) {
            total += n;
        }
        return total;
    }

    /** The offset of the first byte that does not decode, for the message. */
    private static int firstBadByte(byte[] bytes) {
        var decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        var out = java.nio.CharBuffer.allocate(Math.max(16, bytes.length));
        decoder.decode(in, out, true);
        return in.position();
    }
}
