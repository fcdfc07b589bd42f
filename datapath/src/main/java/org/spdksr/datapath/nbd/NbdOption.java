package org.spdksr.datapath.nbd;

import java.util.List;

/** One option request of the negotiation phase, as decoded by {@link NbdCodec#readOption}. */
public sealed interface NbdOption {
    /** The option code on the wire. */
    int code();

    /** NBD_OPT_EXPORT_NAME: enter transmission; an unknown name can only be answered by closing. */
    record ExportName(String name) implements NbdOption {
        @Override
        public int code() {
            return NbdProtocol.OPT_EXPORT_NAME;
        }
    }

    /**
     * NBD_OPT_INFO ({@code go == false}) or NBD_OPT_GO ({@code go == true}): describe an export, and
     * for GO enter transmission.
     */
    record Query(boolean go, String name, List<Integer> requestedInfo) implements NbdOption {
        public Query {
            requestedInfo = List.copyOf(requestedInfo);
        }

        @Override
        public int code() {
            return go ? NbdProtocol.OPT_GO : NbdProtocol.OPT_INFO;
        }
    }

    /** NBD_OPT_LIST. */
    record ListExports() implements NbdOption {
        @Override
        public int code() {
            return NbdProtocol.OPT_LIST;
        }
    }

    /** NBD_OPT_ABORT. */
    record Abort() implements NbdOption {
        @Override
        public int code() {
            return NbdProtocol.OPT_ABORT;
        }
    }

    /** Any option this server does not implement (STARTTLS, STRUCTURED_REPLY, meta contexts, ...). */
    record Unsupported(int code) implements NbdOption {
    }

    /** A known option whose data does not parse; answered with NBD_REP_ERR_INVALID. */
    record Malformed(int code, String reason) implements NbdOption {
    }
}
