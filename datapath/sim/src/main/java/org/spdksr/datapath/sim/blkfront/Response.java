package org.spdksr.datapath.sim.blkfront;

/**
 * A {@code blkif_response} (blkif.md §1.4): the echoed id and operation byte and the status.
 * {@code data} holds what a successful read returned, and is null otherwise.
 */
public record Response(long id, int operation, short status, byte[] data) {
    public static final short OKAY = 0;
    public static final short ERROR = -1;
    public static final short EOPNOTSUPP = -2;

    public boolean ok() {
        return status == OKAY;
    }

    Response withData(byte[] bytes) {
        return new Response(id, operation, status, bytes);
    }

    @Override
    public String toString() {
        return "Response[id=" + id + ", operation=" + operation + ", status=" + status
                + (data == null ? "" : ", " + data.length + " bytes") + "]";
    }
}
