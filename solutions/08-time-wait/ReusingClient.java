import java.io.BufferedReader;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;

import static java.nio.charset.StandardCharsets.UTF_8;

/// Chapter 8: a client of the line protocol that sends every request over one connection, and closes it first.
public final class ReusingClient implements AutoCloseable {

    private final Socket socket;
    private final BufferedReader in;
    private final OutputStream out;

    private ReusingClient(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new BufferedReader(new InputStreamReader(socket.getInputStream(), UTF_8));
        this.out = socket.getOutputStream();
    }

    public static ReusingClient connect(InetSocketAddress server, Duration timeout) throws IOException {
        if (server == null) {
            throw new IllegalArgumentException("server address is null: name the server to connect to");
        }
        if (server.isUnresolved()) {
            throw new IllegalArgumentException("server address " + server + " is unresolved");
        }
        if (server.getPort() == 0) {
            throw new IllegalArgumentException("server port 0 in " + server + ": nothing listens on port 0");
        }
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            // 0 means "no bound at all" to both connect() and SO_TIMEOUT.
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
        int millis = Math.clamp(timeout.toMillis(), 1, Integer.MAX_VALUE);
        var socket = new Socket();
        try {
            // One connection for every request: one handshake, and one TIME_WAIT at the end instead of one per request.
            socket.connect(server, millis);
            socket.setSoTimeout(millis); // a server that never answers fails ask(), not the caller's patience
            return new ReusingClient(socket);
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    public String ask(String request) throws IOException {
        if (request == null || request.indexOf('\n') >= 0 || request.indexOf('\r') >= 0) {
            // A line break inside a request would end it early: the server would answer twice, and every later
            // reply would belong to the wrong request.
            throw new IllegalArgumentException("a request is one line; got " + (request == null ? "null"
                    : "a line break in \"" + request.replace("\n", "\\n").replace("\r", "\\r") + "\""));
        }
        out.write((request + "\n").getBytes(UTF_8));
        String reply = in.readLine();
        if (reply == null) {
            throw new EOFException("the server at " + socket.getRemoteSocketAddress()
                    + " closed the connection instead of answering \"" + request + "\"");
        }
        return reply;
    }

    /// Ends the conversation. The protocol has the client close first: its FIN goes out before the server's, so this
    /// side keeps the connection's TIME_WAIT. An orderly close (FIN, not SO_LINGER 0's RST) lets the server read EOF.
    @Override
    public void close() throws IOException {
        socket.close();
    }
}
