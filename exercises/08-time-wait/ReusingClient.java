import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;

/// Chapter 8: a client of the line protocol that sends every request over one connection, and closes it first.
public final class ReusingClient implements AutoCloseable {

    private ReusingClient() {
    }

    // TODO(task 3): connect to `server`, giving up after `timeout`; the client will send every request over this
    //  one connection, and a reply that takes longer than `timeout` fails with SocketTimeoutException (a timeout
    //  under a millisecond is still a bound, never "no timeout"). A null or unresolved address, port 0, or a
    //  timeout that is not positive is an IllegalArgumentException whose message names it.
    public static ReusingClient connect(InetSocketAddress server, Duration timeout) throws IOException {
        throw new UnsupportedOperationException(
                "Task 3: implement ReusingClient.connect (see chapters/08-time-wait/README.adoc, 'Task 3: Reuse one connection')");
    }

    // TODO(task 3): send `request` as one line and return the server's one-line reply (an empty request is a
    //  request: its reply is an empty line). A null request, or one with a line break (\n or \r) in it, is an
    //  IllegalArgumentException; a server that closes instead of answering is an IOException.
    public String ask(String request) throws IOException {
        throw new UnsupportedOperationException(
                "Task 3: implement ReusingClient.ask (see chapters/08-time-wait/README.adoc, 'Task 3: Reuse one connection')");
    }

    // TODO(task 3): end the conversation the way the protocol says: the client closes first, in an orderly way
    //  (the server must read EOF, not a reset), and the socket's descriptor is released (a half-close is not a
    //  close).
    @Override
    public void close() throws IOException {
        throw new UnsupportedOperationException(
                "Task 3: implement ReusingClient.close (see chapters/08-time-wait/README.adoc, 'Task 3: Reuse one connection')");
    }
}
