import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/// Chapter 7: a server that answers each request with its bytes reversed, and closes every connection on every path.
///
/// A reversed reply starts with the request's last byte, so the server must read to EOF — the client's FIN —
/// before it can write anything: the protocol needs the half-close.
public final class ReverseServer implements AutoCloseable {

    private final ServerSocket listener;
    private final int readTimeoutMillis;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;

    private ReverseServer(ServerSocket listener, int readTimeoutMillis) {
        this.listener = listener;
        this.readTimeoutMillis = readTimeoutMillis;
        this.acceptor = Thread.ofVirtual().name("reverse-accept").start(this::acceptLoop);
    }

    public static ReverseServer start(InetAddress address, int port, Duration readTimeout) throws IOException {
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
        var listener = new ServerSocket(port, 50, address);
        return new ReverseServer(listener, Math.clamp(readTimeout.toMillis(), 1, Integer.MAX_VALUE));
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
        // try-with-resources closes on every path out: EOF and reply, read timeout, reset, broken pipe.
        // A path that skips close() leaves the descriptor open and, once the peer closes, a CLOSE_WAIT for good.
        try (connection) {
            connection.setSoTimeout(readTimeoutMillis);
            byte[] request = connection.getInputStream().readAllBytes(); // to the client's FIN
            byte[] reply = new byte[request.length];
            for (int i = 0; i < request.length; i++) {
                reply[i] = request[request.length - 1 - i];
            }
            connection.getOutputStream().write(reply);
        } catch (IOException peerGoneOrSilent) {
            // Connection reset, timed out, Broken pipe: nothing to tell a peer that is gone; the close is the answer.
        } finally {
            open.remove(connection);
        }
    }

    @Override
    public void close() throws IOException {
        // Closing the listener wakes accept(); closing each connection wakes its handler's read.
        listener.close();
        for (Socket connection : open) {
            closeQuietly(connection);
        }
        try {
            acceptor.join(Duration.ofSeconds(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // already closed, or the peer is gone: either way the descriptor is released
        }
    }
}
