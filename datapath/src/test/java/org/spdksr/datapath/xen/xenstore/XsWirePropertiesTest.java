package org.spdksr.datapath.xen.xenstore;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.channels.Channels;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.constraints.StringLength;
import net.jqwik.api.constraints.AlphaChars;

/** Codec properties of blkif.md §4.1/§4.2. */
class XsWirePropertiesTest {

    @Property(tries = 200)
    void frameRoundTrips(@ForAll @IntRange(min = 0, max = 26) int type, @ForAll int reqId, @ForAll int txId,
            @ForAll @Size(max = 4096) byte[] payload) throws IOException {
        XsMessage m = new XsMessage(type, reqId, txId, payload);
        byte[] frame = XsWire.encode(m).array();
        assertThat(frame).hasSize(XsWire.HEADER_SIZE + payload.length);
        // Little-endian header: type in the first byte for small values (blkif.md, "Conventions").
        assertThat(frame[0]).isEqualTo((byte) type);
        XsMessage back = XsWire.read(Channels.newChannel(new ByteArrayInputStream(frame)));
        assertThat(back.type()).isEqualTo(type);
        assertThat(back.reqId()).isEqualTo(reqId);
        assertThat(back.txId()).isEqualTo(txId);
        assertThat(back.payload()).isEqualTo(payload);
    }

    @Property(tries = 200)
    void nulJoinAndSplitAreInverse(@ForAll @Size(min = 1, max = 5) List<@AlphaChars @StringLength(min = 1, max = 20) String> parts) {
        assertThat(XsMessage.splitNul(XsMessage.joinNul(parts.toArray(String[]::new)))).isEqualTo(parts);
    }

    @Property(tries = 200)
    void permissionStringsRoundTrip(@ForAll @IntRange(min = 0, max = 65535) int domid,
            @ForAll XsAccess access) {
        XsPermission p = new XsPermission(domid, access);
        assertThat(XsPermission.parse(p.wire())).isEqualTo(p);
    }
}
