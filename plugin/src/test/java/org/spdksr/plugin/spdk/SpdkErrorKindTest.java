package org.spdksr.plugin.spdk;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The pairs of spdk-rpc.md §2, each seen on a real spdk_tgt, and their classification. */
class SpdkErrorKindTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "-17    | File exists                                   | EXISTS",
        "-32602 | File exists                                   | EXISTS",
        "-114   | A controller named nvme0 already exists with the specified network path | EXISTS",
        "-19    | No such device                                | NOT_FOUND",
        "-2     | No such file or directory                     | NOT_FOUND",
        "-19    | nbd device not found                          | NOT_FOUND",
        "-32602 | No space left on device                       | NO_SPACE",
        "-1     | Operation not permitted                       | NOT_PERMITTED",
        "-32603 | Operation not permitted                       | NOT_PERMITTED",
        "-1     | Method may only be called after framework is initialized using framework_start_init RPC. | NOT_RUNNING",
        "-22    | Invalid argument                              | INVALID_ARGUMENT",
        "-32602 | Invalid argument                              | INVALID_ARGUMENT",
        "-32602 | Invalid parameters                            | INVALID_ARGUMENT",
        "-32603 | spdk_json_decode_object failed                | INVALID_ARGUMENT",
        "-32602 | spdk_get_version method requires no parameters | INVALID_ARGUMENT",
        "-32600 | Invalid request                               | INVALID_ARGUMENT",
        "-32601 | Method not found                              | OTHER",
        "-32603 | Unable to create URING bdev.                  | OTHER",
    })
    void classifiesByMessageThenCode(int code, String message, SpdkErrorKind kind) {
        assertThat(SpdkErrorKind.classify(code, message)).isEqualTo(kind);
    }

    @ParameterizedTest
    @CsvSource({"-19, NOT_FOUND", "-17, EXISTS", "-28, NO_SPACE", "-1, NOT_PERMITTED", "-22, INVALID_ARGUMENT",
            "-5, OTHER"})
    void unknownTextFallsBackToTheCode(int code, SpdkErrorKind kind) {
        assertThat(SpdkErrorKind.classify(code, "some text")).isEqualTo(kind);
    }
}
