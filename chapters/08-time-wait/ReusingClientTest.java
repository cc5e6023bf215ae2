import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.catchThrowable;

/// Chapter 8, graded: one connection carries every request, and the client's orderly close leaves TIME_WAIT with it.
@Tag("time-wait")
@Tag("08-time-wait")
class ReusingClientTest {

    @RegisterExtension
    final Lab lab = new Lab();

    private static final Duration BOUND = Duration.ofSeconds(3);

    @Test
    @NeedsProc
    @Tag("task:3")
    @DisplayName("102 requests from one client, an empty one among them, travel over one connection: the server accepts exactly once")
    void sendsEveryRequestOverOneConnection() throws Exception {
        var server = lab.track(new LineServer(lab.listener()));

        try (var client = ReusingClient.connect(server.address(), Duration.ofSeconds(2))) {
            for (int i = 0; i < 100; i++) {
                assertThat(client.ask("request " + i)).as("reply to request %d", i).isEqualTo("REQUEST " + i);
            }
            String emptyReply;
            try {
                emptyReply = client.ask("");
            } catch (IllegalArgumentException refused) {
                throw new AssertionError("ask(\"\") refused an empty request (" + refused.getMessage() + "): an "
                        + "empty line is a request in this protocol, and its reply is an empty line. Only null and "
                        + "line breaks are bad input.", refused);
            }
            assertThat(emptyReply).as("reply to an empty request (a request like any other: its reply is an empty "
                    + "line)").isEmpty();
            assertThat(client.ask("one more")).as("reply to the request after the empty one").isEqualTo("ONE MORE");

            assertThat(server.accepted.get())
                    .withFailMessage("the server accepted %d connections for 102 requests: each one costs a handshake "
                                    + "and leaves a TIME_WAIT row behind (the table shows %d rows to port %d). "
                                    + "Connect once and send every request over that connection.",
                            server.accepted.get(), rowsTo(server.port()), server.port())
                    .isEqualTo(1);
        }
    }

    @Test
    @NeedsProc
    @Tag("task:3")
    @DisplayName("close() is orderly and comes first: the server reads EOF, not a reset, and the one TIME_WAIT is the client's")
    void closesFirstWithAFin() throws Exception {
        var server = lab.track(new LineServer(lab.listener()));
        var client = lab.track(ReusingClient.connect(server.address(), Duration.ofSeconds(2)));
        assertThat(client.ask("hello")).as("reply to \"hello\"").isEqualTo("HELLO");
        var clientEnd = server.peers.poll(2, TimeUnit.SECONDS);
        assertThat(clientEnd).as("the client's end of the connection, as the server accepted it").isNotNull();
        long inode = ProcNetTcp.entryOf(clientEnd, server.address()).map(ProcNetTcp.Entry::inode).orElse(0L);

        client.close();

        String ending = server.endings.poll(2, TimeUnit.SECONDS);
        assertThat(ending)
                .withFailMessage("after the client's close(), the server's read() ended with %s: the client must close "
                        + "with a FIN, which the server reads as EOF (-1). An RST (SO_LINGER 0) avoids TIME_WAIT only by "
                        + "aborting the connection.", ending == null ? "nothing within 2 s" : "\"" + ending + "\"")
                .isEqualTo(LineServer.EOF);
        assertThat(inode == 0 ? -1 : Descriptors.fdOf(inode))
                .withFailMessage("the client's socket (socket:[%d]) is still open in /proc/self/fd after close(): the "
                        + "server read EOF (a half-close, shutdownOutput, sends the FIN too), but the descriptor stays "
                        + "allocated until the socket itself is closed", inode)
                .isEqualTo(-1);
        ProcNetTcp.awaitState(clientEnd, server.address(), ProcNetTcp.State.TIME_WAIT, BOUND);
        assertThat(ProcNetTcp.onPort(server.port()).stream().filter(e -> e.state() == ProcNetTcp.State.TIME_WAIT
                        && e.is(new InetSocketAddress(Lab.LOOPBACK, server.port()), clientEnd)))
                .as("TIME_WAIT rows on the server's side of the connection: the client closed first, so none")
                .isEmpty();
    }

