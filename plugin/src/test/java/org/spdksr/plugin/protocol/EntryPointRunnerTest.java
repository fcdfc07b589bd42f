package org.spdksr.plugin.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class EntryPointRunnerTest {
    private final ObjectMapper json = SmapiJson.newMapper();
    private final MethodTable table = new MethodTable()
            .add(MethodSpec.of("SR.stat", Param.string("sr")), a -> "stat of " + a.string("sr"))
            .add(MethodSpec.of("SR.detach", Param.string("sr")), a -> null)
            .add(MethodSpec.of("SR.destroy", Param.string("sr")), a -> {
                throw new IllegalStateException("boom");
            });
    private final EntryPointRunner runner = new EntryPointRunner(table, json);

    private record Outcome(int exit, String stdout) {}

    private Outcome call(String method, List<String> argv, String stdin) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int exit = runner.run(method, argv, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), out);
        return new Outcome(exit, out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void printsTheBareResultAndExitsZero() throws Exception {
        Outcome o = call("sr.STAT", List.of("--json"), "{\"dbg\":\"d\",\"sr\":\"x\"}");
        assertThat(o.exit()).isZero();
        assertThat(json.readTree(o.stdout()).textValue()).isEqualTo("stat of x");
    }

    @Test
    void unitIsNull() {
        Outcome o = call("SR.detach", List.of("--json"), "{\"sr\":\"x\"}");
        assertThat(o.exit()).isZero();
        assertThat(o.stdout().trim()).isEqualTo("null");
    }

    @Test
    void unknownMethodIsUnimplemented() throws Exception {
        Outcome o = call("SR.frobnicate", List.of("--json"), "{}");
        assertThat(o.exit()).isNotZero();
        JsonNode error = json.readTree(o.stdout());
        assertThat(error.get("code").textValue()).isEqualTo("SR_BACKEND_FAILURE");
        assertThat(error.get("params").get(0).textValue()).isEqualTo("Unimplemented");
        assertThat(error.get("params").get(1).textValue()).isEqualTo("SR.frobnicate");
    }

    @Test
    void unexpectedExceptionBecomesARecordWithoutStackTrace() throws Exception {
        Outcome o = call("SR.destroy", List.of("--json"), "{\"sr\":\"x\"}");
        assertThat(o.exit()).isNotZero();
        JsonNode error = json.readTree(o.stdout());
        assertThat(error.get("params").get(0).textValue()).isEqualTo("Internal_error");
        assertThat(error.get("backtrace").get("error").textValue()).contains("boom");
        assertThat(o.stdout()).doesNotContain("\tat ").doesNotContain("at org.");
    }

    @Test
    void badJsonIsAnErrorRecord() throws Exception {
        Outcome o = call("SR.stat", List.of("--json"), "{\"sr\":");
        assertThat(o.exit()).isNotZero();
        assertThat(json.readTree(o.stdout()).get("params").get(0).textValue()).isEqualTo("Invalid_arguments");
    }

    @Test
    void positionalFormWhenNotJson() throws Exception {
        Outcome o = call("SR.stat", List.of("static-vdis", "y"), "");
        assertThat(o.exit()).isZero();
        assertThat(json.readTree(o.stdout()).textValue()).isEqualTo("stat of y");
    }
}
