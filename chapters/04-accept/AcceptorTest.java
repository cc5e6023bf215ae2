import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;
import java.lang.management.ManagementFactory;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;

import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.time.Duration.ofMillis;
import static java.time.Duration.ofSeconds;
import static org.awaitility.Awaitility.await;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.catchThrowable;

/// Chapter 4, graded: accept() hands out new sockets while the listener keeps listening, and an echo server's
/// accept loop serves everyone at once, survives resets and stops without leaving a connection behind.
@Tag("accept")
@Tag("04-accept")
class AcceptorTest {

    private static final int READ_BOUND_MS = 1_500;

    @RegisterExtension
    final Lab lab = new Lab();

    @Test
    @NeedsProc
    @Tag("task:1")
    @DisplayName("accept() returns a new socket: its own descriptor, the listener's local port, the client's address as remote")
    void acceptReturnsANewSocketForTheClient() throws Exception {
        var listener = lab.listener();
        int port = listener.getLocalPort();
        var client = lab.connect(port);

        var accepted = lab.track(Acceptor.acceptOne(listener, ofSeconds(2)));

        assertThat(accepted.getLocalPort()).as("local port of the accepted socket (the listener's is %d)", port)
                .isEqualTo(port);
        assertThat(accepted.getRemoteSocketAddress())
                .as("remote end of the accepted socket: the client's own address and port")
                .isEqualTo(client.getLocalSocketAddress());
        var listening = ProcNetTcp.listenerOf(listener).orElseThrow(
                () -> new AssertionError("no LISTEN row for port " + port + " after accept(): the listener must keep listening"));
        var connection = ProcNetTcp.entryOf(accepted.getLocalSocketAddress(), accepted.getRemoteSocketAddress())
                .orElseThrow(() -> new AssertionError("no row in /proc/net/tcp for the accepted connection " + accepted));
        assertThat(connection.state()).as("kernel state of the accepted connection").isEqualTo(ProcNetTcp.State.ESTABLISHED);
        assertThat(connection.inode())
                .as("inode of the accepted connection's row vs the listener's (%d): accept() makes a new socket",
                        listening.inode())
                .isNotZero()
                .isNotEqualTo(listening.inode());
        assertThat(Descriptors.fdOf(connection.inode()))
                .as("descriptor of socket:[%d], the accepted connection, in /proc/self/fd (the listener's is fd %d)",
                        connection.inode(), Descriptors.fdOf(listening.inode()))
                .isNotNegative()
                .isNotEqualTo(Descriptors.fdOf(listening.inode()));
    }

    @Test
    @NeedsProc
    @Tag("task:1")
    @DisplayName("one listener, three accepted sockets on the same port, told apart by the client's port; "
            + "closing the listener leaves them connected")
    void theListenerKeepsListening() throws Exception {
        var listener = lab.listener();
        int port = listener.getLocalPort();
        var clients = List.of(lab.connect(port), lab.connect(port), lab.connect(port));

        var accepted = new ArrayList<Socket>();
        for (int i = 0; i < clients.size(); i++) {
            accepted.add(lab.track(Acceptor.acceptOne(listener, ofSeconds(2))));
        }

        assertThat(accepted).extracting(Socket::getLocalPort).as("local ports of the three accepted sockets")
                .containsOnly(port);
        assertThat(accepted).extracting(Socket::getRemoteSocketAddress)
                .as("remote ends of the accepted sockets: one per client, each the client's own address and port")
                .containsExactlyInAnyOrderElementsOf(clients.stream().map(Socket::getLocalSocketAddress).toList());
        assertThat(ProcNetTcp.listenerOf(listener)).as("LISTEN row of port %d after three accepts", port).isPresent();

        listener.close();

        assertThatExceptionOfType(ConnectException.class)
                .as("connect() to port %d after the listener was closed (ECONNREFUSED expected)", port)
                .isThrownBy(() -> lab.connect(port));
        for (int i = 0; i < clients.size(); i++) {
            clients.get(i).getOutputStream().write('A' + i);
            accepted.get(i).setSoTimeout(READ_BOUND_MS);
            assertThat(accepted.get(i).getInputStream().read())
                    .as("byte read on accepted socket %s after the listener was closed: closing the listener does "
                            + "not close the connections it accepted", accepted.get(i))
                    .isEqualTo('A' + i);
        }
    }

