package org.spdksr.plugin.spdk.sim;

/** A JSON-RPC error object the simulator answers with: code and message as spdk-rpc.md §2 lists them. */
final class SimError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    final int code;

    SimError(int code, String message) {
        super(message, null, false, false);
        this.code = code;
    }

    /** -19 from a synchronous lookup (§2: bdev_get_bdevs, bdev_lvol_delete, ... of a missing object). */
    static SimError noDevice() {
        return new SimError(-19, "No such device");
    }

    /** -17 from a synchronous duplicate check (§2: bdev_aio_create, bdev_lvol_create). */
    static SimError exists() {
        return new SimError(-17, "File exists");
    }

    /** -22, e.g. get_lvols/get_lvstores with params {} (§2). */
    static SimError invalid() {
        return new SimError(-22, "Invalid argument");
    }

    /** Async completion failures carry -32602 and the strerror text (§2). */
    static SimError async(String strerror) {
        return new SimError(-32602, strerror);
    }

    /** JSON decode failures in the bdev and lvol modules (§2). */
    static SimError decode() {
        return new SimError(-32603, "spdk_json_decode_object failed");
    }
}
