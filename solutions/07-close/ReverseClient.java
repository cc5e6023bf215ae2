import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;

/// Chapter 7: the client end of an exchange whose request ends with a half-close, and an abortive close.
///
/// The protocol has no length and no delimiter: the request is every byte the client sends before its FIN, the
/// reply every byte the server sends before its own. So the client must say "done sending" without hanging up.
public final class ReverseClient implements AutoCloseable {

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    private ReverseClient(Socket socket) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    public static ReverseClient connect(InetAddress address, int port, Duration timeout) throws IOException {
        if (address == null) {
            throw new IllegalArgumentException("address must not be null");
        }
        if (port < 1 || port > 65_535) {
            throw new IllegalArgumentException("port " + port + " is out of range 1-65535");
        }
        int millis = positiveMillis(timeout);
        var socket = new Socket();
        try {
            socket.connect(new InetSocketAddress(address, port), millis);
            // SO_TIMEOUT bounds every read: a server that never closes costs a timeout, not a hung client.
            socket.setSoTimeout(millis);
            return new ReverseClient(socket);
        } catch (IOException | RuntimeException e) {
            socket.close(); // a failed connect still holds a descriptor
            throw e;
        }
    }

    public void send(byte[] bytes) throws IOException {
        out.write(bytes);
    }

    public void finish() throws IOException {
        // shutdown(SHUT_WR): the kernel sends FIN after the queued bytes; the peer's read returns -1 and our
        // input stays open. Closing out (getOutputStream().close()) would close the whole socket instead.
        socket.shutdownOutput();
    }

    public byte[] readToEnd() throws IOException {
        // -1 arrives only with the server's FIN: that, not a pause, is the end of the reply.
        return in.readAllBytes();
    }

    public void abort() throws IOException {
        // SO_LINGER 0: close() discards what is queued and sends RST instead of FIN — no TIME_WAIT anywhere,
        // and the peer's next read fails with ECONNRESET.
        socket.setSoLinger(true, 0);
        socket.close();
    }

    @Override
    public void close() throws IOException {
        // The orderly close: FIN after pending data (if finish() has not sent it already), descriptor released.
        socket.close();
    }

    private static int positiveMillis(Duration timeout) {
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            // SO_TIMEOUT 0 means "wait forever": exactly what a bound is there to prevent.
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
        // Rounded up to 1 ms, never down to 0 (which would mean no bound at all).
        return Math.clamp(timeout.toMillis(), 1, Integer.MAX_VALUE);
    }
}