    @Test
    @Tag("task:1")
    @DisplayName("with no client, acceptOne() gives up with SocketTimeoutException in bounded time, and the listener still works")
    void acceptOneTimesOut() throws Exception {
        var listener = lab.listener();
        int port = listener.getLocalPort();

        long start = System.nanoTime();
        assertThatExceptionOfType(SocketTimeoutException.class)
                .as("acceptOne(listener, 200 ms) with nobody connecting: accept() must be bounded (SO_TIMEOUT)")
                .isThrownBy(() -> Acceptor.acceptOne(listener, ofMillis(200)));
        long tookMs = (System.nanoTime() - start) / 1_000_000;

        assertThat(tookMs).as("milliseconds acceptOne(listener, 200 ms) took before giving up: about 200, never less")
                .isBetween(150L, 2_000L);
        var client = lab.connect(port);
        var accepted = lab.track(Acceptor.acceptOne(listener, ofSeconds(2)));
        assertThat(accepted.getRemoteSocketAddress())
                .as("connection accepted after a timed-out accept: a timeout does not close the listener")
                .isEqualTo(client.getLocalSocketAddress());
        assertThatIllegalArgumentException().as("acceptOne with a negative wait")
                .isThrownBy(() -> Acceptor.acceptOne(listener, ofMillis(-1)))
                .withMessageContaining("wait");
        assertThatIllegalArgumentException().as("acceptOne with a null listener")
                .isThrownBy(() -> Acceptor.acceptOne(null, ofSeconds(1)))
                .withMessageContaining("listener");
    }

