package org.spdksr.datapath.xen.linux;

/** Request numbers and argument sizes of {@code /dev/xen/evtchn} on x86_64 (blkif.md §3). */
public final class EvtchnAbi {
    private EvtchnAbi() {
    }

    public static final int IOCTL_BIND_VIRQ = Ioctl.none('E', 0, 4);
    public static final int IOCTL_BIND_INTERDOMAIN = Ioctl.none('E', 1, 8);
    public static final int IOCTL_BIND_UNBOUND_PORT = Ioctl.none('E', 2, 4);
    public static final int IOCTL_UNBIND = Ioctl.none('E', 3, 4);
    public static final int IOCTL_NOTIFY = Ioctl.none('E', 4, 4);
    public static final int IOCTL_RESET = Ioctl.none('E', 5, 0);
    public static final int IOCTL_RESTRICT_DOMID = Ioctl.none('E', 6, 2);

    /** {@code struct ioctl_evtchn_bind_interdomain}: remote_domain u32 @0, remote_port u32 @4. */
    public static final int BIND_INTERDOMAIN_SIZE = 8;
    public static final int BIND_REMOTE_DOMAIN = 0;
    public static final int BIND_REMOTE_PORT = 4;
    /** {@code struct ioctl_evtchn_unbind} / {@code _notify}: port u32 @0. */
    public static final int PORT_ARG_SIZE = 4;
    /** read() returns ports as 4-byte little-endian u32 values, at most a page per read. */
    public static final int PORT_SIZE = 4;
    public static final int READ_MAX = 4096;
}
