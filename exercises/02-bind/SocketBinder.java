import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.NetworkChannel;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;

/// Chapter 2: give a socket its name — a listener on an address and port, a port held without listening, and a
/// client's chosen source.
public final class SocketBinder {

    private SocketBinder() {
    }

    // TODO(task 1): return a TCP socket bound to exactly `address` and `port` (0: the kernel picks a free port) and
    //  listening with exactly this backlog (0: Java's default), its address shared as `reuse` says. 0.0.0.0 must
    //  mean the IPv4 addresses only, :: every address (IPv6 and IPv4). If bind() fails (EADDRINUSE…), throw its
    //  BindException and leave no socket open. A null address or policy, a port outside 0..65535 or a negative
    //  backlog is an IllegalArgumentException whose message names the value.
    public static ServerSocketChannel listen(InetAddress address, int port, PortReuse reuse, int backlog)
            throws IOException {
        throw new UnsupportedOperationException(
                "Task 1: implement SocketBinder.listen (see chapters/02-bind/README.adoc, 'Task 1: Bind a listener')");
    }

    // TODO(task 4): hold exactly `address` and `port` (0: any free port) with a socket that is bound but does not
    //  listen, so no other socket can bind the port and clients are refused. If bind() fails, throw its
    //  BindException and leave no socket open. Same bad input rules as listen().
    public static NetworkChannel reserve(InetAddress address, int port) throws IOException {
        throw new UnsupportedOperationException(
                "Task 4: implement SocketBinder.reserve (see chapters/02-bind/README.adoc, 'Task 4: Hold a port without listening')");
    }

    // TODO(task 5): connect to `server` from exactly the `source` address and port, failing if the connection
    //  is not made within `timeout` — any positive timeout: one under a millisecond is still a bound (never "wait
    //  forever"), and one of days still connects. When binding or connecting fails, throw its exception and leave
    //  no socket open. A null address, or a timeout that is null, zero or negative, is an IllegalArgumentException
    //  naming it.
    public static Socket connectFrom(InetSocketAddress source, InetSocketAddress server, Duration timeout)
            throws IOException {
        throw new UnsupportedOperationException(
                "Task 5: implement SocketBinder.connectFrom (see chapters/02-bind/README.adoc, 'Task 5: Choose the source port')");
    }
}
