import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/// Chapter 3: open a listener with a small accept queue, read how full it is from the TCP table, and fill it.
public final class ListenQueue {

    private static final Path SOMAXCONN = Path.of("/proc/sys/net/core/somaxconn");
    private static final List<Path> TCP_TABLES = List.of(Path.of("/proc/net/tcp"), Path.of("/proc/net/tcp6"));
    private static final String LISTEN = "0A";

    private ListenQueue() {
    }

    public static ServerSocket open(InetAddress address, int port, int backlog) throws IOException {
        if (address == null) {
            throw new IllegalArgumentException("address is null: say which address to listen on, e.g. 127.0.0.1");
        }
        checkBacklog(backlog);
        // bind() and listen(fd, backlog) in one call: from here on the kernel completes handshakes on its own and
        // queues them for an accept() that may never come. A port outside 0..65535 (0 lets the kernel pick one) is
        // refused by ServerSocket itself, before any socket exists: "Port value out of range: 65536".
        return new ServerSocket(port, backlog, address);
    }

    public static int capacity(int backlog) throws IOException {
        checkBacklog(backlog);
        // listen() silently lowers a backlog above net.core.somaxconn to it; the queue counts as full only once it
        // holds *more* than the backlog (sk_ack_backlog > sk_max_ack_backlog), hence the + 1.
        // Read it line by line: the file claims size 0, and Files.readString reads one byte first, after which
        // the sysctl gives nothing more, so 4096 would come back as "4".
        int somaxconn = Integer.parseInt(Files.readAllLines(SOMAXCONN).getFirst().trim());
        return Math.min(backlog, somaxconn) + 1;
    }

    public static int queueDepth(ServerSocket listener) throws IOException {
        if (listener == null) {
            throw new IllegalArgumentException("listener is null");
        }
        if (!listener.isBound() || listener.isClosed()) {
            throw new IllegalArgumentException("listener " + listener + " is not listening (unbound or closed), "
                    + "so the TCP table has no LISTEN row for it");
        }
        var where = (InetSocketAddress) listener.getLocalSocketAddress();
        // Java's sockets are dual-stack: one on 127.0.0.1 is listed in tcp6 as ::ffff:127.0.0.1, and only an
        // AF_INET socket (a channel opened with INET) is in tcp. Either file may hold the row.
        for (Path table : TCP_TABLES) {
            if (!Files.isReadable(table)) {
                continue;
            }
            for (String line : Files.readAllLines(table)) {
                // sl local_address rem_address st tx_queue:rx_queue ... — the header starts with "sl", and every row
                // whose first field ends in ':' is a socket's, with all its fields.
                String[] field = line.trim().split("\\s+");
                if (!field[0].endsWith(":") || !field[3].equals(LISTEN)) {
                    continue;
                }
                // Two listeners may share a port on different addresses (127.0.0.1 and ::1): match both.
                if (sameEnd(endpoint(field[1]), where)) {
                    // On a LISTEN row rx_queue counts connections that finished the handshake and wait for
                    // accept(); tx_queue means nothing there (it stays 0).
                    String queues = field[4];
                    return Integer.parseInt(queues, queues.indexOf(':') + 1, queues.length(), 16);
                }
            }
        }
        throw new IOException("no LISTEN row for " + where + " in /proc/net/tcp or /proc/net/tcp6");
    }

    public static List<Socket> fill(InetSocketAddress address, Duration timeout, int max) throws IOException {
        if (address == null || address.isUnresolved()) {
            throw new IllegalArgumentException("address " + address + " is not a resolved address to connect to");
        }
        if (timeout == null || timeout.isZero() || timeout.isNegative()) {
            throw new IllegalArgumentException("connect timeout " + timeout + " must be positive (0 means wait forever)");
        }
        if (max < 1) {
            throw new IllegalArgumentException("max " + max + " must be at least 1");
        }
        // connect(…, 0) waits forever; round a sub-millisecond bound up rather than down to that.
        int millis = Math.clamp(timeout.toMillis(), 1, Integer.MAX_VALUE);
        var connected = new ArrayList<Socket>();
        try {
            while (connected.size() < max) {
                var client = new Socket();
                try {
                    client.connect(address, millis); // on failure, connect() closes the client itself
                } catch (SocketTimeoutException queueFull) {
                    // No answer at all: the accept queue is full, so Linux dropped our SYN (tcp_abort_on_overflow=0)
                    // and would keep retransmitting it. That silence is the queue's limit.
                    return connected;
                }
                connected.add(client);
            }
            return connected;
        } catch (IOException refused) {
            // ECONNREFUSED (an RST) means nobody listens: no queue to measure. Report it, don't call it a capacity,
            // and don't leave the clients that got in open behind the caller's back.
            for (Socket s : connected) {
                s.close();
            }
            throw refused;
        }
    }

    private static void checkBacklog(int backlog) {
        if (backlog < 1) {
            // listen(fd, 0) would give a one-slot queue in C, but Java replaces a backlog below 1 with 50.
            throw new IllegalArgumentException("backlog " + backlog + " is below 1 (Java would silently use 50)");
        }
    }

    private static boolean sameEnd(InetSocketAddress row, InetSocketAddress listener) {
        if (row.getPort() != listener.getPort()) {
            return false;
        }
        // Java reports a wildcard listener as 0.0.0.0 even when the kernel lists it as :: in tcp6.
        return row.getAddress().isAnyLocalAddress() && listener.getAddress().isAnyLocalAddress()
                || row.getAddress().equals(listener.getAddress());
    }

    private static InetSocketAddress endpoint(String hex) throws IOException {
        int colon = hex.indexOf(':');
        var bytes = ByteBuffer.allocate(colon / 2);
        for (int i = 0; i < colon; i += 8) {
            // The kernel prints the address as 32-bit words in host byte order: on a little-endian machine
            // 127.0.0.1 (bytes 7F 00 00 01) reads 0100007F.
            int word = Integer.parseUnsignedInt(hex, i, i + 8, 16);
            bytes.putInt(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? Integer.reverseBytes(word) : word);
        }
        // 16 bytes of ::ffff:127.0.0.1 come back as the Inet4Address 127.0.0.1, as Java reports the listener.
        return new InetSocketAddress(InetAddress.getByAddress(bytes.array()),
                Integer.parseInt(hex, colon + 1, hex.length(), 16));
    }
}
