package org.spdksr.datapath.nbd;

/**
 * One transmission-phase request, decoded from its 28-byte header by {@link NbdCodec#readCommand}.
 * The payload of a write is not part of the record: the connection reads it once it has decided
 * where it goes.
 */
public sealed interface NbdCommand {
    /** The client's opaque handle, echoed in the reply. */
    long handle();

    /** The command flags. */
    int flags();

    default boolean fua() {
        return (flags() & NbdProtocol.CMD_FLAG_FUA) != 0;
    }

    record Read(long handle, int flags, long offset, long length) implements NbdCommand {
    }

    record Write(long handle, int flags, long offset, long length) implements NbdCommand {
    }

    record Flush(long handle, int flags) implements NbdCommand {
    }

    record Trim(long handle, int flags, long offset, long length) implements NbdCommand {
    }

    record Disconnect(long handle, int flags) implements NbdCommand {
    }

    /** A command type this server does not serve (CACHE, WRITE_ZEROES, BLOCK_STATUS, ...): answered with EINVAL. */
    record Unknown(long handle, int flags, int type, long offset, long length) implements NbdCommand {
    }
}
