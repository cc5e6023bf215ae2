import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;

/// Chapter 7: the client end of an exchange whose request ends with a half-close, and an abortive close.
///
/// The protocol has no length and no delimiter: the request is every byte the client sends before its FIN, the
/// reply every byte the server sends before its own. So the client must say "done sending" without hanging up.
public final class ReverseClient implements AutoCloseable {

    private ReverseClient() {
    }

    // TODO(task 1): connect to `address`:`port` within `timeout`, and bound every later read by the same timeout
    //  (a timeout under a millisecond is still a bound, never "no timeout"). A null address, a port outside
    //  1-65535, or a null, zero or negative timeout is an IllegalArgumentException whose message names the value.
    //  A connect that fails must not leave a descriptor behind.
    public static ReverseClient connect(InetAddress address, int port, Duration timeout) throws IOException {
        throw new UnsupportedOperationException(
                "Task 1: implement ReverseClient.connect (see chapters/07-close/README.adoc, 'Task 1: Ask, half-close, read to the end')");
    }

    // TODO(task 1): write all of `bytes` to the server.
    public void send(byte[] bytes) throws IOException {
        throw new UnsupportedOperationException(
                "Task 1: implement ReverseClient.send (see chapters/07-close/README.adoc, 'Task 1: Ask, half-close, read to the end')");
    }

    // TODO(task 1): tell the server the request is complete: it must read -1 after the last byte, while this
    //  client can still read the reply. Sending after finish() fails.
    public void finish() throws IOException {
        throw new UnsupportedOperationException(
                "Task 1: implement ReverseClient.finish (see chapters/07-close/README.adoc, 'Task 1: Ask, half-close, read to the end')");
    }

    // TODO(task 1): return every byte of the reply, up to the server's end of stream; a silent server costs a
    //  SocketTimeoutException after the timeout, never a hang.
    public byte[] readToEnd() throws IOException {
        throw new UnsupportedOperationException(
                "Task 1: implement ReverseClient.readToEnd (see chapters/07-close/README.adoc, 'Task 1: Ask, half-close, read to the end')");
    }

    // TODO(task 3): end the connection abortively: the server's next read fails with "Connection reset", and
    //  neither end is left in TIME_WAIT. The descriptor is released.
    public void abort() throws IOException {
        throw new UnsupportedOperationException(
                "Task 3: implement ReverseClient.abort (see chapters/07-close/README.adoc, 'Task 3: Abort')");
    }

    // TODO(task 1): close the connection in order (FIN after any pending data, never an RST: only abort() resets)
    //  and release the descriptor — a half-close sends the FIN too, but keeps the socket.
    @Override
    public void close() throws IOException {
        throw new UnsupportedOperationException(
                "Task 1: implement ReverseClient.close (see chapters/07-close/README.adoc, 'Task 1: Ask, half-close, read to the end')");
    }
}
