import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.awaitility.Awaitility.await;

import org.awaitility.core.ConditionTimeoutException;

/// Chapter 6, graded: a framed request/reply server goes on serving everybody whatever one client does.
@Tag("io")
@Tag("06-io")
class FrameServerTest {

    private static final int MAX = 1000;
    /// Longer than any test here: only the tests of the idle bound wait on it.
    private static final Duration PATIENT = Duration.ofSeconds(10);

    @RegisterExtension
    final Lab lab = new Lab();

    private static void send(Socket socket, byte[] message) throws IOException {
        socket.getOutputStream().write(ByteBuffer.allocate(4 + message.length).putInt(message.length).put(message).array());
    }

    private static byte[] receive(Socket socket) throws IOException {
        var in = new DataInputStream(socket.getInputStream());
        var message = new byte[in.readInt()];
        in.readFully(message);
        return message;
    }

    private Socket client(int port) throws IOException {
        var socket = lab.connect(port);
        socket.setSoTimeout(3_000);
        return socket;
    }

    private static String chain(Throwable t) {
        var messages = new StringBuilder();
        for (; t != null; t = t.getCause()) {
            messages.append(t).append(" / ");
        }
        return messages.toString();
    }

    @Test
    @Tag("task:3")
    @DisplayName("answers 20 clients, 5 messages each, while another client sits idle in the middle of a frame")
    void answersManyClientsWhileOneIsIdle() throws Exception {
        var server = lab.track(FrameServer.start(MAX, PATIENT, Bytes::reversed));
        var idle = client(server.port());
        idle.getOutputStream().write(new byte[] {0, 0}); // half a header, and then nothing

        var clients = new ArrayList<CompletableFuture<Integer>>();
        for (int c = 0; c < 20; c++) {
            var socket = client(server.port());
            int id = c;
            clients.add(CompletableFuture.supplyAsync(() -> {
                try {
                    for (int m = 0; m < 5; m++) {
                        var message = ("client " + id + " message " + m).getBytes();
                        send(socket, message);
                        if (!Arrays.equals(receive(socket), Bytes.reversed(message))) {
                            throw new AssertionError("client " + id + " got a wrong reply to message " + m);
                        }
                    }
                    return id;
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }, task -> Thread.ofVirtual().start(task)));
        }
        try {
            CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).get(3, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            long done = clients.stream().filter(f -> f.isDone() && !f.isCompletedExceptionally()).count();
            throw new AssertionError(("after 3 s only %d of 20 clients had all 5 replies while one client sat idle "
                    + "mid-frame: does the server serve one connection at a time? Each connection needs its own "
                    + "thread (or a selector), or one silent client stops everybody.").formatted(done));
        }
    }

    @Test
    @Tag("task:3")
    @DisplayName("a client that resets mid-frame and one that announces an oversized frame end only their own connections")
    void keepsServingAfterAResetAndABadFrame() throws Exception {
        var server = lab.track(FrameServer.start(MAX, PATIENT, Bytes::reversed));
        var resetter = client(server.port());
        var greedy = client(server.port());

        resetter.getOutputStream().write(ByteBuffer.allocate(14).putInt(100).array()); // header + 10 of 100 bytes
        resetter.setSoLinger(true, 0);
        resetter.close(); // RST: the server's next read fails with "Connection reset"
        greedy.getOutputStream().write(ByteBuffer.allocate(4).putInt(MAX + 1).array());
        int greedyRead;
        try {
            greedyRead = greedy.getInputStream().read();
        } catch (SocketException reset) {
            greedyRead = -1;
        }

        assertThat(greedyRead).as("what the client that announced %d bytes (maximum %d) reads next: the server "
                + "should end that connection, not wait for the bytes", MAX + 1, MAX).isEqualTo(-1);
        await().atMost(Duration.ofSeconds(2)).untilAsserted(() -> assertThat(server.failures())
                .as("exceptions that ended connections, as server.failures() lists them")
                .anySatisfy(e -> assertThat(chain(e).toLowerCase()).as("a failure naming the reset").contains("reset"))
                .anySatisfy(e -> assertThat(e).as("a failure naming the oversized length")
                        .isInstanceOf(ProtocolException.class).hasMessageContaining(String.valueOf(MAX + 1))));
        var next = client(server.port());
        send(next, "still there?".getBytes());
        assertThat(new String(receive(next))).as("the reply to a new client after both failures").isEqualTo("?ereht llits");
        var largest = Bytes.pattern(MAX);
        send(next, largest);
        assertThat(receive(next)).as("the reply to a message of exactly the maximum, %d bytes: allowed", MAX)
                .isEqualTo(Bytes.reversed(largest));
    }

    @Test
    @Tag("task:3")
    @DisplayName("close() stops listening and closes every open connection: clients read EOF, new ones are refused")
    void closeEndsEveryConnection() throws Exception {
        var server = lab.track(FrameServer.start(MAX, PATIENT, Bytes::reversed));
        int port = server.port();
        List<Socket> open = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            var socket = client(port);
            send(socket, new byte[] {(byte) i});
            assertThat(receive(socket)).containsExactly((byte) i);
            open.add(socket);
        }

        server.close();

        for (var socket : open) {
            socket.setSoTimeout(2_000);
            int next;
            try {
                next = socket.getInputStream().read();
            } catch (SocketTimeoutException e) {
                throw new AssertionError("a client of the closed server got no FIN within 2 s: its connection is still "
                        + "open. Closing the listener stops new connections only; close() must also close every "
                        + "connection the server accepted.", e);
            }
            assertThat(next).as("a connected client's read() after server.close()").isEqualTo(-1);
        }
        Lab.awaitRefused(port, Duration.ofSeconds(1)); // nothing listens there any more
    }

