import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import java.util.function.Function;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static java.time.Duration.ofMillis;
import static java.time.Duration.ofSeconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.catchThrowable;

/// Chapter 5, graded: each connect() ends in an outcome named after the kernel's answer, and a dialer tries every
/// address, backs off, keeps to its deadline and reaches a server that starts late.
@Tag("connect")
@Tag("05-connect")
class DialerTest {

    @RegisterExtension
    final Lab lab = new Lab();

    private static final InetAddress LOOPBACK = Lab.LOOPBACK;
    /// ::1, the IPv6 loopback address: what `localhost` also resolves to where /etc/hosts has a `::1` line.
    private static final InetAddress IPV6_LOOPBACK = InetAddress.ofLiteral("::1");
    /// Another address of the loopback network 127.0.0.0/8: Linux routes all of it to `lo`.
    private static final InetAddress OTHER_LOOPBACK = InetAddress.ofLiteral("127.0.0.2");

    @Test
    @NeedsProc
    @Tag("task:1")
    @DisplayName("a connect() that completes the handshake is Connected: ESTABLISHED, from a source port the kernel chose")
    void connectedIsAnEstablishedConnectionFromAKernelChosenPort() throws Exception {
        var listener = lab.listener();
        listener.setSoTimeout(2_000);
        var to = new InetSocketAddress(LOOPBACK, listener.getLocalPort());

        Dialer.Attempt attempt = Dialer.attempt(to, ofSeconds(2));

        assertThat(attempt).as("attempt() to %s, where a listener waits", to).isInstanceOf(Dialer.Connected.class);
        Socket socket = lab.track(((Dialer.Connected) attempt).socket());
        assertThat(attempt.to()).as("the address the Connected attempt names").isEqualTo(to);
        assertThat(socket.isConnected()).as("is the socket handed back connected?").isTrue();
        assertThat(socket.getRemoteSocketAddress()).as("the peer of the connected socket").isEqualTo(to);
        int sourcePort = socket.getLocalPort();
        Socket accepted = lab.track(listener.accept()); // the handshake is done: the connection waits in the queue
        assertThat(accepted.getPort())
                .as("the client port the server sees: the source port the kernel picked for the SYN").isEqualTo(sourcePort);
        Path range = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
        if (Files.isReadable(range)) {
            // line by line: this /proc file reports size 0, and Files.readString was seen to come back short here
            String[] bounds = Files.readAllLines(range).getFirst().trim().split("\\s+");
            assertThat(sourcePort)
                    .as("source port of a socket nobody bound: connect() makes the kernel pick one from "
                            + "ip_local_port_range (%s..%s)", bounds[0], bounds[1])
                    .isBetween(Integer.parseInt(bounds[0]), Integer.parseInt(bounds[1]));
        }
        assertThat(ProcNetTcp.stateOf(socket)).as("kernel state of the client's connection in /proc/net/tcp")
                .contains(ProcNetTcp.State.ESTABLISHED);
    }

    @Test
    @Tag("task:1")
    @DisplayName("a connect() to a port nothing listens on is Refused at once: an RST answers the SYN (ECONNREFUSED)")
    void refusedWhenNothingListens() throws Exception {
        var closedPort = new InetSocketAddress(LOOPBACK, Lab.freePort());
        var boundOnly = lab.track(SocketChannel.open());
        boundOnly.bind(new InetSocketAddress(LOOPBACK, 0)); // bound, never listening: it cannot take a SYN
        var notListening = (InetSocketAddress) boundOnly.getLocalAddress();

        for (var to : List.of(closedPort, notListening)) {
            long start = System.nanoTime();
            Dialer.Attempt attempt = Dialer.attempt(to, ofSeconds(2));
            Duration waited = Duration.ofNanos(System.nanoTime() - start);

            String what = to == closedPort ? "a port no socket holds" : "a port held by a socket that is bound but does not listen";
            assertThat(attempt).as("attempt() to %s, %s: the kernel answers the SYN with an RST", to, what)
                    .isInstanceOf(Dialer.Refused.class);
            assertThat(attempt.to()).as("the address the Refused attempt names").isEqualTo(to);
            assertThat(waited).as("how long attempt() took to learn it was refused (an RST comes back at once; "
                    + "the 2 s timeout should not matter)").isLessThan(ofSeconds(1));
            assertThat(attempt.took()).as("the time the Refused attempt reports (measured %s)", waited)
                    .isLessThanOrEqualTo(waited);
        }
    }

