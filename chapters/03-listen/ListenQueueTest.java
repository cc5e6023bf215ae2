import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static java.net.StandardProtocolFamily.INET;
import static java.time.Duration.ofMillis;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/// Chapter 3, graded: the kernel fills a listener's accept queue without accept(), up to backlog + 1; then a
/// connect goes unanswered until accept() frees a slot; and the queue's depth is in the TCP table.
@Tag("listen")
@Tag("03-listen")
class ListenQueueTest {

    /// Well under the first SYN retransmission (1 s): a connect that needs it has found the queue full.
    private static final Duration SHORT = ofMillis(300);
    private static final Path SOMAXCONN = Path.of("/proc/sys/net/core/somaxconn");

    @RegisterExtension
    final Lab lab = new Lab();

    // ---- Task 1: open a listener --------------------------------------------------------------------------------

    @Test
    @Tag("task:1")
    @DisplayName("with backlog 2 and no accept(), three connects complete at once and the fourth times out")
    void takesBacklogPlusOneConnectionsBeforeAnyAccept() throws Exception {
        var listener = lab.track(ListenQueue.open(Lab.LOOPBACK, 0, 2));
        int port = listener.getLocalPort();

        for (int i = 1; i <= 3; i++) {
            lab.connect(port); // fails the test if the handshake does not complete
        }
        var rows = ProcNetTcp.await("3 connections in the accept queue of port " + port,
                r -> r.stream().anyMatch(e -> isListenerOf(e, port) && e.rxQueue() == 3), ofMillis(2_000));
        var fourth = lab.track(new Socket());
        long t0 = System.nanoTime();

        assertThat(listener.getInetAddress()).as("address the listener was bound to").isEqualTo(Lab.LOOPBACK);
        assertThatExceptionOfType(SocketTimeoutException.class)
                .as("connect() #4 to a listener with backlog 2 that never accepts: its queue holds 2 + 1, so "
                        + "the kernel should drop this SYN. If it connected, the backlog was not 2 (Java turns a "
                        + "backlog of 0 into 50). TCP table:%n%s", ProcNetTcp.show(rows))
                .isThrownBy(() -> fourth.connect(new InetSocketAddress(Lab.LOOPBACK, port), (int) SHORT.toMillis()));
        assertThat(elapsed(t0)).as("time connect() #4 took to give up (its bound: %s)", SHORT)
                .isLessThan(SHORT.multipliedBy(10));
    }

    @Test
    @Tag("task:1")
    @DisplayName("capacity(backlog) is backlog + 1, and a backlog above net.core.somaxconn counts as somaxconn")
    void capacityIsBacklogPlusOneCappedBySomaxconn() throws Exception {
        assumeTrue(Files.isReadable(SOMAXCONN), "needs Linux: there is no " + SOMAXCONN);
        int somaxconn = Integer.parseInt(Files.readAllLines(SOMAXCONN).getFirst().trim());

        int one = ListenQueue.capacity(1);
        int five = ListenQueue.capacity(5);
        int huge = ListenQueue.capacity(somaxconn + 1_000);

        assertThat(one).as("connections a backlog-1 listener takes before a connect goes unanswered").isEqualTo(2);
        assertThat(five).as("capacity(5)").isEqualTo(6);
        assertThat(huge).as("capacity(%d): listen() lowers any backlog above somaxconn (%d) to it",
                somaxconn + 1_000, somaxconn).isEqualTo(somaxconn + 1);
    }

