import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/// What the kernel does with one more SYN to a listener: it completes the handshake into the accept queue, or —
/// when that queue is full — drops the SYN and counts the drop in `/proc/net/netstat`:
/// ```
/// TcpExt: SyncookiesSent … ListenOverflows ListenDrops …
/// TcpExt: 0 …             … 12              12          …
/// ```
/// Watching `ListenOverflows` shows a dropped SYN at once, where a blocking connect would find out only when its
/// timeout ran out. The counter belongs to the whole network namespace, so a drop elsewhere at the same moment
/// moves it too: a knock confirms that a queue is full, it never times anything.
public final class AcceptQueue {

    private static final Path NETSTAT = Path.of("/proc/net/netstat");
    private static final Duration POLL = Duration.ofMillis(2);

    /// One client's SYN and what became of it; closing the knock closes the client.
    public record Knock(SocketChannel client, boolean admitted) implements Closeable {
        @Override
        public void close() throws IOException {
            client.close();
        }
    }

    private AcceptQueue() {
    }

    /// SYNs dropped so far because an accept queue was full (TcpExt ListenOverflows of this network namespace).
    public static long listenOverflows() {
        if (!Files.isReadable(NETSTAT)) {
            throw new ProcNetTcp.Unavailable("needs Linux: there is no " + NETSTAT + " on " + System.getProperty("os.name"));
        }
        try {
            List<String> lines = Files.readAllLines(NETSTAT);
            // pairs of lines: "TcpExt: name name …" then "TcpExt: value value …"
            for (int i = 0; i + 1 < lines.size(); i += 2) {
                String[] names = lines.get(i).trim().split("\\s+");
                String[] values = lines.get(i + 1).trim().split("\\s+");
                if (!names[0].equals("TcpExt:")) {
                    continue;
                }
                for (int k = 1; k < names.length && k < values.length; k++) {
                    if (names[k].equals("ListenOverflows")) {
                        return Long.parseLong(values[k]);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + NETSTAT, e);
        }
        throw new ProcNetTcp.Unavailable("this kernel's " + NETSTAT + " has no TcpExt ListenOverflows counter");
    }

    /// Sends one SYN to `listener` from a new non-blocking client and waits, within `bound`, for the kernel's
    /// answer: admitted (the handshake completed and the connection is queued) or dropped (ListenOverflows went up
    /// while the client still waits in SYN_SENT). The caller closes the knock.
    public static Knock knock(InetSocketAddress listener, Duration bound) throws IOException {
        long dropsBefore = listenOverflows();
        var client = SocketChannel.open();
        try {
            client.configureBlocking(false);
            boolean connected = client.connect(listener);
            long deadline = System.nanoTime() + bound.toNanos();
            while (true) {
                if (connected || client.finishConnect()) {
                    return new Knock(client, true);
                }
                if (listenOverflows() > dropsBefore) {
                    return new Knock(client, false);
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new AssertionError("waited %d ms for the SYN to %s to be answered or dropped: neither a "
                            .formatted(bound.toMillis(), listener) + "completed handshake nor a ListenOverflows drop");
                }
                Thread.sleep(POLL); // polling: the kernel tells no one that it dropped a SYN
            }
        } catch (IOException | RuntimeException | Error e) {
            client.close();
            throw e;
        } catch (InterruptedException e) {
            client.close();
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while knocking on " + listener, e);
        }
    }
}
