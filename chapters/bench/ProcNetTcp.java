import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;
import java.nio.channels.NetworkChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.function.Supplier;

/// The kernel's TCP table, as Linux shows it in `/proc/net/tcp` and `/proc/net/tcp6`.
///
/// One raw row and what it means:
/// ```
///   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
///    3: 0100007F:9C6B 0100007F:A1F2 01 00000000:00000000 00:00000000 00000000     0        0 48211 ...
/// ```
/// `0100007F:9C6B` is 127.0.0.1 port 40043: the address is one 32-bit word printed in the host's byte order
/// (little-endian on x86 and ARM, so the bytes read backwards: 7F.00.00.01), the port is plain hex.
/// In `tcp6` an address is four such words; `0000000000000000FFFF00000100007F` is `::ffff:127.0.0.1`, the
/// IPv4-mapped form in which a dual-stack Java socket on 127.0.0.1 appears. `st` is the state (`01` ESTABLISHED,
/// `0A` LISTEN), `tx_queue`/`rx_queue` count bytes waiting to be sent and read — except on a LISTEN row, where
/// rx_queue counts the connections waiting in the accept queue — and `inode` links the row to a descriptor
/// `socket:[48211]` in `/proc/self/fd`.
public final class ProcNetTcp {

    /// TCP states in kernel order (`include/net/tcp_states.h`): the hex code in column `st` is the ordinal + 1.
    public enum State {
        ESTABLISHED, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSE, CLOSE_WAIT, LAST_ACK, LISTEN, CLOSING,
        NEW_SYN_RECV, BOUND_INACTIVE;

        /// The state with code `hex` as printed in column `st`, e.g. `"0A"` → LISTEN.
        public static State ofCode(String hex) {
            int code = Integer.parseInt(hex, 16);
            if (code < 1 || code > values().length) {
                throw new IllegalArgumentException("not a TCP state code: " + hex);
            }
            return values()[code - 1];
        }

        /// The code as the kernel prints it: LISTEN → `"0A"`.
        public String code() {
            return "%02X".formatted(ordinal() + 1);
        }
    }

    /// One row of the table. IPv4-mapped IPv6 addresses come back as plain IPv4 ones (Java's own convention), and
    /// `ipv6Table` says which file the row was read from.
    public record Entry(InetSocketAddress local, InetSocketAddress remote, State state,
                        long txQueue, long rxQueue, long inode, boolean ipv6Table) {

        /// True when this row is the connection whose local and remote ends are these (a wildcard matches any address).
        public boolean is(SocketAddress localEnd, SocketAddress remoteEnd) {
            return sameEnd(local, localEnd) && sameEnd(remote, remoteEnd);
        }

        @Override
        public String toString() {
            String peer = remote.getPort() == 0 ? "*:*" : show(remote);
            String queues = state == State.LISTEN ? " accept-queue=" + rxQueue : " rx=" + rxQueue + " tx=" + txQueue;
            return "%-12s %s -> %s%s inode=%d".formatted(state, show(local), peer, queues, inode);
        }

        private static String show(InetSocketAddress a) {
            String host = a.getAddress().getHostAddress();
            return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
        }
    }

    /// Thrown where the table cannot be read, as on macOS or Windows: tests that need it are skipped with this reason.
    public static final class Unavailable extends RuntimeException {
        Unavailable(String why) {
            super(why);
        }
    }

    private static final Path TCP = Path.of("/proc/net/tcp");
    private static final Path TCP6 = Path.of("/proc/net/tcp6");
    private static final Duration POLL = Duration.ofMillis(5);

    private ProcNetTcp() {
    }

    /// Whether this machine shows its TCP table in /proc (Linux does).
    public static boolean available() {
        return Files.isReadable(TCP) || Files.isReadable(TCP6);
    }

    /// Every TCP socket of the machine, from both files, as it is right now.
    public static List<Entry> snapshot() {
        return read(line -> true);
    }

