package org.spdksr.plugin.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

class ArgumentDecoderTest {
    private static final MethodSpec CREATE = MethodSpec.of("Volume.create", Param.string("sr"), Param.string("name"),
            Param.int64("size"), Param.bool("sharable"));
    private static final MethodSpec ATTACH = MethodSpec.of("SR.attach", Param.map("configuration"));
    private static final MethodSpec STAT = MethodSpec.of("Volume.stat", Param.string("sr"), Param.string("key"));

    private final ObjectMapper json = SmapiJson.newMapper();

    private Arguments decode(MethodSpec spec, String text) throws Exception {
        return ArgumentDecoder.fromJson(spec, json.readTree(text));
    }

    @Test
    void decodesEveryDeclaredTypeAndKeepsDbg() throws Exception {
        Arguments a = decode(CREATE, "{\"dbg\":\"task\",\"sr\":\"s\",\"name\":\"n\",\"size\":42,\"sharable\":true}");
        assertThat(a.dbg()).isEqualTo("task");
        assertThat(a.string("sr")).isEqualTo("s");
        assertThat(a.int64("size")).isEqualTo(42);
        assertThat(a.bool("sharable")).isTrue();
    }

    @Property
    void int64IsAcceptedAsNumberOrDecimalString(@ForAll long size) throws Exception {
        String common = "\"dbg\":\"d\",\"sr\":\"s\",\"name\":\"n\",\"sharable\":false";
        assertThat(decode(CREATE, "{" + common + ",\"size\":" + size + "}").int64("size")).isEqualTo(size);
        assertThat(decode(CREATE, "{" + common + ",\"size\":\"" + size + "\"}").int64("size")).isEqualTo(size);
    }

    @Test
    void refusesAFloatForInt64() {
        assertThatThrownBy(() -> decode(CREATE, "{\"sr\":\"s\",\"name\":\"n\",\"size\":1.5,\"sharable\":false}"))
                .isInstanceOfSatisfying(SmapiException.class, e -> assertThat(e.toRecord().params())
                        .containsExactly("Invalid_arguments", "Volume.create", e.getMessage()))
                .hasMessageContaining("'size'").hasMessageContaining("1.5");
    }

    @Test
    void refusesInt64OutOfRange() {
        assertThatThrownBy(() -> decode(CREATE,
                "{\"sr\":\"s\",\"name\":\"n\",\"size\":\"9223372036854775808\",\"sharable\":false}"))
                .isInstanceOf(SmapiException.class).hasMessageContaining("out of range");
    }

    @Test
    void refusesAStringForABool() {
        assertThatThrownBy(() -> decode(CREATE, "{\"sr\":\"s\",\"name\":\"n\",\"size\":1,\"sharable\":\"true\"}"))
                .isInstanceOf(SmapiException.class).hasMessageContaining("'sharable'");
    }

    @Test
    void namesTheMissingArgument() {
        assertThatThrownBy(() -> decode(STAT, "{\"dbg\":\"d\",\"sr\":\"s\"}"))
                .isInstanceOf(SmapiException.class).hasMessageContaining("'key'").hasMessageContaining("missing");
    }

    @Test
    void refusesNullForAString() {
        assertThatThrownBy(() -> decode(STAT, "{\"sr\":\"s\",\"key\":null}")).isInstanceOf(SmapiException.class);
    }

    @Test
    void refusesANonObjectRequest() {
        assertThatThrownBy(() -> decode(STAT, "[\"s\",\"k\"]"))
                .isInstanceOf(SmapiException.class).hasMessageContaining("one JSON object");
    }

    @Test
    void mapsMustHoldStrings() {
        assertThatThrownBy(() -> decode(ATTACH, "{\"configuration\":{\"path\":1}}"))
                .isInstanceOf(SmapiException.class).hasMessageContaining("'path'");
    }

    @Test
    void argumentsANewerXapiAddsAreIgnored() throws Exception {
        Arguments a = decode(STAT, "{\"sr\":\"s\",\"key\":\"k\",\"image_format\":\"raw\"}");
        assertThat(a.string("key")).isEqualTo("k");
    }

    @Test
    void staticVdisPositionalFormWithRepeatedMapOptions() {
        Arguments a = ArgumentDecoder.fromPositional(ATTACH,
                List.of("static-vdis", "--configuration", "path", "/sr", "--configuration", "sr_uuid", "u"));
        assertThat(a.dbg()).isEqualTo("static-vdis");
        assertThat(a.map("configuration")).isEqualTo(Map.of("path", "/sr", "sr_uuid", "u"));

        Arguments stat = ArgumentDecoder.fromPositional(STAT, List.of("static-vdis", "file:///sr", "key1"));
        assertThat(stat.string("sr")).isEqualTo("file:///sr");
        assertThat(stat.string("key")).isEqualTo("key1");
    }

    @Test
    void positionalFormCountsItsArguments() {
        assertThatThrownBy(() -> ArgumentDecoder.fromPositional(STAT, List.of("static-vdis", "file:///sr")))
                .isInstanceOf(SmapiException.class).hasMessageContaining("expected 3 positional arguments");
        assertThatThrownBy(() -> ArgumentDecoder.fromPositional(ATTACH, List.of("d", "--configuration", "k")))
                .isInstanceOf(SmapiException.class).hasMessageContaining("needs a key and a value");
    }
}
