package org.spdksr.tests;

import java.util.List;

/**
 * An error as xapi would see it: the XenAPI code and its params (smapiv3.md §3.3, §3.4).
 * {@code backtraceError} is the free text of the plugin's backtrace, empty for errors the
 * emulation raises itself.
 */
public record ErrorRecord(String code, List<String> params, String backtraceError) {
    public ErrorRecord {
        params = List.copyOf(params);
    }

    public String param(int i) {
        return i < params.size() ? params.get(i) : null;
    }
}
