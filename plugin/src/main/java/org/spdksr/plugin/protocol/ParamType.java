package org.spdksr.plugin.protocol;

/** The argument types that occur in the v5 methods (smapiv3.md §3.5, §4). */
public enum ParamType {
    STRING("a string"),
    BOOL("a boolean (true or false)"),
    /** OCaml {@code int}: rpclib also takes a decimal string, so we do too. */
    INT("an integer"),
    /** OCaml {@code int64}: an integer number or a decimal string; never a float. */
    INT64("a 64-bit integer"),
    /** {@code (string * string) list}: a JSON object whose values are strings. */
    STRING_MAP("an object of string values");

    private final String description;

    ParamType(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }
}
