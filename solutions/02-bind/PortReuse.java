import java.io.IOException;
import java.nio.channels.NetworkChannel;

import static java.net.StandardSocketOptions.SO_REUSEADDR;
import static java.net.StandardSocketOptions.SO_REUSEPORT;

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

    /// Sets this policy's options on `socket`; call it before bind(), which is when the kernel looks at them.
    public void applyTo(NetworkChannel socket) throws IOException {
        if (socket == null) {
            throw new IllegalArgumentException("socket is null: apply " + this + " to an open, unbound socket");
        }
        // Set SO_REUSEADDR both ways, every time: on Linux the JDK opens every ServerSocket and ServerSocketChannel
        // with it already on, so a policy that only ever turns it on would make STRICT mean REUSE_ADDRESS.
        socket.setOption(SO_REUSEADDR, this != STRICT);
        boolean share = this == SHARE_PORT;
        if (socket.supportedOptions().contains(SO_REUSEPORT)) {
            // SO_REUSEPORT is a different promise: not "TIME_WAIT may stay", but "live listeners may share".
            socket.setOption(SO_REUSEPORT, share);
        } else if (share) {
            throw new UnsupportedOperationException("SO_REUSEPORT is not available for " + socket.getClass().getSimpleName()
                    + " on " + System.getProperty("os.name") + ": " + this + " cannot be applied");
        }
    }
}
