import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.nio.channels.ServerSocketChannel;

/// Chapter 2: listen on the first free port of a range, the way a dev server or a test fixture looks for one.
public final class PortRangeBinder {

    private PortRangeBinder() {
    }

    public static ServerSocketChannel listenOnFirstFree(InetAddress address, int first, int last, PortReuse reuse,
                                                        int backlog) throws IOException {
        if (address == null) {
            throw new IllegalArgumentException("address is null: give the address to listen on, e.g. 127.0.0.1");
        }
        // Port 0 is not a port to try: it asks the kernel for any free one, which is another policy altogether.
        if (first < 1) {
            throw new IllegalArgumentException("first port " + first + " is out of range: a port to try is 1 to 65535");
        }
        if (last > 65_535) {
            throw new IllegalArgumentException("last port " + last + " is out of range: a port to try is 1 to 65535");
        }
        // With 1 <= first and last <= 65535, this check keeps the other two ends in range as well.
        if (last < first) {
            throw new IllegalArgumentException("port range " + first + "-" + last + " is empty: last is below first");
        }
        BindException lastRefusal = null;
        for (int port = first; port <= last; port++) {
            try {
                return SocketBinder.listen(address, port, reuse, backlog);
            } catch (BindException e) {
                if (!addressInUse(e)) {
                    // EACCES (a port below 1024 without privilege) or EADDRNOTAVAIL (not an address of this host)
                    // would be the same for every port: report it as it is, not as a full range.
                    throw e;
                }
                lastRefusal = e; // EADDRINUSE here says nothing about the next port: keep going
            }
        }
        var full = new BindException("EADDRINUSE: every port of %s in %d-%d is taken"
                .formatted(address.getHostAddress(), first, last));
        full.initCause(lastRefusal);
        throw full;
    }

    /// Java reports every bind errno as a BindException; only its message (strerror) tells EADDRINUSE apart.
    private static boolean addressInUse(BindException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && t.getMessage().contains("Address already in use")) {
                return true;
            }
        }
        return false;
    }
}
