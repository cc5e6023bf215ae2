import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.function.UnaryOperator;

/// Chapter 6: a server on loopback that answers every framed message on every connection with `handler`'s reply,
/// one virtual thread per connection.
public final class FrameServer implements AutoCloseable {

    /// How many exceptions [#failures] keeps: the newest; older ones are dropped.
    public static final int MAX_FAILURES = 100;

    // TODO(task 3): listen on a kernel-chosen loopback port and serve each connection (FramedChannel frames,
    //  at most maxMessage bytes): answer every message with handler's reply, until the client closes.
    //  Hold under abuse: a client that sends no whole frame within `idle` (from its connect, or from its last
    //  reply) is hung up on; a client that does not take its reply within `idle` (it sends, but never reads) is
    //  cut off; a frame announcing more than maxMessage bytes ends the connection before anything is allocated.
    //  A connection that ends in an error (reset, EOF mid-frame, bad length, one of the bounds above, which is a
    //  SocketTimeoutException) is closed and its exception kept for failures(); it must not stop the server or
    //  keep other clients waiting. A negative maxMessage, a null, zero or negative idle, or a null handler is an
    //  IllegalArgumentException naming it.
    public static FrameServer start(int maxMessage, Duration idle, UnaryOperator<byte[]> handler) throws IOException {
        throw new UnsupportedOperationException(
                "Task 3: implement FrameServer.start (see chapters/06-io/README.adoc, 'Task 3: Serve many clients')");
    }

    // TODO(task 3): the port the server listens on.
    public int port() {
        throw new UnsupportedOperationException(
                "Task 3: implement FrameServer.port (see chapters/06-io/README.adoc, 'Task 3: Serve many clients')");
    }

    // TODO(task 3): the exceptions that ended connections, oldest first: at most the newest MAX_FAILURES of them,
    //  so that a stream of bad clients cannot grow the server's memory without end.
    public List<Exception> failures() {
        throw new UnsupportedOperationException(
                "Task 3: implement FrameServer.failures (see chapters/06-io/README.adoc, 'Task 3: Serve many clients')");
    }

    // TODO(task 3): stop listening and close every open connection.
    @Override
    public void close() throws IOException {
        throw new UnsupportedOperationException(
                "Task 3: implement FrameServer.close (see chapters/06-io/README.adoc, 'Task 3: Serve many clients')");
    }
}