    @Test
    @Tag("task:3")
    @DisplayName("ask() is bounded by the timeout: a server that never answers costs a SocketTimeoutException after 150 ms, or 0.5 ms, not a hung client")
    void askIsBoundedByTheTimeout() throws Exception {
        var server = lab.track(new LineServer(lab.listener(), false));

        for (var timeout : List.of(Duration.ofMillis(150), Duration.ofNanos(500_000))) {
            var client = connectWithin(server.address(), timeout);
            var asking = new CompletableFuture<Throwable>();
            Thread thread = Thread.ofVirtual().start(() -> asking.complete(catchThrowable(() -> client.ask("anyone?"))));
            lab.track(thread::interrupt);
            Throwable thrown;
            try {
                thrown = asking.get(2, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                throw new AssertionError("ask() on a client connected with a timeout of %s is still waiting 2 s later, "
                        .formatted(timeout) + Lab.blockedIn(thread.getStackTrace()) + ". The timeout bounds every "
                        + "reply: set it as SO_TIMEOUT" + (timeout.toMillis() == 0 ? " — rounded up to 1 ms, since "
                        + "Duration.toMillis() of 0.5 ms is 0, and SO_TIMEOUT 0 means no bound at all" : "") + ".");
            }
            if (thrown instanceof UnsupportedOperationException notWritten) {
                throw notWritten;
            }
            assertThat(thrown).as("how ask() ends when the server reads the request and never answers, with a "
                    + "timeout of %s", timeout).isInstanceOf(SocketTimeoutException.class);
        }
    }

    @Test
    @Tag("task:3")
    @DisplayName("connect() refuses a null address, port 0 and a timeout that is not positive; ask() refuses a request that is not one line")
    void refusesBadArguments() throws Exception {
        var listener = lab.listener();
        var address = new InetSocketAddress(Lab.LOOPBACK, listener.getLocalPort());

        assertThatIllegalArgumentException().as("connect(null, 1 s)")
                .isThrownBy(() -> lab.track(ReusingClient.connect(null, Duration.ofSeconds(1))))
                .withMessageContaining("null");
        assertThatIllegalArgumentException().as("connect(127.0.0.1:0, 1 s)")
                .isThrownBy(() -> lab.track(ReusingClient.connect(new InetSocketAddress(Lab.LOOPBACK, 0),
                        Duration.ofSeconds(1))))
                .withMessageContaining("0");
        assertThatIllegalArgumentException().as("connect(address, -5 s)")
                .isThrownBy(() -> lab.track(ReusingClient.connect(address, Duration.ofSeconds(-5))))
                .withMessageContaining("-5");
        var client = lab.track(ReusingClient.connect(address, Duration.ofSeconds(1)));
        assertThatIllegalArgumentException().as("ask(\"two\\nlines\"): a line break would end the request early")
                .isThrownBy(() -> client.ask("two\nlines"));
        assertThatIllegalArgumentException().as("ask(\"\\nfirst\"): a line break at the very start ends an empty "
                        + "request, and the server's two replies would fall out of step with the requests")
                .isThrownBy(() -> client.ask("\nfirst"));
        assertThatIllegalArgumentException().as("ask(\"\\rfirst\"): a carriage return at the very start")
                .isThrownBy(() -> client.ask("\rfirst"));
        assertThatIllegalArgumentException().as("ask(null)").isThrownBy(() -> client.ask(null));
    }

    /// ReusingClient.connect with a tiny timeout: on a busy machine even a loopback handshake may miss 1 ms, so a
    /// connect that timed out is tried again (up to five times); the reply's bound is what the test is about.
    private ReusingClient connectWithin(InetSocketAddress server, Duration timeout) throws IOException {
        for (int attempt = 1; ; attempt++) {
            try {
                return lab.track(ReusingClient.connect(server, timeout));
            } catch (SocketTimeoutException slowHandshake) {
                if (attempt == 5) {
                    throw slowHandshake;
                }
            }
        }
    }

    private static long rowsTo(int port) {
        return ProcNetTcp.snapshot().stream().filter(e -> e.remote().getPort() == port).count();
    }

    /// The test's own server for the line protocol: counts the connections it accepts and tells how each one ended.
    static final class LineServer implements AutoCloseable {
        static final String EOF = "EOF";

        final ServerSocket listener;
        final boolean answering;
        final AtomicInteger accepted = new AtomicInteger();
        final BlockingQueue<InetSocketAddress> peers = new LinkedBlockingQueue<>();
        final BlockingQueue<String> endings = new LinkedBlockingQueue<>();
        private final Set<Socket> open = ConcurrentHashMap.newKeySet();

        LineServer(ServerSocket listener) {
            this(listener, true);
        }

        /// A server that reads each request line and, unless `answering`, never replies.
        LineServer(ServerSocket listener, boolean answering) {
            this.listener = listener;
            this.answering = answering;
            Thread.ofVirtual().name("test-line-server").start(() -> {
                while (!listener.isClosed()) {
                    try {
                        Socket s = listener.accept();
                        accepted.incrementAndGet();
                        open.add(s);
                        peers.add((InetSocketAddress) s.getRemoteSocketAddress());
                        Thread.ofVirtual().start(() -> answer(s));
                    } catch (IOException closed) {
                        return;
                    }
                }
            });
        }

        InetSocketAddress address() {
            return new InetSocketAddress(Lab.LOOPBACK, listener.getLocalPort());
        }

        int port() {
            return listener.getLocalPort();
        }

        private void answer(Socket s) {
            try (s) {
                s.setSoTimeout(3_000);
                var in = new BufferedReader(new InputStreamReader(s.getInputStream(), UTF_8));
                String line;
                while ((line = in.readLine()) != null) {
                    if (answering) {
                        s.getOutputStream().write((line.toUpperCase(Locale.ROOT) + "\n").getBytes(UTF_8));
                    }
                }
                endings.add(EOF); // the client's FIN; only now does this server close
            } catch (IOException e) {
                endings.add(String.valueOf(e.getMessage()));
            } finally {
                open.remove(s);
            }
        }

        @Override
        public void close() throws IOException {
            listener.close();
            for (Socket s : open) {
                s.close();
            }
        }
    }
}
