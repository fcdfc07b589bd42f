package org.spdksr.datapath.xen.linux;

import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import com.sun.jna.Union;

/**
 * The gntdev and evtchn structs declared field by field as in the C headers, so JNA computes their
 * layout with the platform's C alignment rules. Tests compare that layout with blkif.md and with the
 * offsets the production encoders use.
 */
final class CStructs {
    private CStructs() {
    }

    abstract static class Laid extends Structure {
        int offsetOf(String field) {
            return fieldOffset(field);
        }
    }

    @Structure.FieldOrder({"domid", "ref"})
    public static class GrantRef extends Laid {
        public int domid;
        public int ref;
    }

    /** map_grant_ref with one ref in its trailing array. */
    @Structure.FieldOrder({"count", "pad", "index", "refs"})
    public static class MapGrantRef extends Laid {
        public int count;
        public int pad;
        public long index;
        public GrantRef refs = new GrantRef();
    }

    @Structure.FieldOrder({"index", "count", "pad"})
    public static class UnmapGrantRef extends Laid {
        public long index;
        public int count;
        public int pad;
    }

    @Structure.FieldOrder({"vaddr", "offset", "count", "pad"})
    public static class GetOffsetForVaddr extends Laid {
        public long vaddr;
        public long offset;
        public int count;
        public int pad;
    }

    @Structure.FieldOrder({"index", "action", "eventChannelPort"})
    public static class UnmapNotify extends Laid {
        public long index;
        public int action;
        public int eventChannelPort;
    }

    @Structure.FieldOrder({"count", "segments"})
    public static class GrantCopy extends Laid {
        public int count;
        public Pointer segments;
    }

    @Structure.FieldOrder({"ref", "offset", "domid"})
    public static class Foreign extends Laid {
        public int ref;
        public short offset;
        public short domid;
    }

    public static class CopySide extends Union {
        public Pointer virt;
        public Foreign foreign;
    }

    @Structure.FieldOrder({"source", "dest", "len", "flags", "status"})
    public static class CopySegment extends Laid {
        public CopySide source;
        public CopySide dest;
        public short len;
        public short flags;
        public short status;
    }

    @Structure.FieldOrder({"remoteDomain", "remotePort"})
    public static class BindInterdomain extends Laid {
        public int remoteDomain;
        public int remotePort;
    }

    @Structure.FieldOrder({"port"})
    public static class Port extends Laid {
        public int port;
    }

    @Structure.FieldOrder({"domid"})
    public static class RestrictDomid extends Laid {
        public short domid;
    }
}
