import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import org.awaitility.core.ConditionTimeoutException;

/// Chapter 8, graded: a server whose clients close first keeps its port free of TIME_WAIT, and restarts despite it.
@Tag("time-wait")
@Tag("08-time-wait")
class PatientServerTest {

    @RegisterExtension
    final Lab lab = new Lab();

    private static final Duration BOUND = Duration.ofSeconds(3);

    @Test
    @NeedsProc
    @Tag("task:1")
    @DisplayName("after 20 exchanges in which each client closes first, the server's port has no TIME_WAIT row and every client has one")
    void clientsHoldTheTimeWait() throws Exception {
        var listener = lab.listener();
        int port = listener.getLocalPort();
        var patient = lab.track(PatientServer.serve(listener, Duration.ofSeconds(3)));
        assertThat(patient.port()).as("port() of the server that serves the listener on port %d", port).isEqualTo(port);
        var clients = new ArrayList<SocketAddress>();

        for (int i = 0; i < 20; i++) {
            try (var client = lab.connect(port)) {
                client.setSoTimeout(2_000);
                clients.add(client.getLocalSocketAddress());
                assertThat(exchange(client, "hello " + i)).as("reply to \"hello %d\"", i).isEqualTo("HELLO " + i);
            } // the client closes first: by the protocol, it is the active closer
        }

        var server = new InetSocketAddress(Lab.LOOPBACK, port);
        var rows = ProcNetTcp.await("each of the 20 connections to port " + port
                        + " to end in TIME_WAIT on one side or the other",
                r -> serverSide(r, port, clients) + clientSide(r, server, clients) >= 20, BOUND);
        assertThat(serverSide(rows, port, clients))
                .withFailMessage("the server's port %d holds %d TIME_WAIT rows: the server closed first (it hung up "
                                + "before reading the client's EOF), so each connection's 60 s of TIME_WAIT is on the "
                                + "server. The TCP table shows:%n%s", port, serverSide(rows, port, clients),
                        ProcNetTcp.show(ownRows(rows, port, clients)))
                .isZero();
        assertThat(clientSide(rows, server, clients)).as("TIME_WAIT rows held by the 20 clients").isEqualTo(20);
    }

    @Test
    @Tag("task:1")
    @DisplayName("two clients that keep their connections open are served side by side, not one after the other")
    void servesClientsThatKeepTheirConnectionsSideBySide() throws Exception {
        var listener = lab.listener();
        lab.track(PatientServer.serve(listener, Duration.ofSeconds(3)));
        var first = lab.connect(listener.getLocalPort());
        var second = lab.connect(listener.getLocalPort());
        first.setSoTimeout(2_000);
        second.setSoTimeout(2_000);

        assertThat(exchange(first, "one")).as("reply to the first client").isEqualTo("ONE");
        String reply;
        try {
            reply = exchange(second, "two");
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the second client got no reply within 2 s while the first one kept its "
                    + "connection open: when clients close first and reuse connections, connections live long, so "
                    + "the server must serve each one on its own thread, not one client after the other", e);
        }

