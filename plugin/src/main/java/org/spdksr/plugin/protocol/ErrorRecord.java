package org.spdksr.plugin.protocol;

import java.util.List;

/**
 * The record xapi-storage-script reads from stdout when an entry point exits non-zero
 * (smapiv3.md §3.3). All fields are mandatory: anything else becomes {@code SCRIPT_FAILED}.
 */
public record ErrorRecord(String code, List<String> params, Backtrace backtrace) {

    public ErrorRecord {
        params = List.copyOf(params);
    }

    /** The free-text {@code error} is logged by xapi; file and line lists stay empty (no OCaml frames). */
    public record Backtrace(String error, List<String> files, List<Integer> lines) {
        public Backtrace {
            files = List.copyOf(files);
            lines = List.copyOf(lines);
        }

        public static Backtrace of(String error) {
            return new Backtrace(error, List.of(), List.of());
        }
    }
}
