package org.spdksr.plugin.protocol;

import java.util.List;

/**
 * A method's name as the IDL spells it ({@code SR.create}) and its arguments after {@code dbg},
 * which every method takes first (smapiv3.md §3.6).
 */
public record MethodSpec(String name, List<Param> params) {

    public MethodSpec {
        params = List.copyOf(params);
    }

    public static MethodSpec of(String name, Param... params) {
        return new MethodSpec(name, List.of(params));
    }
}