        assertThat(reply).as("reply to the second client, while the first is still connected").isEqualTo("TWO");
        assertThat(exchange(first, "one again")).as("the first client's next reply").isEqualTo("ONE AGAIN");
    }

    @Test
    @Tag("task:1")
    @DisplayName("a client that asks three times, then goes quiet without closing, keeps its connection for the idle time (1 s); silent clients of servers with 60 ms and 0.5 ms go much sooner")
    void hangsUpOnAQuietClientAfterTheIdleTime() throws Exception {
        var idleTimes = List.of(Duration.ofMillis(60), Duration.ofNanos(500_000), Duration.ofSeconds(1));
        var clients = new ArrayList<Socket>();
        for (var idle : idleTimes) {
            var listener = lab.listener();
            lab.track(PatientServer.serve(listener, idle));
            var client = lab.connect(listener.getLocalPort());
            client.setSoTimeout(3_000);
            clients.add(client);
        }
        // The client of the 1 s server asks three times (each reply starts its idle time again); the clients of the
        // quicker servers say nothing at all, so that no pause of this test can pass for their silence.
        var patient = clients.getLast();
        assertThat(exchange(patient, "ping")).as("reply to \"ping\"").isEqualTo("PING");
        assertThat(exchange(patient, "ping again")).as("reply to a second request on the same connection")
                .isEqualTo("PING AGAIN");
        assertThat(exchange(patient, "and a third")).as("reply to a third request on the same connection")
                .isEqualTo("AND A THIRD");
        long start = System.nanoTime();

        long[] millis = new long[idleTimes.size()];
        for (int i = 0; i < millis.length; i++) {
            millis[i] = millisUntilHungUp(clients.get(i), start, idleTimes.get(i));
        }

        assertThat(millis[0]).as("ms until the server with an idle time of 60 ms hung up on a quiet client").isLessThan(600);
        assertThat(millis[1]).as("ms until the server with an idle time of 0.5 ms hung up on a quiet client")
                .isLessThan(600);
        assertThat(millis[2])
                .withFailMessage("the server with an idle time of 1 s hung up %d ms after its last reply, before its "
                        + "idle time had passed: it must wait for the client to close first (or to stay quiet for "
                        + "the idle time)", millis[2])
                .isGreaterThanOrEqualTo(500);
        assertThat(millis[2] - millis[0])
                .withFailMessage("the servers with idle times of 60 ms and 1 s hung up on their quiet clients after %d "
                        + "and %d ms: the idle time is the caller's (SO_TIMEOUT on each connection), so the two must "
                        + "differ by about 940 ms, not by %d ms", millis[0], millis[2], millis[2] - millis[0])
                .isGreaterThanOrEqualTo(400);
    }

    @Test
    @Tag("task:1")
    @DisplayName("one connection carries many requests, an empty line among them (its reply is an empty line), a NUL byte and UTF-8 beyond ASCII")
    void answersEveryLineOfAConnectionAnEmptyOneToo() throws Exception {
        var listener = lab.listener();
        lab.track(PatientServer.serve(listener, Duration.ofSeconds(3)));
        var client = lab.connect(listener.getLocalPort());
        client.setSoTimeout(2_000);
        var requests = List.of("one", "", "two", "grüße", "", "nul\u0000inside", "the seventh request");

        var replies = new ArrayList<String>();
        for (var request : requests) {
            replies.add(exchange(client, request));
        }

        assertThat(replies).as("replies to %d requests on one connection, two of them empty lines (an empty line is "
                        + "a request, not the end of the conversation: only the client's close ends it) and one with a "
                        + "zero byte inside (a byte of value 0 is data; only read()'s -1 is the end of the stream)",
                        requests.size())
                .containsExactly("ONE", "", "TWO", "GRÜSSE", "", "NUL\u0000INSIDE", "THE SEVENTH REQUEST");
    }

    @Test
    @Tag("task:1")
    @DisplayName("a line of exactly MAX_LINE bytes is answered; a longer one is refused with a reset as soon as it passes the limit, not read to the end")
    void refusesALineLongerThanMaxLine() throws Exception {
        var listener = lab.listener();
        lab.track(PatientServer.serve(listener, Duration.ofSeconds(3)));
        var client = lab.connect(listener.getLocalPort());
        client.setSoTimeout(2_000);
        var longest = "x".repeat(PatientServer.MAX_LINE);
        assertThat(exchange(client, longest)).as("the reply to a line of exactly MAX_LINE (%d) bytes: allowed",
                PatientServer.MAX_LINE).isEqualTo(longest.toUpperCase(Locale.ROOT));

        var greedy = lab.connect(listener.getLocalPort());
        greedy.setSoTimeout(2_000);
        var chunk = "y".repeat(64 * 1024).getBytes(UTF_8);
        long sent = 0;
        IOException refused = null;
        try {
            while (sent < (32 << 20)) { // a line of 32 MiB, and still no \n
                greedy.getOutputStream().write(chunk);
                sent += chunk.length;
            }
            greedy.getOutputStream().write('\n');
        } catch (IOException e) {
            refused = e; // Connection reset, or Broken pipe: the server refused the line
        }
        int next;
        try {
            next = greedy.getInputStream().read();
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the server neither answered nor closed a connection whose request line was "
                    + "32 MiB long", e);
        } catch (SocketException reset) {
            next = -1;
        }

        assertThat(refused)
                .withFailMessage("the client wrote a request line of 32 MiB to a server whose MAX_LINE is %d bytes, "
                        + "without an error: the server read (and kept, or threw away) all of it. Stop reading once a "
                        + "line passes MAX_LINE, and reset the connection (SO_LINGER 0, close): the client's next write "
                        + "then fails. (BufferedReader.readLine() has no limit: it grows the line until the memory runs "
                        + "out.)", PatientServer.MAX_LINE)
                .isNotNull();
        assertThat(next).as("what the client read after its line too long: no reply, the connection is over").isEqualTo(-1);

        // One byte over, then FIN: the server has read everything, so only SO_LINGER 0 makes its close an RST.
        var oneOver = lab.connect(listener.getLocalPort());
        oneOver.setSoTimeout(2_000);
        oneOver.getOutputStream().write("z".repeat(PatientServer.MAX_LINE + 1).getBytes(UTF_8));
        oneOver.shutdownOutput();
        Throwable read = catchThrowable(() -> oneOver.getInputStream().readAllBytes());
        assertThat(read)
                .withFailMessage("a request line of %d bytes, one over MAX_LINE, followed by FIN: the client read %s "
                        + "instead of a reset. A plain close() sends FIN, which looks like the end of a conversation "
                        + "the server was content with; refuse with an RST (SO_LINGER 0, then close).",
                        PatientServer.MAX_LINE + 1, read == null ? "an orderly end (-1)" : read.toString())
                .isInstanceOf(SocketException.class)
                .isNotInstanceOf(SocketTimeoutException.class);
    }

    @Test
    @NeedsProc
    @Tag("task:1")
    @DisplayName("a client that sends requests but never reads the replies is cut off after the idle time: the server's write does not block for ever")
    void cutsOffAClientThatNeverReads() throws Exception {
        var listener = lab.listener();
        lab.track(PatientServer.serve(listener, Duration.ofMillis(500)));
        int port = listener.getLocalPort();
        var greedy = lab.connect(port);
        var serverEnd = new InetSocketAddress(Lab.LOOPBACK, port);
        var clientEnd = greedy.getLocalSocketAddress();
        var line = ("z".repeat(PatientServer.MAX_LINE - 1) + "\n").getBytes(UTF_8);
        Thread.ofVirtual().name("never-reads").start(() -> {
            try {
                for (int i = 0; i < 4_000; i++) { // 32 MiB of requests: their replies are never read
                    greedy.getOutputStream().write(line);
                }
            } catch (IOException cutOff) {
                // the server cut this client off, or the test is over
            }
        });

        // The replies fill the server's send buffer and the client's receive buffer (a few MB), then write() blocks.
        var stuck = ProcNetTcp.awaitOnPort(port, "the server's end of the connection holding unsent reply bytes",
                rows -> rows.stream().anyMatch(e -> e.is(serverEnd, clientEnd) && e.txQueue() > 0), BOUND);
        long inode = stuck.stream().filter(e -> e.is(serverEnd, clientEnd)).findFirst().orElseThrow().inode();
        try {
            await().atMost(BOUND).pollInterval(Duration.ofMillis(20)).until(() -> inode == 0 || Descriptors.fdOf(inode) < 0);
        } catch (ConditionTimeoutException stillHeld) {
            throw new AssertionError(("3 s after its replies stopped moving, the server still holds the connection "
                    + "(socket:[%d]) of a client that never reads: the TCP table shows%n%s%nA blocking write waits for "
                    + "room in the buffers for ever (SO_TIMEOUT bounds reads, not writes), pinning a thread and a "
                    + "descriptor. Cut off a client that does not take a reply within the idle time (500 ms here): "
                    + "close the socket from another thread, with SO_LINGER 0 to drop what the kernel still holds.")
                    .formatted(inode, ProcNetTcp.show(ProcNetTcp.onPort(port))), stillHeld);
        }
    }

    @Test
    @Tag("task:1")
    @DisplayName("close() stops listening and hangs up on every open connection: its clients read EOF, a new one is refused")
    void closeHangsUpOnEveryOpenConnection() throws Exception {
        var listener = lab.listener();
        int port = listener.getLocalPort();
        var server = lab.track(PatientServer.serve(listener, Duration.ofSeconds(10)));
        var clients = new ArrayList<Socket>();
        for (int i = 0; i < 3; i++) {
            var client = lab.connect(port);
            client.setSoTimeout(2_000);
            assertThat(exchange(client, "hello " + i)).as("reply to client %d", i).isEqualTo("HELLO " + i);
            clients.add(client);
        }

        server.close();

        for (var client : clients) {
            int next;
            try {
                next = client.getInputStream().read();
            } catch (SocketTimeoutException e) {
                throw new AssertionError("2 s after server.close(), a connected client got no FIN: closing the "
                        + "listener refuses new clients only; close() must also close every connection it accepted", e);
            }
            assertThat(next).as("a connected client's read() after server.close(): -1, the server's FIN").isEqualTo(-1);
        }
        Lab.awaitRefused(port, Duration.ofSeconds(1));
    }

    /// Reads until the server hangs up (FIN, or RST) and returns the ms since `start`.
    private static long millisUntilHungUp(Socket client, long start, Duration idle) throws IOException {
        try {
            while (client.getInputStream().read() >= 0) {
                // the server said something after its reply: ignore it, the hang-up is what counts
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError(("the client sent nothing more and the server with an idle time of %s did not "
                    + "hang up within %d ms: a client that neither asks nor closes holds a server thread and "
                    + "descriptor for ever. Bound the server's read (SO_TIMEOUT)%s.").formatted(idle,
                    client.getSoTimeout(), idle.toMillis() == 0 ? " — and under a millisecond, Duration.toMillis() is "
                    + "0, which SO_TIMEOUT reads as no bound at all: round it up to 1 ms" : ""), e);
        } catch (SocketException reset) {
            // an RST ends it too
        }
        return (System.nanoTime() - start) / 1_000_000;
    }

    @Test
    @Tag("task:1")
    @DisplayName("serve() refuses a null listener and an idle time that is not positive, naming the value")
    void serveRefusesBadArguments() throws Exception {
        var listener = lab.listener();

        assertThatIllegalArgumentException().as("serve(null, 1 s)")
                .isThrownBy(() -> PatientServer.serve(null, Duration.ofSeconds(1)))
                .withMessageContaining("null");
        assertThatIllegalArgumentException().as("serve(listener, -5 s)")
                .isThrownBy(() -> PatientServer.serve(listener, Duration.ofSeconds(-5)))
                .withMessageContaining("-5");
        assertThatIllegalArgumentException().as("serve(listener, 0): SO_TIMEOUT 0 would mean no bound at all")
                .isThrownBy(() -> PatientServer.serve(listener, Duration.ZERO));
    }

    @Test
    @NeedsProc
    @Tag("task:2")
    @DisplayName("a restarted server binds its old port while the last run's TIME_WAIT rows still hold it")
    void restartsOnAPortHeldByTimeWait() throws Exception {
        int port;
        var clients = new ArrayList<SocketAddress>();
        try (var first = PatientServer.listen(Lab.LOOPBACK, 0)) {
            port = first.getLocalPort();
            first.setSoTimeout(2_000);
            for (int i = 0; i < 3; i++) {
                var client = lab.connect(port);
                var accepted = lab.track(first.accept());
                clients.add(client.getLocalSocketAddress());
                accepted.close(); // this run's server hangs up first: TIME_WAIT lands on its port
                client.setSoTimeout(2_000);
                assertThat(client.getInputStream().read()).as("client read() after the server's close").isEqualTo(-1);
                client.close();
            }
        }
        ProcNetTcp.await("3 TIME_WAIT rows on port " + port + " after the server closed first",
                r -> serverSide(r, port, clients) == 3, BOUND);

        ServerSocket second;
        try {
            second = lab.track(PatientServer.listen(Lab.LOOPBACK, port));
        } catch (BindException e) {
            throw new AssertionError(("bind() to 127.0.0.1:%d failed with \"%s\" (EADDRINUSE) while the first run's "
                    + "TIME_WAIT rows hold the port: a restartable server binds with SO_REUSEADDR — on every run, "
                    + "since Linux checks the flag of the TIME_WAIT rows' old socket too. The TCP table shows:%n%s")
                    .formatted(port, e.getMessage(), ProcNetTcp.show(ProcNetTcp.onPort(port))), e);
        }
        second.setSoTimeout(2_000);
        lab.connect(port);
        assertThat(lab.track(second.accept())).as("a connection accepted by the restarted server").isNotNull();
        assertThat(serverSide(ProcNetTcp.snapshot(), port, clients))
                .as("TIME_WAIT rows of the first run still on port %d: the bind went through despite them", port)
                .isEqualTo(3);
    }

    @Test
    @Tag("task:2")
    @DisplayName("SO_REUSEADDR is not SO_REUSEPORT: a second server on a port that is still listening fails with EADDRINUSE")
    void refusesASecondLiveListener() throws Exception {
        var first = lab.track(PatientServer.listen(Lab.LOOPBACK, 0));
        int port = first.getLocalPort();

        assertThatExceptionOfType(BindException.class)
                .as("a second listen() on 127.0.0.1:%d while the first server still listens there: two servers "
                        + "sharing a port (SO_REUSEPORT) would split its clients between them", port)
                .isThrownBy(() -> lab.track(PatientServer.listen(Lab.LOOPBACK, port)));
        if (Descriptors.available()) {
            int before = Descriptors.count();
            catchThrowable(() -> lab.track(PatientServer.listen(Lab.LOOPBACK, port)));
            assertThat(Descriptors.count())
                    .as("descriptors of this process after one more listen() on 127.0.0.1:%d failed with EADDRINUSE "
                            + "(before it: %d): a socket whose bind() failed is still a descriptor, and listen() must "
                            + "close it before it throws", port, before)
                    .isEqualTo(before);
        }
    }

    @Test
    @Tag("task:2")
    @DisplayName("listen() refuses a port out of range and a null address, naming the value")
    void listenRefusesBadArguments() {
        assertThatIllegalArgumentException().as("listen(127.0.0.1, 65536)")
                .isThrownBy(() -> lab.track(PatientServer.listen(Lab.LOOPBACK, 65_536)))
                .withMessageContaining("65536");
        assertThatIllegalArgumentException().as("listen(127.0.0.1, -1)")
                .isThrownBy(() -> lab.track(PatientServer.listen(Lab.LOOPBACK, -1)))
                .withMessageContaining("-1");
        assertThatIllegalArgumentException().as("listen(null, 0)")
                .isThrownBy(() -> lab.track(PatientServer.listen(null, 0)))
                .withMessageContaining("null");
    }

    /// One request line out, one reply line back, on a raw socket: the test speaks the protocol itself.
    static String exchange(Socket client, String request) throws IOException {
        String shown = request.length() > 40 ? request.substring(0, 20) + "…(" + request.length() + " chars)" : request;
        client.getOutputStream().write((request + "\n").getBytes(UTF_8));
        var line = new ByteArrayOutputStream();
        try {
            for (int b = client.getInputStream().read(); b != '\n'; b = client.getInputStream().read()) {
                if (b < 0) {
                    throw new AssertionError("the server closed the connection instead of answering \"" + shown + "\"");
                }
                line.write(b);
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError("no reply line within %d ms to \"%s\": the server neither answered nor closed"
                    .formatted(client.getSoTimeout(), shown) + " (does it serve each connection on a thread of its own, "
                    + "and answer every line, an empty one too?)", e);
        } catch (SocketException e) {
            throw new AssertionError("the connection failed with '%s' where the reply to \"%s\" was due: the server "
                    .formatted(e.getMessage(), shown) + "reset it instead of answering", e);
        }
        return line.toString(UTF_8);
    }

    /// TIME_WAIT rows on the server's side of this test's connections: local port `port`, remote one of `clients`.
    private static long serverSide(List<ProcNetTcp.Entry> rows, int port, List<SocketAddress> clients) {
        return rows.stream().filter(e -> e.state() == ProcNetTcp.State.TIME_WAIT
                && clients.stream().anyMatch(c -> e.is(new InetSocketAddress(Lab.LOOPBACK, port), c))).count();
    }

    /// TIME_WAIT rows on the clients' side of this test's connections.
    private static long clientSide(List<ProcNetTcp.Entry> rows, SocketAddress server, List<SocketAddress> clients) {
        return rows.stream().filter(e -> e.state() == ProcNetTcp.State.TIME_WAIT
                && clients.stream().anyMatch(c -> e.is(c, server))).count();
    }

    private static List<ProcNetTcp.Entry> ownRows(List<ProcNetTcp.Entry> rows, int port, List<SocketAddress> clients) {
        return rows.stream().filter(e -> e.local().getPort() == port
                || clients.stream().anyMatch(c -> e.is(c, new InetSocketAddress(Lab.LOOPBACK, port)))).toList();
    }
}