    @Test
    @NeedsProc
    @Tag("task:1")
    @DisplayName("a connect() to a listener whose accept queue is full is TimedOut after its bound: the SYN goes unanswered")
    void timedOutWhenTheAcceptQueueIsFull() throws Exception {
        var listener = fullQueue();
        var to = new InetSocketAddress(LOOPBACK, listener.getLocalPort());

        long start = System.nanoTime();
        Dialer.Attempt attempt = Dialer.attempt(to, ofMillis(200));
        Duration waited = Duration.ofNanos(System.nanoTime() - start);

        assertThat(attempt).as("attempt() with a 200 ms timeout to %s, whose accept queue is full (backlog 1, two "
                + "connections waiting, no accept()): Linux drops the SYN, so nothing answers — not an RST", to)
                .isInstanceOf(Dialer.TimedOut.class);
        assertThat(waited).as("how long attempt() waited with a 200 ms timeout")
                .isBetween(ofMillis(150), ofSeconds(2));
        assertThat(attempt.took()).as("the time the TimedOut attempt reports (measured %s)", waited)
                .isBetween(ofMillis(150), waited);
        ProcNetTcp.await("the timed-out client's SYN_SENT row toward port %d to go: a socket left open keeps "
                        .formatted(to.getPort()) + "retransmitting its SYN",
                rows -> rows.stream().noneMatch(e -> e.remote().getPort() == to.getPort()
                        && e.state() == ProcNetTcp.State.SYN_SENT), ofSeconds(1));
    }

    @Test
    @Tag("task:1")
    @DisplayName("attempt() rejects a missing or unresolved address and a zero or negative timeout, naming it")
    void attemptRejectsBadArguments() throws Exception {
        var to = new InetSocketAddress(LOOPBACK, Lab.freePort());

        assertThatIllegalArgumentException().as("attempt(to, timeout 0): Socket.connect(to, 0) would wait forever")
                .isThrownBy(() -> Dialer.attempt(to, Duration.ZERO))
                .satisfies(e -> assertThat(e.getMessage()).containsIgnoringCase("timeout").containsAnyOf("PT0S", "0"));
        assertThatIllegalArgumentException().as("attempt(to, timeout -5 ms)")
                .isThrownBy(() -> Dialer.attempt(to, ofMillis(-5)))
                .satisfies(e -> assertThat(e.getMessage()).containsIgnoringCase("timeout").containsAnyOf("PT-0.005S", "-5"));
        assertThatIllegalArgumentException().as("attempt(to, timeout null): a missing timeout is a mistake, not a "
                        + "wish to wait for ever")
                .isThrownBy(() -> Dialer.attempt(to, null))
                .satisfies(e -> assertThat(e.getMessage()).containsIgnoringCase("timeout").contains("null"));
        assertThatIllegalArgumentException().as("attempt(null, 1 s)")
                .isThrownBy(() -> Dialer.attempt(null, ofSeconds(1)))
                .withMessageContaining("null");
        var unresolved = InetSocketAddress.createUnresolved("localhost", to.getPort());
        assertThatIllegalArgumentException().as("attempt(unresolved localhost, 1 s): the dialer is given addresses, "
                        + "never names to look up")
                .isThrownBy(() -> Dialer.attempt(unresolved, ofSeconds(1)))
                .withMessageContaining("localhost");
    }