    @Test
    @Tag("task:3")
    @DisplayName("a client that sends no whole frame is hung up on after the idle time: 60 ms on one server, 1 s on another")
    void hangsUpOnAnIdleClientAfterTheIdleTime() throws Exception {
        var quick = lab.track(FrameServer.start(MAX, Duration.ofMillis(60), Bytes::reversed));
        var slow = lab.track(FrameServer.start(MAX, Duration.ofSeconds(1), Bytes::reversed));
        var quickClient = client(quick.port());
        var slowClient = client(slow.port());
        send(quickClient, "one".getBytes());
        send(slowClient, "one".getBytes());
        assertThat(receive(quickClient)).as("reply from the server with a 60 ms idle time").containsExactly("eno".getBytes());
        assertThat(receive(slowClient)).as("reply from the server with a 1 s idle time").containsExactly("eno".getBytes());
        quickClient.getOutputStream().write(new byte[] {0, 0}); // half a header, then nothing
        long start = System.nanoTime();

        String quickEnd = readEnd(quickClient, "the server with a 60 ms idle time");
        long quickMillis = (System.nanoTime() - start) / 1_000_000;
        long slowMillis = millisUntilHungUp(slowClient, start, "the server with a 1 s idle time");

        assertThat(quickMillis).as("ms until the server with an idle time of 60 ms hung up on a client that sent "
                + "half a header and then nothing").isLessThan(600);
        assertThat(slowMillis).as("ms until the server with an idle time of 1 s hung up on a client that sent "
                + "nothing after its reply: not before its idle time").isGreaterThanOrEqualTo(500);
        assertThat(slowMillis - quickMillis)
                .withFailMessage("the servers with idle times of 60 ms and 1 s hung up after %d and %d ms: the idle "
                        + "time is the caller's, so the two must differ by about 940 ms, not by %d ms",
                        quickMillis, slowMillis, slowMillis - quickMillis)
                .isGreaterThanOrEqualTo(400);
        assertThat(quickEnd)
                .as("how the server with a 60 ms idle time ended the idle client's connection: a client that only "
                        + "went quiet is hung up on in order, with close() (FIN: read() returns -1); an RST (SO_LINGER "
                        + "0) is for a client cut off mid-reply, and tells this one that something broke")
                .isEqualTo("FIN");
        await().atMost(Duration.ofSeconds(2)).untilAsserted(() -> assertThat(quick.failures())
                .as("failures() of the server that hung up on the idle client: the bound that ended the "
                        + "connection, a SocketTimeoutException (in the exception or its causes)")
                .anySatisfy(e -> assertThat(chain(e)).contains("SocketTimeoutException")));
    }