    @Test
    @Tag("task:1")
    @DisplayName("open() and capacity() refuse a null address, a port outside 0..65535 and a backlog below 1, naming the value")
    void openRefusesBadInput() {
        assertThatIllegalArgumentException().as("open(null, 0, 1)")
                .isThrownBy(() -> ListenQueue.open(null, 0, 1)).withMessageContaining("null");
        assertThatIllegalArgumentException().as("open(127.0.0.1, -1, 1)")
                .isThrownBy(() -> ListenQueue.open(Lab.LOOPBACK, -1, 1)).withMessageContaining("-1");
        assertThatIllegalArgumentException().as("open(127.0.0.1, 65536, 1)")
                .isThrownBy(() -> ListenQueue.open(Lab.LOOPBACK, 65_536, 1)).withMessageContaining("65536");
        assertThatIllegalArgumentException().as("open(127.0.0.1, 0, -5): a negative backlog")
                .isThrownBy(() -> ListenQueue.open(Lab.LOOPBACK, 0, -5)).withMessageContaining("-5");
        assertThatIllegalArgumentException().as("open(127.0.0.1, 0, 0): Java would silently turn backlog 0 into 50")
                .isThrownBy(() -> ListenQueue.open(Lab.LOOPBACK, 0, 0)).withMessageContaining("0");
        assertThatIllegalArgumentException().as("capacity(-1)")
                .isThrownBy(() -> ListenQueue.capacity(-1)).withMessageContaining("-1");
    }

    // ---- Task 2: read the queue depth ---------------------------------------------------------------------------

    @Test
    @Tag("task:2")
    @DisplayName("queueDepth() of a listener on 127.0.0.1 (a tcp6 row, ::ffff:127.0.0.1) follows its accept queue: 0, 3, then 2 after one accept()")
    void readsTheDepthOfADualStackListener() throws Exception {
        var listener = lab.listener(5);
        int port = listener.getLocalPort();

        int empty = ListenQueue.queueDepth(listener);
        for (int i = 0; i < 3; i++) {
            lab.connect(port);
        }
        var bench = listenerRow(ProcNetTcp.await("3 connections queued on port " + port,
                r -> r.stream().anyMatch(e -> isListenerOf(e, port) && e.rxQueue() == 3), ofMillis(2_000)), port);
        int full = ListenQueue.queueDepth(listener);
        listener.setSoTimeout(2_000);
        lab.track(listener.accept());
        ProcNetTcp.await("2 connections queued on port " + port + " after one accept()",
                r -> r.stream().anyMatch(e -> isListenerOf(e, port) && e.rxQueue() == 2), ofMillis(2_000));
        int afterAccept = ListenQueue.queueDepth(listener);

        assertThat(empty).as("queueDepth() before any client connected").isZero();
        assertThat(full).as("queueDepth() with 3 connections waiting; the bench reads this row of %s:%n  %s",
                bench.ipv6Table() ? "/proc/net/tcp6" : "/proc/net/tcp", bench).isEqualTo(3).isEqualTo((int) bench.rxQueue());
        assertThat(afterAccept).as("queueDepth() after accept() took one connection off the queue").isEqualTo(2);
    }

    @Test
    @Tag("task:2")
    @DisplayName("queueDepth() of an AF_INET listener reads its row in /proc/net/tcp, not tcp6")
    void readsTheDepthOfAnIpv4OnlyListener() throws Exception {
        var channel = lab.track(ServerSocketChannel.open(INET));
        channel.bind(new InetSocketAddress(Lab.LOOPBACK, 0), 5);
        var listener = channel.socket();
        int port = listener.getLocalPort();

        lab.connect(port);
        lab.connect(port);
        var bench = listenerRow(ProcNetTcp.await("2 connections queued on port " + port,
                r -> r.stream().anyMatch(e -> isListenerOf(e, port) && e.rxQueue() == 2), ofMillis(2_000)), port);
        int depth = ListenQueue.queueDepth(listener);

        assertThat(bench.ipv6Table()).as("an AF_INET listener is listed in /proc/net/tcp: %s", bench).isFalse();
        assertThat(depth).as("queueDepth() of an AF_INET listener with 2 connections waiting; its row in "
                + "/proc/net/tcp is:%n  %s", bench).isEqualTo(2);
    }

