package org.spdksr.datapath.blkifd.daemon;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.googlecode.jsonrpc4j.JsonRpcClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Calls one blkifd's control socket: one connection per call, bounded by a timeout so that a hung
 * blkifd cannot hang a datapath command (xapi has none, smapiv3.md §3.1).
 */
public final class ControlClient {
    private final Path socket;
    private final ObjectMapper json;

    public ControlClient(Path socket) {
        this.socket = socket;
        this.json = mapper();
    }

    static ObjectMapper mapper() {
        return new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    }

    public Path socket() {
        return socket;
    }

    public DaemonStatus reconcile(Duration timeout) throws IOException {
        return call("reconcile", timeout);
    }

    public DaemonStatus status(Duration timeout) throws IOException {
        return call("status", timeout);
    }

    public DaemonStatus shutdown(Duration timeout) throws IOException {
        return call("shutdown", timeout);
    }

    private DaemonStatus call(String method, Duration timeout) throws IOException {
        SocketChannel channel;
        try {
            channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            channel.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            throw new IOException("blkifd control socket " + socket + " does not answer: " + e.getMessage(), e);
        }
        CompletableFuture<DaemonStatus> answer = CompletableFuture.supplyAsync(() -> {
            try (OutputStream out = Channels.newOutputStream(channel); InputStream in = Channels.newInputStream(channel)) {
                JsonRpcClient client = new JsonRpcClient(json);
                client.invoke(method, List.of(), out);
                out.flush();
                channel.shutdownOutput();
                DaemonStatus status = client.readResponse(DaemonStatus.class, in);
                // Read to the server's close, so that the server never writes into a closed socket.
                in.readAllBytes();
                return status;
            } catch (Throwable e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        }, runnable -> {
            Thread t = new Thread(runnable, "blkifd-control-call");
            t.setDaemon(true);
            t.start();
        });
        try {
            return answer.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new IOException("blkifd at " + socket + " did not answer " + method + " within " + timeout.toSeconds() + " s");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() != null && e.getCause().getCause() != null ? e.getCause().getCause() : e.getCause();
            throw new IOException("blkifd at " + socket + " failed " + method + ": " + cause, cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while calling blkifd at " + socket, e);
        } finally {
            channel.close();
        }
    }
}
