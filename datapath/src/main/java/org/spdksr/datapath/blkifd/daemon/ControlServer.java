package org.spdksr.datapath.blkifd.daemon;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.googlecode.jsonrpc4j.JsonRpcBasicServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * blkifd's control socket: a unix socket, one JSON-RPC request per connection (the client shuts
 * its side down after the request), answered by jsonrpc4j on a thread per connection. Only root
 * (the socket owner) may connect: the mode is 0600.
 */
final class ControlServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ControlServer.class);

    private final Path path;
    private final ServerSocketChannel listener;
    private final JsonRpcBasicServer rpc;
    private final Thread acceptor;
    private final String name;
    private volatile boolean open = true;

    private ControlServer(Path path, ServerSocketChannel listener, JsonRpcBasicServer rpc, String name) {
        this.path = path;
        this.listener = listener;
        this.rpc = rpc;
        this.name = name;
        this.acceptor = new Thread(this::acceptLoop, name + " control");
        this.acceptor.setDaemon(true);
    }

    static ControlServer start(Path path, BlkifdControl handler, ObjectMapper json, String name) throws IOException {
        Files.deleteIfExists(path); // the caller made sure no live blkifd owns it
        ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            listener.bind(UnixDomainSocketAddress.of(path));
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException e) {
            listener.close();
            throw new IOException("cannot listen on the control socket " + path + ": " + e.getMessage(), e);
        }
        JsonRpcBasicServer rpc = new JsonRpcBasicServer(json, handler, BlkifdControl.class);
        rpc.setShouldLogInvocationErrors(false);
        ControlServer server = new ControlServer(path, listener, rpc, name);
        server.acceptor.start();
        return server;
    }

    private void acceptLoop() {
        while (open) {
            try {
                SocketChannel client = listener.accept();
                Thread t = new Thread(() -> serve(client), name + " control call");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                if (open) {
                    LOG.error("{}: control socket {} failed: {}", name, path, e.toString());
                }
                return;
            }
        }
    }

    private void serve(SocketChannel client) {
        try (client; InputStream in = Channels.newInputStream(client); OutputStream out = Channels.newOutputStream(client)) {
            rpc.handleRequest(in, out);
            out.flush();
        } catch (IOException | RuntimeException e) {
            LOG.warn("{}: control request failed: {}", name, e.toString());
        }
    }

    @Override
    public void close() {
        open = false;
        try {
            listener.close();
        } catch (IOException e) {
            // closing anyway
        }
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.warn("{}: cannot remove control socket {}: {}", name, path, e.toString());
        }
    }
}
