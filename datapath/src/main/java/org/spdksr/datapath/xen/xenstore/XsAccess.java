package org.spdksr.datapath.xen.xenstore;

/** Access letters of a xenstore permission string (blkif.md §4.2). */
public enum XsAccess {
    NONE('n', false, false),
    READ('r', true, false),
    WRITE('w', false, true),
    BOTH('b', true, true);

    private final char letter;
    private final boolean read;
    private final boolean write;

    XsAccess(char letter, boolean read, boolean write) {
        this.letter = letter;
        this.read = read;
        this.write = write;
    }

    public char letter() {
        return letter;
    }

    public boolean canRead() {
        return read;
    }

    public boolean canWrite() {
        return write;
    }

    public static XsAccess fromLetter(char c) {
        for (XsAccess a : values()) {
            if (a.letter == c) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown xenstore access letter '" + c + "' (expected n, r, w or b)");
    }
}
