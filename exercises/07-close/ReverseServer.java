import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;

/// Chapter 7: a server that answers each request with its bytes reversed, and closes every connection on every path.
///
/// A reversed reply starts with the request's last byte, so the server must read to EOF — the client's FIN —
/// before it can write anything: the protocol needs the half-close.
public final class ReverseServer implements AutoCloseable {

    private ReverseServer() {
    }

    // TODO(task 2): listen on `address`:`port` (0: the kernel picks) and serve every connection on a thread of its
    //  own: read the request up to the client's end of stream, reply with its bytes in reverse order, close.
    //  Every connection is closed on every path: after the reply, when the client resets or vanishes, when a write
    //  fails, and when the client stays silent for longer than `readTimeout` (a request that never ended gets no
    //  reply, just the close; a timeout under a millisecond is still a bound). Hold under abuse: a request longer
    //  than `maxRequest` bytes is refused as soon as it passes the limit — no reply, the connection reset (RST) —
    //  without reading or keeping the rest; a client that does not take its reply (it stops reading: the buffers
    //  fill and write() blocks, with no timeout of its own) is cut off with an RST once no part of the reply has
    //  left for `readTimeout`. A null address, a port outside 0-65535, a null, zero or negative timeout, or a
    //  maxRequest outside 0..1 GiB (1 << 30) is an IllegalArgumentException whose message names the value.
    public static ReverseServer start(InetAddress address, int port, Duration readTimeout, int maxRequest)
            throws IOException {
        throw new UnsupportedOperationException(
                "Task 2: implement ReverseServer.start (see chapters/07-close/README.adoc, 'Task 2: Close on every path')");
    }

    // TODO(task 2): the port the server listens on.
    public int port() {
        throw new UnsupportedOperationException(
                "Task 2: implement ReverseServer.port (see chapters/07-close/README.adoc, 'Task 2: Close on every path')");
    }

    // TODO(task 2): stop: refuse new connections and close every open one (its client reads -1), whatever its
    //  handler is blocked in.
    @Override
    public void close() throws IOException {
        throw new UnsupportedOperationException(
                "Task 2: implement ReverseServer.close (see chapters/07-close/README.adoc, 'Task 2: Close on every path')");
    }
}