    /// The rows whose raw line passes `keep`, decoded: a cheap text test first spares decoding the whole table.
    private static List<Entry> read(Predicate<String> keep) {
        if (!available()) {
            throw new Unavailable("needs Linux: there is no /proc/net/tcp on " + System.getProperty("os.name"));
        }
        var rows = new ArrayList<Entry>();
        for (Path file : List.of(TCP, TCP6)) {
            if (!Files.isReadable(file)) {
                continue;
            }
            try {
                for (String line : Files.readAllLines(file)) {
                    if (!line.isBlank() && !line.trim().startsWith("sl") && keep.test(line)) {
                        rows.add(parse(line));
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + file, e);
            }
        }
        return rows;
    }

    /// Decodes one data row of /proc/net/tcp or /proc/net/tcp6 (the file is told by the address length).
    public static Entry parse(String line) {
        String[] f = line.trim().split("\\s+");
        if (f.length < 10 || !f[0].endsWith(":")) {
            throw new IllegalArgumentException("not a /proc/net/tcp row: " + line);
        }
        String[] queues = f[4].split(":");
        boolean ipv6 = f[1].indexOf(':') == 32;
        return new Entry(endpoint(f[1]), endpoint(f[2]), State.ofCode(f[3]),
                Long.parseLong(queues[0], 16), Long.parseLong(queues[1], 16), Long.parseLong(f[9]), ipv6);
    }

    /// Every row whose local port is `port`: a listener and the connections it accepted share it.
    public static List<Entry> onPort(int port) {
        String localPort = ":%04X ".formatted(port); // ends the local_address column, e.g. "0100007F:9C6B "
        return read(line -> line.contains(localPort)).stream().filter(e -> e.local().getPort() == port).toList();
    }

    /// The row of a connected socket, matched by its four-tuple.
    public static Optional<Entry> entryOf(SocketAddress local, SocketAddress remote) {
        if (!(local instanceof InetSocketAddress end)) {
            return Optional.empty();
        }
        return onPort(end.getPort()).stream().filter(e -> e.is(local, remote)).findFirst();
    }

    /// The kernel state of a connected socket (empty once the kernel has forgotten it).
    public static Optional<State> stateOf(Socket socket) {
        return entryOf(socket.getLocalSocketAddress(), socket.getRemoteSocketAddress()).map(Entry::state);
    }

    /// The kernel state of a connected channel (empty once the kernel has forgotten it).
    public static Optional<State> stateOf(SocketChannel channel) {
        try {
            return entryOf(channel.getLocalAddress(), channel.getRemoteAddress()).map(Entry::state);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /// The state of the connection between two ends, whether or not a Java object still holds it.
    public static Optional<State> stateOf(SocketAddress local, SocketAddress remote) {
        return entryOf(local, remote).map(Entry::state);
    }

    /// The LISTEN row of a listening socket.
    public static Optional<Entry> listenerOf(ServerSocket listener) {
        return onPort(listener.getLocalPort()).stream().filter(e -> e.state() == State.LISTEN).findFirst();
    }

    /// Any row at all for this socket's local address (a fresh or merely bound TCP socket has none).
    public static List<Entry> rowsOf(NetworkChannel channel) {
        try {
            SocketAddress local = channel.getLocalAddress();
            if (!(local instanceof InetSocketAddress inet)) {
                return List.of();
            }
            return onPort(inet.getPort());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /// Polls the table until `condition` holds and returns that snapshot; after `bound`, fails saying what was
    /// awaited and what the table showed instead.
    public static List<Entry> await(String what, Predicate<List<Entry>> condition, Duration bound) {
        return await(what, ProcNetTcp::snapshot, condition, bound);
    }

    /// Like [#await], watching only the rows whose local port is `port`: quicker on a busy machine, and a failure
    /// shows just those rows.
    public static List<Entry> awaitOnPort(int port, String what, Predicate<List<Entry>> condition, Duration bound) {
        return await(what, () -> onPort(port), condition, bound);
    }

    /// Waits until the connection between `local` and `remote` is in `state`.
    public static Entry awaitState(SocketAddress local, SocketAddress remote, State state, Duration bound) {
        int port = ((InetSocketAddress) local).getPort();
        var rows = awaitOnPort(port, "%s -> %s to reach %s".formatted(local, remote, state),
                r -> r.stream().anyMatch(e -> e.is(local, remote) && e.state() == state), bound);
        return rows.stream().filter(e -> e.is(local, remote) && e.state() == state).findFirst().orElseThrow();
    }

    private static List<Entry> await(String what, Supplier<List<Entry>> table, Predicate<List<Entry>> condition,
                                     Duration bound) {
        long deadline = System.nanoTime() + bound.toNanos();
        List<Entry> rows = table.get();
        while (!condition.test(rows)) {
            if (System.nanoTime() - deadline > 0) {
                List<Entry> shown = rows.stream().filter(e -> e.local().getAddress().isLoopbackAddress()
                        || e.local().getAddress().isAnyLocalAddress()).limit(40).toList();
                throw new AssertionError("waited %d ms for %s; the TCP table shows:%n%s".formatted(
                        bound.toMillis(), what, show(shown)));
            }
            try {
                Thread.sleep(POLL); // polling the table: the kernel offers no way to be told of a state change
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for " + what, e);
            }
            rows = table.get();
        }
        return rows;
    }

    /// The rows as lines, one per row, for printing.
    public static String show(List<Entry> rows) {
        if (rows.isEmpty()) {
            return "  (no rows)";
        }
        var out = new StringBuilder();
        for (Entry e : rows) {
            out.append("  ").append(e).append('\n');
        }
        return out.toString().stripTrailing();
    }

    private static boolean sameEnd(InetSocketAddress row, SocketAddress end) {
        if (!(end instanceof InetSocketAddress e) || e.getPort() != row.getPort()) {
            return false;
        }
        InetAddress a = row.getAddress();
        InetAddress b = e.getAddress();
        return b == null || a.isAnyLocalAddress() || b.isAnyLocalAddress() || a.equals(b);
    }

    private static InetSocketAddress endpoint(String hex) {
        String[] parts = hex.split(":");
        String addr = parts[0];
        byte[] bytes = new byte[addr.length() / 2];
        for (int word = 0; word < bytes.length / 4; word++) {
            for (int i = 0; i < 4; i++) {
                int from = word * 8 + i * 2;
                int to = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? word * 4 + 3 - i : word * 4 + i;
                bytes[to] = (byte) Integer.parseInt(addr, from, from + 2, 16);
            }
        }
        try {
            return new InetSocketAddress(InetAddress.getByAddress(bytes), Integer.parseInt(parts[1], 16));
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("bad address " + hex, e);
        }
    }
}
