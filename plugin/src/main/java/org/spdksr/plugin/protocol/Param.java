package org.spdksr.plugin.protocol;

/** One named argument of a method, in IDL order (the order matters for the static-vdis form, §3.8). */
public record Param(String name, ParamType type) {

    public static Param string(String name) {
        return new Param(name, ParamType.STRING);
    }

    public static Param bool(String name) {
        return new Param(name, ParamType.BOOL);
    }

    public static Param integer(String name) {
        return new Param(name, ParamType.INT);
    }

    public static Param int64(String name) {
        return new Param(name, ParamType.INT64);
    }

    public static Param map(String name) {
        return new Param(name, ParamType.STRING_MAP);
    }
}
