package org.spdksr.plugin.idl;

/**
 * A value of an IDL variant type. rpclib puts a constructor with an argument on the wire as the
 * two-element array {@code ["Name", arg]} and one without as the bare string {@code "Name"}
 * (smapiv3.md §3.5); {@link org.spdksr.plugin.protocol.SmapiJson} does that for every implementor.
 */
public interface WireVariant {
    /** The constructor name exactly as the IDL spells it. */
    String constructor();

    /** The constructor's argument, or {@code null} for a constructor without one. */
    Object argument();
}
