package org.spdksr.plugin.protocol;

import java.util.Map;

/**
 * A call's arguments after validation against its {@link MethodSpec}: every declared argument is
 * present and of its declared type, so handlers read them without further checks.
 */
public final class Arguments {
    private final String method;
    private final String dbg;
    private final Map<String, Object> values;

    Arguments(String method, String dbg, Map<String, Object> values) {
        this.method = method;
        this.dbg = dbg;
        this.values = Map.copyOf(values);
    }

    /** For callers inside the project (tests, a resident daemon) that already hold typed values. */
    public static Arguments of(MethodSpec spec, String dbg, Map<String, Object> values) {
        for (Param param : spec.params()) {
            Object value = values.get(param.name());
            if (value == null || !ArgumentDecoder.javaTypeOf(param.type()).isInstance(value)) {
                throw new IllegalArgumentException(spec.name() + ": argument " + param.name() + " must be "
                        + param.type().description());
            }
        }
        return new Arguments(spec.name(), dbg, values);
    }

    public String method() {
        return method;
    }

    /** The caller's debug context (an xapi task), logged with every call (smapiv3.md §3.6). */
    public String dbg() {
        return dbg;
    }

    public String string(String name) {
        return get(name, String.class);
    }

    public boolean bool(String name) {
        return get(name, Boolean.class);
    }

    public long int64(String name) {
        return get(name, Long.class);
    }

    public int integer(String name) {
        return get(name, Integer.class);
    }

    @SuppressWarnings("unchecked")
    public Map<String, String> map(String name) {
        return get(name, Map.class);
    }

    private <T> T get(String name, Class<T> type) {
        Object value = values.get(name);
        if (value == null) {
            // A programming error in a handler, not bad input: the decoder checked the declared ones.
            throw new IllegalStateException(method + " reads undeclared argument " + name);
        }
        return type.cast(value);
    }
}
