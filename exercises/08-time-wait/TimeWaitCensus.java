import java.io.IOException;

/// Chapter 8: how many connections of one port are in TIME_WAIT right now, and on which side, from the TCP table.
///
/// @param port        the port counted
/// @param heldByPort  TIME_WAIT rows whose *local* port is `port`: this port's side closed first (a server that hung up)
/// @param heldByPeers TIME_WAIT rows whose *remote* port is `port`: the peers closed first (clients that hung up)
public record TimeWaitCensus(int port, int heldByPort, int heldByPeers) {

    // TODO(task 4): count the connections in TIME_WAIT whose local port is `port` (heldByPort) and whose remote
    //  port is `port` (heldByPeers), reading the kernel's TCP table yourself: /proc/net/tcp and /proc/net/tcp6.
    //  A port outside 1..65535 is an IllegalArgumentException whose message names it.
    public static TimeWaitCensus take(int port) throws IOException {
        throw new UnsupportedOperationException(
                "Task 4: implement TimeWaitCensus.take (see chapters/08-time-wait/README.adoc, 'Task 4: Count TIME_WAIT')");
    }
}
