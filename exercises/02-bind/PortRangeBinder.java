import java.io.IOException;
import java.net.InetAddress;
import java.nio.channels.ServerSocketChannel;

/// Chapter 2: listen on the first free port of a range, the way a dev server or a test fixture looks for one.
public final class PortRangeBinder {

    private PortRangeBinder() {
    }

    // TODO(task 3): listen on `address` at the first port from `first` to `last` (both included, tried in that
    //  order) that is free, skipping the ones already taken, with the `reuse` policy and `backlog` given. A taken
    //  port is a bind() that fails with EADDRINUSE: in Java, a BindException whose message is "Address already in
    //  use" (Java reports every bind failure as a BindException). If every port is taken, throw a BindException
    //  whose message says EADDRINUSE and names the range as first-last (e.g. "40000-40003"); leave no socket open.
    //  Any other bind failure is not a taken port: let it through. A null address, a port outside 1..65535 or a
    //  range whose last port is below its first is an IllegalArgumentException naming the value.
    public static ServerSocketChannel listenOnFirstFree(InetAddress address, int first, int last, PortReuse reuse,
                                                        int backlog) throws IOException {
        throw new UnsupportedOperationException(
                "Task 3: implement PortRangeBinder.listenOnFirstFree (see chapters/02-bind/README.adoc, 'Task 3: Find a free port')");
    }
}
