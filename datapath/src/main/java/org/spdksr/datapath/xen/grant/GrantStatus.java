package org.spdksr.datapath.xen.grant;

/** GNTST_* result codes of grant operations (blkif.md §2.1). */
public enum GrantStatus {
    OKAY(0, "okay"),
    GENERAL_ERROR(-1, "general error (e.g. grant not for this domain, or write through a read-only grant)"),
    BAD_DOMAIN(-2, "no such domain"),
    BAD_GNTREF(-3, "grant reference out of range"),
    BAD_HANDLE(-4, "bad handle"),
    BAD_VIRT_ADDR(-5, "bad virtual address"),
    BAD_DEV_ADDR(-6, "bad device address"),
    NO_DEVICE_SPACE(-7, "no device space"),
    PERMISSION_DENIED(-8, "permission denied"),
    BAD_PAGE(-9, "bad page"),
    BAD_COPY_ARG(-10, "bad copy argument"),
    ADDRESS_TOO_BIG(-11, "address too big"),
    EAGAIN(-12, "try again"),
    NO_SPACE(-13, "no space");

    private final int code;
    private final String meaning;

    GrantStatus(int code, String meaning) {
        this.code = code;
        this.meaning = meaning;
    }

    public int code() {
        return code;
    }

    public String meaning() {
        return meaning;
    }

    public boolean ok() {
        return this == OKAY;
    }

    /** Unknown codes map to GENERAL_ERROR: they are failures either way. */
    public static GrantStatus fromCode(int code) {
        for (GrantStatus s : values()) {
            if (s.code == code) {
                return s;
            }
        }
        return GENERAL_ERROR;
    }
}