    @Test
    @Tag("task:2")
    @DisplayName("queueDepth() tells apart two listeners on one port, 127.0.0.1 and ::1, by their address")
    void readsTheRowOfThisListenerOnly() throws Exception {
        var v4 = lab.listener(5);
        int port = v4.getLocalPort();
        var v6 = lab.track(new ServerSocket(port, 5, InetAddress.getByName("::1")));

        lab.connect(port);
        lab.connect(port);
        lab.connect(new InetSocketAddress(InetAddress.getByName("::1"), port));
        var table = ProcNetTcp.await("queues of 2 (127.0.0.1) and 1 (::1) on port " + port,
                r -> r.stream().filter(e -> isListenerOf(e, port)).mapToLong(ProcNetTcp.Entry::rxQueue).sum() == 3,
                ofMillis(2_000));
        int depthV4 = ListenQueue.queueDepth(v4);
        int depthV6 = ListenQueue.queueDepth(v6);

        var rows = ProcNetTcp.show(table.stream().filter(e -> isListenerOf(e, port)).toList());
        assertThat(depthV4).as("queueDepth() of the 127.0.0.1 listener; LISTEN rows on port %d:%n%s", port, rows)
                .isEqualTo(2);
        assertThat(depthV6).as("queueDepth() of the ::1 listener; LISTEN rows on port %d:%n%s", port, rows)
                .isEqualTo(1);
    }

    @Test
    @Tag("task:2")
    @DisplayName("queueDepth() refuses a null, unbound or closed listener: it has no LISTEN row")
    void refusesAListenerThatIsNotListening() throws Exception {
        var unbound = lab.track(new ServerSocket());
        var closed = new ServerSocket(0, 1, Lab.LOOPBACK);
        closed.close();

        assertThatIllegalArgumentException().as("queueDepth(null)")
                .isThrownBy(() -> ListenQueue.queueDepth(null)).withMessageContaining("null");
        assertThatIllegalArgumentException().as("queueDepth(a ServerSocket never bound: no listen() happened)")
                .isThrownBy(() -> ListenQueue.queueDepth(unbound));
        assertThatIllegalArgumentException().as("queueDepth(a closed listener on port %d)", closed.getLocalPort())
                .isThrownBy(() -> ListenQueue.queueDepth(closed));
    }

    // ---- Task 3: fill the queue ---------------------------------------------------------------------------------

    @Test
    @Tag("task:3")
    @DisplayName("fill() on a backlog-1 listener gets 2 clients in, then stops at the first connect that times out")
    void fillStopsAtTheFirstTimeout() throws Exception {
        var listener = lab.listener(1);
        int port = listener.getLocalPort();

        long t0 = System.nanoTime();
        var clients = track(ListenQueue.fill(new InetSocketAddress(Lab.LOOPBACK, port), SHORT, 10));
        Duration took = elapsed(t0);

        assertThat(clients).as("clients fill() got into a backlog-1 queue (backlog + 1 = 2)").hasSize(2)
                .allSatisfy(c -> assertThat(c.isConnected()).as("a client fill() returned is connected").isTrue());
        assertThat(ProcNetTcp.listenerOf(listener).orElseThrow().rxQueue())
                .as("accept queue of port %d after fill(): the clients must stay open", port).isEqualTo(2);
        assertThat(took).as("time fill() took: two instant connects and one that waited out its bound of %s", SHORT)
                .isGreaterThanOrEqualTo(SHORT.minusMillis(50))
                .isLessThan(SHORT.multipliedBy(10));
    }

