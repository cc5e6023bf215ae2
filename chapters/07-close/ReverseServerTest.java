import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static java.time.Duration.ofMillis;
import static java.time.Duration.ofSeconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import org.awaitility.core.ConditionTimeoutException;

/// Chapter 7, graded: a server that closes every connection on every path — so it leaks neither descriptors nor
/// CLOSE_WAIT rows, whatever its clients do.
@Tag("close")
@Tag("07-close")
class ReverseServerTest {

    private static final Duration BOUND = ofSeconds(2);
    /// Short, so idle clients cost little; the tests wait on what it causes, never on the clock.
    private static final Duration READ_TIMEOUT = ofMillis(100);
    /// Far more than any request of these tests but the ones about the limit.
    private static final int MAX_REQUEST = 1 << 20;

    @RegisterExtension
    final Lab lab = new Lab();

    @Test
    @Tag("task:2")
    @DisplayName("the server reads a 120,000-byte request to the client's FIN, replies with it reversed, and closes")
    void repliesToTheWholeRequestAndCloses() throws Exception {
        var server = lab.track(ReverseServer.start(Lab.LOOPBACK, 0, ofSeconds(2), MAX_REQUEST));
        var request = Bytes.pattern(120_000);
        var client = lab.connect(server.port());
        client.setSoTimeout(2_000);

        client.getOutputStream().write(request);
        client.shutdownOutput(); // the client's FIN ends the request
        byte[] reply = readToEnd(client, "the reply");

        assertThat(reply.length).as("bytes of the reply up to the server's FIN (the request had %d)", request.length)
                .isEqualTo(request.length);
        assertThat(reply).as("the reply: the request's bytes in reverse order")
                .isEqualTo(Bytes.reversed(request));
    }

    @Test
    @NeedsProc
    @Tag("task:2")
    @DisplayName("a client that sends half a request and goes quiet is closed after the read timeout: it reads -1, and no CLOSE_WAIT stays")
    void closesAnIdleConnectionAfterTheReadTimeout() throws Exception {
        var server = lab.track(ReverseServer.start(Lab.LOOPBACK, 0, READ_TIMEOUT, MAX_REQUEST));
        int baseline = baseline();
        var client = lab.connect(server.port());
        client.setSoTimeout(2_000); // twenty times the server's read timeout

        client.getOutputStream().write("half a requ".getBytes(StandardCharsets.US_ASCII));
        byte[] seen = readToEnd(client, "what the idle client gets once the server's 100 ms read timeout has passed");
        client.close();

        assertThat(seen).as("bytes the server sent to a client whose request never ended (it must not answer half a "
                + "request, just close)").isEmpty();
        assertServerLetGo(server.port(), baseline, "after the idle client closed");
    }

    @Test
    @NeedsProc
    @Tag("task:2")
    @DisplayName("30 clients that reset at once (SO_LINGER 0) leave no socket descriptor behind, and the server still serves")
    void survivesResetsWithoutLeakingDescriptors() throws Exception {
        var server = lab.track(ReverseServer.start(Lab.LOOPBACK, 0, ofSeconds(2), MAX_REQUEST));
        int baseline = baseline();

        for (int i = 0; i < 30; i++) {
            try (var client = new Socket()) {
                client.connect(new InetSocketAddress(Lab.LOOPBACK, server.port()), 2_000);
                client.setSoLinger(true, 0); // close() now sends RST: the server's read fails with ECONNRESET
            }
        }
        // The accept queue is first in, first out: once this exchange is served, the server has accepted all 30
        // reset connections before it. From here on the count of its sockets can only fall.
        assertThat(exchange(server.port(), "stressed")).as("a normal exchange after the resets: the server still serves")
                .isEqualTo("desserts");

        // A reset connection leaves no row in the TCP table: only the descriptor count shows a missed close().
        awaitSockets(baseline, "after 30 clients reset their connections");
    }

