package org.spdksr.plugin.spdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class JsonStreamDecoderTest {
    private final ObjectMapper mapper = new ObjectMapper();

    private static final String STREAM = "  {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"a\":[1,2,{\"b\":\"}{\"}]}}\n"
            + "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"error\":{\"code\":-19,\"message\":\"No such device\"}}"
            + "{\"id\":3,\"result\":true}\n\n";

    /** Wherever the stream is cut, the same three values come out (spdk-rpc.md §1: no framing). */
    @Property(tries = 200)
    void valuesDoNotDependOnReadBoundaries(@ForAll @IntRange(min = 1, max = 40) int chunk) throws Exception {
        byte[] bytes = STREAM.getBytes(StandardCharsets.UTF_8);
        List<JsonNode> values = new ArrayList<>();
        try (JsonStreamDecoder decoder = new JsonStreamDecoder(mapper)) {
            for (int i = 0; i < bytes.length; i += chunk) {
                values.addAll(decoder.feed(bytes, i, Math.min(chunk, bytes.length - i)));
            }
            assertThat(decoder.pendingBytes()).isLessThanOrEqualTo(2);
        }
        assertThat(values).extracting(v -> v.get("id").asText()).containsExactly("1", "x", "3");
        assertThat(values.get(0).at("/result/a/2/b").asText()).isEqualTo("}{");
    }

    @Test
    void malformedInputFails() throws Exception {
        try (JsonStreamDecoder decoder = new JsonStreamDecoder(mapper)) {
            byte[] bad = "{\"id\":1,]".getBytes(StandardCharsets.UTF_8);
            assertThatThrownBy(() -> decoder.feed(bad, 0, bad.length)).isInstanceOf(java.io.IOException.class);
        }
    }
}
