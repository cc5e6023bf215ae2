import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static java.time.Duration.ofMillis;
import static java.time.Duration.ofSeconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
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

    @RegisterExtension
    final Lab lab = new Lab();

    @Test
    @Tag("task:2")
    @DisplayName("the server reads a 120,000-byte request to the client's FIN, replies with it reversed, and closes")
    void repliesToTheWholeRequestAndCloses() throws Exception {
        var server = lab.track(ReverseServer.start(Lab.LOOPBACK, 0, ofSeconds(2)));
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
    @Tag("task:2")
    @DisplayName("a client that sends half a request and goes quiet is closed after the read timeout: it reads -1, and no CLOSE_WAIT stays")
    void closesAnIdleConnectionAfterTheReadTimeout() throws Exception {
        var server = lab.track(ReverseServer.start(Lab.LOOPBACK, 0, READ_TIMEOUT));
        int baseline = sockets();
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
    @Tag("task:2")
    @DisplayName("30 clients that reset at once (SO_LINGER 0) leave no socket descriptor behind, and the server still serves")
    void survivesResetsWithoutLeakingDescriptors() throws Exception {
        var server = lab.track(ReverseServer.start(Lab.LOOPBACK, 0, ofSeconds(2)));
        int baseline = sockets();

        for (int i = 0; i < 30; i++) {
            try (var client = new Socket()) {
                client.connect(new InetSocketAddress(Lab.LOOPBACK, server.port()), 2_000);
                client.setSoLinger(true, 0); // close() now sends RST: the server's read fails with ECONNRESET
            }
        }

        // A reset connection leaves no row in the TCP table: only the descriptor count shows a missed close().
        awaitSockets(baseline, "after 30 clients reset their connections");
        assertThat(exchange(server.port(), "stressed")).as("a normal exchange after the resets: the server still serves")
                .isEqualTo("desserts");
    }

    @Test
    @Tag("task:2")
    @DisplayName("after 32 mixed connections (normal, reset at once, vanished mid-request, idle past the read timeout) no CLOSE_WAIT and no extra descriptor remain")
    void mixedConnectionsLeaveNothingBehind() throws Exception {
        var server = lab.track(ReverseServer.start(Lab.LOOPBACK, 0, READ_TIMEOUT));
        int port = server.port();
        int baseline = sockets();

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

        assertServerLetGo(port, baseline, "after 32 mixed connections ended");
    }

    @Test
    @Tag("task:2")
    @DisplayName("close() stops the server: new clients are refused, and an open connection's client reads -1")
    void closeStopsListeningAndClosesOpenConnections() throws Exception {
        int baseline = sockets();
        var server = lab.track(ReverseServer.start(Lab.LOOPBACK, 0, ofSeconds(4)));
        int port = server.port();
        var client = lab.connect(port);
        client.setSoTimeout(2_000);
        client.getOutputStream().write("wait for me".getBytes(StandardCharsets.US_ASCII));
        // Listener, client and the connection the server accepted: three sockets more than before.
        await().atMost(BOUND).pollInterval(ofMillis(10)).until(() -> sockets() == baseline + 3);

        server.close();

        assertThat(readToEnd(client, "the client's read after the server's close()"))
                .as("bytes the client got from a server that stopped mid-request").isEmpty();
        client.close();
        assertThatExceptionOfType(ConnectException.class)
                .as("connect() to port %d after close(): nothing listens there any more", port)
                .isThrownBy(() -> connect(port).close());
        awaitSockets(baseline, "after close() and the client's close");
    }

    @Test
    @Tag("task:2")
    @DisplayName("start() refuses a null address, a port out of range and a read timeout that is not positive, naming the value")
    void startRejectsBadInput() {
        assertThatIllegalArgumentException().isThrownBy(() -> ReverseServer.start(null, 0, BOUND))
                .withMessageContaining("address");
        assertThatIllegalArgumentException().isThrownBy(() -> ReverseServer.start(Lab.LOOPBACK, 65_536, BOUND))
                .withMessageContaining("65536");
        assertThatIllegalArgumentException().isThrownBy(() -> ReverseServer.start(Lab.LOOPBACK, 0, ofMillis(-200)))
                .withMessageContaining(ofMillis(-200).toString());
        assertThatIllegalArgumentException()
                .as("a zero read timeout: SO_TIMEOUT 0 means 'wait forever', so a silent client would hold its "
                        + "connection for good")
                .isThrownBy(() -> ReverseServer.start(Lab.LOOPBACK, 0, Duration.ZERO))
                .withMessageContaining(Duration.ZERO.toString());
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
