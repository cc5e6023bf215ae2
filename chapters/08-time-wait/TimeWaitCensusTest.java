import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/// Chapter 8, graded: the learner's own TIME_WAIT census agrees with the kernel's TCP table, side by side.
@Tag("time-wait")
@Tag("08-time-wait")
class TimeWaitCensusTest {

    @RegisterExtension
    final Lab lab = new Lab();

    private static final Duration BOUND = Duration.ofSeconds(3);

    @Test
    @NeedsProc
    @Tag("task:4")
    @DisplayName("the census counts a port's TIME_WAIT rows on both sides, from /proc/net/tcp and tcp6, and no other state — before and after three more")
    void countsBothSidesInBothTables() throws Exception {
        // A dual-stack listener: it and the connections it accepts are listed in tcp6 as ::ffff:127.0.0.1.
        var listener = lab.listener();
        listener.setSoTimeout(2_000);
        int port = listener.getLocalPort();
        var server = new InetSocketAddress(Lab.LOOPBACK, port);
        var hungUpByServer = new ArrayList<SocketAddress>();
        var hungUpByClient = new ArrayList<SocketAddress>();

        for (int i = 0; i < 2; i++) { // the server closes first: TIME_WAIT on port's side, in tcp6
            closeFromTheServer(listener, hungUpByServer);
        }
        for (int i = 0; i < 3; i++) { // AF_INET clients close first: TIME_WAIT on their side, in tcp
            closeFromAnInetClient(listener, server, hungUpByClient);
        }
        // Rows in other states on the same port: an open connection, a half-closed one, and the LISTEN row.
        lab.connect(port);
        lab.track(listener.accept());
        var halfClosed = lab.connect(port);
        var halfClosedEnd = halfClosed.getLocalSocketAddress();
        lab.track(listener.accept());
        halfClosed.close(); // client FIN_WAIT2, server CLOSE_WAIT (it never closes)
        ProcNetTcp.await("the test's 5 connections to port " + port + " in TIME_WAIT and one in CLOSE_WAIT",
                rows -> count(rows, e -> hungUpByServer.stream().anyMatch(c -> e.is(server, c))) == 2
                        && count(rows, e -> hungUpByClient.stream().anyMatch(c -> e.is(c, server))) == 3
                        && rows.stream().anyMatch(e -> e.is(server, halfClosedEnd)
                        && e.state() == ProcNetTcp.State.CLOSE_WAIT), BOUND);

        assertCensusMatchesTheTable(port, "2 closed by the server, 3 by AF_INET clients");

        // Three more, so that the counts change: a census must count, not know the answer.
        closeFromTheServer(listener, hungUpByServer);
        closeFromAnInetClient(listener, server, hungUpByClient);
        closeFromAnInetClient(listener, server, hungUpByClient);
        ProcNetTcp.await("the test's 8 connections to port " + port + " in TIME_WAIT",
                rows -> count(rows, e -> hungUpByServer.stream().anyMatch(c -> e.is(server, c))) == 3
                        && count(rows, e -> hungUpByClient.stream().anyMatch(c -> e.is(c, server))) == 5, BOUND);
        assertCensusMatchesTheTable(port, "now 3 closed by the server, 5 by AF_INET clients");
    }

