import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/// Chapter 8, graded: a server whose clients close first keeps its port free of TIME_WAIT, and restarts despite it.
@Tag("time-wait")
@Tag("08-time-wait")
class PatientServerTest {

    @RegisterExtension
    final Lab lab = new Lab();

    private static final Duration BOUND = Duration.ofSeconds(3);

    @Test
    @Tag("task:1")
    @DisplayName("after 20 exchanges in which each client closes first, the server's port has no TIME_WAIT row and every client has one")
    void clientsHoldTheTimeWait() throws Exception {
        var listener = lab.listener();
        int port = listener.getLocalPort();
        lab.track(PatientServer.serve(listener, Duration.ofSeconds(3)));
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
    @DisplayName("a client that asks twice, then goes quiet without closing, keeps its connection for the idle time; then the server hangs up")
    void hangsUpOnAQuietClientAfterTheIdleTime() throws Exception {
        var listener = lab.listener();
        lab.track(PatientServer.serve(listener, Duration.ofMillis(800)));
        var client = lab.connect(listener.getLocalPort());
        client.setSoTimeout(3_000);

        assertThat(exchange(client, "ping")).as("reply to \"ping\"").isEqualTo("PING");
        assertThat(exchange(client, "ping again")).as("reply to a second request on the same connection")
                .isEqualTo("PING AGAIN");
        long start = System.nanoTime();
        int next;
        try {
            next = client.getInputStream().read();
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the client sent nothing more and the server did not hang up within 3 s, "
                    + "with an idle time of 800 ms: a client that neither asks nor closes holds a server thread "
                    + "and descriptor for ever. Bound the server's read (SO_TIMEOUT).", e);
        }
        long waitedMillis = (System.nanoTime() - start) / 1_000_000;

        assertThat(next).as("client read() once the server hung up (-1: the server's FIN)").isEqualTo(-1);
        assertThat(waitedMillis)
                .withFailMessage("the server hung up %d ms after its reply, before the idle time of 800 ms had "
                        + "passed: it must wait for the client to close first (or to stay quiet for the idle time)",
                        waitedMillis)
                .isGreaterThanOrEqualTo(150);
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
        client.getOutputStream().write((request + "\n").getBytes(UTF_8));
        var line = new ByteArrayOutputStream();
        for (int b = client.getInputStream().read(); b != '\n'; b = client.getInputStream().read()) {
            if (b < 0) {
                throw new AssertionError("the server closed the connection instead of answering \"" + request + "\"");
            }
            line.write(b);
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
