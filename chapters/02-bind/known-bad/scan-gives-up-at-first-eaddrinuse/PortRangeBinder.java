import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.nio.channels.ServerSocketChannel;

/// Known bad: the scan stops at the first EADDRINUSE and reports it, instead of moving on to the next port.
/// Tempting because every other bind failure should end a scan at once, the error reads right (EADDRINUSE, the
/// range), and on a quiet machine the first port is usually free — until the day it is not.
/// Caught by: PortRangeBinderTest#skipsTakenPortsAndListensOnTheFirstFree
public final class PortRangeBinder {

    private PortRangeBinder() {
    }

    public static ServerSocketChannel listenOnFirstFree(InetAddress address, int first, int last, PortReuse reuse,
                                                        int backlog) throws IOException {
        if (address == null) {
            throw new IllegalArgumentException("address is null: give the address to listen on, e.g. 127.0.0.1");
        }
        // Port 0 is not a port to try: it asks the kernel for any free one, which is another policy altogether.
        if (first < 1 || first > 65_535) {
            throw new IllegalArgumentException("first port " + first + " is out of range: a port to try is 1 to 65535");
        }
        if (last < 1 || last > 65_535) {
            throw new IllegalArgumentException("last port " + last + " is out of range: a port to try is 1 to 65535");
        }
        if (last < first) {
            throw new IllegalArgumentException("port range " + first + "-" + last + " is empty: last is below first");
        }
        for (int port = first; port <= last; port++) {
            try {
                return SocketBinder.listen(address, port, reuse, backlog);
            } catch (BindException e) {
                // A port that will not bind ends the scan: report it with the range.
                var failed = new BindException("EADDRINUSE: cannot listen on %s in %d-%d (port %d: %s)"
                        .formatted(address.getHostAddress(), first, last, port, e.getMessage()));
                failed.initCause(e);
                throw failed;
            }
        }
        throw new IllegalStateException("unreachable: the range has at least one port");
    }
}