    @Test
    @NeedsProc
    @Tag("task:1")
    @DisplayName("a timeout of half a millisecond is still a bound: attempt() to a full accept queue is TimedOut, never left waiting for ever")
    void aSubMillisecondTimeoutIsStillABound() throws Exception {
        var listener = fullQueue();
        var to = new InetSocketAddress(LOOPBACK, listener.getLocalPort());

        Dialer.Attempt attempt = within(ofSeconds(2), () -> Dialer.attempt(to, Duration.ofNanos(500_000)),
                stuck -> "attempt() with a timeout of 0.5 ms to %s (a full accept queue: no SYN-ACK comes) was still "
                        .formatted(to) + "running 2 s later, " + stuck + ". Duration.toMillis() of 0.5 ms is 0, and "
                        + "connect(to, 0) means no timeout at all: round a positive timeout under a millisecond up to "
                        + "1 ms, never down to 0.");

        assertThat(attempt).as("attempt() with a 0.5 ms timeout to %s, whose accept queue is full", to)
                .isInstanceOf(Dialer.TimedOut.class);
    }

    @Test
    @Tag("task:2")
    @DisplayName("dial() tries the next address when one has no listener: ::1 is refused, 127.0.0.1 answers")
    void triesEveryAddressInTurn() throws Exception {
        var listener = lab.listener(); // on 127.0.0.1 only: nothing listens on [::1] at this port
        int port = listener.getLocalPort();
        var attempts = new CopyOnWriteArrayList<Dialer.Attempt>();

        Socket socket = dialOrFail(List.of(IPV6_LOOPBACK, LOOPBACK), port,
                new Dialer.Patience(ofMillis(500), ofMillis(20), ofSeconds(1)), attempts::add,
                "127.0.0.1:%d, the second address, has a listener: did dial() try only the first?".formatted(port));

        assertThat(attempts).as("attempts reported to onAttempt").hasSize(2);
        assertThat(attempts.get(0).to()).as("first attempt: the first address given").isEqualTo(new InetSocketAddress(IPV6_LOOPBACK, port));
        assertThat(attempts.get(0)).as("first attempt, to [::1]:%d where nothing listens", port)
                .isInstanceOfAny(Dialer.Refused.class, Dialer.Failed.class);
        assertThat(attempts.get(1)).as("second attempt, to 127.0.0.1:%d where a listener waits", port)
                .isInstanceOf(Dialer.Connected.class);
        assertThat(socket.getRemoteSocketAddress()).as("the peer of the socket dial() returned")
                .isEqualTo(new InetSocketAddress(LOOPBACK, port));
    }

    @Test
    @NeedsProc
    @Tag("task:2")
    @DisplayName("dial() that cannot connect gives up at its deadline with every attempt named: refused here, timed out there")
    void givesUpWithEveryFailureNamed() throws Exception {
        var listener = fullQueue(); // 127.0.0.1: the SYN is dropped; 127.0.0.2: nothing listens, an RST comes back
        int port = listener.getLocalPort();
        var heard = new CopyOnWriteArrayList<Dialer.Attempt>();

        long start = System.nanoTime();
        Throwable thrown = catchThrowable(() -> dialWithin(ofSeconds(3), List.of(OTHER_LOOPBACK, LOOPBACK), port,
                new Dialer.Patience(ofMillis(100), ofMillis(20), ofMillis(400)), heard::add));
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        var gaveUp = gaveUp(thrown, "nothing can connect to port %d: 127.0.0.2 refuses, 127.0.0.1 has a full queue".formatted(port));
        assertThat(took).as("how long dial() ran with a 400 ms deadline").isLessThan(ofMillis(1_500));
        assertThat(gaveUp.attempts()).as("GaveUp.attempts(): the same attempts onAttempt heard, in order").isEqualTo(heard);
        var refused = gaveUp.attempts().stream().filter(a -> a.to().getAddress().equals(OTHER_LOOPBACK)).toList();
        var timedOut = gaveUp.attempts().stream().filter(a -> a.to().getAddress().equals(LOOPBACK)).toList();
        assertThat(refused).as("attempts to 127.0.0.2:%d, where nothing listens: each answered by an RST", port)
                .hasSizeGreaterThanOrEqualTo(2)
                .allSatisfy(a -> assertThat(a).isInstanceOf(Dialer.Refused.class));
        assertThat(timedOut).as("attempts to 127.0.0.1:%d, whose accept queue is full: each SYN dropped, unanswered", port)
                .hasSizeGreaterThanOrEqualTo(2)
                .allSatisfy(a -> assertThat(a).isInstanceOf(Dialer.TimedOut.class));
    }

