import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.channels.NetworkChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.UnsupportedAddressTypeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static java.time.Duration.ofSeconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/// Chapter 2, graded: a listener is bound where you asked, a taken address is refused, a reservation holds a port
/// without listening, and a client leaves from the source you chose.
@Tag("bind")
@Tag("02-bind")
class SocketBinderTest {

    private static final InetAddress LOOPBACK = Lab.LOOPBACK;
    private static final InetAddress LOOPBACK_2 = address("127.0.0.2");
    private static final InetAddress LOOPBACK_6 = address("::1");
    private static final InetAddress WILDCARD_4 = address("0.0.0.0");
    private static final InetAddress WILDCARD_6 = address("::");

    @RegisterExtension
    final Lab lab = new Lab();

    @Test
    @NeedsProc
    @Tag("task:1")
    @DisplayName("port 0 gets a free port from ip_local_port_range, and the kernel lists the socket there in LISTEN")
    void portZeroGetsAnEphemeralPort() throws Exception {
        int[] range = ephemeralRange();

        var listener = lab.track(SocketBinder.listen(LOOPBACK, 0, PortReuse.REUSE_ADDRESS, 50));

        int port = portOf(listener);
        assertThat(port).as("the port the kernel chose for bind(127.0.0.1, 0); /proc/sys/net/ipv4/ip_local_port_range "
                + "is %d-%d", range[0], range[1]).isBetween(range[0], range[1]);
        assertThat(ProcNetTcp.onPort(port)).as("rows of port %d in /proc/net/tcp{,6} once listen() returned", port)
                .anyMatch(e -> e.state() == ProcNetTcp.State.LISTEN);
    }

    @Test
    @NeedsProc
    @Tag("task:1")
    @DisplayName("a listener on 127.0.0.1 is on loopback only: its row says 127.0.0.1, and a client dialling 127.0.0.2 is refused")
    void aLoopbackListenerIsNotOnTheWildcard() throws Exception {
        var listener = lab.track(SocketBinder.listen(LOOPBACK, 0, PortReuse.REUSE_ADDRESS, 50));
        int port = portOf(listener);

        var row = ProcNetTcp.onPort(port).stream().filter(e -> e.state() == ProcNetTcp.State.LISTEN).findFirst();

        assertThat(row).as("the LISTEN row of port %d", port).isPresent();
        assertThat(row.get().local().getAddress())
                .withFailMessage("the listener's row says %s: bound to the wildcard, it takes connections on every "
                        + "address of the machine, not just 127.0.0.1", row.get().local())
                .isEqualTo(LOOPBACK);
        assertThatExceptionOfType(ConnectException.class)
                .as("connect() to 127.0.0.2:%d — the same machine, another address: a listener on 127.0.0.1 only "
                        + "should not answer (ECONNREFUSED)", port)
                .isThrownBy(() -> lab.connect(new InetSocketAddress(LOOPBACK_2, port)));
        assertThatCode(() -> lab.connect(port)).as("connect() to 127.0.0.1:%d", port).doesNotThrowAnyException();
    }

    @Test
    @Tag("task:1")
    @DisplayName("0.0.0.0 is IPv4's wildcard: the listener takes clients on 127.0.0.1 and 127.0.0.2, but refuses ::1")
    void theIpv4WildcardTakesEveryIpv4AddressOnly() throws Exception {
        var listener = lab.track(SocketBinder.listen(WILDCARD_4, 0, PortReuse.REUSE_ADDRESS, 50));
        int port = portOf(listener);

        assertThatCode(() -> lab.connect(new InetSocketAddress(LOOPBACK, port)))
                .as("connect() to 127.0.0.1:%d, a listener on 0.0.0.0", port).doesNotThrowAnyException();
        assertThatCode(() -> lab.connect(new InetSocketAddress(LOOPBACK_2, port)))
                .as("connect() to 127.0.0.2:%d, a listener on 0.0.0.0 (every IPv4 address)", port)
                .doesNotThrowAnyException();
        assertThatExceptionOfType(ConnectException.class)
                .as("connect() to [::1]:%d: an AF_INET socket on 0.0.0.0 has no IPv6 address, so ECONNREFUSED. "
                        + "(A socket opened without a family is AF_INET6, and Java binds it to :: for 0.0.0.0.)", port)
                .isThrownBy(() -> lab.connect(new InetSocketAddress(LOOPBACK_6, port)));
    }

