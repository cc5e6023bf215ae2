import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/// Chapter 7: a server that answers each request with its bytes reversed, and closes every connection on every path.
///
/// A reversed reply starts with the request's last byte, so the server must read to EOF — the client's FIN —
/// before it can write anything: the protocol needs the half-close.
public final class ReverseServer implements AutoCloseable {

    /// The largest `maxRequest` [#start] takes: 1 GiB, far more than one connection should ever hold.
    private static final int MAX_REQUEST_LIMIT = 1 << 30;

    /// How much of a reply one bounded write hands the kernel: each piece must leave within the read timeout.
    private static final int PIECE = 64 * 1024;

    private final ServerSocket listener;
    private final int readTimeoutMillis;
    private final int maxRequest;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final ScheduledThreadPoolExecutor watchdog;
    private final Thread acceptor;

    private ReverseServer(ServerSocket listener, int readTimeoutMillis, int maxRequest) {
        this.listener = listener;
        this.readTimeoutMillis = readTimeoutMillis;
        this.maxRequest = maxRequest;
        this.watchdog = new ScheduledThreadPoolExecutor(1, Thread.ofVirtual().name("reverse-watchdog").factory());
        this.watchdog.setRemoveOnCancelPolicy(true); // a cancelled cut-off must not linger for the whole timeout
        this.acceptor = Thread.ofVirtual().name("reverse-accept").start(this::acceptLoop);
    }

    public static ReverseServer start(InetAddress address, int port, Duration readTimeout, int maxRequest)
            throws IOException {
        if (address == null) {
            throw new IllegalArgumentException("address must not be null");
        }
        if (port < 0 || port > 65_535) {
            throw new IllegalArgumentException("port " + port + " is out of range 0-65535");
        }
        if (readTimeout == null || readTimeout.isNegative() || readTimeout.isZero()) {
            // SO_TIMEOUT 0 means "wait forever": a silent client would then hold its connection for good.
            throw new IllegalArgumentException("read timeout must be positive, got " + readTimeout);
        }
        if (maxRequest < 0 || maxRequest > MAX_REQUEST_LIMIT) {
            throw new IllegalArgumentException("maxRequest must be 0.." + MAX_REQUEST_LIMIT + " bytes (1 GiB), got " + maxRequest);
        }
        var listener = new ServerSocket(port, 50, address);
        // Rounded up to 1 ms, never down to 0: 0 would switch the bound off.
        return new ReverseServer(listener, Math.clamp(readTimeout.toMillis(), 1, Integer.MAX_VALUE), maxRequest);
    }

    public int port() {
        return listener.getLocalPort();
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            Socket connection;
            try {
                connection = listener.accept();
            } catch (IOException e) {
                return; // the listener was closed by close(), or cannot accept any more
            }
            open.add(connection);
            if (listener.isClosed()) {
                // close() ran between accept() and add(): it did not see this one.
                closeQuietly(connection);
                return;
            }
            Thread.ofVirtual().name("reverse-" + connection.getPort()).start(() -> serve(connection));
        }
    }

    private void serve(Socket connection) {
        // try-with-resources closes on every path out: EOF and reply, read timeout, reset, broken pipe, a request
        // too long, a client that does not take its reply. A path that skips close() leaves the descriptor open
        // and, once the peer closes, a CLOSE_WAIT for good.
        try (connection) {
            connection.setSoTimeout(readTimeoutMillis);
            // To the client's FIN, but never more than maxRequest + 1 bytes: one more than allowed says "too long"
            // without letting any client decide how much memory this server takes.
            byte[] request = connection.getInputStream().readNBytes(maxRequest + 1);
            if (request.length > maxRequest) {
                // Refused: no reply, and an RST rather than a FIN — the client's next write or read fails with
                // "Connection reset" instead of reading an empty reply as if it were the answer.
                connection.setSoLinger(true, 0);
                return;
            }
            byte[] reply = new byte[request.length];
            for (int i = 0; i < request.length; i++) {
                reply[i] = request[request.length - 1 - i];
            }
            writeBounded(connection, reply);
        } catch (IOException peerGoneOrSilent) {
            // Connection reset, timed out, Broken pipe, cut off: nothing to tell a peer that is gone; the close is
            // the answer.
        } finally {
            open.remove(connection);
        }
    }

    /// Writes `reply` piece by piece; a piece that cannot leave within the read timeout gets the connection cut off.
    /// SO_TIMEOUT bounds reads only: a client that stops reading fills its receive window and this server's send
    /// buffer, and a blocking write then waits for ever. A close from another thread is what ends it; SO_LINGER 0
    /// makes it an RST, which also drops what the kernel still holds for the client.
    private void writeBounded(Socket connection, byte[] reply) throws IOException {
        OutputStream out = connection.getOutputStream();
        for (int from = 0; from < reply.length; from += PIECE) {
            ScheduledFuture<?> cutoff = watchdog.schedule(() -> abort(connection), readTimeoutMillis, TimeUnit.MILLISECONDS);
            try {
                out.write(reply, from, Math.min(PIECE, reply.length - from));
            } finally {
                cutoff.cancel(false);
            }
        }
    }

    @Override
    public void close() throws IOException {
        // Closing the listener wakes accept(); closing each connection wakes its handler's read or write.
        listener.close();
        for (Socket connection : open) {
            closeQuietly(connection);
        }
        watchdog.shutdownNow();
        try {
            acceptor.join(Duration.ofSeconds(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void abort(Socket connection) {
        try {
            connection.setSoLinger(true, 0);
        } catch (IOException alreadyClosed) {
            // closing is all that is left to do
        }
        closeQuietly(connection);
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // already closed, or the peer is gone: either way the descriptor is released
        }
    }
}