    @Test
    @NeedsProc
    @Tag("task:2")
    @DisplayName("dial() never outlives its deadline, not even inside connect(): a 2 s connect timeout is cut to 250 ms")
    void neverOutlivesItsDeadline() throws Exception {
        var listener = fullQueue();
        int port = listener.getLocalPort();

        long start = System.nanoTime();
        Throwable thrown = catchThrowable(() -> dialWithin(ofSeconds(4), List.of(LOOPBACK), port,
                new Dialer.Patience(ofSeconds(2), ofMillis(20), ofMillis(250)), a -> { }));
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        var gaveUp = gaveUp(thrown, "127.0.0.1:%d has a full accept queue, so every SYN goes unanswered".formatted(port));
        assertThat(took).as("how long dial() ran with a 250 ms deadline and a 2 s connect timeout: the time left "
                + "before the deadline bounds each connect()").isLessThan(ofSeconds(1));
        assertThat(gaveUp.attempts()).as("attempts made before the deadline").isNotEmpty()
                .allSatisfy(a -> assertThat(a).isInstanceOf(Dialer.TimedOut.class));
    }

    @Test
    @Tag("task:2")
    @DisplayName("dial() backs off exponentially and reaches a server that starts listening after four refusals")
    void reachesALateServerBackingOffExponentially() throws Exception {
        int port = Lab.freePort();
        var attempts = new CopyOnWriteArrayList<Dialer.Attempt>();
        var heardAt = new CopyOnWriteArrayList<Long>();
        Consumer<Dialer.Attempt> onAttempt = attempt -> {
            heardAt.add(System.nanoTime());
            attempts.add(attempt);
            if (attempts.size() == 4 && attempt instanceof Dialer.Refused) {
                try { // the server comes up only now, after the dialer has been refused four times
                    lab.track(new ServerSocket(port, 50, LOOPBACK));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };

        Socket socket = dialOrFail(List.of(LOOPBACK), port, new Dialer.Patience(ofMillis(500), ofMillis(25), ofSeconds(3)),
                onAttempt, "a server listens on 127.0.0.1:%d after the fourth attempt".formatted(port));

        assertThat(attempts).as("kinds of attempts to 127.0.0.1:%d (the server starts after the fourth)", port)
                .extracting(a -> a.getClass().getSimpleName())
                .containsExactly("Refused", "Refused", "Refused", "Refused", "Connected");
        assertThat(socket.getRemoteSocketAddress()).as("the peer of the socket dial() returned")
                .isEqualTo(new InetSocketAddress(LOOPBACK, port));
        var pauses = pausesBetween(attempts, heardAt);
        for (int i = 0; i < pauses.size(); i++) {
            long least = 25L << i;
            assertThat(pauses.get(i))
                    .as("pause before attempt %d, from the report of attempt %d to the start of the next connect(): "
                            + "with a first backoff of 25 ms, doubling after each round, about %d ms (all pauses: %s)",
                            i + 2, i + 1, least, pauses)
                    .isGreaterThanOrEqualTo(ofMillis(least * 9 / 10));
        }
    }

    @Test
    @Tag("task:2")
    @DisplayName("dial() against a port that always refuses pauses 40, 80, 160, 320 ms between rounds, and gives up when the next pause would cross its 700 ms deadline")
    void backsOffBetweenRoundsUntilThePauseWouldCrossTheDeadline() throws Exception {
        int port = Lab.freePort();
        var attempts = new CopyOnWriteArrayList<Dialer.Attempt>();
        var heardAt = new CopyOnWriteArrayList<Long>();

        Throwable thrown = catchThrowable(() -> dialWithin(ofSeconds(3), List.of(LOOPBACK), port,
                new Dialer.Patience(ofMillis(100), ofMillis(40), ofMillis(700)), attempt -> {
                    heardAt.add(System.nanoTime());
                    attempts.add(attempt);
                }));

        var gaveUp = gaveUp(thrown, "nothing ever listens on 127.0.0.1:%d".formatted(port));
        assertThat(gaveUp.attempts()).as("GaveUp.attempts(): the same attempts onAttempt heard, in order").isEqualTo(attempts);
        var pauses = pausesBetween(attempts, heardAt);
        assertThat(attempts.size())
                .withFailMessage("dial() made %d attempts in its 700 ms against a port that refuses at once (pauses "
                                + "measured: %s). Pausing 40, 80, 160, then 320 ms between rounds leaves room for 5 "
                                + "attempts, at about 0, 40, 120, 280 and 600 ms; the next pause, 640 ms, would end past "
                                + "the deadline. %s", attempts.size(), pauses, attempts.size() > 6
                                ? "So many attempts mean the pauses are missing or do not grow from firstBackoff."
                                : "So few mean dial() gave up before the deadline required it.")
                .isBetween(3, 6);
        for (int i = 0; i < Math.min(pauses.size(), 4); i++) {
            long least = 40L << i;
            assertThat(pauses.get(i))
                    .as("pause before attempt %d, from the report of the refused attempt %d to the start of the next "
                            + "connect(): firstBackoff is 40 ms here, doubled after each round, so about %d ms (all "
                            + "pauses: %s)", i + 2, i + 1, least, pauses)
                    .isGreaterThanOrEqualTo(ofMillis(least * 9 / 10));
        }
    }

    @Test
    @Tag("task:2")
    @DisplayName("dial() whose next pause (10 s) would end past its deadline (2 s) gives up at once, without sleeping")
    void givesUpAtOnceWhenTheNextPauseWouldCrossTheDeadline() throws Exception {
        int port = Lab.freePort();
        var attempts = new CopyOnWriteArrayList<Dialer.Attempt>();

        long start = System.nanoTime();
        Throwable thrown = catchThrowable(() -> dialWithin(ofSeconds(3), List.of(LOOPBACK), port,
                new Dialer.Patience(ofMillis(100), ofSeconds(10), ofSeconds(2)), attempts::add));
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        gaveUp(thrown, "nothing listens on 127.0.0.1:%d, and after the first round the pause of 10 s would end "
                .formatted(port) + "8 s past the 2 s deadline");
        assertThat(attempts).as("attempts to 127.0.0.1:%d before dial() gave up: one round, refused", port)
                .hasSize(1).allSatisfy(a -> assertThat(a).isInstanceOf(Dialer.Refused.class));
        assertThat(took)
                .withFailMessage("dial() took %d ms to give up, although after its first refused attempt the next "
                        + "pause (10 s) could only end past the 2 s deadline: no attempt can follow it, so give up at "
                        + "once instead of sleeping (up to the deadline or beyond).", took.toMillis())
                .isLessThan(ofSeconds(1));
    }

    @Test
    @Tag("task:2")
    @DisplayName("when onAttempt throws on the Connected attempt, dial() lets that exception out and closes the connection: the server reads EOF")
    void closesTheConnectionWhenOnAttemptThrows() throws Exception {
        var listener = lab.listener();
        listener.setSoTimeout(2_000);
        int port = listener.getLocalPort();
        var failure = new IllegalStateException("the caller's onAttempt failed");
        Consumer<Dialer.Attempt> failing = attempt -> {
            if (attempt instanceof Dialer.Connected) {
                throw failure;
            }
        };

        Throwable thrown = catchThrowable(() -> dialWithin(ofSeconds(3), List.of(LOOPBACK), port,
                new Dialer.Patience(ofMillis(500), ofMillis(20), ofSeconds(1)), failing));

        if (thrown instanceof UnsupportedOperationException notWritten) {
            throw notWritten;
        }
        assertThat(thrown).as("what dial() threw after its onAttempt threw %s for the Connected attempt: the "
                + "caller's own exception, as it is", failure).isSameAs(failure);
        Socket accepted = lab.track(listener.accept()); // the handshake was done: the connection waits in the queue
        accepted.setSoTimeout(2_000);
        int next;
        try {
            next = accepted.getInputStream().read();
        } catch (SocketTimeoutException stillOpen) {
            throw new AssertionError("the connection dial() made is still open 2 s after dial() threw: the caller "
                    + "never got the socket, so nobody will ever close it (the server keeps an ESTABLISHED connection "
                    + "to a client that is not there). Close it before the exception leaves dial().", stillOpen);
        }
        assertThat(next).as("the server's read() on the connection dial() made before onAttempt threw: -1, the "
                + "client's FIN").isEqualTo(-1);
    }

    @Test
    @Tag("task:2")
    @DisplayName("dial() interrupted while it pauses between rounds stops at once with InterruptedIOException, leaving the thread's interrupt status set")
    void anInterruptedDialStopsAndKeepsTheInterruptStatus() throws Exception {
        int port = Lab.freePort();
        var refused = new CountDownLatch(1);
        var outcome = new CompletableFuture<Throwable>();
        var stillInterrupted = new AtomicBoolean();
        Thread dialer = Thread.ofPlatform().name("dialer").start(() -> {
            try {
                lab.track(Dialer.dial(List.of(LOOPBACK), port, new Dialer.Patience(ofMillis(500), ofSeconds(3),
                        ofSeconds(10)), attempt -> refused.countDown()));
                outcome.complete(null);
            } catch (Throwable e) {
                stillInterrupted.set(Thread.currentThread().isInterrupted());
                outcome.complete(e);
            }
        });
        lab.track(dialer::interrupt);
        // The first attempt is refused at once; then dial() pauses 3 s, well inside its 10 s deadline.
        boolean heard = refused.await(2, TimeUnit.SECONDS);
        Throwable early = outcome.getNow(null);
        if (early instanceof UnsupportedOperationException notWritten) {
            throw notWritten;
        }
        assertThat(heard).as("an attempt reported to onAttempt within 2 s of dialing 127.0.0.1:%d, "
                + "where nothing listens (refused at once)", port).isTrue();

        dialer.interrupt(); // whoever interrupts a dialing thread wants the dial abandoned

        Throwable thrown;
        try {
            thrown = outcome.get(1_500, TimeUnit.MILLISECONDS);
        } catch (TimeoutException stillDialing) {
            throw new AssertionError("dial() was still running 1.5 s after its thread was interrupted during the 3 s "
                    + "pause between rounds (it is " + Lab.blockedIn(dialer.getStackTrace()) + "): an interrupt "
                    + "means stop, so the pause must end it, not be retried or ignored.");
        }
        assertThat(thrown).as("what dial() threw when interrupted in its pause: InterruptedIOException, the I/O "
                + "exception that says the wait was cut short").isInstanceOf(InterruptedIOException.class);
        assertThat(stillInterrupted).as("the dialing thread's interrupt status after dial() threw "
                + "InterruptedIOException: catching InterruptedException clears it, so set it again "
                + "(Thread.currentThread().interrupt()) for the code above dial() to see").isTrue();
    }

    @Test
    @Tag("task:2")
    @DisplayName("dial() rejects a port out of range, no addresses, and a timeout, backoff or deadline that is not positive")
    void dialRejectsBadArguments() throws IOException {
        var one = List.of(LOOPBACK);
        int free = Lab.freePort(); // should a check be missing, the dial finds nobody there
        var patience = new Dialer.Patience(ofMillis(100), ofMillis(10), ofSeconds(1));
        Consumer<Dialer.Attempt> ignore = a -> { };

        for (int port : new int[] {70_000, 65_536, -1, 0}) {
            assertThatIllegalArgumentException().as("dial(port %d): TCP ports are 1..65535", port)
                    .isThrownBy(() -> Dialer.dial(one, port, patience, ignore))
                    .withMessageContaining(String.valueOf(port));
        }
        for (int edge : new int[] {1, 65_535}) {
            // Nothing listens there on loopback: the dial is refused and gives up, but the port itself is valid.
            Throwable thrown = catchThrowable(() -> lab.track(Dialer.dial(one, edge,
                    new Dialer.Patience(ofMillis(100), ofMillis(50), ofMillis(100)), ignore)));
            assertThat(thrown).as("dial(port %d): the first and last TCP ports, 1 and 65535, are valid destinations, "
                    + "so the range check must let them through (a refusal may follow)", edge)
                    .isNotInstanceOf(IllegalArgumentException.class);
        }
        assertThatIllegalArgumentException().as("dial(connectTimeout 0, deadline 0.5 ms): a timeout that is not positive "
                        + "is rejected before any attempt, even when the deadline leaves no time for one")
                .isThrownBy(() -> Dialer.dial(one, free, new Dialer.Patience(Duration.ZERO, ofMillis(10),
                        Duration.ofNanos(500_000)), ignore))
                .satisfies(e -> assertThat(e.getMessage()).containsIgnoringCase("timeout"));
        assertThatIllegalArgumentException().as("dial(no addresses at all)")
                .isThrownBy(() -> Dialer.dial(List.of(), free, patience, ignore))
                .withMessageContaining("address");
        assertThatIllegalArgumentException().as("dial(connectTimeout 0): it would mean no bound at all")
                .isThrownBy(() -> Dialer.dial(one, free, new Dialer.Patience(Duration.ZERO, ofMillis(10), ofSeconds(1)), ignore))
                .satisfies(e -> assertThat(e.getMessage()).containsIgnoringCase("timeout").containsAnyOf("PT0S", "0"));
        assertThatIllegalArgumentException().as("dial(firstBackoff -10 ms)")
                .isThrownBy(() -> Dialer.dial(one, free, new Dialer.Patience(ofMillis(100), ofMillis(-10), ofSeconds(1)), ignore))
                .satisfies(e -> assertThat(e.getMessage()).containsIgnoringCase("backoff").containsAnyOf("PT-0.01S", "-10"));
        assertThatIllegalArgumentException().as("dial(deadline -1 s)")
                .isThrownBy(() -> Dialer.dial(one, free, new Dialer.Patience(ofMillis(100), ofMillis(10), ofSeconds(-1)), ignore))
                .satisfies(e -> assertThat(e.getMessage()).containsIgnoringCase("deadline").containsAnyOf("PT-1S", "-1"));
        assertThatIllegalArgumentException().as("dial(onAttempt null): a missing listener is a mistake, not a wish "
                        + "to ignore attempts (that is `a -> { }`)")
                .isThrownBy(() -> Dialer.dial(one, free, patience, null))
                .withMessageContaining("onAttempt");
        assertThatIllegalArgumentException().as("dial(patience null)")
                .isThrownBy(() -> Dialer.dial(one, free, null, ignore))
                .withMessageContaining("patience");
        var withNull = new ArrayList<InetAddress>(List.of(LOOPBACK));
        withNull.add(null);
        assertThatIllegalArgumentException().as("dial([127.0.0.1, null])")
                .isThrownBy(() -> Dialer.dial(withNull, free, patience, ignore))
                .withMessageContaining("null");
    }

    /// A loopback listener with backlog 1 that never accepts, holding the two connections Linux queues for it
    /// (backlog + 1): the next SYN is dropped, so a connect to it can only time out.
    private ServerSocket fullQueue() throws IOException {
        var listener = lab.listener(1);
        int port = listener.getLocalPort();
        lab.connect(port);
        lab.connect(port);
        // Linux only (elsewhere the test is skipped, saying so): other kernels size and overflow the queue differently.
        ProcNetTcp.awaitOnPort(port, "two connections in the accept queue of port " + port,
                rows -> rows.stream().anyMatch(e -> e.state() == ProcNetTcp.State.LISTEN && e.rxQueue() == 2),
                ofSeconds(1));
        return listener;
    }

    /// Runs dial() on a thread of its own, so that a dialer which ignores its deadline fails the test with a
    /// message instead of hanging it; the thread is interrupted once the test is over.
    private Socket dialWithin(Duration bound, List<InetAddress> addresses, int port, Dialer.Patience patience,
                              Consumer<Dialer.Attempt> onAttempt) throws Exception {
        Socket socket = within(bound, () -> Dialer.dial(addresses, port, patience, onAttempt), stuck -> {
            // Name what dial() is really doing: an unbounded connect() is a different mistake from a long pause.
            String advice = stuck.startsWith("in connect() with no timeout") ? ""
                    : stuck.startsWith("in connect()") ? " Each connect() may wait only for what is left of the deadline."
                    : stuck.startsWith("in Thread.sleep") ? " A pause that would end past the deadline must not begin: give up instead."
                    : " Check the deadline before every attempt and every pause.";
            return "dial() was still running %d ms after it began, although its deadline was %d ms; it is %s.%s"
                    .formatted(bound.toMillis(), patience.deadline().toMillis(),
                            stuck.isEmpty() ? "busy elsewhere" : stuck, advice);
        });
        if (socket == null) {
            throw new AssertionError("dial() returned null: it must return a connected socket or throw GaveUp");
        }
        return lab.track(socket);
    }

    /// Runs `call` on a thread of its own, so that code which ignores its bounds fails the test with a message
    /// (`stuck` gets what the thread is blocked in, from Lab.blockedIn) instead of hanging it; the thread is
    /// interrupted once the test is over.
    private <T> T within(Duration bound, Callable<T> call, Function<String, String> stuck) throws Exception {
        var result = new CompletableFuture<T>();
        Thread worker = Thread.ofVirtual().name("code-under-test").start(() -> {
            try {
                result.complete(call.call());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        });
        lab.track(worker::interrupt);
        try {
            return result.get(bound.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError(stuck.apply(Lab.blockedIn(worker.getStackTrace())));
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw (Error) e.getCause();
        }
    }

    /// The pause before each attempt after the first: from the report of the one before to the start of its own
    /// connect() (its report time less the time it says connect() took), so a slow connect cannot pass for a pause.
    private static List<Duration> pausesBetween(List<Dialer.Attempt> attempts, List<Long> heardAt) {
        var pauses = new ArrayList<Duration>();
        for (int i = 1; i < heardAt.size(); i++) {
            pauses.add(Duration.ofNanos(heardAt.get(i) - attempts.get(i).took().toNanos() - heardAt.get(i - 1)));
        }
        return pauses;
    }

    /// dial() that must succeed; if it gives up instead, the failure says why it should not have.
    private Socket dialOrFail(List<InetAddress> addresses, int port, Dialer.Patience patience,
                              Consumer<Dialer.Attempt> onAttempt, String why) throws Exception {
        try {
            return dialWithin(ofSeconds(4), addresses, port, patience, onAttempt);
        } catch (Dialer.GaveUp e) {
            throw new AssertionError("dial() gave up, but " + why + "\n  its GaveUp: " + e.getMessage(), e);
        }
    }

    /// The GaveUp that dial() must have thrown, or a failure saying what it did instead.
    private static Dialer.GaveUp gaveUp(Throwable thrown, String why) {
        if (thrown instanceof Dialer.GaveUp gaveUp) {
            return gaveUp;
        }
        if (thrown instanceof RuntimeException bug) {
            throw bug; // a crash, not a verdict on the network: show it as it is
        }
        if (thrown instanceof AssertionError overran) {
            throw overran; // a dial() that ran past its bound, already explained
        }
        throw new AssertionError("dial() should have given up with Dialer.GaveUp (" + why + "), but it "
                + (thrown == null ? "returned a socket" : "threw " + thrown), thrown);
    }
}
