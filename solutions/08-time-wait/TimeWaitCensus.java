import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/// Chapter 8: how many connections of one port are in TIME_WAIT right now, and on which side, from the TCP table.
///
/// @param port        the port counted
/// @param heldByPort  TIME_WAIT rows whose *local* port is `port`: this port's side closed first (a server that hung up)
/// @param heldByPeers TIME_WAIT rows whose *remote* port is `port`: the peers closed first (clients that hung up)
public record TimeWaitCensus(int port, int heldByPort, int heldByPeers) {

    private static final List<Path> TABLES = List.of(Path.of("/proc/net/tcp"), Path.of("/proc/net/tcp6"));
    private static final String TIME_WAIT = "06"; // include/net/tcp_states.h: TCP_TIME_WAIT = 6

    public static TimeWaitCensus take(int port) throws IOException {
        if (port < 1 || port > 65_535) {
            throw new IllegalArgumentException("port " + port + " is out of range 1..65535");
        }
        int heldByPort = 0;
        int heldByPeers = 0;
        // Both files: an AF_INET socket is listed in tcp, a dual-stack Java socket on 127.0.0.1 in tcp6 (as
        // ::ffff:127.0.0.1). A census of one file misses whichever half the other holds.
        for (Path table : TABLES) {
            if (!Files.isReadable(table)) {
                continue; // a kernel without IPv6 has no tcp6
            }
            for (String row : Files.readAllLines(table)) {
                // "  3: 0100007F:9C6B 0100007F:A1F2 06 ..." — sl, local, remote, state; the header starts with "sl",
                // and every row whose first field ends in ':' is a socket's, with all its fields.
                String[] f = row.trim().split("\\s+");
                if (!f[0].endsWith(":") || !f[3].equals(TIME_WAIT)) {
                    continue;
                }
                if (portOf(f[1]) == port) {
                    heldByPort++;
                }
                if (portOf(f[2]) == port) {
                    heldByPeers++;
                }
            }
        }
        return new TimeWaitCensus(port, heldByPort, heldByPeers);
    }

    private static int portOf(String endpoint) {
        // ADDRESS:PORT, the port in plain hex (only the address is in host byte order)
        return Integer.parseInt(endpoint, endpoint.lastIndexOf(':') + 1, endpoint.length(), 16);
    }
}
