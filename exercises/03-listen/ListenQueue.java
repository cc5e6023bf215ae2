import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;

/// Chapter 3: open a listener with a small accept queue, read how full it is from the TCP table, and fill it.
public final class ListenQueue {

    private ListenQueue() {
    }

    // TODO(task 1): return a socket listening on `address` and `port` (0: any free port) whose accept queue is
    //  bounded by exactly this `backlog`. A null address, a port outside 0..65535 or a backlog below 1 is an
    //  IllegalArgumentException whose message names the bad value.
    public static ServerSocket open(InetAddress address, int port, int backlog) throws IOException {
        throw new UnsupportedOperationException(
                "Task 1: implement ListenQueue.open (see chapters/03-listen/README.adoc, 'Task 1: Open a listener')");
    }

    // TODO(task 1): return how many connections a listener opened with this `backlog` holds in its accept queue
    //  before the next connect() goes unanswered, on this machine: read its limit from /proc/sys/net/core/somaxconn
    //  at every call (it can change while the program runs, and each network namespace, e.g. a container, has its
    //  own). A backlog below 1 is an IllegalArgumentException naming it.
    public static int capacity(int backlog) throws IOException {
        throw new UnsupportedOperationException(
                "Task 1: implement ListenQueue.capacity (see chapters/03-listen/README.adoc, 'Task 1: Open a listener')");
    }

    // TODO(task 2): return how many connections wait in the accept queue of `listener` right now, read by your own
    //  code from the kernel's TCP table (/proc/net/tcp and /proc/net/tcp6): the row of this listener, and no other,
    //  with its numbers read as the kernel prints them (hex). A null, unbound or closed listener is an
    //  IllegalArgumentException.
    public static int queueDepth(ServerSocket listener) throws IOException {
        throw new UnsupportedOperationException(
                "Task 2: implement ListenQueue.queueDepth (see chapters/03-listen/README.adoc, 'Task 2: Read the queue depth')");
    }

    // TODO(task 3): connect clients to `address` one at a time, each connect bounded by `timeout`, until one times
    //  out (the queue is full) or `max` are in; return the clients that got in, still open, in order. Any positive
    //  timeout is a bound: one under a millisecond never means "wait forever", one of days still connects. A
    //  refused connection is not a full queue: close the clients that got in, then let its exception through. Bad
    //  input (null or unresolved address, a timeout that is null, zero or negative, max below 1) is an
    //  IllegalArgumentException naming the value.
    public static List<Socket> fill(InetSocketAddress address, Duration timeout, int max) throws IOException {
        throw new UnsupportedOperationException(
                "Task 3: implement ListenQueue.fill (see chapters/03-listen/README.adoc, 'Task 3: Fill the queue')");
    }
}