    /// Takes the census and compares it with the table read just before and just after (other programs may add or
    /// end rows meanwhile). A read of /proc/net/tcp is not atomic: while the table changes between two read()s, a
    /// row can be shown twice or not at all, so a census that disagrees is taken again (three times at most); a
    /// census that counts wrong disagrees every time.
    private static void assertCensusMatchesTheTable(int port, String rowsMade) throws Exception {
        for (int attempt = 1; ; attempt++) {
            var before = ProcNetTcp.snapshot();
            var census = TimeWaitCensus.take(port);
            var after = ProcNetTcp.snapshot();
            long[] byPort = {count(before, e -> e.local().getPort() == port), count(after, e -> e.local().getPort() == port)};
            long[] byPeers = {count(before, e -> e.remote().getPort() == port), count(after, e -> e.remote().getPort() == port)};
            boolean agrees = census.port() == port
                    && census.heldByPort() >= Math.min(byPort[0], byPort[1]) && census.heldByPort() <= Math.max(byPort[0], byPort[1])
                    && census.heldByPeers() >= Math.min(byPeers[0], byPeers[1]) && census.heldByPeers() <= Math.max(byPeers[0], byPeers[1]);
            if (agrees || attempt == 3) {
                assertThat(census.port()).as("the port the census is about").isEqualTo(port);
                assertThat((long) census.heldByPort())
                        .as("heldByPort (%s): TIME_WAIT rows whose local port is %d (the server hung up first; these "
                                + "rows are in /proc/net/tcp6). The TCP table shows:%n%s", rowsMade, port,
                                ProcNetTcp.show(onEitherSide(after, port)))
                        .isBetween(Math.min(byPort[0], byPort[1]), Math.max(byPort[0], byPort[1]));
                assertThat((long) census.heldByPeers())
                        .as("heldByPeers (%s): TIME_WAIT rows whose remote port is %d (AF_INET clients hung up first; "
                                + "these rows are in /proc/net/tcp). The TCP table shows:%n%s", rowsMade, port,
                                ProcNetTcp.show(onEitherSide(after, port)))
                        .isBetween(Math.min(byPeers[0], byPeers[1]), Math.max(byPeers[0], byPeers[1]));
                return;
            }
        }
    }

    /// One connection to the listener that the server's side closes first: its TIME_WAIT row has the listener's port
    /// as local port, in /proc/net/tcp6 (a dual-stack socket).
    private void closeFromTheServer(ServerSocket listener, List<SocketAddress> hungUpByServer) throws Exception {
        var client = lab.connect(listener.getLocalPort());
        var accepted = lab.track(listener.accept());
        hungUpByServer.add(client.getLocalSocketAddress());
        accepted.close();
        client.setSoTimeout(2_000);
        assertThat(client.getInputStream().read()).as("client read() after the server's close").isEqualTo(-1);
        client.close();
    }

    /// One AF_INET connection that the client closes first: its TIME_WAIT row is the client's, in /proc/net/tcp.
    private void closeFromAnInetClient(ServerSocket listener, InetSocketAddress server, List<SocketAddress> hungUpByClient)
            throws Exception {
        var client = lab.track(SocketChannel.open(StandardProtocolFamily.INET));
        client.connect(server);
        hungUpByClient.add(client.getLocalAddress());
        var accepted = lab.track(listener.accept());
        client.close();
        accepted.setSoTimeout(2_000);
        assertThat(accepted.getInputStream().read()).as("server read() after the client's close").isEqualTo(-1);
        accepted.close();
    }

    @Test
    @Tag("task:4")
    @DisplayName("take() refuses a port outside 1..65535, naming it, and counts ports 1 and 65535")
    void refusesAPortOutOfRange() throws Exception {
        assertThatIllegalArgumentException().as("take(0)").isThrownBy(() -> TimeWaitCensus.take(0))
                .withMessageContaining("0");
        assertThatIllegalArgumentException().as("take(65536)").isThrownBy(() -> TimeWaitCensus.take(65_536))
                .withMessageContaining("65536");
        assertThatIllegalArgumentException().as("take(-1)").isThrownBy(() -> TimeWaitCensus.take(-1))
                .withMessageContaining("-1");
        for (int edge : new int[] {1, 65_535}) {
            assertThat(TimeWaitCensus.take(edge).port())
                    .as("the port of take(%d): the first and last TCP ports, 1 and 65535, are ports a TIME_WAIT row "
                            + "can hold, so the range check must let them through", edge)
                    .isEqualTo(edge);
        }
    }

    /// TIME_WAIT rows that match `which`.
    private static long count(List<ProcNetTcp.Entry> rows, Predicate<ProcNetTcp.Entry> which) {
        return rows.stream().filter(e -> e.state() == ProcNetTcp.State.TIME_WAIT && which.test(e)).count();
    }

    private static List<ProcNetTcp.Entry> onEitherSide(List<ProcNetTcp.Entry> rows, int port) {
        return rows.stream().filter(e -> e.local().getPort() == port || e.remote().getPort() == port).toList();
    }
}
