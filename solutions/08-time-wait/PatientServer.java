import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static java.nio.charset.StandardCharsets.UTF_8;

/// Chapter 8: a line server that lets every client close first, so TIME_WAIT lands on the clients, not on its port.
///
/// The protocol: a request is one line of UTF-8 text ending in `\n`; the reply is that line in upper case
/// (`Locale.ROOT`), also ending in `\n`. A client sends as many requests as it likes on one connection and ends
/// the conversation by closing it. The server closes a connection only after the client's EOF — or after `idle`
/// without a request, so a client that neither asks nor closes cannot hold a connection for ever.
public final class PatientServer implements AutoCloseable {

    private final ServerSocket listener;
    private final int idleMillis;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();

    private PatientServer(ServerSocket listener, int idleMillis) {
        this.listener = listener;
        this.idleMillis = idleMillis;
        Thread.ofVirtual().name("patient-accept-" + listener.getLocalPort()).start(this::acceptLoop);
    }

    // tag::listen[]
    public static ServerSocket listen(InetAddress address, int port) throws IOException {
        if (address == null) {
            throw new IllegalArgumentException("address is null: name the address to listen on, e.g. 127.0.0.1");
        }
        if (port < 0 || port > 65_535) {
            throw new IllegalArgumentException("port " + port + " is out of range 0..65535");
        }
        var listener = new ServerSocket();
        try {
            // A restart finds its port still held by the last run's TIME_WAIT rows. SO_REUSEADDR lets bind() pass
            // them (never a live listener: that stays EADDRINUSE). Set it on every run: a TIME_WAIT row keeps the
            // flag of the socket it came from, and Linux lets the bind through only if both had it. Java turns it
            // on by default on Linux; a server states its policy rather than trust a platform default.
            listener.setReuseAddress(true);
            listener.bind(new InetSocketAddress(address, port), 50);
            return listener;
        } catch (IOException | RuntimeException e) {
            listener.close();
            throw e;
        }
    }
    // end::listen[]

    public static PatientServer serve(ServerSocket listener, Duration idle) {
        if (listener == null) {
            throw new IllegalArgumentException("listener is null: pass the ServerSocket that listen() returned");
        }
        if (idle == null || idle.isNegative() || idle.isZero()) {
            // SO_TIMEOUT 0 means "wait for ever": a zero idle time would switch the bound off, not tighten it.
            throw new IllegalArgumentException("idle time must be positive, got " + idle);
        }
        int millis = Math.clamp(idle.toMillis(), 1, Integer.MAX_VALUE);
        return new PatientServer(listener, millis);
    }

    /// The port the server listens on.
    public int port() {
        return listener.getLocalPort();
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket connection = listener.accept();
                open.add(connection);
                if (listener.isClosed()) {
                    connection.close(); // close() ran between accept() and add(): nobody else will close it
                    return;
                }
                Thread.ofVirtual().name("patient-conn-", 0).start(() -> converse(connection));
            } catch (IOException e) {
                // A closed listener ends the loop; any other failure (say EMFILE) is one connection lost, not the server.
            }
        }
    }

    // tag::converse[]
    private void converse(Socket connection) {
        try (connection) {
            // A client that neither asks nor closes would pin this thread and descriptor for ever: bound the wait.
            connection.setSoTimeout(idleMillis);
            var in = new BufferedReader(new InputStreamReader(connection.getInputStream(), UTF_8));
            var out = connection.getOutputStream();
            String request;
            // readLine() returns null at the client's FIN. Only then does try-with-resources close: the client was
            // the active closer, so its side of the connection, not this port, holds TIME_WAIT.
            while ((request = in.readLine()) != null) {
                // One write per reply: the whole line leaves in one segment, with nothing for Nagle to hold back.
                out.write((request.toUpperCase(Locale.ROOT) + "\n").getBytes(UTF_8));
            }
        } catch (SocketTimeoutException silent) {
            // Idle too long: hang up. This connection's TIME_WAIT is ours — the price of not waiting for ever.
        } catch (IOException gone) {
            // Reset by the client, or closed by close(): nothing is left to answer.
        } finally {
            open.remove(connection);
        }
    }
    // end::converse[]

    /// Stops listening and closes every connection still open (at shutdown, the server is the one that closes).
    @Override
    public void close() throws IOException {
        listener.close();
        for (Socket connection : open) {
            connection.close();
        }
    }
}
