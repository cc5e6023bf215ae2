import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static java.time.Duration.ofMillis;
import static java.time.Duration.ofSeconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.fail;

/// Chapter 7, graded: a client that half-closes to end its request and still reads the whole reply, and one that
/// can abort with a reset.
@Tag("close")
@Tag("07-close")
class ReverseClientTest {

    private static final Duration BOUND = ofSeconds(2);

    @RegisterExtension
    final Lab lab = new Lab();

    @Test
    @Tag("task:1")
    @DisplayName("send, finish, readToEnd: the server sees the request end with FIN and the client reads all 150,000 bytes of the reply")
    void halfCloseDeliversTheWholeReply() throws Exception {
        var listener = lab.listener();
        var request = Bytes.pattern(150_000);
        // The server reads to EOF before its first write, as a reversing server must.
        CompletableFuture<Integer> served = serveOnce(listener, connection -> {
            byte[] got = connection.getInputStream().readAllBytes();
            connection.getOutputStream().write(Bytes.reversed(got));
            return got.length;
        });
        var client = lab.track(ReverseClient.connect(Lab.LOOPBACK, listener.getLocalPort(), BOUND));

        client.send(request);
        client.finish();
        byte[] reply = readReply(client);

        assertThat(served.get(1, TimeUnit.SECONDS)).as("bytes of the request the server read before its read returned -1")
                .isEqualTo(request.length);
        assertThat(reply.length).as("bytes of the reply read up to the server's FIN").isEqualTo(request.length);
        assertThat(reply).as("the reply (the request reversed)").isEqualTo(Bytes.reversed(request));
    }

    @Test
    @NeedsProc
    @Tag("task:1")
    @DisplayName("finish() half-closes: client FIN_WAIT2 and server CLOSE_WAIT; once the server answers and closes, the client is in TIME_WAIT")
    void finishHalfClosesAndTheClientEndsInTimeWait() throws Exception {
        var listener = lab.listener();
        var client = lab.track(ReverseClient.connect(Lab.LOOPBACK, listener.getLocalPort(), BOUND));
        var server = lab.track(acceptWithin(listener));
        var serverEnd = server.getLocalSocketAddress();
        var clientEnd = server.getRemoteSocketAddress();

        client.send("ping".getBytes(StandardCharsets.US_ASCII));
        client.finish();

        ProcNetTcp.await("client FIN_WAIT2 and server CLOSE_WAIT after finish()", rows ->
                has(rows, clientEnd, serverEnd, ProcNetTcp.State.FIN_WAIT2)
                        && has(rows, serverEnd, clientEnd, ProcNetTcp.State.CLOSE_WAIT), BOUND);
        server.setSoTimeout(2_000);
        assertThat(server.getInputStream().readAllBytes()).as("what the server read up to -1 (the client's FIN)")
                .asString(StandardCharsets.US_ASCII).isEqualTo("ping");
        server.getOutputStream().write("pong".getBytes(StandardCharsets.US_ASCII)); // half-closed: it still reads
        server.close();
        // The client sent the first FIN: it is the active closer, so TIME_WAIT is its, even before it reads the reply.
        // The server, the passive closer, goes CLOSE_WAIT -> LAST_ACK -> CLOSED: its row disappears.
        var rows = ProcNetTcp.await("the server's end to close, and the client's to reach TIME_WAIT or vanish", r ->
                r.stream().noneMatch(e -> e.is(serverEnd, clientEnd)
                        || (e.is(clientEnd, serverEnd) && e.state() != ProcNetTcp.State.TIME_WAIT)), BOUND);
        assertThat(has(rows, clientEnd, serverEnd, ProcNetTcp.State.TIME_WAIT))
                .withFailMessage("the client's end of the connection is gone instead of in TIME_WAIT: the server's "
                        + "reply reached a socket that was closed, not half-closed, and the client's kernel answered "
                        + "it with RST. finish() must shut down the sending side only (shutdownOutput, SHUT_WR).")
                .isTrue();
        assertThat(new String(readReply(client), StandardCharsets.US_ASCII))
                .as("the reply, read after the client's own FIN").isEqualTo("pong");
    }