    @Test
    @NeedsProc
    @Tag("task:3")
    @DisplayName("a client that sends requests but never reads the replies is cut off after the idle time: the server's write does not block for ever")
    void cutsOffAClientThatNeverReads() throws Exception {
        var server = lab.track(FrameServer.start(1 << 20, Duration.ofMillis(500), request -> Bytes.pattern(1 << 20)));
        var greedy = client(server.port());
        var serverEnd = new InetSocketAddress(Lab.LOOPBACK, server.port());
        var clientEnd = greedy.getLocalSocketAddress();

        for (int i = 0; i < 16; i++) {
            send(greedy, new byte[] {(byte) i}); // each asks for a 1 MiB reply; none is ever read
        }

        // The replies fill the server's send buffer and the client's receive buffer (a few MB), then write() blocks.
        var stuck = ProcNetTcp.awaitOnPort(server.port(), "the server's end of the connection holding unsent reply bytes",
                rows -> rows.stream().anyMatch(e -> e.is(serverEnd, clientEnd) && e.txQueue() > 0), Duration.ofSeconds(2));
        long inode = stuck.stream().filter(e -> e.is(serverEnd, clientEnd)).findFirst().orElseThrow().inode();
        try {
            await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(10))
                    .until(() -> inode == 0 || Descriptors.fdOf(inode) < 0);
        } catch (ConditionTimeoutException stillHeld) {
            throw new AssertionError(("3 s after its replies stopped moving, the server still holds the connection "
                    + "(socket:[%d]) of a client that never reads: the TCP table shows%n%s%nA blocking write waits for "
                    + "room in the buffers for ever (SO_TIMEOUT bounds reads, not writes), pinning a thread and a "
                    + "descriptor. Cut off a client that does not take its reply within the idle time (500 ms here): "
                    + "close the connection from another thread, with SO_LINGER 0 to drop what the kernel still holds.")
                    .formatted(inode, ProcNetTcp.show(ProcNetTcp.onPort(server.port()))), stillHeld);
        }
        await().atMost(Duration.ofSeconds(2)).untilAsserted(() -> assertThat(server.failures())
                .as("failures() of the server that cut off the client that never reads: the bound that ended the "
                        + "connection, a SocketTimeoutException (in the exception or its causes)")
                .anySatisfy(e -> assertThat(chain(e)).contains("SocketTimeoutException")));
    }

    @Test
    @Tag("task:3")
    @DisplayName("failures() keeps only the newest FrameServer.MAX_FAILURES: after 105 bad clients and one reset, the reset is in, the oldest are out")
    void keepsOnlyTheNewestFailures() throws Exception {
        var server = lab.track(FrameServer.start(MAX, PATIENT, Bytes::reversed));
        for (int i = 0; i < FrameServer.MAX_FAILURES + 5; i++) {
            try (var greedy = client(server.port())) {
                greedy.getOutputStream().write(ByteBuffer.allocate(4).putInt(MAX + 1 + i).array());
                readEnd(greedy); // the server ended this connection: its failure is recorded
            }
        }
        var resetter = client(server.port());
        resetter.getOutputStream().write(ByteBuffer.allocate(6).putInt(10).array()); // header + 2 of 10 bytes
        resetter.setSoLinger(true, 0);
        resetter.close();

        try {
            await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(10)).until(() -> {
                var kept = server.failures();
                // (the reset is the newest failure, but its thread may record it a moment before an older one's)
                return kept.size() == FrameServer.MAX_FAILURES
                        && kept.stream().anyMatch(f -> chain(f).toLowerCase().contains("reset"));
            });
        } catch (ConditionTimeoutException e) {
            var kept = server.failures();
            throw new AssertionError(("after %d connections ended in errors (%d oversized frames, then a reset), "
                    + "failures() holds %d exceptions, the newest %s. It must keep the newest %d only "
                    + "(FrameServer.MAX_FAILURES), the reset among them: a record that grows with every bad client is "
                    + "a memory leak any client can drive, and one that stops at the first %d forgets what happens "
                    + "now.").formatted(FrameServer.MAX_FAILURES + 6, FrameServer.MAX_FAILURES + 5, kept.size(),
                    kept.isEmpty() ? "none" : kept.getLast(), FrameServer.MAX_FAILURES, FrameServer.MAX_FAILURES), e);
        }
        assertThat(server.failures())
                .as("failures kept after %d: the first oversized frame, announcing %d bytes, is among the oldest, "
                        + "which make room for the newest", FrameServer.MAX_FAILURES + 6, MAX + 1)
                .noneSatisfy(e -> assertThat(chain(e)).contains(String.valueOf(MAX + 1)));
    }

    @Test
    @Tag("task:3")
    @DisplayName("start() refuses a negative maximum, an idle time that is not positive and a missing handler, naming them; a maximum of 0 serves empty messages")
    void refusesBadArguments() throws IOException {
        assertThatIllegalArgumentException().as("FrameServer.start(-1, 10 s, handler)")
                .isThrownBy(() -> lab.track(FrameServer.start(-1, PATIENT, Bytes::reversed)))
                .withMessageContaining("-1");
        assertThatIllegalArgumentException().as("FrameServer.start(1000, 0 s, handler): no idle bound at all")
                .isThrownBy(() -> lab.track(FrameServer.start(MAX, Duration.ZERO, Bytes::reversed)))
                .withMessageContaining("idle");
        assertThatIllegalArgumentException().as("FrameServer.start(1000, -1 s, handler)")
                .isThrownBy(() -> lab.track(FrameServer.start(MAX, Duration.ofSeconds(-1), Bytes::reversed)))
                .withMessageContaining("idle");
        assertThatIllegalArgumentException().as("FrameServer.start(1000, null, handler)")
                .isThrownBy(() -> lab.track(FrameServer.start(MAX, null, Bytes::reversed)))
                .withMessageContaining("idle");
        assertThatIllegalArgumentException().as("FrameServer.start(1000, 10 s, null)")
                .isThrownBy(() -> lab.track(FrameServer.start(MAX, PATIENT, null)))
                .withMessageContaining("handler");
        var emptyOnly = lab.track(FrameServer.start(0, PATIENT, request -> new byte[0]));
        var client = client(emptyOnly.port());
        send(client, new byte[0]);
        assertThat(receive(client))
                .as("the reply of FrameServer.start(0, ...) to an empty message: a maximum of 0 allows empty "
                        + "messages, only a negative one is wrong")
                .isEmpty();
    }

    /// Reads until the server ends the connection (FIN or RST) and returns the ms since `start`.
    private static long millisUntilHungUp(Socket client, long start, String which) throws IOException {
        readEnd(client, which);
        return (System.nanoTime() - start) / 1_000_000;
    }

    private static void readEnd(Socket client) throws IOException {
        readEnd(client, "the server");
    }

    /// Reads to the end of the stream and says how it ended, "FIN" or "RST"; a read timeout is no end.
    private static String readEnd(Socket client, String which) throws IOException {
        try {
            while (client.getInputStream().read() >= 0) {
                // whatever was still on its way
            }
            return "FIN";
        } catch (SocketTimeoutException e) {
            throw new AssertionError("%s did not end the connection within %d ms: a client that sends no whole "
                    .formatted(which, client.getSoTimeout()) + "frame (or an oversized one) must be hung up on — and a "
                    + "channel's read() ignores SO_TIMEOUT, so the bound must come from a close (a watchdog)", e);
        } catch (SocketException reset) {
            return "RST"; // an RST ends it too
        }
    }

}