    @Test
    @NeedsProc
    @Tag("task:1")
    @DisplayName(":: is dual stack: the listener takes ::1 and 127.0.0.1, the IPv4 client listed in tcp6 as ::ffff:127.0.0.1")
    void theIpv6WildcardIsDualStack() throws Exception {
        var listener = lab.track(inFamilyOf(WILDCARD_6, () -> SocketBinder.listen(WILDCARD_6, 0, PortReuse.REUSE_ADDRESS, 50)));
        int port = portOf(listener);

        var v6 = lab.connect(new InetSocketAddress(LOOPBACK_6, port));
        var v4 = lab.connect(new InetSocketAddress(LOOPBACK, port));

        // The kernel completed both handshakes; their server-side rows exist before anyone calls accept().
        Predicate<ProcNetTcp.Entry> servesV4 = e -> e.local().getPort() == port
                && e.remote().equals(v4.getLocalSocketAddress());
        var served = ProcNetTcp.await("the server side of the 127.0.0.1 client's connection on port " + port,
                rows -> rows.stream().anyMatch(servesV4), ofSeconds(2)).stream().filter(servesV4).findFirst().orElseThrow();
        assertThat(served.ipv6Table())
                .as("is the IPv4 client's connection %s in /proc/net/tcp6? An AF_INET6 socket holds it as "
                        + "::ffff:127.0.0.1 (IPv4-mapped)", served).isTrue();
        assertThat(served.remote().getAddress()).as("the client address of that row").isInstanceOf(Inet4Address.class);
        assertThat(v6.isConnected()).as("the ::1 client is connected").isTrue();
    }

    @Test
    @NeedsProc
    @Tag("task:1")
    @DisplayName("binding a taken address:port fails with EADDRINUSE (BindException), and leaves no socket open")
    void aSecondBindFailsWithAddressInUse() throws Exception {
        var first = lab.track(SocketBinder.listen(LOOPBACK, 0, PortReuse.REUSE_ADDRESS, 50));
        int port = portOf(first);
        var before = Descriptors.socketInodes();

        assertThatExceptionOfType(BindException.class)
                .as("a second listen() on 127.0.0.1:%d while the first still listens, even with SO_REUSEADDR", port)
                .isThrownBy(() -> lab.track(SocketBinder.listen(LOOPBACK, port, PortReuse.REUSE_ADDRESS, 50)))
                .withStackTraceContaining("Address already in use");

        assertThat(Descriptors.socketInodes())
                .as("socket descriptors in /proc/self/fd after the failed bind (the socket that could not bind "
                        + "is still a descriptor until it is closed)").isEqualTo(before);
    }

