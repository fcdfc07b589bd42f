package org.spdksr.plugin.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Issue 19: stdin no xapi-storage-script call could produce gets an Invalid_arguments record. */
class HostileStdinTest {
    private final ObjectMapper json = SmapiJson.newMapper();
    private final MethodTable table = new MethodTable()
            .add(MethodSpec.of("SR.set_name", Param.string("sr"), Param.string("new_name")),
                    a -> a.string("new_name").length());
    private final EntryPointRunner runner = new EntryPointRunner(table, json);

    private record Outcome(int exit, JsonNode stdout) {}

    private Outcome call(InputStream stdin) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int exit = runner.run("SR.set_name", List.of("--json"), stdin, out);
        return new Outcome(exit, json.readTree(out.toString(StandardCharsets.UTF_8)));
    }

    private static InputStream bytes(String text) {
        return new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
    }

    private static void assertInvalid(Outcome o, String inMessage) {
        assertThat(o.exit()).isEqualTo(EntryPointRunner.EXIT_ERROR);
        assertThat(o.stdout().get("params").get(0).textValue()).isEqualTo("Invalid_arguments");
        assertThat(o.stdout().get("params").get(1).textValue()).isEqualTo("SR.set_name");
        assertThat(o.stdout().get("params").get(2).textValue()).contains(inMessage);
    }

    /** An endless run of one byte, generated as it is read: the test holds nothing of it. */
    private static InputStream repeated(byte b, long length) {
        return new InputStream() {
            private long left = length;

            @Override
            public int read() {
                if (left == 0) {
                    return -1;
                }
                left--;
                return b;
            }

            @Override
            public int read(byte[] buffer, int offset, int count) {
                if (left == 0) {
                    return -1;
                }
                int n = (int) Math.min(count, left);
                java.util.Arrays.fill(buffer, offset, offset + n, b);
                left -= n;
                return n;
            }
        };
    }

    @Test
    void aRequestOverTheCapIsRefusedWithTheCapInTheMessageOneUnderItIsServed() throws Exception {
        InputStream stdin = new SequenceInputStream(bytes("{\"sr\":\"s\",\"new_name\":\""),
                repeated((byte) 'a', 300L << 20));
        Outcome o = call(stdin);
        assertInvalid(o, "4 MiB");
        // Read to the end, so a caller writing everything before reading stdout gets the answer.
        assertThat(stdin.read()).isEqualTo(-1);

        // The cap is on the whole request: one just under it is served.
        String head = "{\"sr\":\"s\",\"new_name\":\"";
        long name = RequestReader.LIMIT - head.length() - 2;
        Outcome under = call(new SequenceInputStream(new SequenceInputStream(bytes(head), repeated((byte) 'a', name)),
                bytes("\"}")));
        assertThat(under.exit()).isZero();
        assertThat(under.stdout().longValue()).isEqualTo(name);
    }

    @Test
    void bytesThatAreNotUtf8AreRefused() throws Exception {
        byte[] head = "{\"sr\":\"s\",\"new_name\":\"".getBytes(StandardCharsets.UTF_8);
        byte[] stdin = java.util.Arrays.copyOf(head, head.length + 3);
        stdin[head.length] = (byte) 0xc3; // a lead byte followed by a non-continuation: malformed
        stdin[head.length + 1] = (byte) '"';
        stdin[head.length + 2] = (byte) '}';
        assertInvalid(call(new ByteArrayInputStream(stdin)), "not UTF-8 (byte " + head.length);
    }

    @Test
    void anArgumentGivenTwiceIsRefused() throws Exception {
        assertInvalid(call(bytes("{\"sr\":\"s\",\"new_name\":\"a\",\"new_name\":\"b\"}")), "new_name");
    }

    @Test
    void aSecondJsonValueAfterTheObjectIsRefused() throws Exception {
        assertInvalid(call(bytes("{\"sr\":\"s\",\"new_name\":\"a\"} {\"new_name\":\"b\"}")), "more than one");
    }
}
