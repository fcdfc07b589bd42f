package org.spdksr.datapath.vhost;

import com.sun.jna.LastErrorException;

/**
 * One eventfd(2): the kick (front end to back end) and call (back end to front end) notifications
 * of a virtqueue, passed to the back end with SET_VRING_KICK/SET_VRING_CALL (vhost-user spec,
 * "Ring states"). Non-blocking, so draining an idle call fd never stalls the completion thread.
 */
final class EventFd implements AutoCloseable {
    private final int fd;
    private final String name;

    EventFd(String name) {
        this.name = name;
        try {
            this.fd = Libc.eventfd(0, Libc.EFD_NONBLOCK | Libc.EFD_CLOEXEC);
        } catch (LastErrorException e) {
            throw new IllegalStateException("cannot create the eventfd for " + name + ": " + e.getMessage()
                    + "; the process may be out of file descriptors (ulimit -n)", e);
        }
    }

    int fd() {
        return fd;
    }

    /** Adds 1 to the counter, waking whoever polls it. */
    void signal() {
        try {
            Libc.write(fd, new long[] {1}, 8);
        } catch (LastErrorException e) {
            // EAGAIN means the counter is at its maximum: a wake-up is pending anyway.
            if (e.getErrorCode() != Libc.EAGAIN) {
                throw new IllegalStateException("cannot signal the eventfd for " + name + ": " + e.getMessage(), e);
            }
        }
    }

    /** Resets the counter to zero; true if it was signalled. */
    boolean drain() {
        try {
            Libc.read(fd, new long[1], 8);
            return true;
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Libc.EAGAIN) {
                return false;
            }
            throw new IllegalStateException("cannot read the eventfd for " + name + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        Libc.closeQuietly(fd);
    }
}