    @Test
    @NeedsProc
    @Tag("task:2")
    @DisplayName("after 33 mixed connections (normal, reset at once, vanished mid-request, idle past the read timeout) no CLOSE_WAIT and no extra descriptor remain")
    void mixedConnectionsLeaveNothingBehind() throws Exception {
        var server = lab.track(ReverseServer.start(Lab.LOOPBACK, 0, READ_TIMEOUT, MAX_REQUEST));
        int port = server.port();
        int baseline = baseline();

        // Idle ones first, so their read timeouts run out while the others come and go.
        var idle = new ArrayList<Socket>();
        for (int i = 0; i < 8; i++) {
            var client = lab.track(connect(port));
            client.getOutputStream().write("never finished".getBytes(StandardCharsets.US_ASCII));
            idle.add(client);
        }
        for (int i = 0; i < 8; i++) {
            assertThat(exchange(port, "stressed")).as("normal exchange %d", i).isEqualTo("desserts");
            try (var reset = connect(port)) {
                reset.setSoLinger(true, 0);
            }
            try (var vanished = connect(port)) {
                // half a request, then gone: the server reads to EOF and its reply meets a closed socket
                vanished.getOutputStream().write(Bytes.pattern(50_000));
            }
        }
        long deadline = System.nanoTime() + ofSeconds(1).toNanos();
        for (var client : idle) {
            // The server should have closed each one after 100 ms; a client it kept is closed here all the same,
            // and the check below finds what the server did not close.
            client.setSoTimeout((int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
            try {
                client.getInputStream().readAllBytes();
            } catch (SocketTimeoutException keptOpenByTheServer) {
                // counted below, as a CLOSE_WAIT row on the server's side
            }
            client.close();
        }

        // First in, first out: once this exchange is served, the server has accepted every connection before it.
        assertThat(exchange(port, "stressed")).as("a last normal exchange").isEqualTo("desserts");

        assertServerLetGo(port, baseline, "after 33 mixed connections ended");
    }

    @Test
    @NeedsProc
    @Tag("task:2")
    @DisplayName("close() stops the server: new clients are refused, and an open connection's client reads -1")
    void closeStopsListeningAndClosesOpenConnections() throws Exception {
        int baseline = baseline();
        var server = lab.track(ReverseServer.start(Lab.LOOPBACK, 0, ofSeconds(4), MAX_REQUEST));
        int port = server.port();
        var client = lab.connect(port);
        client.setSoTimeout(2_000);
        client.getOutputStream().write("wait for me".getBytes(StandardCharsets.US_ASCII));
        // Listener, client and the connection the server accepted: three sockets more than before.
        try {
            await().atMost(BOUND).pollInterval(ofMillis(10)).until(() -> sockets() == baseline + 3);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError(("2 s after a client connected, the process holds %d socket descriptors, where "
                    + "the baseline (%d) plus the listener, the client and the connection the server accepted make "
                    + "%d: does start() listen, and its accept loop take each connection?").formatted(sockets(),
                    baseline, baseline + 3), e);
        }

        server.close();

        byte[] seen;
        try {
            seen = client.getInputStream().readAllBytes();
        } catch (SocketTimeoutException e) {
            throw new AssertionError("2 s after server.close(), a client whose request was still open got no FIN: "
                    + "closing the listener refuses new clients only; close() must also close every connection the "
                    + "server accepted (which wakes the handler blocked in its read)", e);
        }
        assertThat(seen).as("bytes the client got from a server that stopped mid-request").isEmpty();
        client.close();
        Lab.awaitRefused(port, ofSeconds(1)); // nothing listens there any more
        awaitSockets(baseline, "after close() and the client's close");
    }

    @Test
    @Tag("task:2")
    @DisplayName("the read timeout is the caller's: silent clients are closed after about 60 ms, 0.5 ms and 1 s on three servers")
    void closesSilentClientsAfterTheirServersReadTimeout() throws Exception {
        var quick = lab.track(ReverseServer.start(Lab.LOOPBACK, 0, ofMillis(60), MAX_REQUEST));
        var tiny = lab.track(ReverseServer.start(Lab.LOOPBACK, 0, Duration.ofNanos(500_000), MAX_REQUEST));
        var slow = lab.track(ReverseServer.start(Lab.LOOPBACK, 0, ofSeconds(1), MAX_REQUEST));
        var clients = new ArrayList<Socket>();
        for (var server : List.of(quick, tiny, slow)) {
            var client = lab.connect(server.port());
            client.setSoTimeout(3_000);
            client.getOutputStream().write("half a requ".getBytes(StandardCharsets.US_ASCII));
            clients.add(client);
        }
        long start = System.nanoTime();

        long quickMillis = millisUntilClosed(clients.get(0), start, "the server with a 60 ms read timeout");
        long tinyMillis = millisUntilClosed(clients.get(1), start, "the server with a read timeout of 0.5 ms "
                + "(Duration.toMillis() makes that 0, and SO_TIMEOUT 0 means no bound at all: round it up to 1 ms)");
        long slowMillis = millisUntilClosed(clients.get(2), start, "the server with a 1 s read timeout");

        assertThat(quickMillis).as("ms until the server with a read timeout of 60 ms closed a silent client")
                .isLessThan(600);
        assertThat(tinyMillis).as("ms until the server with a read timeout of 0.5 ms closed a silent client")
                .isLessThan(600);
        assertThat(slowMillis).as("ms until the server with a read timeout of 1 s closed a silent client: not "
                + "before its read timeout").isGreaterThanOrEqualTo(500);
        assertThat(slowMillis - quickMillis)
                .withFailMessage("the servers with read timeouts of 60 ms and 1 s closed their silent clients after %d "
                        + "and %d ms: the read timeout is the caller's (SO_TIMEOUT on each accepted socket), so the two "
                        + "must differ by about 940 ms, not by %d ms", quickMillis, slowMillis, slowMillis - quickMillis)
                .isGreaterThanOrEqualTo(400);
    }

    @Test
    @Tag("task:2")
    @DisplayName("a request of exactly maxRequest (1,000 bytes) is answered; a longer one is refused with a reset as soon as it passes the limit, not read to the end")
    void refusesARequestLongerThanMaxRequest() throws Exception {
        var server = lab.track(ReverseServer.start(Lab.LOOPBACK, 0, ofSeconds(2), 1_000));
        var request = Bytes.pattern(1_000);
        assertThat(exchangeBytes(server.port(), request)).as("the reply to a request of exactly maxRequest, 1000 "
                + "bytes: allowed").isEqualTo(Bytes.reversed(request));

        var greedy = lab.track(connect(server.port()));
        long sent = 0;
        IOException refused = null;
        var chunk = Bytes.pattern(64 * 1024);
        try {
            while (sent < (32 << 20)) {
                greedy.getOutputStream().write(chunk);
                sent += chunk.length;
            }
            greedy.shutdownOutput();
        } catch (IOException e) {
            refused = e; // Connection reset, or Broken pipe: the server refused the request
        }
        byte[] reply;
        try {
            reply = greedy.getInputStream().readAllBytes();
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the server neither replied to nor closed a connection whose request was 32 "
                    + "MiB, with maxRequest 1000", e);
        } catch (SocketException reset) {
            reply = new byte[0];
        }

        assertThat(refused)
                .withFailMessage("the client wrote all 32 MiB of a request to a server whose maxRequest is 1000 bytes, "
                        + "and it got back %d bytes: the server read (and kept, or threw away) everything the client "
                        + "sent. Stop reading once the request passes maxRequest, and reset the connection (SO_LINGER 0, "
                        + "close): the client's next write then fails.", reply.length)
                .isNotNull();
        assertThat(reply).as("what the client read after its too-long request: no reply at all, not a reply to "
                + "part of the request").isEmpty();

        // One byte over, then FIN: the server has read everything, so only SO_LINGER 0 makes its close an RST.
        try (var oneOver = connect(server.port())) {
            oneOver.getOutputStream().write(Bytes.pattern(1_001));
            oneOver.shutdownOutput();
            Throwable read = catchThrowable(() -> oneOver.getInputStream().readAllBytes());
            assertThat(read)
                    .withFailMessage("a request of 1001 bytes, one over maxRequest 1000, followed by FIN: the client "
                            + "read %s instead of a reset. A plain close() sends FIN, and an empty reply read to -1 "
                            + "looks like the answer to an empty request; refuse with an RST (SO_LINGER 0, then close).",
                            read == null ? "an orderly end (-1)" : read.toString())
                    .isInstanceOf(SocketException.class)
                    .isNotInstanceOf(SocketTimeoutException.class);
        }
    }

    @Test
    @NeedsProc
    @Tag("task:2")
    @DisplayName("a client that sends 8 MiB and never reads its reply is cut off after the read timeout (1 s): the server's write does not block for ever")
    void cutsOffAClientThatNeverReadsItsReply() throws Exception {
        var server = lab.track(ReverseServer.start(Lab.LOOPBACK, 0, ofSeconds(1), 16 << 20));
        var serverEnd = new InetSocketAddress(Lab.LOOPBACK, server.port());
        var greedy = lab.track(new Socket());
        greedy.setReceiveBufferSize(16 * 1024); // a small window, so the reply backs up into the server at once
        greedy.connect(serverEnd, 2_000);
        var clientEnd = greedy.getLocalSocketAddress();

        greedy.getOutputStream().write(Bytes.pattern(8 << 20));
        greedy.shutdownOutput(); // the request is complete; its 8 MiB reply is never read

        // The reply fills the server's send buffer and the client's receive buffer, then the server's write blocks.
        var stuck = ProcNetTcp.awaitOnPort(server.port(), "the server's end of the connection holding unsent reply bytes",
                rows -> rows.stream().anyMatch(e -> e.is(serverEnd, clientEnd) && e.txQueue() > 0), ofSeconds(2));
        long inode = stuck.stream().filter(e -> e.is(serverEnd, clientEnd)).findFirst().orElseThrow().inode();
        try {
            await().atMost(ofSeconds(3)).pollInterval(ofMillis(20)).until(() -> inode == 0 || Descriptors.fdOf(inode) < 0);
        } catch (ConditionTimeoutException stillHeld) {
            throw new AssertionError(("3 s after its reply stopped moving, the server still holds the connection "
                    + "(socket:[%d]) of a client that never reads: the TCP table shows%n%s%nA blocking write waits for "
                    + "room in the buffers for ever (SO_TIMEOUT bounds reads, not writes), pinning a thread and a "
                    + "descriptor. Cut off a client whose reply makes no progress for the read timeout (1 s here): "
                    + "close the socket from another thread, with SO_LINGER 0 to drop what the kernel still holds.")
                    .formatted(inode, ProcNetTcp.show(ProcNetTcp.onPort(server.port()))), stillHeld);
        }
        // A plain close() would leave the unsent reply in an orphaned FIN_WAIT1 socket for as long as the client's
        // window stays shut; SO_LINGER 0 drops it with an RST, and the connection's row goes at once.
        ProcNetTcp.awaitOnPort(server.port(), "the server's end of the cut-off connection to leave the TCP table: an "
                        + "RST (SO_LINGER 0, then close) drops the unsent reply, while a plain close() leaves it queued "
                        + "in FIN_WAIT1 behind a client that never reads",
                rows -> rows.stream().noneMatch(e -> e.is(serverEnd, clientEnd)), ofSeconds(1));
    }

    @Test
    @Tag("task:2")
    @DisplayName("start() refuses a null address, a port out of range, a read timeout that is not positive and a negative maxRequest, naming the value")
    void startRejectsBadInput() {
        assertThatIllegalArgumentException().as("start(null, 0, 2 s, 1 MiB)")
                .isThrownBy(() -> ReverseServer.start(null, 0, BOUND, MAX_REQUEST))
                .withMessageContaining("address");
        assertThatIllegalArgumentException().as("start(127.0.0.1, 65536, 2 s, 1 MiB)")
                .isThrownBy(() -> ReverseServer.start(Lab.LOOPBACK, 65_536, BOUND, MAX_REQUEST))
                .withMessageContaining("65536");
        assertThatIllegalArgumentException().as("start(127.0.0.1, 0, -200 ms, 1 MiB)")
                .isThrownBy(() -> ReverseServer.start(Lab.LOOPBACK, 0, ofMillis(-200), MAX_REQUEST))
                .withMessageContaining(ofMillis(-200).toString());
        assertThatIllegalArgumentException()
                .as("a zero read timeout: SO_TIMEOUT 0 means 'wait forever', so a silent client would hold its "
                        + "connection for good")
                .isThrownBy(() -> ReverseServer.start(Lab.LOOPBACK, 0, Duration.ZERO, MAX_REQUEST))
                .withMessageContaining(Duration.ZERO.toString());
        assertThatIllegalArgumentException().as("start(127.0.0.1, 0, 2 s, maxRequest -1)")
                .isThrownBy(() -> ReverseServer.start(Lab.LOOPBACK, 0, BOUND, -1))
                .withMessageContaining("-1");
        assertThatIllegalArgumentException().as("start(127.0.0.1, 0, 2 s, maxRequest 1 GiB + 1): more than one "
                        + "connection should ever hold")
                .isThrownBy(() -> ReverseServer.start(Lab.LOOPBACK, 0, BOUND, (1 << 30) + 1))
                .withMessageContaining(String.valueOf((1 << 30) + 1));
        for (int edge : new int[] {0, 1 << 30}) {
            Throwable thrown = catchThrowable(() -> lab.track(ReverseServer.start(Lab.LOOPBACK, 0, BOUND, edge)));
            assertThat(thrown).as("start(127.0.0.1, 0, 2 s, maxRequest %d): 0 and 1 GiB are the ends of the allowed "
                    + "range, so the check must let them through", edge).isNull();
        }
    }

    /// Reads to the end of the stream (a reset counts as an end too) and returns the ms since `start`.
    private static long millisUntilClosed(Socket client, long start, String which) throws IOException {
        try {
            client.getInputStream().readAllBytes();
        } catch (SocketTimeoutException e) {
            throw new AssertionError("%s did not close a silent client within %d ms: bound each read of a "
                    .formatted(which, client.getSoTimeout()) + "connection with SO_TIMEOUT, and close on timeout", e);
        } catch (SocketException reset) {
            // an RST ends it too
        }
        return (System.nanoTime() - start) / 1_000_000;
    }

    /// One orderly exchange of raw bytes: request, half-close, reply to EOF, close.
    private static byte[] exchangeBytes(int port, byte[] request) throws IOException {
        try (var client = connect(port)) {
            client.getOutputStream().write(request);
            client.shutdownOutput();
            return readToEnd(client, "the reply to a request of " + request.length + " bytes");
        }
    }


    // --- helpers ------------------------------------------------------------------------------------------------

    private static Socket connect(int port) throws IOException {
        var socket = new Socket();
        try {
            socket.connect(new InetSocketAddress(Lab.LOOPBACK, port), 2_000);
            socket.setSoTimeout(2_000);
            return socket;
        } catch (IOException e) {
            socket.close();
            throw e;
        }
    }

    /// One orderly exchange from the test's side: request, half-close, reply to EOF, close.
    private static String exchange(int port, String request) throws IOException {
        try (var client = connect(port)) {
            client.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            client.shutdownOutput();
            return new String(readToEnd(client, "the reply to " + request), StandardCharsets.US_ASCII);
        }
    }

    /// Reads to EOF; a read that times out means the server never closed its end.
    private static byte[] readToEnd(Socket client, String what) throws IOException {
        try {
            return client.getInputStream().readAllBytes();
        } catch (SocketTimeoutException e) {
            throw new AssertionError("%s: no end of stream within %d ms. The server did not close the connection "
                    .formatted(what, client.getSoTimeout())
                    + "(no FIN): does its handler close on every path, and bound its reads with SO_TIMEOUT?", e);
        } catch (SocketException e) {
            throw new AssertionError(what + ": " + e.getMessage() + " where an orderly close (FIN, read -1) was due", e);
        }
    }

    private static int sockets() {
        return Descriptors.socketInodes().size();
    }

    /// The socket count before the test's sockets: taken after a socket was opened and closed, since the JDK opens
    /// a socket of its own for good (a UNIX socket pair it dup2()s over descriptors closed under a blocked thread)
    /// the first time it needs one.
    private static int baseline() throws IOException {
        new Socket().close();
        return sockets();
    }

    /// Waits (bounded) for the process's socket descriptors to fall back to `baseline`.
    private static void awaitSockets(int baseline, String when) {
        try {
            await().atMost(ofMillis(1_500)).pollInterval(ofMillis(10)).until(() -> sockets() == baseline);
        } catch (ConditionTimeoutException stillOpen) {
            // the assertion below says how many are left
        }
        assertThat(sockets())
                .as("socket descriptors in /proc/self/fd %s (baseline %d): a socket the server never closed is a "
                        + "leaked descriptor, even when the kernel shows no row for it any more", when, baseline)
                .isEqualTo(baseline);
    }

    /// Waits for the socket descriptors to fall back to `baseline`, then reads the TCP table once for CLOSE_WAIT
    /// rows on the server's port. (With every socket closed no CLOSE_WAIT can be left; the table, slow to read on
    /// a busy machine, is read once.)
    private static void assertServerLetGo(int port, int baseline, String when) {
        try {
            await().atMost(ofMillis(1_500)).pollInterval(ofMillis(10)).until(() -> sockets() == baseline);
        } catch (ConditionTimeoutException stillOpen) {
            // the assertions below say what is left
        }
        assertThat(ProcNetTcp.onPort(port).stream().filter(e -> e.state() == ProcNetTcp.State.CLOSE_WAIT).toList())
                .as("CLOSE_WAIT rows on the server's port %d %s: the client closed, the kernel told the server "
                        + "(its read returned -1 or failed), and the server never called close() — a leak", port, when)
                .isEmpty();
        awaitSockets(baseline, when);
    }
}
