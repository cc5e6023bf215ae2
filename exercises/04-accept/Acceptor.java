import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;

/// Chapter 4: an echo server — one listening socket, an accept loop, and a new connected socket per client.
public final class Acceptor implements AutoCloseable {

    private Acceptor() {
    }

    // TODO(task 1): return the next connection the kernel completed for `listener` — a new connected socket;
    //  the listener itself keeps listening. If none arrives within `wait`, fail with SocketTimeoutException,
    //  don't hang. Any positive wait is a bound: one under a millisecond never means "wait forever", one of days
    //  still works. A null listener, or a wait that is null, zero or negative, is an IllegalArgumentException
    //  whose message names it.
    public static Socket acceptOne(ServerSocket listener, Duration wait) throws IOException {
        throw new UnsupportedOperationException(
                "Task 1: implement Acceptor.acceptOne (see chapters/04-accept/README.adoc, 'Task 1: Take a connection')");
    }

    // TODO(task 2): listen on exactly `address`:`port` (0: the kernel picks) with this backlog, and return at once
    //  with an accept loop running that echoes every byte each client sends back to it, in order, for as long as
    //  the client sends, until the client closes. Many clients at once: one idle client must not keep the others
    //  waiting. A client that resets, or any failure of one connection, must not end the loop, nor a failed accept()
    //  (EMFILE: no descriptor left), which must not make the loop spin either; every connection the server is done
    //  with is closed (its descriptor released, not just its output shut down). A null address, a port outside
    //  0..65535 or a negative backlog is an IllegalArgumentException naming it.
    public static Acceptor start(InetAddress address, int port, int backlog) throws IOException {
        throw new UnsupportedOperationException(
                "Task 2: implement Acceptor.start (see chapters/04-accept/README.adoc, 'Task 2: Serve everyone at once')");
    }

    // TODO(task 2): the port the server listens on (the one the kernel picked, if it was asked for port 0).
    public int port() {
        throw new UnsupportedOperationException(
                "Task 2: implement Acceptor.port (see chapters/04-accept/README.adoc, 'Task 2: Serve everyone at once')");
    }

    // TODO(task 3): stop serving: new clients are refused from now on, every client still connected sees the
    //  end of the stream (EOF, not a reset), the server keeps no connection half-closed (no CLOSE_WAIT on its
    //  port) and closes every socket it holds, and the accept loop and every connection's thread end — none left
    //  blocked, or retrying the closed listener.
    public void stop() throws IOException {
        throw new UnsupportedOperationException(
                "Task 3: implement Acceptor.stop (see chapters/04-accept/README.adoc, 'Task 3: Stop cleanly')");
    }

    @Override
    public void close() throws IOException {
        stop();
    }
}
