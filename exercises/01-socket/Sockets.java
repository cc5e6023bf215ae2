import java.io.IOException;
import java.net.ProtocolFamily;
import java.net.SocketOption;
import java.nio.channels.NetworkChannel;
import java.util.Map;

/// Chapter 1: open a socket of the kind you ask for, set its options, and count the process's sockets.
public final class Sockets {

    /// The socket type: SOCK_STREAM (TCP, or a Unix-domain stream) or SOCK_DGRAM (UDP).
    public enum Type { STREAM, DATAGRAM }

    private Sockets() {
    }

    // TODO(task 1): return a new, unbound socket of exactly this family (INET, INET6 or UNIX) and type
    //  (a SocketChannel for STREAM, a DatagramChannel for DATAGRAM). A null family or type, or a kind Java
    //  cannot open, is an IllegalArgumentException whose message names it.
    public static NetworkChannel open(ProtocolFamily family, Type type) throws IOException {
        throw new UnsupportedOperationException(
                "Task 1: implement Sockets.open (see chapters/01-socket/README.adoc, 'Task 1: Open a socket')");
    }

    // TODO(task 2): set every option in `options` on `channel` (setsockopt) to exactly its value — false, 0 and -1
    //  are values too. An option this kind of socket does not support must not be skipped in silence: fail with an
    //  IllegalArgumentException whose message names the option (e.g. TCP_NODELAY) and the kind of socket, which
    //  is its channel class: SocketChannel, ServerSocketChannel or DatagramChannel.
    public static void configure(NetworkChannel channel, Map<SocketOption<?>, ?> options) throws IOException {
        throw new UnsupportedOperationException(
                "Task 2: implement Sockets.configure (see chapters/01-socket/README.adoc, 'Task 2: Set its options')");
    }

    // TODO(task 3): count the sockets this process holds open right now, from its descriptors in /proc/self/fd
    //  (files, pipes and other descriptors do not count). Counting must leave no descriptor of its own open.
    public static int countSockets() throws IOException {
        throw new UnsupportedOperationException(
                "Task 3: implement Sockets.countSockets (see chapters/01-socket/README.adoc, 'Task 3: Count your sockets')");
    }
}
