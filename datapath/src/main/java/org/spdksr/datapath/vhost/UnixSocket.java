package org.spdksr.datapath.vhost;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A connected AF_UNIX stream socket that can pass file descriptors with {@code SCM_RIGHTS}
 * (unix(7)): the vhost-user transport. Java's own channels cannot send descriptors, hence JNA.
 * The {@code msghdr}/{@code cmsghdr} layouts are built by hand for x86_64 (socket.h):
 * {@code msghdr} is 56 bytes, {@code cmsghdr} a 16-byte header followed by the int descriptors.
 */
final class UnixSocket implements AutoCloseable {
    private static final int SUN_PATH_MAX = 108;
    private static final int MAX_FDS = 8;

    private final Path path;
    private final int fd;

    private UnixSocket(Path path, int fd) {
        this.path = path;
        this.fd = fd;
    }

    /** Connects to {@code path}; ECONNREFUSED/ENOENT come back as {@link IOException}s naming the path. */
    static UnixSocket connect(Path path) throws IOException {
        byte[] name = path.toString().getBytes(StandardCharsets.UTF_8);
        if (name.length >= SUN_PATH_MAX) {
            throw new IOException("vhost-user socket path " + path + " is " + name.length
                    + " bytes long; unix sockets allow at most " + (SUN_PATH_MAX - 1) + ": use a shorter path");
        }
        int fd;
        try {
            fd = Libc.socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        } catch (LastErrorException e) {
            throw new IOException("cannot create a unix socket for " + path + ": " + e.getMessage(), e);
        }
        try (Memory addr = new Memory(2 + SUN_PATH_MAX)) {
            addr.clear();
            addr.setShort(0, (short) Libc.AF_UNIX);
            addr.write(2, name, 0, name.length);
            Libc.connect(fd, addr, 2 + name.length + 1);
            return new UnixSocket(path, fd);
        } catch (LastErrorException e) {
            Libc.closeQuietly(fd);
            String hint = switch (e.getErrorCode()) {
                case Libc.ENOENT -> "the socket does not exist: is the back end (spdk_tgt, qemu-storage-daemon) running and its controller created?";
                case Libc.ECONNREFUSED -> "nobody listens on it: the back end is not running or is restarting";
                default -> "check the path and the permissions";
            };
            throw new IOException("cannot connect to vhost-user socket " + path + ": " + e.getMessage() + "; " + hint, e);
        }
    }

    int fd() {
        return fd;
    }

    Path path() {
        return path;
    }

    /** Sends all of {@code data}, with {@code fds} attached to the first byte. */
    void send(byte[] data, int[] fds) throws IOException {
        if (fds.length > MAX_FDS) {
            throw new IllegalArgumentException("at most " + MAX_FDS + " descriptors per message, got " + fds.length);
        }
        try (Memory buf = new Memory(Math.max(1, data.length)); Memory iov = new Memory(16);
                Memory msg = new Memory(56); Memory control = new Memory(16 + 8L * MAX_FDS)) {
            buf.write(0, data, 0, data.length);
            int sent = 0;
            boolean fdsSent = fds.length == 0;
            while (sent < data.length) {
                msg.clear();
                iov.setPointer(0, buf.share(sent));
                iov.setLong(8, data.length - sent);
                msg.setPointer(16, iov);
                msg.setLong(24, 1);
                if (!fdsSent) {
                    int cmsgLen = 16 + 4 * fds.length;
                    control.clear();
                    control.setLong(0, cmsgLen);
                    control.setInt(8, Libc.SOL_SOCKET);
                    control.setInt(12, Libc.SCM_RIGHTS);
                    for (int i = 0; i < fds.length; i++) {
                        control.setInt(16 + 4L * i, fds[i]);
                    }
                    msg.setPointer(32, control);
                    msg.setLong(40, (cmsgLen + 7) & ~7L); // CMSG_SPACE
                }
                long n;
                try {
                    n = Libc.sendmsg(fd, msg, Libc.MSG_NOSIGNAL);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == Libc.EINTR) {
                        continue;
                    }
                    throw new IOException("sending to vhost-user socket " + path + " failed: " + e.getMessage()
                            + "; the back end closed the connection", e);
                }
                fdsSent = true;
                sent += (int) n;
            }
        }
    }

    /**
     * Receives exactly {@code length} bytes; descriptors that arrive are closed (the front end
     * never asks for any, and leaking them would exhaust the table).
     */
    byte[] receive(int length) throws IOException {
        byte[] out = new byte[length];
        if (length == 0) {
            return out;
        }
        try (Memory buf = new Memory(length); Memory iov = new Memory(16); Memory msg = new Memory(56);
                Memory control = new Memory(16 + 8L * MAX_FDS)) {
            int received = 0;
            while (received < length) {
                msg.clear();
                control.clear();
                iov.setPointer(0, buf.share(received));
                iov.setLong(8, length - received);
                msg.setPointer(16, iov);
                msg.setLong(24, 1);
                msg.setPointer(32, control);
                msg.setLong(40, control.size());
                long n;
                try {
                    n = Libc.recvmsg(fd, msg, Libc.MSG_CMSG_CLOEXEC);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == Libc.EINTR) {
                        continue;
                    }
                    throw new IOException("receiving from vhost-user socket " + path + " failed: " + e.getMessage(), e);
                }
                if (n == 0) {
                    throw new EOFException("vhost-user socket " + path + " closed by the back end after "
                            + received + " of " + length + " bytes of a reply");
                }
                closeReceivedFds(msg.getLong(40), control);
                received += (int) n;
            }
            buf.read(0, out, 0, length);
            return out;
        }
    }

    private static void closeReceivedFds(long controlLen, Pointer control) {
        if (controlLen >= 16 && control.getInt(8) == Libc.SOL_SOCKET && control.getInt(12) == Libc.SCM_RIGHTS) {
            long count = (control.getLong(0) - 16) / 4;
            for (int i = 0; i < count && i < MAX_FDS; i++) {
                Libc.closeQuietly(control.getInt(16 + 4L * i));
            }
        }
    }

    /** Wakes any thread blocked on the socket (it then sees EOF) without releasing the descriptor yet. */
    void shutdown() {
        try {
            Libc.shutdown(fd, Libc.SHUT_RDWR);
        } catch (LastErrorException ignored) {
            // Already disconnected.
        }
    }

    @Override
    public void close() {
        Libc.closeQuietly(fd);
    }
}