    @Test
    @Tag("task:3")
    @DisplayName("accept() frees a slot: a client waiting on the full queue (SYN_SENT, no SYN_RECV on the server) gets in")
    void aWaitingClientGetsInOnceAcceptFreesASlot() throws Exception {
        var listener = lab.listener(1);
        int port = listener.getLocalPort();
        // 2.5 s: long enough for the SYN retransmitted after 1 s, so the third client can get in late.
        var filling = CompletableFuture.supplyAsync(() -> {
            try {
                return ListenQueue.fill(new InetSocketAddress(Lab.LOOPBACK, port), ofMillis(2_500), 3);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, task -> Thread.ofVirtual().name("fill").start(task));
        lab.track(() -> filling.thenAccept(ListenQueueTest::closeAll));

        var rows = ProcNetTcp.await("a client in SYN_SENT towards port " + port + " (or fill() to return)",
                r -> filling.isDone() || r.stream().anyMatch(e -> isWaitingOn(e, port)), ofMillis(2_000));
        if (filling.isDone()) {
            filling.join(); // fill() returned or threw before the third client even tried: report that
        }
        listener.setSoTimeout(2_000);
        lab.track(listener.accept());
        List<Socket> clients;
        try {
            clients = filling.get(2_500, TimeUnit.MILLISECONDS);
        } catch (TimeoutException stillWaiting) {
            throw new AssertionError("fill() had not returned 2.5 s after accept() freed a slot: the third client's "
                    + "retransmitted SYN should have got in about 1 s after its first one. TCP table now:\n"
                    + ProcNetTcp.show(ProcNetTcp.snapshot().stream()
                            .filter(e -> e.local().getPort() == port || e.remote().getPort() == port).toList()), null);
        }

        assertThat(rows.stream().filter(e -> e.local().getPort() == port && e.state() == ProcNetTcp.State.SYN_RECV))
                .as("SYN_RECV rows of the listener while its queue was full: Linux drops the SYN, so none")
                .isEmpty();
        assertThat(clients).as("clients fill(max 3) got in: 2 at once, the third once accept() made room")
                .hasSize(3);
    }

    @Test
    @Tag("task:3")
    @DisplayName("fill() towards a port nobody listens on reports ECONNREFUSED, not a queue of 0")
    void fillReportsARefusal() throws Exception {
        int port = Lab.freePort();

        assertThatExceptionOfType(ConnectException.class)
                .as("fill() to port %d, where nothing listens: the kernel answers the SYN with RST at once "
                        + "(Connection refused), which says nothing about a queue", port)
                .isThrownBy(() -> track(ListenQueue.fill(new InetSocketAddress(Lab.LOOPBACK, port), SHORT, 3)));
    }

    @Test
    @Tag("task:3")
    @DisplayName("fill() refuses a null or unresolved address, a timeout that is null, zero or negative, and max below 1")
    void fillRefusesBadInput() throws Exception {
        var address = new InetSocketAddress(Lab.LOOPBACK, lab.listener(1).getLocalPort());

        assertThatIllegalArgumentException().as("fill(null, 300 ms, 1)")
                .isThrownBy(() -> ListenQueue.fill(null, SHORT, 1)).withMessageContaining("null");
        assertThatIllegalArgumentException().as("fill(unresolved host, 300 ms, 1)")
                .isThrownBy(() -> ListenQueue.fill(InetSocketAddress.createUnresolved("lab.invalid", 80), SHORT, 1))
                .withMessageContaining("lab.invalid");
        assertThatIllegalArgumentException().as("fill(…, timeout 0, 1): connect's 0 means wait forever")
                .isThrownBy(() -> ListenQueue.fill(address, Duration.ZERO, 1)).withMessageContaining("0");
        assertThatIllegalArgumentException().as("fill(…, timeout -3 s, 1)")
                .isThrownBy(() -> ListenQueue.fill(address, Duration.ofSeconds(-3), 1)).withMessageContaining("-3");
        assertThatIllegalArgumentException().as("fill(…, timeout null, 1)")
                .isThrownBy(() -> ListenQueue.fill(address, null, 1)).withMessageContaining("null");
        assertThatIllegalArgumentException().as("fill(…, 300 ms, max 0)")
                .isThrownBy(() -> ListenQueue.fill(address, SHORT, 0)).withMessageContaining("0");
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private List<Socket> track(List<Socket> clients) {
        clients.forEach(lab::track);
        return new ArrayList<>(clients);
    }

    private static boolean isListenerOf(ProcNetTcp.Entry e, int port) {
        return e.state() == ProcNetTcp.State.LISTEN && e.local().getPort() == port;
    }

    private static ProcNetTcp.Entry listenerRow(List<ProcNetTcp.Entry> rows, int port) {
        return rows.stream().filter(e -> isListenerOf(e, port)).findFirst().orElseThrow();
    }

    private static boolean isWaitingOn(ProcNetTcp.Entry e, int port) {
        return e.state() == ProcNetTcp.State.SYN_SENT && e.remote().getPort() == port;
    }

    private static void closeAll(List<Socket> sockets) {
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException ignored) {
                // the test has its verdict; closing is only tidying up
            }
        }
    }

    private static Duration elapsed(long t0) {
        return Duration.ofNanos(System.nanoTime() - t0);
    }
}
