import java.io.IOException;
import java.nio.channels.NetworkChannel;

/// Chapter 2: who may bind an address that is already in use — the SO_REUSEADDR / SO_REUSEPORT decision.
public enum PortReuse {

    /// Nothing shared: bind() fails with EADDRINUSE while anything holds the address, even a TIME_WAIT.
    STRICT,

    /// SO_REUSEADDR: bind() succeeds despite TIME_WAIT connections left by an earlier server on the port, but
    /// never beside a live listener.
    REUSE_ADDRESS,

    /// SO_REUSEPORT (and SO_REUSEADDR): several live listeners share one port; the kernel spreads new connections
    /// over their accept queues.
    SHARE_PORT;

    // TODO(task 2): set the socket options that make `socket` follow this policy when it is bound later
    //  (see the constants above), for any kind of socket: a listener or a client. Whatever Java set when it opened
    //  the socket (it is not the same for every kind) must not decide for you. A null socket is an
    //  IllegalArgumentException.
    public void applyTo(NetworkChannel socket) throws IOException {
        throw new UnsupportedOperationException(
                "Task 2: implement PortReuse.applyTo (see chapters/02-bind/README.adoc, 'Task 2: Choose the reuse policy')");
    }
}