    @Test
    @Tag("task:1")
    @DisplayName("after finish() a write fails (the output is shut down) while the reply still arrives")
    void writingAfterFinishFails() throws Exception {
        var listener = lab.listener();
        var client = lab.track(ReverseClient.connect(Lab.LOOPBACK, listener.getLocalPort(), BOUND));
        var server = lab.track(acceptWithin(listener));
        server.setSoTimeout(2_000);

        client.send("request".getBytes(StandardCharsets.US_ASCII));
        client.finish();

        assertThatExceptionOfType(IOException.class)
                .as("send() after finish(): the socket's sending side is shut down (EPIPE in C, "
                        + "'Socket output is shutdown' in Java), so the write must fail")
                .isThrownBy(() -> client.send("more".getBytes(StandardCharsets.US_ASCII)));
        assertThat(server.getInputStream().readAllBytes()).as("what the server read up to the client's FIN")
                .asString(StandardCharsets.US_ASCII).isEqualTo("request");
        server.getOutputStream().write("reply".getBytes(StandardCharsets.US_ASCII));
        server.close();
        assertThat(new String(readReply(client), StandardCharsets.US_ASCII))
                .as("the reply the client reads after its half-close").isEqualTo("reply");
    }

    @Test
    @Tag("task:1")
    @DisplayName("readToEnd() is bounded: a server that never closes costs a SocketTimeoutException after 150 ms, or 0.5 ms, not a hung client")
    void readToEndIsBoundedByTheTimeout() throws Exception {
        var listener = lab.listener();
        var client = lab.track(ReverseClient.connect(Lab.LOOPBACK, listener.getLocalPort(), ofMillis(150)));
        lab.track(acceptWithin(listener)); // accepted, then silent: no reply, no FIN

        var reading = CompletableFuture.supplyAsync(() -> {
            try {
                return client.readToEnd();
            } catch (IOException e) {
                throw new CompletionException(e);
            }
        }, r -> Thread.ofVirtual().start(r));

        try {
            reading.get(2, TimeUnit.SECONDS);
            fail("readToEnd() returned although the server neither replied nor closed");
        } catch (TimeoutException e) {
            fail("readToEnd() is still blocked 2 s after connecting with a 150 ms timeout: the read has no bound "
                    + "(SO_TIMEOUT), so a silent server hangs the client for good");
        } catch (ExecutionException e) {
            assertThat(e.getCause()).as("how readToEnd() ends when the server stays silent past the 150 ms timeout")
                    .isInstanceOf(SocketTimeoutException.class);
        }

        var tiny = connectWithin(listener, Duration.ofNanos(500_000));
        lab.track(acceptWithin(listener)); // accepted, then silent
        var waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return tiny.readToEnd();
            } catch (IOException e) {
                throw new CompletionException(e);
            }
        }, r -> Thread.ofVirtual().start(r));
        try {
            waiting.get(2, TimeUnit.SECONDS);
            fail("readToEnd() returned although the server neither replied nor closed");
        } catch (TimeoutException e) {
            fail("readToEnd() is still blocked 2 s after connecting with a timeout of 0.5 ms: Duration.toMillis() "
                    + "makes that 0, and SO_TIMEOUT 0 means no bound at all. Round a positive timeout under a "
                    + "millisecond up to 1 ms.");
        } catch (ExecutionException e) {
            assertThat(e.getCause()).as("how readToEnd() ends when the server stays silent past a 0.5 ms timeout")
                    .isInstanceOf(SocketTimeoutException.class);
        }
    }

    @Test
    @NeedsProc
    @Tag("task:1")
    @DisplayName("close() is orderly and complete: the server reads the request then -1 (FIN, not a reset), and the client's descriptor is released")
    void closeSendsFinAndReleasesTheDescriptor() throws Exception {
        var listener = lab.listener();
        var client = ReverseClient.connect(Lab.LOOPBACK, listener.getLocalPort(), BOUND);
        lab.track(client);
        var server = lab.track(acceptWithin(listener));
        server.setSoTimeout(2_000);
        var serverEnd = server.getLocalSocketAddress();
        var clientEnd = server.getRemoteSocketAddress();
        long inode = ProcNetTcp.entryOf(clientEnd, serverEnd).orElseThrow().inode();
        client.send("no finish".getBytes(StandardCharsets.US_ASCII));

        client.close();

        byte[] got;
        try {
            got = server.getInputStream().readAllBytes();
        } catch (SocketException e) {
            throw new AssertionError("the server's read after the client's close() failed with '" + e.getMessage()
                    + "': close() reset the connection. An RST is for abort() only — SO_LINGER 0 set once (say at "
                    + "connect) makes every later close an abort, and the peer may lose what was sent.", e);
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the server saw no end of the stream within 2 s of the client's close(): "
                    + "close() sent no FIN", e);
        }
        assertThat(new String(got, StandardCharsets.US_ASCII)).as("what the server read up to -1 after the client's "
                + "close(): the request, then the FIN").isEqualTo("no finish");
        assertThat(Descriptors.fdOf(inode))
                .withFailMessage("the client's socket (socket:[%d]) is still open in /proc/self/fd after close(): the "
                        + "FIN went out (shutdownOutput sends one too), but the descriptor stays allocated until the "
                        + "socket itself is closed", inode)
                .isEqualTo(-1);
        ProcNetTcp.await("the client's end, the active closer, in FIN_WAIT2 or TIME_WAIT", rows -> rows.stream()
                .anyMatch(e -> e.is(clientEnd, serverEnd) && (e.state() == ProcNetTcp.State.FIN_WAIT2
                        || e.state() == ProcNetTcp.State.TIME_WAIT)), BOUND);
    }

    @Test
    @Tag("task:1")
    @DisplayName("connect() refuses a null address, a port out of range and a timeout that is not positive, naming the value")
    void connectRejectsBadInput() throws Exception {
        int port = lab.listener().getLocalPort();
        assertThatIllegalArgumentException().as("connect(null, port, 2 s)")
                .isThrownBy(() -> ReverseClient.connect(null, port, BOUND))
                .withMessageContaining("address");
        assertThatIllegalArgumentException().as("connect(127.0.0.1, 70000, 2 s): TCP ports are 1-65535")
                .isThrownBy(() -> ReverseClient.connect(Lab.LOOPBACK, 70_000, BOUND))
                .withMessageContaining("70000");
        assertThatIllegalArgumentException().as("connect(127.0.0.1, -1, 2 s)")
                .isThrownBy(() -> ReverseClient.connect(Lab.LOOPBACK, -1, BOUND))
                .withMessageContaining("-1");
        for (int edge : new int[] {1, 65_535}) {
            // Nothing listens there on loopback: the connect is refused, but the port itself is valid.
            Throwable thrown = catchThrowable(() -> ReverseClient.connect(Lab.LOOPBACK, edge, BOUND).close());
            assertThat(thrown).as("connect(127.0.0.1, %d, 2 s): the first and last TCP ports, 1 and 65535, are valid "
                    + "destinations, so the range check must let them through (a refusal may follow)", edge)
                    .isNotInstanceOf(IllegalArgumentException.class);
        }
        assertThatIllegalArgumentException().as("connect(127.0.0.1, port, -3 s)")
                .isThrownBy(() -> ReverseClient.connect(Lab.LOOPBACK, port, ofSeconds(-3)))
                .withMessageContaining(ofSeconds(-3).toString());
        assertThatIllegalArgumentException()
                .as("a zero timeout: SO_TIMEOUT 0 means 'wait forever', the opposite of a bound")
                .isThrownBy(() -> ReverseClient.connect(Lab.LOOPBACK, port, Duration.ZERO))
                .withMessageContaining(Duration.ZERO.toString());
    }

    @Test
    @NeedsProc
    @Tag("task:3")
    @DisplayName("abort() resets: the peer's read throws 'Connection reset' and neither side keeps TIME_WAIT")
    void abortIsAReset() throws Exception {
        var listener = lab.listener();
        var client = lab.track(ReverseClient.connect(Lab.LOOPBACK, listener.getLocalPort(), BOUND));
        var server = lab.track(acceptWithin(listener));
        server.setSoTimeout(2_000);
        var serverEnd = server.getLocalSocketAddress();
        var clientEnd = server.getRemoteSocketAddress();
        client.send("half a requ".getBytes(StandardCharsets.US_ASCII));

        client.abort();

        var in = server.getInputStream();
        assertThat(in.readNBytes(11)).as("bytes that arrived before the abort").hasSize(11);
        try {
            int next = in.read();
            fail("the server's read returned %d after abort(), where a reset makes it throw "
                    + "SocketException: Connection reset (ECONNRESET). %s", next, next == -1
                    ? "-1 is an orderly FIN: abort() closed normally. Set SO_LINGER to 0 before close()."
                    : "The connection is still open.");
        } catch (SocketException e) {
            assertThat(e.getMessage()).as("the server's read after the client's abort()").contains("Connection reset");
        }
        var rows = awaitOnlyTimeWaitLeft(clientEnd, serverEnd);
        assertThat(rows).as("TCP rows of the aborted connection, either end: an RST leaves no TIME_WAIT, nothing at all")
                .isEmpty();
    }

    @Test
    @NeedsProc
    @Tag("task:3")
    @DisplayName("abort() after the server closed first: the RST spares the server its TIME_WAIT")
    void abortAfterThePeersFinSparesItTimeWait() throws Exception {
        var listener = lab.listener();
        var client = lab.track(ReverseClient.connect(Lab.LOOPBACK, listener.getLocalPort(), BOUND));
        var server = lab.track(acceptWithin(listener));
        var serverEnd = server.getLocalSocketAddress();
        var clientEnd = server.getRemoteSocketAddress();
        server.close(); // the server is the active closer: FIN_WAIT2 now, TIME_WAIT after a normal close
        ProcNetTcp.awaitState(clientEnd, serverEnd, ProcNetTcp.State.CLOSE_WAIT, BOUND);

        client.abort();

        var rows = awaitOnlyTimeWaitLeft(clientEnd, serverEnd);
        assertThat(rows.stream().filter(e -> e.is(serverEnd, clientEnd)).map(ProcNetTcp.Entry::state))
                .withFailMessage("the server, which closed first, is in TIME_WAIT: the client answered its FIN with "
                        + "a FIN (a normal close), not with an RST. abort() must set SO_LINGER 0 before close().")
                .isEmpty();
    }

    // --- the test's own server end ------------------------------------------------------------------------------

    interface Handler<T> {
        T serve(Socket connection) throws IOException;
    }

    /// Accepts one connection on a virtual thread, serves it with `handler`, closes it, and hands back the result.
    private <T> CompletableFuture<T> serveOnce(ServerSocket listener, Handler<T> handler) {
        var result = new CompletableFuture<T>();
        Thread.ofVirtual().name("test-server").start(() -> {
            try (var connection = lab.track(acceptWithin(listener))) {
                connection.setSoTimeout(3_000);
                result.complete(handler.serve(connection));
            } catch (IOException | RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }

    /// ReverseClient.connect with a tiny timeout: on a busy machine even a loopback handshake may miss 1 ms, so a
    /// connect that timed out is tried again (up to five times); the read bound is what the test is about.
    private ReverseClient connectWithin(ServerSocket listener, Duration timeout) throws IOException {
        for (int attempt = 1; ; attempt++) {
            try {
                return lab.track(ReverseClient.connect(Lab.LOOPBACK, listener.getLocalPort(), timeout));
            } catch (SocketTimeoutException slowHandshake) {
                if (attempt == 5) {
                    throw slowHandshake;
                }
            }
        }
    }

    private static Socket acceptWithin(ServerSocket listener) throws IOException {
        listener.setSoTimeout(2_000);
        return listener.accept();
    }

    /// The client's readToEnd(), its failures told in TCP terms.
    private static byte[] readReply(ReverseClient client) throws IOException {
        try {
            return client.readToEnd();
        } catch (SocketTimeoutException e) {
            throw new AssertionError("readToEnd() timed out waiting for the reply: the server was still reading the "
                    + "request, waiting for it to end. Did finish() send FIN (shutdownOutput, SHUT_WR)?", e);
        } catch (SocketException e) {
            throw new AssertionError("reading the reply after finish() failed with '" + e.getMessage() + "': finish() "
                    + "must shut down the sending side only. Closing the socket, or its OutputStream (which closes "
                    + "the socket too), ends both directions, and the reply is lost.", e);
        }
    }

    private static boolean has(List<ProcNetTcp.Entry> rows, SocketAddress local, SocketAddress remote,
                               ProcNetTcp.State state) {
        return rows.stream().anyMatch(e -> e.is(local, remote) && e.state() == state);
    }

    /// Waits until the connection between `a` and `b` has no row but TIME_WAIT ones, and returns its rows.
    private static List<ProcNetTcp.Entry> awaitOnlyTimeWaitLeft(SocketAddress a, SocketAddress b) {
        var rows = ProcNetTcp.await("the connection %s <-> %s to close".formatted(a, b),
                r -> r.stream().noneMatch(e -> (e.is(a, b) || e.is(b, a)) && e.state() != ProcNetTcp.State.TIME_WAIT),
                BOUND);
        return rows.stream().filter(e -> e.is(a, b) || e.is(b, a)).toList();
    }
}
