import java.io.IOException;
import java.util.List;
import java.util.function.UnaryOperator;

/// Chapter 6: a server on loopback that answers every framed message on every connection with `handler`'s reply,
/// one virtual thread per connection.
public final class FrameServer implements AutoCloseable {

    // TODO(task 3): listen on a kernel-chosen loopback port and serve each connection (FramedChannel frames,
    //  at most maxMessage bytes): answer every message with handler's reply, until the client closes.
    //  A connection that ends in an error (reset, EOF mid-frame, bad length) is closed and its exception kept
    //  for failures(); it must not stop the server or keep other clients waiting.
    //  A negative maxMessage or a null handler is an IllegalArgumentException naming it.
    public static FrameServer start(int maxMessage, UnaryOperator<byte[]> handler) throws IOException {
        throw new UnsupportedOperationException(
                "Task 3: implement FrameServer.start (see chapters/06-io/README.adoc, 'Task 3: Serve many clients')");
    }

    // TODO(task 3): the port the server listens on.
    public int port() {
        throw new UnsupportedOperationException(
                "Task 3: implement FrameServer.port (see chapters/06-io/README.adoc, 'Task 3: Serve many clients')");
    }

    // TODO(task 3): the exceptions that ended connections so far, oldest first.
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
