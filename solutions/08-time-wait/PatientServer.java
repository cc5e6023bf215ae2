import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import static java.nio.charset.StandardCharsets.UTF_8;

/// Chapter 8: a line server that lets every client close first, so TIME_WAIT lands on the clients, not on its port.
///
/// The protocol: a request is one line of UTF-8 text ending in `\n`; the reply is that line in upper case
/// (`Locale.ROOT`), also ending in `\n`. A client sends as many requests as it likes on one connection and ends
/// the conversation by closing it. The server closes a connection only after the client's EOF — or after `idle`
/// without a request, so a client that neither asks nor closes cannot hold a connection for ever.
public final class PatientServer implements AutoCloseable {

    /// The longest request line, in bytes of UTF-8, not counting its `\n`: a longer one is refused.
    public static final int MAX_LINE = 8192;

    private final ServerSocket listener;
    private final int idleMillis;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final ScheduledThreadPoolExecutor watchdog;
    private final Thread acceptor;

    private PatientServer(ServerSocket listener, int idleMillis) {
        this.listener = listener;
        this.idleMillis = idleMillis;
        this.watchdog = new ScheduledThreadPoolExecutor(1, Thread.ofVirtual().name("patient-watchdog").factory());
        this.watchdog.setRemoveOnCancelPolicy(true); // a cancelled cut-off must not linger for the whole idle time
        this.acceptor = Thread.ofVirtual().name("patient-accept-" + listener.getLocalPort()).start(this::acceptLoop);
    }

    public static ServerSocket listen(InetAddress address, int port) throws IOException {
        if (address == null) {
            throw new IllegalArgumentException("address is null: name the address to listen on, e.g. 127.0.0.1");
        }
        // Refuses a port outside 0..65535 with an IllegalArgumentException that names it, before any socket exists.
        var local = new InetSocketAddress(address, port);
        var listener = new ServerSocket();
        try {
            // A restart finds its port still held by the last run's TIME_WAIT rows. SO_REUSEADDR lets bind() pass
            // them (never a live listener: that stays EADDRINUSE). Set it on every run: a TIME_WAIT row keeps the
            // flag of the socket it came from, and Linux lets the bind through only if both had it. Java turns it
            // on by default on Linux; a server states its policy rather than trust a platform default.
            listener.setReuseAddress(true);
            listener.bind(local, 50);
            return listener;
        } catch (IOException | RuntimeException e) {
            listener.close();
            throw e;
        }
    }

    public static PatientServer serve(ServerSocket listener, Duration idle) {
        if (listener == null) {
            throw new IllegalArgumentException("listener is null: pass the ServerSocket that listen() returned");
        }
        if (idle == null || idle.isNegative() || idle.isZero()) {
            // SO_TIMEOUT 0 means "wait for ever": a zero idle time would switch the bound off, not tighten it.
            throw new IllegalArgumentException("idle time must be positive, got " + idle);
        }
        // Rounded up to 1 ms, never down to 0: a positive idle time under a millisecond is still a bound.
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

    private void converse(Socket connection) {
        try (connection) {
            // A client that neither asks nor closes would pin this thread and descriptor for ever: bound the wait.
            connection.setSoTimeout(idleMillis);
            var in = new BufferedInputStream(connection.getInputStream());
            String request;
            try {
                // readLine() returns null at the client's FIN. Only then does try-with-resources close: the client
                // was the active closer, so its side of the connection, not this port, holds TIME_WAIT.
                while ((request = readLine(in)) != null) {
                    // One write per reply: the whole line leaves in one segment, with nothing for Nagle to hold back.
                    writeBounded(connection, (request.toUpperCase(Locale.ROOT) + "\n").getBytes(UTF_8));
                }
            } catch (ProtocolException tooLong) {
                // Refused: no reply, and an RST rather than a FIN, so the client's next write or read fails with
                // "Connection reset" instead of waiting for an answer. Set here, inside: try-with-resources closes
                // the connection before a catch clause of its own runs, and a plain close() of a connection whose
                // bytes were all read sends FIN.
                connection.setSoLinger(true, 0);
            }
        } catch (SocketTimeoutException silent) {
            // Idle too long: hang up. This connection's TIME_WAIT is ours — the price of not waiting for ever.
        } catch (IOException gone) {
            // Reset by the client, closed by close() or by the watchdog, or EOF inside a line: nothing to answer.
        } finally {
            open.remove(connection);
        }
    }

    /// The next request line, without its `\n`; null at EOF between two lines. Read byte by byte from a buffered
    /// stream, so that no client can make the line, and this server's memory, longer than MAX_LINE.
    private static String readLine(InputStream in) throws IOException {
        var line = new ByteArrayOutputStream();
        for (int b = in.read(); b != '\n'; b = in.read()) {
            if (b < 0) {
                if (line.size() == 0) {
                    return null;
                }
                throw new EOFException("the client closed in the middle of a line (" + line.size() + " bytes, no \\n)");
            }
            if (line.size() == MAX_LINE) {
                throw new ProtocolException("request line longer than " + MAX_LINE + " bytes");
            }
            line.write(b);
        }
        return line.toString(UTF_8);
    }

    /// SO_TIMEOUT bounds reads only: a client that sends requests but never reads the replies fills its receive
    /// window and this server's send buffer, and a blocking write then waits for ever. A reply that has not left
    /// within the idle time gets the connection cut off from another thread, with an RST that also drops what the
    /// kernel still holds for that client.
    private void writeBounded(Socket connection, byte[] reply) throws IOException {
        ScheduledFuture<?> cutoff = watchdog.schedule(() -> abort(connection), idleMillis, TimeUnit.MILLISECONDS);
        try {
            connection.getOutputStream().write(reply);
        } finally {
            cutoff.cancel(false);
        }
    }

    /// Stops listening and closes every connection still open (at shutdown, the server is the one that closes).
    @Override
    public void close() throws IOException {
        listener.close();
        for (Socket connection : open) {
            connection.close();
        }
        watchdog.shutdownNow();
        try {
            // While a thread is blocked in accept(), the JDK closes the listening socket for good only once that
            // thread has left it; until then a client can still connect. Wait for the accept loop to end.
            acceptor.join(Duration.ofSeconds(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void abort(Socket connection) {
        try {
            connection.setSoLinger(true, 0);
            connection.close();
        } catch (IOException alreadyClosed) {
            // the connection is gone either way
        }
    }
}
