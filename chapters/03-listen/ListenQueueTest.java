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
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static java.net.StandardProtocolFamily.INET;
import static java.time.Duration.ofMillis;
import static java.time.Duration.ofSeconds;
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
    @NeedsProc
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
    @NeedsProc
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
        if (Netns.available()) {
            // Another somaxconn, where the kernel really has it: a private network namespace has its own net.* sysctls.
            int other = somaxconn == 128 ? 200 : 128;
            int[] there = Netns.call(() -> {
                Netns.sysctl("net.core.somaxconn", String.valueOf(other));
                return new int[] {ListenQueue.capacity(other + 50), ListenQueue.capacity(other - 1)};
            });
            assertThat(there[0])
                    .as("capacity(%d) where net.core.somaxconn is %d (in a network namespace of its own, as a container "
                            + "or another machine has): read /proc/sys/net/core/somaxconn at every call, not a number "
                            + "copied from this machine or read once", other + 50, other)
                    .isEqualTo(other + 1);
            assertThat(there[1]).as("capacity(%d) where net.core.somaxconn is %d", other - 1, other).isEqualTo(other);
        }
    }

    @Test
    @NeedsProc
    @Tag("task:1")
    @DisplayName("open() listens on the port and with the backlog asked for: backlog 4 queues 5 connections, then a SYN is dropped")
    void opensWithThePortAndBacklogAskedFor() throws Exception {
        int wanted = Lab.freePort();
        var listener = lab.track(ListenQueue.open(Lab.LOOPBACK, wanted, 4));
        var address = new InetSocketAddress(Lab.LOOPBACK, wanted);

        assertThat(listener.getLocalPort()).as("the port of open(127.0.0.1, %d, 4)", wanted).isEqualTo(wanted);
        for (int i = 1; i <= 5; i++) {
            try {
                lab.connect(address);
            } catch (SocketTimeoutException e) {
                throw new AssertionError(("connect() #%d to a listener opened with backlog 4 timed out: its accept "
                        + "queue should hold 4 + 1 = 5 connections nobody accepts").formatted(i), e);
            }
        }
        assertThat(lab.track(AcceptQueue.knock(address, ofSeconds(2))).admitted())
                .as("connect() #6 to a listener opened with backlog 4 that never accepts: the queue holds 5, so the "
                        + "kernel should drop this SYN; it completed, so the listener's backlog is not 4")
                .isFalse();
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
    @NeedsProc
    @Tag("task:2")
    @DisplayName("queueDepth() of a listener on 127.0.0.1 (a tcp6 row, ::ffff:127.0.0.1) follows its accept queue: 0, 3, then 2 after one accept()")
    void readsTheDepthOfADualStackListener() throws Exception {
        var listener = lab.listener(5);
        int port = listener.getLocalPort();

        int empty = depthOf(listener);
        for (int i = 0; i < 3; i++) {
            lab.connect(port);
        }
        var bench = listenerRow(ProcNetTcp.await("3 connections queued on port " + port,
                r -> r.stream().anyMatch(e -> isListenerOf(e, port) && e.rxQueue() == 3), ofMillis(2_000)), port);
        int full = depthOf(listener);
        listener.setSoTimeout(2_000);
        lab.track(listener.accept());
        ProcNetTcp.await("2 connections queued on port " + port + " after one accept()",
                r -> r.stream().anyMatch(e -> isListenerOf(e, port) && e.rxQueue() == 2), ofMillis(2_000));
        int afterAccept = depthOf(listener);

        assertThat(empty).as("queueDepth() before any client connected").isZero();
        assertThat(full).as("queueDepth() with 3 connections waiting; the bench reads this row of %s:%n  %s",
                bench.ipv6Table() ? "/proc/net/tcp6" : "/proc/net/tcp", bench).isEqualTo(3).isEqualTo((int) bench.rxQueue());
        assertThat(afterAccept).as("queueDepth() after accept() took one connection off the queue").isEqualTo(2);
    }

    @Test
    @NeedsProc
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
        int depth = depthOf(listener);

        assertThat(bench.ipv6Table()).as("an AF_INET listener is listed in /proc/net/tcp: %s", bench).isFalse();
        assertThat(depth).as("queueDepth() of an AF_INET listener with 2 connections waiting; its row in "
                + "/proc/net/tcp is:%n  %s", bench).isEqualTo(2);
    }

    @Test
    @NeedsProc
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
        int depthV4 = depthOf(v4);
        int depthV6 = depthOf(v6);

        var rows = ProcNetTcp.show(table.stream().filter(e -> isListenerOf(e, port)).toList());
        assertThat(depthV4).as("queueDepth() of the 127.0.0.1 listener; LISTEN rows on port %d:%n%s", port, rows)
                .isEqualTo(2);
        assertThat(depthV6).as("queueDepth() of the ::1 listener; LISTEN rows on port %d:%n%s", port, rows)
                .isEqualTo(1);
    }

    @Test
    @NeedsProc
    @Tag("task:2")
    @DisplayName("queueDepth() reads rx_queue as hex: 17 waiting connections are 00000011 in the table, 17 and not 11")
    void readsTheDepthInHex() throws Exception {
        var listener = lab.listener(20);
        int port = listener.getLocalPort();
        int empty = depthOf(listener);

        for (int i = 0; i < 17; i++) {
            lab.connect(port);
        }
        var bench = listenerRow(ProcNetTcp.await("17 connections queued on port " + port,
                r -> r.stream().anyMatch(e -> isListenerOf(e, port) && e.rxQueue() == 17), ofMillis(2_000)), port);
        int depth = depthOf(listener);

        assertThat(empty).as("queueDepth() before any client connected").isZero();
        assertThat(depth).as("queueDepth() with 17 connections waiting; the kernel prints every number of the row in "
                + "hex, so its rx_queue column reads 00000011:%n  %s", rawRows(port)).isEqualTo(17);
        assertThat(bench.rxQueue()).as("the bench's reading of the same row").isEqualTo(17);
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
    @NeedsProc
    @Tag("task:3")
    @DisplayName("fill() on a backlog-1 listener gets 2 clients in, then stops at the first connect that times out")
    void fillStopsAtTheFirstTimeout() throws Exception {
        var listener = lab.listener(1);
        int port = listener.getLocalPort();

        // Nobody accepts, so the queue stays full whatever the SYN retransmissions do: the bound can be a whole
        // second, an order of magnitude above a fixed 100 ms that ignores it.
        Duration bound = ofMillis(1_000);
        long t0 = System.nanoTime();
        var filling = fillAsync(new InetSocketAddress(Lab.LOOPBACK, port), bound, 30);
        List<Socket> clients;
        try {
            clients = filling.get(bound.multipliedBy(5).dividedBy(2).toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw unwrap(e);
        } catch (TimeoutException stillConnecting) {
            throw new AssertionError(("fill(…, %d ms, max 30) on a backlog-1 listener had not returned after %d ms: the "
                    + "first connect that times out found the queue full, and every later one would too. Stop there.")
                    .formatted(bound.toMillis(), bound.multipliedBy(5).dividedBy(2).toMillis()), null);
        }
        Duration took = elapsed(t0);

        assertThat(clients).as("clients fill() got into a backlog-1 queue (backlog + 1 = 2)").hasSize(2)
                .allSatisfy(c -> assertThat(c.isConnected() && !c.isClosed())
                        .as("is the client %s fill() returned connected and open? The clients are the caller's, "
                                + "to keep the queue full", c).isTrue());
        assertThat(ProcNetTcp.listenerOf(listener).orElseThrow().rxQueue())
                .as("accept queue of port %d after fill(): the clients must stay open", port).isEqualTo(2);
        assertThat(took).as("time fill() took: two instant connects and one that waited out its bound of %s (does "
                        + "each connect get the caller's bound?)", bound)
                .isGreaterThanOrEqualTo(bound.minusMillis(50))
                .isLessThan(bound.multipliedBy(5).dividedBy(2));
    }

    @Test
    @NeedsProc
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
                .hasSize(3)
                .allSatisfy(c -> assertThat(c.isConnected() && !c.isClosed())
                        .as("is the client %s fill() returned connected and open?", c).isTrue());
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
    @DisplayName("fill() refuses a null or unresolved address, a timeout that is null, zero or negative, and max below 1; max 1 gets one client in")
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
        assertThat(track(ListenQueue.fill(address, SHORT, 1)))
                .as("clients fill(…, 300 ms, max 1) got into a backlog-1 queue with room for 2: max 1 is the "
                        + "smallest allowed, and means one client")
                .hasSize(1);
    }

    @Test
    @Tag("task:3")
    @DisplayName("a bound under a millisecond is still a bound: fill() with 500 µs on a full queue gives up at once, "
            + "it does not wait forever")
    void aSubMillisecondTimeoutIsStillABound() throws Exception {
        var listener = lab.listener(1);
        var address = new InetSocketAddress(Lab.LOOPBACK, listener.getLocalPort());
        lab.connect(address); // backlog 1: two connections fill the queue, the kernel drops every later SYN
        lab.connect(address);

        var filling = fillAsync(address, Duration.ofNanos(500_000), 3);
        List<Socket> clients;
        try {
            clients = filling.get(2, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw unwrap(e);
        } catch (TimeoutException stillConnecting) {
            throw new AssertionError("fill(…, 500 µs, 3) on a full accept queue had not returned after 2 s. Either a "
                    + "connect() is not bounded — it got no timeout at all, or 500 µs became 0 on the way: "
                    + "Duration.toMillis() rounds it down, and connect(…, 0) waits forever, so round a bound that is "
                    + "not zero up to at least 1 ms — or fill() kept connecting after a connect timed out, when the "
                    + "first timeout already said the queue is full.", null);
        }

        assertThat(clients).as("clients fill(…, 500 µs, 3) got into a queue that was already full").isEmpty();
    }

    @Test
    @Tag("task:3")
    @DisplayName("a bound of 30 days is a bound too: fill() connects, though 30 days in milliseconds does not fit in an int")
    void aLongTimeoutStillConnects() throws Exception {
        var listener = lab.listener(5);

        List<Socket> clients;
        try {
            clients = track(ListenQueue.fill(new InetSocketAddress(Lab.LOOPBACK, listener.getLocalPort()),
                    Duration.ofDays(30), 2));
        } catch (IllegalArgumentException e) {
            throw new AssertionError("fill(…, 30 days, 2) to a listener with room failed with " + e + ": 30 days is "
                    + "2,592,000,000 ms, more than an int holds, and (int) turns it negative. Clamp it to "
                    + "Integer.MAX_VALUE (about 24 days) instead.", e);
        }

        assertThat(clients).as("clients fill(…, 30 days, max 2) got into a queue with room for 6").hasSize(2);
    }

    @Test
    @NeedsProc
    @Tag("task:3")
    @DisplayName("when a connect is refused after some clients got in, fill() closes them before it reports the refusal")
    void fillClosesItsClientsWhenRefused() throws Exception {
        var listener = lab.listener(256);
        int port = listener.getLocalPort();
        long listenerInode = ProcNetTcp.listenerOf(listener).orElseThrow().inode();
        var before = new HashSet<>(Descriptors.socketInodes());
        before.remove(listenerInode);
        var filling = fillAsync(new InetSocketAddress(Lab.LOOPBACK, port), ofMillis(2_500), 2_000);

        // Serve two of fill()'s clients, then stop listening: its next connect is refused at once (or, if the queue
        // was full just then, when its dropped SYN is sent again about 1 s later, to a port nobody listens on).
        // The queue (256) is far shorter than max (2000), so fill() cannot be done before the listener closes.
        listener.setSoTimeout(100);
        var served = new ArrayList<Socket>();
        long deadline = System.nanoTime() + ofSeconds(2).toNanos();
        while (served.size() < 2) {
            if (filling.isDone()) {
                throw new AssertionError("fill(…, 2.5 s, max 2000) returned %s before the test had served two of its "
                        .formatted(filling.join()) + "clients, with room in the queue", null);
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("fill() got no more than " + served.size() + " client(s) into the queue of "
                        + "port " + port + " within 2 s", null);
            }
            try {
                served.add(lab.track(listener.accept()));
            } catch (SocketTimeoutException notYet) {
                // look at fill() again, then keep accepting
            }
        }
        listener.close();
        for (Socket end : served) {
            end.close(); // the server's ends: the test's own sockets, not fill()'s
        }
        Throwable outcome;
        try {
            filling.get(2_500, TimeUnit.MILLISECONDS); // returned normally: its clients are closed after the test
            outcome = null;
        } catch (ExecutionException e) {
            outcome = e.getCause() instanceof UncheckedIOException u ? u.getCause() : e.getCause();
        } catch (TimeoutException stillWaiting) {
            throw new AssertionError("fill() had not returned 2.5 s after its listener closed: its next connect should "
                    + "have met a closed port (RST, Connection refused) at once, or about 1 s later for a SYN the full "
                    + "queue had dropped", null);
        }

        if (outcome == null) {
            throw new AssertionError("fill(…, 2.5 s, max 2000) returned normally although its listener closed while it "
                    + "was connecting: the refused connect (ECONNREFUSED) was taken for a full queue, or a connect gave "
                    + "up sooner than its 2.5 s bound", null);
        }
        // Refused (RST to a SYN: ConnectException), or reset in the handshake's last moment as the listener closed
        // (SocketException): either way the connect failed, and fill() must say so.
        assertThat(outcome).as("how fill() ended when its listener closed while it was connecting")
                .isInstanceOf(IOException.class).isNotInstanceOf(SocketTimeoutException.class);
        var left = new HashSet<>(Descriptors.socketInodes());
        left.removeAll(before);
        assertThat(left).as("socket descriptors fill() left open after it threw (inodes): the clients that got in "
                + "are the caller's only if fill() returns them; when it throws, it must close them").isEmpty();
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    /// queueDepth(), with what the kernel shows for the port when the code fails to read it.
    private static int depthOf(ServerSocket listener) throws IOException {
        try {
            return ListenQueue.queueDepth(listener);
        } catch (IOException | RuntimeException e) {
            if (e instanceof UnsupportedOperationException) {
                throw e; // the stub: nothing written yet
            }
            int port = listener.getLocalPort();
            throw new AssertionError(("queueDepth(%s) failed with %s. The LISTEN rows of port %d (hex %04X) as the kernel "
                    + "prints them:%n%s%nThe local address is 32-bit words in host byte order — on this %s machine 127.0.0.1 "
                    + "reads %s — then ':' and the port in hex; the LISTEN row has st 0A, and rx_queue (after the ':' "
                    + "of the fifth column) is the depth, in hex.").formatted(listener.getLocalSocketAddress(), e, port,
                    port, rawRows(port), java.nio.ByteOrder.nativeOrder(),
                    java.nio.ByteOrder.nativeOrder() == java.nio.ByteOrder.LITTLE_ENDIAN ? "0100007F" : "7F000001"), e);
        }
    }

    /// The LISTEN lines of /proc/net/tcp and /proc/net/tcp6 whose local port is `port`, as the kernel prints them.
    private static String rawRows(int port) {
        var out = new StringBuilder();
        String local = ":%04X ".formatted(port);
        for (Path table : List.of(Path.of("/proc/net/tcp"), Path.of("/proc/net/tcp6"))) {
            try {
                for (String line : Files.readAllLines(table)) {
                    String[] f = line.trim().split("\\s+");
                    if (f.length > 4 && (f[1] + " ").endsWith(local) && f[3].equals("0A")) {
                        out.append("  ").append(table.getFileName()).append(": ").append(line.trim()).append('\n');
                    }
                }
            } catch (IOException e) {
                out.append("  (cannot read ").append(table).append(")\n");
            }
        }
        return out.isEmpty() ? "  (no LISTEN rows)" : out.toString().stripTrailing();
    }

    /// fill() on a virtual thread of its own; whatever it returns is closed after the test.
    private CompletableFuture<List<Socket>> fillAsync(InetSocketAddress address, Duration timeout, int max) {
        var filling = CompletableFuture.supplyAsync(() -> {
            try {
                return ListenQueue.fill(address, timeout, max);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, task -> Thread.ofVirtual().name("fill").start(task));
        lab.track(() -> filling.thenAccept(ListenQueueTest::closeAll));
        return filling;
    }

    private static RuntimeException unwrap(ExecutionException e) throws IOException {
        Throwable cause = e.getCause() instanceof UncheckedIOException u ? u.getCause() : e.getCause();
        if (cause instanceof IOException io) {
            throw io;
        }
        if (cause instanceof RuntimeException r) {
            return r;
        }
        throw new AssertionError(cause);
    }

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
