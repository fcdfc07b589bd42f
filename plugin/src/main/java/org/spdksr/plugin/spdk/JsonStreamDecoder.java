package org.spdksr.plugin.spdk;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteArrayFeeder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.util.TokenBuffer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Cuts a byte stream into top-level JSON values, whatever the write boundaries: a value may come
 * in pieces, several may come in one read, with or without whitespace between them. Neither side
 * of SPDK's JSON-RPC has length prefixes or delimiters (spdk-rpc.md §1), so nothing here relies on
 * the newline spdk_tgt happens to write after each reply.
 */
public final class JsonStreamDecoder implements AutoCloseable {
    private final ObjectMapper mapper;
    private final JsonParser parser;
    private final ByteArrayFeeder feeder;
    private TokenBuffer current;
    private int depth;
    private long fed;
    private long valueEnd;
    private long tokens;

    public JsonStreamDecoder(ObjectMapper mapper) throws IOException {
        this.mapper = mapper;
        this.parser = mapper.getFactory().createNonBlockingByteArrayParser();
        this.feeder = (ByteArrayFeeder) parser.getNonBlockingInputFeeder();
    }

    /**
     * Adds bytes and returns every value they complete, in order.
     *
     * @throws IOException if the bytes are not JSON (the stream cannot be resynchronised after that)
     */
    public List<JsonNode> feed(byte[] bytes, int offset, int length) throws IOException {
        feeder.feedInput(bytes, offset, offset + length);
        fed += length;
        List<JsonNode> values = new ArrayList<>();
        JsonToken token;
        while ((token = parser.nextToken()) != JsonToken.NOT_AVAILABLE && token != null) {
            if (current == null) {
                current = new TokenBuffer(parser);
                tokens = 0;
            }
            current.copyCurrentEvent(parser);
            tokens++;
            if (token.isStructStart()) {
                depth++;
            } else if (token.isStructEnd()) {
                depth--;
            }
            if (depth == 0) {
                try (JsonParser replay = current.asParser(mapper)) {
                    values.add(mapper.readTree(replay));
                }
                current = null;
                valueEnd = parser.currentLocation().getByteOffset();
            }
        }
        return values;
    }

    /** Bytes received since the end of the last complete value (what a server has to buffer). */
    public long pendingBytes() {
        return fed - valueEnd;
    }

    /** JSON tokens of the value being read so far. */
    public long pendingTokens() {
        return current == null ? 0 : tokens;
    }

    @Override
    public void close() throws IOException {
        parser.close();
    }
}
