import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;

/// Chapter 8: a line server that lets every client close first, so TIME_WAIT lands on the clients, not on its port.
///
/// The protocol: a request is one line of UTF-8 text ending in `\n`; the reply is that line in upper case
/// (`Locale.ROOT`), also ending in `\n`. A client sends as many requests as it likes on one connection and ends
/// the conversation by closing it. The server closes a connection only after the client's EOF — or after `idle`
/// without a request, so a client that neither asks nor closes cannot hold a connection for ever.
public final class PatientServer implements AutoCloseable {

    /// The longest request line, in bytes of UTF-8, not counting its `\n`: a longer one is refused.
    public static final int MAX_LINE = 8192;

    private PatientServer() {
    }

    // TODO(task 2): return a listening socket bound to (address, port) — port 0 lets the kernel choose — that a
    //  restarted server can bind while the last run's connections are still in TIME_WAIT on that port, and that
    //  still refuses a second live listener (if bind() fails, throw its BindException and leave no socket open).
    //  A null address or a port outside 0..65535 is an IllegalArgumentException whose message names it.
    public static ServerSocket listen(InetAddress address, int port) throws IOException {
        throw new UnsupportedOperationException(
                "Task 2: implement PatientServer.listen (see chapters/08-time-wait/README.adoc, 'Task 2: Restart on a port full of TIME_WAIT')");
    }

    // TODO(task 1): serve the protocol on `listener` until close(), every connection at once (a thread each):
    //  answer each request line — as many as the client sends, an empty line too (its reply is an empty line) —
    //  and close a connection only once the client has closed it (EOF) — or once it has sent nothing for `idle`
    //  (a positive idle time under a millisecond is still a bound). Hold under abuse: a line longer than MAX_LINE
    //  bytes (not counting its \n) is refused as soon as it passes the limit, with no reply and a reset (RST),
    //  without reading the rest; a client that does not take a reply within `idle` (it sends, but never reads, so
    //  the buffers fill and the write blocks) is cut off with a reset. A null listener or an idle time that is
    //  not positive is an IllegalArgumentException whose message names it.
    public static PatientServer serve(ServerSocket listener, Duration idle) {
        throw new UnsupportedOperationException(
                "Task 1: implement PatientServer.serve (see chapters/08-time-wait/README.adoc, 'Task 1: Let the client close first')");
    }

    // TODO(task 1): the port the server listens on.
    public int port() {
        throw new UnsupportedOperationException(
                "Task 1: implement PatientServer.port (see chapters/08-time-wait/README.adoc, 'Task 1: Let the client close first')");
    }

    // TODO(task 1): stop listening and close every connection that is still open (its client reads EOF).
    @Override
    public void close() throws IOException {
        throw new UnsupportedOperationException(
                "Task 1: implement PatientServer.close (see chapters/08-time-wait/README.adoc, 'Task 1: Let the client close first')");
    }
}
