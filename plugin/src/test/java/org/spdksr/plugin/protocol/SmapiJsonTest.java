package org.spdksr.plugin.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.spdksr.plugin.idl.Backend;
import org.spdksr.plugin.idl.Health;
import org.spdksr.plugin.idl.Implementation;
import org.spdksr.plugin.idl.ProbeResult;
import org.spdksr.plugin.idl.SrStat;
import org.spdksr.plugin.idl.Volume;
import org.spdksr.plugin.idl.VolumeType;

/** The encoding rules of smapiv3.md §3.5, checked on the exact JSON text. */
class SmapiJsonTest {
    private final ObjectMapper json = SmapiJson.newMapper();

    @Test
    void variantWithArgumentIsATwoElementArray() throws Exception {
        assertThat(json.writeValueAsString(new Health.Unreachable("no path"))).isEqualTo("[\"Unreachable\",\"no path\"]");
    }

    @Test
    void variantWithoutArgumentIsABareString() throws Exception {
        assertThat(json.writeValueAsString(VolumeType.DATA_AND_CBT_METADATA)).isEqualTo("\"Data_and_CBT_Metadata\"");
    }

    @Test
    void recordArgumentsOfVariantsAreObjectsWithSnakeCaseFields() throws Exception {
        Backend backend = new Backend(List.of(
                new Implementation.XenDisk("vdi:1", Map.of("k", "v"), "qdisk"),
                new Implementation.Nbd("nbd:unix:/run/x.sock:exportname=d")));
        assertThat(json.writeValueAsString(backend)).isEqualTo("{\"implementations\":["
                + "[\"XenDisk\",{\"params\":\"vdi:1\",\"extra\":{\"k\":\"v\"},\"backend_type\":\"qdisk\"}],"
                + "[\"Nbd\",{\"uri\":\"nbd:unix:/run/x.sock:exportname=d\"}]]}");
    }

    @Test
    void absentOptionsAreOmittedNotNull() throws Exception {
        SrStat stat = new SrStat("file:///sr", "n", null, "d", 1, 2, List.of(), false, new Health.Healthy(""));
        String text = json.writeValueAsString(stat);
        assertThat(text).doesNotContain("uuid").doesNotContain("null");
        assertThat(text).contains("\"free_space\":1", "\"total_space\":2", "\"health\":[\"Healthy\",\"\"]");

        ProbeResult probe = new ProbeResult(Map.of("path", "/sr"), true, null, Map.of());
        assertThat(json.writeValueAsString(probe)).isEqualTo(
                "{\"configuration\":{\"path\":\"/sr\"},\"complete\":true,\"extra_info\":{}}");
    }

    @Test
    void volumeHasEveryMandatoryFieldAndKeysAsAnObject() throws Exception {
        Volume volume = new Volume("k", "u", "n", "d", true, false, 1L << 42, 0, List.of("spdk-sr://x"),
                Map.of("vdi-type", "user"), null, null);
        assertThat(json.readTree(json.writeValueAsString(volume)).fieldNames()).toIterable().containsExactly(
                "key", "uuid", "name", "description", "read_write", "sharable", "virtual_size",
                "physical_utilisation", "uri", "keys");
        assertThat(json.writeValueAsString(volume)).contains("\"virtual_size\":4398046511104",
                "\"keys\":{\"vdi-type\":\"user\"}");
    }

    @Test
    void errorRecordHasTheFieldsXapiStorageScriptRequires() throws Exception {
        ErrorRecord record = new StorageError.VolumeDoesNotExist("k1").toRecord("gone");
        assertThat(json.writeValueAsString(record)).isEqualTo("{\"code\":\"SR_BACKEND_FAILURE\","
                + "\"params\":[\"Volume_does_not_exist\",\"k1\",\"gone\"],"
                + "\"backtrace\":{\"error\":\"gone\",\"files\":[],\"lines\":[]}}");
    }

    @Test
    void activatedOnAnotherHostKeepsTheExactTwoParametersXapiRecognises() {
        ErrorRecord record = new StorageError.ActivatedOnAnotherHost("host-uuid").toRecord("elsewhere");
        assertThat(record.params()).containsExactly("Activated_on_another_host", "host-uuid");
    }
}