    @Test
    @Tag("task:1")
    @DisplayName("a wait under a millisecond is still a bound: acceptOne(listener, 500 µs) with nobody coming gives up "
            + "at once, it does not wait forever")
    void aSubMillisecondWaitIsStillABound() throws Exception {
        var listener = lab.listener();

        var accepting = CompletableFuture.supplyAsync(() -> {
            try {
                return Acceptor.acceptOne(listener, Duration.ofNanos(500_000));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, task -> Thread.ofVirtual().name("accept-one").start(task));
        lab.track(() -> accepting.thenAccept(AcceptorTest::closeQuietly));
        Throwable outcome;
        try {
            closeQuietly(accepting.get(2, TimeUnit.SECONDS));
            outcome = null;
        } catch (ExecutionException e) {
            outcome = e.getCause() instanceof UncheckedIOException u ? u.getCause() : e.getCause();
        } catch (TimeoutException stillWaiting) {
            throw new AssertionError("acceptOne(listener, 500 µs) with nobody connecting had not returned after 2 s: "
                    + "its accept() is not bounded. Either the listener got no SO_TIMEOUT at all, or 500 µs became 0 on "
                    + "the way — Duration.toMillis() rounds it down, and SO_TIMEOUT 0 means wait forever: round a wait "
                    + "that is not zero up to at least 1 ms.", null);
        }
        if (outcome instanceof UnsupportedOperationException stub) {
            throw stub;
        }

        assertThat(outcome).as("what acceptOne(listener, 500 µs) ended with, with nobody connecting")
                .isInstanceOf(SocketTimeoutException.class);
    }

    @Test
    @Tag("task:1")
    @DisplayName("acceptOne() takes a wait of 30 days (more milliseconds than an int holds) and refuses a wait of zero or none")
    void acceptOneTakesAnyPositiveWait() throws Exception {
        var listener = lab.listener();
        var client = lab.connect(listener.getLocalPort());

        Socket accepted;
        try {
            accepted = lab.track(Acceptor.acceptOne(listener, Duration.ofDays(30)));
        } catch (IllegalArgumentException e) {
            throw new AssertionError("acceptOne(listener, 30 days) with a client waiting failed with " + e + ": 30 days "
                    + "is 2,592,000,000 ms, more than an int holds, and (int) turns it negative. Clamp it to "
                    + "Integer.MAX_VALUE (about 24 days) instead.", e);
        }

        assertThat(accepted.getRemoteSocketAddress()).as("the connection acceptOne(listener, 30 days) returned")
                .isEqualTo(client.getLocalSocketAddress());
        assertThatIllegalArgumentException().as("acceptOne(listener, 0): SO_TIMEOUT 0 means wait forever, no bound at all")
                .isThrownBy(() -> lab.track(Acceptor.acceptOne(listener, Duration.ZERO)))
                .withMessageContaining("wait");
        assertThatIllegalArgumentException().as("acceptOne(listener, null)")
                .isThrownBy(() -> lab.track(Acceptor.acceptOne(listener, null)))
                .withMessageContaining("wait");
    }

    @Test
    @Tag("task:2")
    @DisplayName("start() returns at once, with the accept loop running on a thread of its own")
    void aStartedServerRunsOnAThreadOfItsOwn() throws Exception {
        var starting = CompletableFuture.supplyAsync(() -> {
            try {
                return Acceptor.start(Lab.LOOPBACK, 0, 50);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, task -> Thread.ofVirtual().name("start").start(task));
        Acceptor server;
        try {
            server = lab.track(starting.get(2, TimeUnit.SECONDS));
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() instanceof UncheckedIOException u ? u.getCause() : e.getCause();
            if (cause instanceof Exception failure) {
                throw failure;
            }
            throw (Error) cause;
        } catch (TimeoutException stillInStart) {
            // a start() that runs the loop itself accepts forever; its listener is closed only by the process's end
            throw new AssertionError("start() had not returned after 2 s: it runs the accept loop itself. Start the "
                    + "loop on a thread of its own and return, so that the caller can go on (and stop() the server).", null);
        }

        var client = lab.connect(server.port());
        assertThat(echo(client, "are you there?")).as("echo from the server start() returned").isEqualTo("are you there?");
    }

    @Test
    @NeedsProc
    @Tag("task:2")
    @DisplayName("the server echoes, and each client's connection is a row of its own on the server's port, "
            + "beside the LISTEN row")
    void eachClientIsAConnectionOfItsOwn() throws Exception {
        var server = lab.track(Acceptor.start(Lab.LOOPBACK, 0, 50));
        int port = server.port();
        var clients = List.of(lab.connect(port), lab.connect(port), lab.connect(port));

        for (int i = 0; i < clients.size(); i++) {
            assertThat(echo(clients.get(i), "hello from client " + i))
                    .as("what the server sent back to client %d (all three are connected at once)", i)
                    .isEqualTo("hello from client " + i);
        }

        var rows = ProcNetTcp.onPort(port);
        var listening = rows.stream().filter(e -> e.state() == ProcNetTcp.State.LISTEN).toList();
        assertThat(listening).as("LISTEN rows on the server's port %d:%n%s", port, ProcNetTcp.show(rows)).hasSize(1);
        List<SocketAddress> clientEnds = clients.stream().map(Socket::getLocalSocketAddress).toList();
        var accepted = rows.stream().filter(e -> e.state() == ProcNetTcp.State.ESTABLISHED
                && clientEnds.contains(e.remote())).toList();
        assertThat(accepted).extracting(ProcNetTcp.Entry::remote)
                .as("remote ends of the server's ESTABLISHED rows on port %d: one per client%n%s", port, ProcNetTcp.show(rows))
                .containsExactlyInAnyOrderElementsOf(clientEnds.stream().map(InetSocketAddress.class::cast).toList());
        assertThat(accepted).extracting(ProcNetTcp.Entry::inode)
                .as("inodes of the accepted connections: each its own socket, none the listener's, all held by this process")
                .doesNotHaveDuplicates()
                .doesNotContain(listening.getFirst().inode())
                .allMatch(inode -> Descriptors.fdOf(inode) >= 0);
    }

    @Test
    @Tag("task:2")
    @DisplayName("serves 150 clients at once while one idle client holds its connection open")
    void servesManyClientsWhileOneIsIdle() throws Exception {
        var server = lab.track(Acceptor.start(Lab.LOOPBACK, 0, 256));
        int port = server.port();
        var idle = lab.connect(port);
        assertThat(echo(idle, "I will say nothing more")).as("echo to the first client, which then stays idle")
                .isEqualTo("I will say nothing more");

        int clients = 150;
        var served = new AtomicInteger();
        Queue<String> failures = new ConcurrentLinkedQueue<>();
        try (var each = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < clients; i++) {
                String message = "client " + i;
                each.submit(() -> {
                    try {
                        if (echo(lab.connect(port), message).equals(message)) {
                            served.incrementAndGet();
                        }
                    } catch (IOException | AssertionError e) {
                        failures.add(message + ": " + e.getMessage());
                    }
                });
            }
        }

        assertThat(served.get())
                .withFailMessage("%d of %d clients got their echo within %d ms while one idle client held a connection "
                                + "open, and each of them kept its own open too. A server that serves each client in its "
                                + "accept loop (an iterative server) is stuck in read() on the idle client, and one with a "
                                + "fixed pool of threads is stuck once that many clients are connected: give each "
                                + "connection a thread of its own. First failures: %s", served.get(), clients, READ_BOUND_MS,
                        failures.stream().limit(3).toList())
                .isEqualTo(clients);
    }

    @Test
    @NeedsProc
    @Tag("task:2")
    @DisplayName("clients that reset at once (SO_LINGER 0) neither stop the accept loop nor leave a descriptor open")
    void resettingClientsDoNotStopTheLoop() throws Exception {
        int baseline = Descriptors.socketInodes().size();
        var server = lab.track(Acceptor.start(Lab.LOOPBACK, 0, 50));
        int port = server.port();

        int resets = 20;
        for (int i = 0; i < resets; i++) {
            try (var rude = new Socket()) {
                rude.connect(new InetSocketAddress(Lab.LOOPBACK, port), 2_000);
                rude.setSoLinger(true, 0); // close() now sends RST instead of FIN
            }
        }
        // The accept queue is first in, first out: once this client is served, every reset one was accepted.
        var probe = lab.connect(port);
        assertThat(echo(probe, "after the resets")).as("echo to a client that came after %d resets", resets)
                .isEqualTo("after the resets");

        // Left open: the listener, the probe client and the server's end of it. Everything else must be closed.
        int expected = baseline + 3;
        try {
            ProcNetTcp.await("the server to close its end of the %d reset connections (%d socket descriptors in "
                    .formatted(resets, expected) + "/proc/self/fd: baseline, listener, one client and its accepted socket)",
                    rows -> Descriptors.socketInodes().size() <= expected, ofSeconds(2));
        } catch (AssertionError e) {
            throw new AssertionError(("the process still holds %d socket descriptors, %d more than expected, after %d "
                    + "clients reset their connections: a reset connection's socket must be closed too (a read that "
                    + "fails with 'Connection reset' still leaves the descriptor open until close())")
                    .formatted(Descriptors.socketInodes().size(), Descriptors.socketInodes().size() - expected, resets), e);
        }
        var next = lab.connect(port);
        assertThat(echo(next, "still there?"))
                .as("echo to a new client after %d clients reset their connections: one connection's failure must not "
                        + "end the accept loop", resets)
                .isEqualTo("still there?");
    }

    @Test
    @NeedsProc
    @Tag("task:2")
    @DisplayName("when a client closes, the server closes its end too: no CLOSE_WAIT stays on the server's port, "
            + "and no descriptor in the process")
    void closesWhenTheClientHangsUp() throws Exception {
        var server = lab.track(Acceptor.start(Lab.LOOPBACK, 0, 50));
        int port = server.port();
        var ends = new ArrayList<SocketAddress>();
        var serverSockets = new HashSet<Long>();
        for (int i = 0; i < 5; i++) {
            try (var client = new Socket()) {
                client.connect(new InetSocketAddress(Lab.LOOPBACK, port), 2_000);
                assertThat(echo(client, "bye " + i)).as("echo before hanging up").isEqualTo("bye " + i);
                ends.add(client.getLocalSocketAddress());
                serverSockets.add(serverEndOf(port, client).inode());
            } // the client closes first: FIN; the server's read() returns -1 and its end is CLOSE_WAIT until it closes
        }

        // Closed on both sides, the server's end goes CLOSE_WAIT -> LAST_ACK -> gone; a row that stays CLOSE_WAIT
        // means the server read EOF (-1) and never called close().
        ProcNetTcp.await(("the server's ends of 5 connections whose clients closed to leave CLOSE_WAIT on port %d "
                        + "(a row stuck in CLOSE_WAIT: the server read EOF, -1, and never closed its socket)").formatted(port),
                rows -> rows.stream().noneMatch(e -> e.local().getPort() == port && ends.contains(e.remote())
                        && (e.state() == ProcNetTcp.State.CLOSE_WAIT || e.state() == ProcNetTcp.State.ESTABLISHED)),
                ofSeconds(2));
        awaitReleased(serverSockets, "after their 5 clients closed: shutting down the output sends FIN and lets the "
                + "connection end, but only close() gives the descriptor back");
    }

    @Test
    @Tag("task:2")
    @DisplayName("the server echoes every byte of a connection: three messages in a row, then 1 MiB, each in order; close() stops it, even from an interrupted thread")
    void echoesEveryByteOfAConnection() throws Exception {
        var server = lab.track(Acceptor.start(Lab.LOOPBACK, 0, 50));
        var client = lab.connect(server.port());

        for (String message : List.of("one", "two, a little longer", "three")) {
            assertThat(echo(client, message)).as("the echo of %s, sent on a connection that was echoed before", message)
                    .isEqualTo(message);
        }
        byte[] large = Bytes.pattern(1 << 20);
        // Write on another thread: the server echoes while we send, and a peer that only writes would fill both
        // directions' buffers and stall the exchange.
        var writing = CompletableFuture.runAsync(() -> {
            try {
                client.getOutputStream().write(large);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, task -> Thread.ofVirtual().name("writer").start(task));
        byte[] back;
        try {
            back = client.getInputStream().readNBytes(large.length);
        } catch (SocketTimeoutException e) {
            throw new AssertionError(("the echo of 1 MiB stalled: no byte came back for %d ms. A stream delivers "
                    + "a large write in many reads of any size: echo each read as it comes, until the client closes")
                    .formatted(READ_BOUND_MS), e);
        }
        writing.get(2, TimeUnit.SECONDS);

        assertThat(back.length).as("bytes echoed of the 1 MiB sent (the server closed the connection early if fewer)")
                .isEqualTo(large.length);
        assertThat(Arrays.equals(back, large)).as("the 1 MiB echoed, byte for byte in order").isTrue();
        int port = server.port();
        Thread.currentThread().interrupt(); // a caller that was interrupted: stopping must still be complete
        server.close();
        assertThat(Thread.interrupted())
                .as("the interrupt status of a thread that called close() while interrupted: kept for the caller "
                        + "(catching InterruptedException without interrupt() again swallows it)")
                .isTrue();
        Lab.awaitRefused(port, ofSeconds(1)); // close() is stop(): try-with-resources stops the server
    }

    @Test
    @Tag("task:2")
    @DisplayName("start() listens on the address and port asked for: 127.0.0.2 on a port chosen beforehand, not 127.0.0.1")
    void listensOnTheAddressAndPortAskedFor() throws Exception {
        InetAddress loopback2 = InetAddress.getByName("127.0.0.2");
        int wanted = Lab.freePort();

        var server = lab.track(Acceptor.start(loopback2, wanted, 50));

        assertThat(server.port()).as("port() of start(127.0.0.2, %d, 50)", wanted).isEqualTo(wanted);
        var client = lab.connect(new InetSocketAddress(loopback2, wanted));
        assertThat(echo(client, "on 127.0.0.2")).as("echo through 127.0.0.2:%d", wanted).isEqualTo("on 127.0.0.2");
        assertThatExceptionOfType(ConnectException.class)
                .as("connect() to 127.0.0.1:%d, another address than the server's: a server on 127.0.0.2 only must "
                        + "not answer (ECONNREFUSED)", wanted)
                .isThrownBy(() -> lab.connect(new InetSocketAddress(Lab.LOOPBACK, wanted)));
    }

    @Test
    @Tag("task:2")
    @DisplayName("start() with a port outside 0..65535, a negative backlog or a null address fails with "
            + "IllegalArgumentException naming it; backlog 0 asks for the default")
    void startRefusesBadArguments() {
        assertThatIllegalArgumentException().as("start(127.0.0.1, 65536, 50)")
                .isThrownBy(() -> lab.track(Acceptor.start(Lab.LOOPBACK, 65_536, 50))).withMessageContaining("65536");
        assertThatIllegalArgumentException().as("start(127.0.0.1, -1, 50)")
                .isThrownBy(() -> lab.track(Acceptor.start(Lab.LOOPBACK, -1, 50))).withMessageContaining("-1");
        assertThatIllegalArgumentException().as("start(127.0.0.1, 0, -7)")
                .isThrownBy(() -> lab.track(Acceptor.start(Lab.LOOPBACK, 0, -7))).withMessageContaining("-7");
        assertThatIllegalArgumentException().as("start(null, 0, 50)")
                .isThrownBy(() -> lab.track(Acceptor.start(null, 0, 50))).withMessageContaining("address");
        assertThatCode(() -> lab.track(Acceptor.start(Lab.LOOPBACK, 0, 0)))
                .as("start(127.0.0.1, 0, 0): backlog 0 asks for the default queue length, only a negative one is a "
                        + "mistake")
                .doesNotThrowAnyException();
    }

    @Test
    @NeedsProc
    @Tag("task:2")
    @DisplayName("when accept() fails with EMFILE (no descriptor left), the loop neither ends nor spins: it tries "
            + "again, and serves the waiting client once a descriptor is free")
    void outlivesEmfileWithoutSpinning() throws Throwable {
        Set<Long> earlier = Threads.running("Acceptor").stream().map(Threads.Info::tid).collect(Collectors.toSet());
        var server = lab.track(Acceptor.start(Lab.LOOPBACK, 0, 50));
        // With no client yet, the server's only thread is its accept loop. A platform thread's own CPU time is
        // measured; a virtual one's is not counted by the JVM, so then the whole process's is, with a wider bound.
        List<Threads.Info> loop = Threads.running("Acceptor").stream()
                .filter(t -> !earlier.contains(t.tid()) && !t.virtual()).toList();
        var os = ManagementFactory.getPlatformMXBean(com.sun.management.OperatingSystemMXBean.class);
        LongSupplier cpu = loop.size() == 1 ? loop.getFirst()::cpuNanos : os::getProcessCpuTime;
        String whose = loop.size() == 1 ? "the accept loop's thread" : "the process";
        long windowNanos = Duration.ofMillis(500).toNanos();
        long bound = windowNanos / (loop.size() == 1 ? 10 : 2);
        // The first virtual thread that waits on a socket makes the JDK open its pollers' descriptors, once per JVM:
        // have one wait now, so that only the server's accept() runs out of descriptors, never the JDK itself.
        var idle = lab.connect(server.port());
        idle.setSoTimeout(1);
        Thread.ofVirtual().start(() -> catchThrowable(() -> idle.getInputStream().read())).join(ofSeconds(2));
        var early = lab.track(SocketChannel.open()); // its descriptor exists before the limit comes down
        int lowestFree = Rlimit.lowestFreeDescriptor();
        long cpuDuring;
        long[] limit = Rlimit.noFile();
        Rlimit.setNoFile(lowestFree, limit[1]); // from here on, no new descriptor: accept() fails with EMFILE
        var plugs = new ArrayList<Integer>();
        try {
            Rlimit.plugHoles(plugs); // a descriptor another thread released meanwhile would let accept() through
            // A client arrives while no descriptor is left: the server's accept() of it, or the next one, fails.
            early.connect(new InetSocketAddress(Lab.LOOPBACK, server.port()));
            long cpuBefore = cpu.getAsLong();
            // A window to measure, not to synchronise: the CPU burnt while every accept() fails.
            LockSupport.parkNanos(windowNanos);
            cpuDuring = cpu.getAsLong() - cpuBefore;
        } finally {
            Rlimit.setNoFile(limit[0], limit[1]);
            Rlimit.close(plugs);
        }

        var later = lab.connect(server.port());
        String echoed;
        try {
            echoed = echo(later, "after EMFILE");
        } catch (AssertionError noEcho) {
            throw new AssertionError("a client that connected once descriptors were free again got no echo: the "
                    + "accept loop ended at the first failed accept(). EMFILE (\"Too many open files\") is a bad "
                    + "moment, not the end of the server: the connection stays in the queue, so pause and try again, "
                    + "and end the loop only when stop() closed the listener.", noEcho);
        }
        assertThat(echoed).as("the echo to a client that came after the EMFILE").isEqualTo("after EMFILE");
        assertThat(cpuDuring)
                .withFailMessage("%s used %d ms of CPU in the %d ms during which every accept() failed with EMFILE "
                        + "(at most %d ms expected): the accept loop tried again at once, again and again, spinning a "
                        + "core. Each accept() fails the same way until a descriptor is free: pause (some "
                        + "milliseconds) before trying again.", whose, cpuDuring / 1_000_000, windowNanos / 1_000_000,
                        bound / 1_000_000)
                .isLessThan(bound);
    }

    /// RLIMIT_NOFILE, the process's limit on descriptor numbers, through getrlimit(2)/setrlimit(2): lowered to the
    /// lowest free number, it makes the next accept() fail with EMFILE, as a process out of descriptors would.
    private static final class Rlimit {
        private static final Linker LINKER = Linker.nativeLinker();
        private static final int RLIMIT_NOFILE = 7; // Linux, asm-generic/resource.h
        private static final MethodHandle GETRLIMIT = handle("getrlimit", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        private static final MethodHandle SETRLIMIT = handle("setrlimit", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        private static final MethodHandle DUP = handle("dup", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        private static final MethodHandle CLOSE = handle("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));

        @SuppressWarnings("restricted") // a native call: the graded runs allow it (--enable-native-access=ALL-UNNAMED)
        private static MethodHandle handle(String name, FunctionDescriptor descriptor) {
            return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), descriptor);
        }

        /// The number the next new descriptor would get: dup() takes the lowest free one.
        static int lowestFreeDescriptor() throws Throwable {
            int fd = (int) DUP.invokeExact(0);
            if (fd < 0) {
                throw new IllegalStateException("dup(0) failed");
            }
            close(List.of(fd));
            return fd;
        }

        /// Takes every descriptor number still free under the limit, so that the next accept() finds none.
        static void plugHoles(List<Integer> plugs) throws Throwable {
            for (int fd; plugs.size() < 1_000 && (fd = (int) DUP.invokeExact(0)) >= 0; ) {
                plugs.add(fd); // (a few at most: the limit is already down to the lowest free number)
            }
        }

        static void close(List<Integer> fds) throws Throwable {
            for (int fd : fds) {
                int ignored = (int) CLOSE.invokeExact(fd);
            }
        }

        /// The soft and hard limit.
        static long[] noFile() throws Throwable {
            try (var arena = Arena.ofConfined()) {
                var limits = arena.allocate(JAVA_LONG, 2);
                if ((int) GETRLIMIT.invokeExact(RLIMIT_NOFILE, limits) != 0) {
                    throw new IllegalStateException("getrlimit(RLIMIT_NOFILE) failed");
                }
                return new long[] {limits.getAtIndex(JAVA_LONG, 0), limits.getAtIndex(JAVA_LONG, 1)};
            }
        }

        static void setNoFile(long soft, long hard) throws Throwable {
            try (var arena = Arena.ofConfined()) {
                var limits = arena.allocate(JAVA_LONG, 2);
                limits.setAtIndex(JAVA_LONG, 0, soft);
                limits.setAtIndex(JAVA_LONG, 1, hard);
                if ((int) SETRLIMIT.invokeExact(RLIMIT_NOFILE, limits) != 0) {
                    throw new IllegalStateException("setrlimit(RLIMIT_NOFILE, " + soft + ") failed");
                }
            }
        }
    }

    @Test
    @NeedsProc
    @Tag("task:3")
    @DisplayName("stop() closes the listener (new clients are refused) and every connection (each client reads EOF), "
            + "leaving no LISTEN, ESTABLISHED or CLOSE_WAIT row on the port")
    void stopClosesTheListenerAndEveryConnection() throws Exception {
        var server = lab.track(Acceptor.start(Lab.LOOPBACK, 0, 50));
        int port = server.port();
        var clients = List.of(lab.connect(port), lab.connect(port), lab.connect(port));
        var serverSockets = new HashSet<Long>();
        for (var client : clients) {
            assertThat(echo(client, "ping")).as("echo before stop()").isEqualTo("ping");
            serverSockets.add(serverEndOf(port, client).inode());
        }

        server.stop();

        assertThatExceptionOfType(ConnectException.class)
                .as("connect() to port %d after stop(): the listener must be closed (ECONNREFUSED expected)", port)
                .isThrownBy(() -> lab.connect(port));
        for (var client : clients) {
            int read;
            try {
                read = client.getInputStream().read();
            } catch (SocketTimeoutException e) {
                throw new AssertionError(("client %s read nothing, not even EOF, for %d ms after stop(): its connection is "
                        + "still open on the server. Closing the listener does not close the sockets it accepted; "
                        + "stop() must close each of them.").formatted(client.getLocalSocketAddress(), READ_BOUND_MS), e);
            } catch (SocketException e) {
                throw new AssertionError(("client %s saw '%s' after stop() instead of EOF: the server aborted the "
                        + "connection (RST) rather than closing it (FIN)").formatted(client.getLocalSocketAddress(),
                        e.getMessage()), e);
            }
            assertThat(read).as("what client %s reads after stop(): -1 is EOF, the server's FIN",
                    client.getLocalSocketAddress()).isEqualTo(-1);
        }
        ProcNetTcp.await("no LISTEN, ESTABLISHED or CLOSE_WAIT row left on the server's port %d after stop()".formatted(port),
                rows -> rows.stream().noneMatch(e -> e.local().getPort() == port && (e.state() == ProcNetTcp.State.LISTEN
                        || e.state() == ProcNetTcp.State.ESTABLISHED || e.state() == ProcNetTcp.State.CLOSE_WAIT)),
                ofSeconds(2));
        awaitReleased(serverSockets, "after stop(): the clients read EOF once the server's FIN came, but a socket "
                + "whose output was only shut down still holds its descriptor until close()");
    }

    @Test
    @Tag("task:3")
    @DisplayName("stop() ends the server's threads: the accept loop, and every connection's, neither blocked nor "
            + "spinning on the closed listener")
    void stopEndsEveryThreadOfTheServer() throws Exception {
        // Threads of servers from earlier tests may run the Acceptor's code too: they are not this server's.
        Set<Long> earlier = Threads.running("Acceptor").stream().map(Threads.Info::tid).collect(Collectors.toSet());
        var server = lab.track(Acceptor.start(Lab.LOOPBACK, 0, 50));
        var client = lab.connect(server.port());
        assertThat(echo(client, "ping")).as("echo before stop()").isEqualTo("ping");
        // The loop is back in accept() and one connection's thread waits in read(): both run the Acceptor's code.
        Map<Long, Threads.Info> serving = Threads.running("Acceptor").stream()
                .filter(t -> !earlier.contains(t.tid()))
                .collect(Collectors.toMap(Threads.Info::tid, t -> t));
        Map<Long, Long> cpuAtStop = serving.values().stream().filter(t -> !t.virtual())
                .collect(Collectors.toMap(Threads.Info::tid, Threads.Info::cpuNanos));
        long stoppedAt = System.nanoTime();

        server.stop();

        // a thread dump is the only way to see a virtual thread end: polled, within a bound
        try {
            await().atMost(ofSeconds(2)).pollInterval(ofMillis(20)).until(() -> stillRunning(serving).isEmpty());
        } catch (ConditionTimeoutException stillServing) {
            // the assertion below says which threads, and what they cost
        }
        List<Threads.Info> left = stillRunning(serving);
        long waitedMs = (System.nanoTime() - stoppedAt) / 1_000_000;
        String still = left.stream().map(t -> "  " + t + cpuSince(t, cpuAtStop, waitedMs)).collect(Collectors.joining("\n"));
        assertThat(left).withFailMessage("%d thread(s) of the server still ran %d ms after stop() was called:%n%s%n"
                        + "An accept() on a closed listener fails at once, every time: a loop that only catches the "
                        + "exception and tries again spins a core at 100%%. stop() must end the loop (and every "
                        + "connection's thread, by closing its socket).", left.size(), waitedMs, still)
                .isEmpty();
    }

    /// The server threads of `serving` that still run.
    private static List<Threads.Info> stillRunning(Map<Long, Threads.Info> serving) {
        return Threads.running("Acceptor").stream().filter(t -> serving.containsKey(t.tid())).toList();
    }

    /// Sends `message` and reads back as many bytes, within the read bound; says what went wrong in socket terms.
    private static String echo(Socket client, String message) throws IOException {
        byte[] sent = message.getBytes(UTF_8);
        client.setSoTimeout(READ_BOUND_MS);
        try {
            client.getOutputStream().write(sent);
            byte[] back = client.getInputStream().readNBytes(sent.length);
            if (back.length < sent.length) {
                throw new AssertionError("client %s sent \"%s\" and read %d of its %d bytes back, then EOF: the server "
                        .formatted(client.getLocalSocketAddress(), message, back.length, sent.length)
                        + "closed the connection before echoing everything (echo until the client closes)");
            }
            return new String(back, UTF_8);
        } catch (SocketTimeoutException e) {
            throw new AssertionError(("client %s sent \"%s\" and got no echo within %d ms. Is a thread serving this "
                    + "connection — does the accept loop give each connection its own, does it keep echoing after the "
                    + "first read, and does it flush what it writes?").formatted(client.getLocalSocketAddress(), message,
                    READ_BOUND_MS), e);
        } catch (SocketException e) {
            throw new AssertionError("client %s sent \"%s\" and its connection failed with '%s': the server aborted it "
                    .formatted(client.getLocalSocketAddress(), message, e.getMessage())
                    + "(RST) — it closed the socket with unread data, or with SO_LINGER 0", e);
        }
    }

    /// The server's end of `client`'s connection to `port`, from the TCP table.
    private static ProcNetTcp.Entry serverEndOf(int port, Socket client) {
        return ProcNetTcp.entryOf(new InetSocketAddress(Lab.LOOPBACK, port), client.getLocalSocketAddress())
                .orElseThrow(() -> new AssertionError("no row for the server's end of " + client + " on port " + port));
    }

    /// Waits until none of these socket inodes is held by a descriptor of the process any more.
    private static void awaitReleased(Set<Long> inodes, String why) {
        try {
            ProcNetTcp.await("the server to release the descriptors of its connections",
                    rows -> Descriptors.socketInodes().stream().noneMatch(inodes::contains), ofSeconds(2));
        } catch (AssertionError e) {
            var held = new HashSet<>(Descriptors.socketInodes());
            held.retainAll(inodes);
            throw new AssertionError("the server still holds %d of its %d connections' sockets (socket:%s in "
                    .formatted(held.size(), inodes.size(), held) + "/proc/self/fd) " + why, null);
        }
    }

    /// How much CPU a platform thread used since stop(), for the message; nothing for a virtual one.
    private static String cpuSince(Threads.Info thread, Map<Long, Long> cpuAtStop, long waitedMs) {
        Long before = cpuAtStop.get(thread.tid());
        long now = thread.cpuNanos();
        if (before == null || before < 0 || now < 0) {
            return "";
        }
        return ", using %d ms of CPU in those %d ms".formatted((now - before) / 1_000_000, waitedMs);
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
}