    @Test
    @Tag("task:1")
    @DisplayName("listen() rejects a null address or policy, a port outside 0..65535 and a negative backlog, naming the value; backlog 0 is the default")
    void listenRejectsBadInput() {
        assertThatIllegalArgumentException()
                .isThrownBy(() -> lab.track(SocketBinder.listen(null, 0, PortReuse.STRICT, 50)))
                .withMessageContaining("address");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> lab.track(SocketBinder.listen(LOOPBACK, 65_536, PortReuse.STRICT, 50)))
                .withMessageContaining("65536");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> lab.track(SocketBinder.listen(LOOPBACK, -1, PortReuse.STRICT, 50)))
                .withMessageContaining("-1");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> lab.track(SocketBinder.listen(LOOPBACK, 0, null, 50)))
                .withMessageContaining("null");
        assertThatIllegalArgumentException()
                .as("backlog -5: Java would quietly use its default of 50 instead")
                .isThrownBy(() -> lab.track(SocketBinder.listen(LOOPBACK, 0, PortReuse.STRICT, -5)))
                .withMessageContaining("-5");
        assertThatCode(() -> lab.track(SocketBinder.listen(LOOPBACK, 0, PortReuse.STRICT, 0)))
                .as("listen(127.0.0.1, 0, STRICT, backlog 0): 0 asks for the default queue length, only a negative "
                        + "backlog is a mistake")
                .doesNotThrowAnyException();
    }

    @Test
    @Tag("task:1")
    @DisplayName("listen() binds the port asked for, not just any free one")
    void listenBindsThePortAskedFor() throws Exception {
        int wanted = Lab.freePort();

        var listener = lab.track(SocketBinder.listen(LOOPBACK, wanted, PortReuse.REUSE_ADDRESS, 50));

        assertThat(portOf(listener)).as("the port of listen(127.0.0.1, %d): port 0 asks the kernel to choose, any "
                + "other port is the caller's choice", wanted).isEqualTo(wanted);
    }

    @Test
    @NeedsProc
    @Tag("task:1")
    @DisplayName("listen() passes its backlog to the kernel: backlog 1 queues 2 connections, backlog 3 queues 4, "
            + "and the next SYN is dropped")
    void listenQueuesBacklogPlusOne() throws Exception {
        for (int backlog : new int[] {1, 3}) {
            var listener = lab.track(SocketBinder.listen(LOOPBACK, 0, PortReuse.REUSE_ADDRESS, backlog));
            var address = new InetSocketAddress(LOOPBACK, portOf(listener));

            for (int i = 1; i <= backlog + 1; i++) {
                connectToTheQueue(address, i, backlog);
            }
            var next = lab.track(AcceptQueue.knock(address, ofSeconds(2)));

            assertThat(next.admitted())
                    .as("connect() #%d to listen(…, backlog %d), which nobody accept()s: the accept queue holds backlog + 1 "
                            + "= %d, so the kernel should drop this SYN. It completed: the listener's backlog is not %d "
                            + "(ServerSocketChannel.bind(address) without a backlog uses Java's 50)",
                            backlog + 2, backlog, backlog + 1, backlog)
                    .isFalse();
        }
    }

    @Test
    @NeedsProc
    @Tag("task:4")
    @DisplayName("a port held by bind() without listen() refuses clients at once and has no row in /proc/net/tcp")
    void aReservedPortRefusesClients() throws Exception {
        var held = lab.track(SocketBinder.reserve(LOOPBACK, 0));
        int port = ((InetSocketAddress) held.getLocalAddress()).getPort();

        assertThat(port).as("the port reserve(127.0.0.1, 0) holds").isPositive();
        assertThat(ProcNetTcp.onPort(port))
                .as("rows of port %d: a socket that is only bound is in no TCP state the table lists (no LISTEN, "
                        + "no connection)", port).isEmpty();
        assertThatExceptionOfType(ConnectException.class)
                .as("connect() to the reserved 127.0.0.1:%d: bound is not listening, so the kernel answers the SYN "
                        + "with RST (ECONNREFUSED)", port)
                .isThrownBy(() -> lab.connect(port));
    }

    @Test
    @Tag("task:4")
    @DisplayName("a reserved port is really taken: a listener that binds it gets EADDRINUSE, SO_REUSEADDR or not")
    void aReservedPortIsTaken() throws Exception {
        var held = lab.track(SocketBinder.reserve(LOOPBACK, 0));
        int port = ((InetSocketAddress) held.getLocalAddress()).getPort();
        var intruder = lab.track(ServerSocketChannel.open()); // Java sets SO_REUSEADDR on it, as on every listener

        assertThatExceptionOfType(BindException.class)
                .as("a listener with SO_REUSEADDR binding 127.0.0.1:%d, which reserve() holds. Linux lets two "
                        + "sockets that both set SO_REUSEADDR share a port while neither listens: a reservation "
                        + "must not set it", port)
                .isThrownBy(() -> intruder.bind(new InetSocketAddress(LOOPBACK, port)));
    }

    @Test
    @Tag("task:4")
    @DisplayName("reserve() holds exactly the address and port asked for: ::1, and a port chosen beforehand")
    void reserveHoldsTheAddressAndPortAskedFor() throws Exception {
        int wanted = Lab.freePort();

        var held = lab.track(inFamilyOf(LOOPBACK_6, () -> SocketBinder.reserve(LOOPBACK_6, wanted)));

        assertThat(held.getLocalAddress()).as("the local address of reserve(::1, %d)", wanted)
                .isEqualTo(new InetSocketAddress(LOOPBACK_6, wanted));
    }

    @Test
    @Tag("task:4")
    @DisplayName("reserve() rejects a null address and a port outside 0..65535, naming the value")
    void reserveRejectsBadInput() {
        assertThatIllegalArgumentException()
                .as("reserve(null, 0): with no address, a socket would be bound to the wildcard, every address of the host")
                .isThrownBy(() -> lab.track(SocketBinder.reserve(null, 0)))
                .withMessageContaining("address");
        assertThatIllegalArgumentException().as("reserve(127.0.0.1, 65536)")
                .isThrownBy(() -> lab.track(SocketBinder.reserve(LOOPBACK, 65_536)))
                .withMessageContaining("65536");
        assertThatIllegalArgumentException().as("reserve(127.0.0.1, -1)")
                .isThrownBy(() -> lab.track(SocketBinder.reserve(LOOPBACK, -1)))
                .withMessageContaining("-1");
    }

    @Test
    @NeedsProc
    @Tag("task:4")
    @DisplayName("reserving a port a listener holds fails with EADDRINUSE (BindException), and leaves no socket open")
    void reservingATakenPortFailsWithoutALeak() throws Exception {
        SocketBinder.reserve(LOOPBACK, 0).close();
        var listener = lab.listener();
        int port = listener.getLocalPort();
        var before = Descriptors.socketInodes();

        assertThatExceptionOfType(BindException.class)
                .as("reserve(127.0.0.1, %d) while a listener holds that port", port)
                .isThrownBy(() -> lab.track(SocketBinder.reserve(LOOPBACK, port)))
                .withStackTraceContaining("Address already in use");

        assertThat(Descriptors.socketInodes())
                .as("socket descriptors in /proc/self/fd after reserve() failed: the socket that could not bind is "
                        + "still a descriptor until it is closed, and the caller never got it to close").isEqualTo(before);
    }

    @Test
    @NeedsProc
    @Tag("task:5")
    @DisplayName("connectFrom() binds the source before connecting: the server sees the client at the chosen 127.0.0.2 and port")
    void connectFromUsesTheChosenSource() throws Exception {
        var server = lab.listener();
        server.setSoTimeout(2_000);
        var source = new InetSocketAddress(LOOPBACK_2, Lab.freePort());

        var client = lab.track(SocketBinder.connectFrom(source,
                new InetSocketAddress(LOOPBACK, server.getLocalPort()), ofSeconds(2)));
        var accepted = lab.track(server.accept());

        assertThat(accepted.getRemoteSocketAddress()).as("the client's address as the server's accept() sees it")
                .isEqualTo(source);
        assertThat(ProcNetTcp.stateOf(client)).as("the connection %s -> %s in the TCP table",
                client.getLocalSocketAddress(), client.getRemoteSocketAddress()).contains(ProcNetTcp.State.ESTABLISHED);
    }

    @Test
    @Tag("task:5")
    @DisplayName("connectFrom() rejects a missing address and a timeout that is not positive, naming it")
    void connectFromRejectsBadInput() throws Exception {
        var server = new InetSocketAddress(LOOPBACK, Lab.freePort());
        var source = new InetSocketAddress(LOOPBACK, 0);

        assertThatIllegalArgumentException()
                .isThrownBy(() -> lab.track(SocketBinder.connectFrom(null, server, ofSeconds(1))))
                .withMessageContaining("source");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> lab.track(SocketBinder.connectFrom(source, null, ofSeconds(1))))
                .withMessageContaining("server");
        assertThatIllegalArgumentException().as("connectFrom(…, timeout -250 ms)")
                .isThrownBy(() -> lab.track(SocketBinder.connectFrom(source, server, Duration.ofMillis(-250))))
                .withMessageContaining("timeout");
        assertThatIllegalArgumentException().as("connectFrom(…, timeout 0): connect()'s 0 means wait forever, no bound at all")
                .isThrownBy(() -> lab.track(SocketBinder.connectFrom(source, server, Duration.ZERO)))
                .withMessageContaining("timeout");
        assertThatIllegalArgumentException().as("connectFrom(…, timeout null)")
                .isThrownBy(() -> lab.track(SocketBinder.connectFrom(source, server, null)))
                .withMessageContaining("timeout");
    }

    @Test
    @NeedsProc
    @Tag("task:5")
    @DisplayName("connectFrom() leaves no socket open when the server refuses or the source port is taken")
    void connectFromLeavesNoSocketOnFailure() throws Exception {
        var nobody = new InetSocketAddress(LOOPBACK, Lab.freePort());
        var source = new InetSocketAddress(LOOPBACK, 0);
        var before = Descriptors.socketInodes();

        assertThatExceptionOfType(ConnectException.class)
                .as("connectFrom(127.0.0.1:0, %s), where nothing listens (ECONNREFUSED)", nobody)
                .isThrownBy(() -> lab.track(SocketBinder.connectFrom(source, nobody, ofSeconds(2))));
        assertThat(Descriptors.socketInodes())
                .as("socket descriptors in /proc/self/fd after connectFrom() was refused: the client socket it made is "
                        + "still a descriptor until it is closed, and the caller never got it to close").isEqualTo(before);

        var server = lab.listener();
        var taken = new InetSocketAddress(LOOPBACK, server.getLocalPort()); // the listener holds this address
        var serverEnd = new InetSocketAddress(LOOPBACK, server.getLocalPort());
        var withListener = Descriptors.socketInodes();
        assertThatExceptionOfType(BindException.class)
                .as("connectFrom(%s, …) where a listener holds the source address (EADDRINUSE at bind())", taken)
                .isThrownBy(() -> lab.track(SocketBinder.connectFrom(taken, serverEnd, ofSeconds(2))));
        assertThat(Descriptors.socketInodes())
                .as("socket descriptors in /proc/self/fd after connectFrom() failed to bind its source").isEqualTo(withListener);
    }

    @Test
    @Tag("task:5")
    @DisplayName("a bound under a millisecond is still a bound: connectFrom() to a full accept queue with 500 µs "
            + "gives up at once, it does not wait forever")
    void aSubMillisecondTimeoutIsStillABound() throws Exception {
        var server = lab.listener(1);
        var address = new InetSocketAddress(LOOPBACK, server.getLocalPort());
        lab.connect(address); // backlog 1: two connections fill the queue, the kernel drops the next SYN
        lab.connect(address);
        var source = new InetSocketAddress(LOOPBACK, 0);

        var dialling = CompletableFuture.supplyAsync(() -> {
            try {
                return SocketBinder.connectFrom(source, address, Duration.ofNanos(500_000));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, task -> Thread.ofVirtual().name("connect-from").start(task));
        lab.track(() -> dialling.thenAccept(SocketBinderTest::closeQuietly));
        Throwable outcome;
        try {
            dialling.get(2, TimeUnit.SECONDS); // connected (to a full queue?): closed after the test
            outcome = null;
        } catch (ExecutionException e) {
            outcome = e.getCause() instanceof java.io.UncheckedIOException u ? u.getCause() : e.getCause();
        } catch (TimeoutException stillConnecting) {
            throw new AssertionError("connectFrom(…, 500 µs) to a full accept queue had not returned after 2 s: its "
                    + "connect() is not bounded. Either it got no timeout at all, or 500 µs became 0 on the way — "
                    + "Duration.toMillis() rounds it down, and connect(…, 0) waits forever: round a bound that is not "
                    + "zero up to at least 1 ms.", null);
        }
        if (outcome instanceof UnsupportedOperationException stub) {
            throw stub;
        }
        assertThat(outcome)
                .as("what connectFrom(…, 500 µs) to a full accept queue (the kernel drops the SYN) ended with")
                .isInstanceOf(SocketTimeoutException.class);
    }

    @Test
    @NeedsProc
    @Tag("task:5")
    @DisplayName("a bound of 30 days is a bound too: connectFrom() connects, though 30 days in milliseconds does not fit in an int")
    void aLongTimeoutStillConnects() throws Exception {
        var server = lab.listener();
        var address = new InetSocketAddress(LOOPBACK, server.getLocalPort());

        Socket client;
        try {
            client = lab.track(SocketBinder.connectFrom(new InetSocketAddress(LOOPBACK, 0), address, Duration.ofDays(30)));
        } catch (IllegalArgumentException e) {
            throw new AssertionError("connectFrom(…, 30 days) to a listening server failed with " + e + ": 30 days is "
                    + "2,592,000,000 ms, more than an int holds, and (int) turns it negative. Clamp it to "
                    + "Integer.MAX_VALUE (about 24 days) instead.", e);
        }

        assertThat(ProcNetTcp.stateOf(client)).as("the connection made with a 30-day connect timeout")
                .contains(ProcNetTcp.State.ESTABLISHED);
    }

    /// A socket opened for `address`; a socket of the other family says so in socket terms, not in Java's bare
    /// `UnsupportedAddressTypeException`.
    private static <T extends NetworkChannel> T inFamilyOf(InetAddress address, java.util.concurrent.Callable<T> open)
            throws Exception {
        try {
            return open.call();
        } catch (UnsupportedAddressTypeException e) {
            throw new AssertionError(("binding %s was refused (UnsupportedAddressTypeException): the socket is AF_INET, "
                    + "which has no IPv6 address. Open it in the family of the address it is for — AF_INET6 for %s")
                    .formatted(address.getHostAddress(), address.getHostAddress()), e);
        }
    }

    /// Connects client `i` of those a listener with `backlog` must queue at once; says so in socket terms if it cannot.
    private void connectToTheQueue(InetSocketAddress address, int i, int backlog) throws IOException {
        try {
            lab.connect(address);
        } catch (SocketTimeoutException e) {
            throw new AssertionError(("connect() #%d to listen(…, backlog %d) timed out: an accept queue with backlog %d "
                    + "holds %d connections, but the kernel dropped this SYN already — the backlog the listener got is "
                    + "smaller").formatted(i, backlog, backlog, backlog + 1), e);
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            if (socket != null) {
                socket.close();
            }
        } catch (IOException ignored) {
            // the test has its verdict; closing is only tidying up
        }
    }

    private static int portOf(ServerSocketChannel listener) throws IOException {
        return ((InetSocketAddress) listener.getLocalAddress()).getPort();
    }

    /// The range bind(port 0) and connect() draw from, e.g. `32768	60999`.
    private static int[] ephemeralRange() throws IOException {
        Path file = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
        if (!Files.isReadable(file)) {
            throw new ProcNetTcp.Unavailable("needs Linux: there is no " + file + " on " + System.getProperty("os.name"));
        }
        // readAllLines, not readString: a sysctl file answers only the first read(), and readString's first read
        // of a zero-length file asks for one byte.
        String[] f = Files.readAllLines(file).getFirst().trim().split("\\s+");
        return new int[] {Integer.parseInt(f[0]), Integer.parseInt(f[1])};
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal); // a literal: no name lookup
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
