import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/// Chapter 4: an echo server — one listening socket, an accept loop, and a new connected socket per client.
public final class Acceptor implements AutoCloseable {

    private final ServerSocket listener;
    private final Set<Socket> connections = ConcurrentHashMap.newKeySet();
    private final Thread loop;
    private volatile boolean stopping;

    private Acceptor(ServerSocket listener) {
        this.listener = listener;
        this.loop = Thread.ofPlatform().name("accept-loop-" + listener.getLocalPort()).daemon().unstarted(this::acceptLoop);
    }

    public static Socket acceptOne(ServerSocket listener, Duration wait) throws IOException {
        if (listener == null) {
            throw new IllegalArgumentException("listener must not be null");
        }
        if (wait == null || wait.isNegative() || wait.isZero()) {
            // SO_TIMEOUT 0 means "wait forever": exactly what a bounded accept must not do.
            throw new IllegalArgumentException("wait must be positive, got " + wait);
        }
        // accept() blocks forever by default; SO_TIMEOUT bounds it, so a client that never comes cannot hang us.
        // The timeout is a setting of the listener: it stays for later accepts too, which is fine here.
        listener.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, wait.toMillis())));
        // A new socket (connfd): its own descriptor, the listener's port, the client's address. The listener stays.
        return listener.accept();
    }

    public static Acceptor start(InetAddress address, int port, int backlog) throws IOException {
        if (address == null) {
            throw new IllegalArgumentException("address must not be null (use InetAddress.getLoopbackAddress())");
        }
        // A port outside 0..65535 (0: the kernel picks) is refused by ServerSocket itself, before any socket exists
        // ("Port value out of range: 65536").
        if (backlog < 0) {
            throw new IllegalArgumentException("backlog must not be negative, got " + backlog);
        }
        // bind() + listen() in one call (Java turns backlog 0 into 50); from here on the kernel completes
        // handshakes on its own, whether or not anyone calls accept().
        var server = new Acceptor(new ServerSocket(port, backlog, address));
        server.loop.start();
        return server;
    }

    public int port() {
        return listener.getLocalPort();
    }

    private void acceptLoop() {
        while (!stopping) {
            Socket connection;
            try {
                connection = listener.accept();
            } catch (IOException e) {
                if (stopping || listener.isClosed()) {
                    return; // stop() closed the listener: accept() fails with "Socket closed", which is our cue
                }
                // EMFILE and its kin: the connection stays in the queue, so an accept() at once would fail again
                // and spin a core. Back off a little, then try again; the loop must outlive a bad moment.
                if (!pause()) {
                    return;
                }
                continue;
            }
            connections.add(connection);
            if (stopping) {
                // stop() may have gone through `connections` just before we added this one: close it ourselves.
                closeQuietly(connection);
                return;
            }
            // One virtual thread per connection: the loop is back in accept() at once, whatever this client does.
            Thread.ofVirtual().name("echo-", connection.getPort()).start(() -> echo(connection));
        }
    }

    private void echo(Socket connection) {
        // try-with-resources closes on every path — EOF, a reset, stop() — so no CLOSE_WAIT is left behind.
        try (connection; InputStream in = connection.getInputStream(); OutputStream out = connection.getOutputStream()) {
            byte[] buffer = new byte[8192];
            for (int n; (n = in.read(buffer)) != -1; ) {
                out.write(buffer, 0, n);
            }
        } catch (IOException e) {
            // A reset (or stop() closing under us) ends this connection only; the accept loop never sees it.
        } finally {
            connections.remove(connection);
        }
    }

    public void stop() throws IOException {
        stopping = true;
        // Closing the listener wakes the accept loop and makes new clients get ECONNREFUSED ...
        listener.close();
        // ... but every accepted socket is a socket of its own: it stays open until we close it too.
        for (Socket connection : connections) {
            closeQuietly(connection);
        }
        try {
            loop.join(Duration.ofSeconds(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() throws IOException {
        stop();
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // already closing; nothing is left to release
        }
    }

    private static boolean pause() {
        try {
            Thread.sleep(50);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
