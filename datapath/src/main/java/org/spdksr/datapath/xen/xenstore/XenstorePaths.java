package org.spdksr.datapath.xen.xenstore;

/** Path rules of blkif.md §4.1/§4.2, checked before a request is sent or served. */
public final class XenstorePaths {
    private XenstorePaths() {
    }

    public static boolean isAbsolute(String path) {
        return path.startsWith("/");
    }

    /** Watch-only special paths such as {@code @introduceDomain}. */
    public static boolean isSpecial(String path) {
        return path.startsWith("@");
    }

    /** The home of a domain; relative paths resolve against it (blkif.md §4.2). */
    public static String domainPath(int domid) {
        return "/local/domain/" + domid;
    }

    /** Why {@code path} is invalid, or null when it is valid. */
    public static String problem(String path, boolean allowSpecial) {
        if (path.isEmpty()) {
            return "path is empty";
        }
        if (allowSpecial && isSpecial(path)) {
            return checkChars(path.substring(1), path);
        }
        boolean abs = isAbsolute(path);
        int max = abs ? XsWire.ABS_PATH_MAX : XsWire.REL_PATH_MAX;
        if (path.length() > max) {
            return "path is " + path.length() + " characters, over the " + (abs ? "absolute" : "relative")
                    + " limit of " + max + " (blkif.md §4.1)";
        }
        if (path.equals("/")) {
            return null;
        }
        if (path.endsWith("/")) {
            return "path has a trailing slash";
        }
        if (path.contains("//")) {
            return "path has a double slash";
        }
        return checkChars(path, path);
    }

    private static String checkChars(String chars, String path) {
        for (int i = 0; i < chars.length(); i++) {
            char c = chars.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '/' || c == '_' || c == '@';
            if (!ok) {
                return "character '" + c + "' at index " + i + " is not alphanumeric or one of -/_@";
            }
        }
        return null;
    }

    /** Resolves {@code path} for a connection of domain {@code domid}. */
    public static String absolute(String path, int domid) {
        return isAbsolute(path) || isSpecial(path) ? path : domainPath(domid) + "/" + path;
    }

    public static String parent(String absPath) {
        int i = absPath.lastIndexOf('/');
        return i <= 0 ? "/" : absPath.substring(0, i);
    }

    /** True when {@code path} equals {@code ancestor} or lies below it. */
    public static boolean isAtOrBelow(String path, String ancestor) {
        if (ancestor.equals("/")) {
            return path.startsWith("/");
        }
        return path.equals(ancestor) || path.startsWith(ancestor + "/");
    }
}
