package org.spdksr.datapath.xen.linux;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.NativeLong;
import java.io.IOException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.datapath.xen.evtchn.EventChannels;

/** Event channels through one {@code /dev/xen/evtchn} fd (blkif.md §3). */
public final class LinuxEventChannels implements EventChannels {
    private static final Logger LOG = LoggerFactory.getLogger(LinuxEventChannels.class);
    public static final String DEVICE = "/dev/xen/evtchn";

    private final LibC libc;
    private final int fd;
    private final Set<Integer> bound = ConcurrentHashMap.newKeySet();
    private final Memory readBuffer = new Memory(EvtchnAbi.READ_MAX);
    private final Object readLock = new Object();
    private final AtomicBoolean closed = new AtomicBoolean();

    private LinuxEventChannels(LibC libc, int fd) {
        this.libc = libc;
        this.fd = fd;
    }

    public static LinuxEventChannels open() throws IOException {
        LibC libc = LibC.load();
        try {
            return new LinuxEventChannels(libc, libc.open(DEVICE, LibC.O_RDWR | LibC.O_CLOEXEC | LibC.O_NONBLOCK));
        } catch (LastErrorException e) {
            throw new IOException("cannot open " + DEVICE + ": errno " + e.getErrorCode()
                    + "; this needs a Xen dom0 with the xen-evtchn module loaded, run as root", e);
        }
    }

    private int ioctl(int request, Memory arg, String what) throws IOException {
        try {
            return libc.ioctl(fd, new NativeLong(request), arg);
        } catch (LastErrorException e) {
            throw new IOException(what + " on " + DEVICE + " failed: errno " + e.getErrorCode()
                    + (e.getErrorCode() == 107 ? " (ENOTCONN: this fd did not bind the port)" : ""), e);
        }
    }

    private static Memory portArg(int port) {
        Memory m = new Memory(EvtchnAbi.PORT_ARG_SIZE);
        m.setInt(0, port);
        return m;
    }

    @Override
    public int bindInterdomain(int remoteDomid, int remotePort) throws IOException {
        Memory arg = new Memory(EvtchnAbi.BIND_INTERDOMAIN_SIZE);
        arg.setInt(EvtchnAbi.BIND_REMOTE_DOMAIN, remoteDomid);
        arg.setInt(EvtchnAbi.BIND_REMOTE_PORT, remotePort);
        // blkif.md §3: the local port is the ioctl's return value.
        int local = ioctl(EvtchnAbi.IOCTL_BIND_INTERDOMAIN, arg,
                "IOCTL_EVTCHN_BIND_INTERDOMAIN to port " + remotePort + " of domain " + remoteDomid);
        bound.add(local);
        return local;
    }

    @Override
    public void unbind(int localPort) throws IOException {
        ioctl(EvtchnAbi.IOCTL_UNBIND, portArg(localPort), "IOCTL_EVTCHN_UNBIND of local port " + localPort);
        bound.remove(localPort);
    }

    @Override
    public void notify(int localPort) throws IOException {
        ioctl(EvtchnAbi.IOCTL_NOTIFY, portArg(localPort), "IOCTL_EVTCHN_NOTIFY of local port " + localPort);
    }

    @Override
    public int[] awaitPending(Duration timeout) throws IOException, InterruptedException {
        synchronized (readLock) {
            Memory pfd = new Memory(8); // struct pollfd: int fd, short events, short revents
            pfd.setInt(0, fd);
            pfd.setShort(4, LibC.POLLIN);
            pfd.setShort(6, (short) 0);
            int ready;
            try {
                ready = libc.poll(pfd, new NativeLong(1), (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
            } catch (LastErrorException e) {
                if (e.getErrorCode() == LibC.EINTR) {
                    return new int[0];
                }
                throw new IOException("poll on " + DEVICE + " failed: errno " + e.getErrorCode(), e);
            }
            if (Thread.interrupted()) {
                throw new InterruptedException("interrupted while waiting for event channel " + DEVICE);
            }
            if (ready == 0) {
                return new int[0];
            }
            try {
                long n = libc.read(fd, readBuffer, new NativeLong(EvtchnAbi.READ_MAX)).longValue();
                int count = (int) (n / EvtchnAbi.PORT_SIZE);
                int[] ports = new int[count];
                for (int i = 0; i < count; i++) {
                    ports[i] = readBuffer.getInt((long) i * EvtchnAbi.PORT_SIZE);
                }
                return ports;
            } catch (LastErrorException e) {
                if (e.getErrorCode() == LibC.EAGAIN) {
                    return new int[0];
                }
                if (e.getErrorCode() == LibC.EFBIG) {
                    return recoverFromOverflow();
                }
                throw new IOException("read on " + DEVICE + " failed: errno " + e.getErrorCode(), e);
            }
        }
    }

    /** blkif.md §3: the pending ring overflowed, events were lost; reset it and have every ring rescanned. */
    private int[] recoverFromOverflow() throws IOException {
        LOG.warn("event channel ring of {} overflowed; resetting and rescanning {} ports", DEVICE, bound.size());
        try {
            libc.ioctl(fd, new NativeLong(EvtchnAbi.IOCTL_RESET), null);
        } catch (LastErrorException e) {
            throw new IOException("IOCTL_EVTCHN_RESET after an overflow failed: errno " + e.getErrorCode(), e);
        }
        return bound.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public void unmask(int... localPorts) throws IOException {
        if (localPorts.length == 0) {
            return;
        }
        Memory m = new Memory((long) localPorts.length * EvtchnAbi.PORT_SIZE);
        for (int i = 0; i < localPorts.length; i++) {
            m.setInt((long) i * EvtchnAbi.PORT_SIZE, localPorts[i]);
        }
        // blkif.md §3: writing the port numbers back re-enables them; several fit in one write.
        try {
            libc.write(fd, m, new NativeLong(m.size()));
        } catch (LastErrorException e) {
            throw new IOException("unmasking ports on " + DEVICE + " failed: errno " + e.getErrorCode(), e);
        }
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            libc.close(fd);
        }
    }
}
