import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static java.time.Duration.ofSeconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/// Chapter 2, graded: a restart binds its port despite TIME_WAIT with SO_REUSEADDR and fails without it; live
/// listeners share a port only with SO_REUSEPORT.
@Tag("bind")
@Tag("02-bind")
class PortReuseTest {

    @RegisterExtension
    final Lab lab = new Lab();

    @Test
    @NeedsProc
    @Tag("task:2")
    @DisplayName("REUSE_ADDRESS: a restarted listener binds its port while the old server's connection is in TIME_WAIT")
    void reuseAddressRestartsDespiteTimeWait() throws Exception {
        var timeWait = timeWaitOnServerPort();
        var restarted = lab.track(ServerSocketChannel.open());

        PortReuse.REUSE_ADDRESS.applyTo(restarted);

        assertThatCode(() -> restarted.bind(new InetSocketAddress(Lab.LOOPBACK, timeWait.port()), 50))
                .as("bind(127.0.0.1:%d) after REUSE_ADDRESS, with %s still in TIME_WAIT on that port: SO_REUSEADDR "
                        + "is what lets a server restart here", timeWait.port(), timeWait)
                .doesNotThrowAnyException();
    }

    @Test
    @NeedsProc
    @Tag("task:2")
    @DisplayName("REUSE_ADDRESS turns SO_REUSEADDR on where Java left it off: a client socket (SocketChannel) binds "
            + "over a TIME_WAIT too")
    void reuseAddressOnAClientSocketBindsDespiteTimeWait() throws Exception {
        var client = lab.track(SocketChannel.open()); // Java opens a SocketChannel with SO_REUSEADDR off
        PortReuse.REUSE_ADDRESS.applyTo(client);
        var timeWait = timeWaitOnServerPort();

        assertThatCode(() -> client.bind(new InetSocketAddress(Lab.LOOPBACK, timeWait.port())))
                .as("bind(127.0.0.1:%d) of a SocketChannel after REUSE_ADDRESS, with %s in TIME_WAIT on that port. "
                        + "Java turns SO_REUSEADDR on for listeners only: a policy that relies on Java's default leaves "
                        + "a client socket without it", timeWait.port(), timeWait)
                .doesNotThrowAnyException();
    }

    @Test
    @Tag("task:2")
    @DisplayName("applyTo(null) is an IllegalArgumentException: there is no socket to set options on")
    void applyToRefusesANullSocket() {
        assertThatIllegalArgumentException().as("REUSE_ADDRESS.applyTo(null)")
                .isThrownBy(() -> PortReuse.REUSE_ADDRESS.applyTo(null));
    }

    @Test
    @NeedsProc
    @Tag("task:2")
    @DisplayName("STRICT: the same restart fails with EADDRINUSE while TIME_WAIT holds the port")
    void strictRestartFailsWhileTimeWaitHoldsThePort() throws Exception {
        var timeWait = timeWaitOnServerPort();
        var restarted = lab.track(ServerSocketChannel.open());

        PortReuse.STRICT.applyTo(restarted);

        assertThatExceptionOfType(BindException.class)
                .as("bind(127.0.0.1:%d) after STRICT, with %s in TIME_WAIT on that port. Java opened this channel "
                        + "with SO_REUSEADDR already on (as every ServerSocket on Linux): STRICT must turn it off",
                        timeWait.port(), timeWait)
                .isThrownBy(() -> restarted.bind(new InetSocketAddress(Lab.LOOPBACK, timeWait.port()), 50))
                .withMessageContaining("Address already in use");
    }

    @Test
    @NeedsProc
    @Tag("task:2")
    @DisplayName("a STRICT server's TIME_WAIT blocks even a REUSE_ADDRESS restart: the old socket must have had SO_REUSEADDR too")
    void aStrictServersTimeWaitBlocksEveryRestart() throws Exception {
        var old = lab.track(ServerSocketChannel.open());
        PortReuse.STRICT.applyTo(old);
        var timeWait = timeWaitOnServerPort(old);
        var restarted = lab.track(ServerSocketChannel.open());

        PortReuse.REUSE_ADDRESS.applyTo(restarted);

        assertThatExceptionOfType(BindException.class)
                .as("bind(127.0.0.1:%d) after REUSE_ADDRESS, over %s left by a STRICT server. Linux copies "
                        + "SO_REUSEADDR into the TIME_WAIT, and forgives it only when both sockets have it",
                        timeWait.port(), timeWait)
                .isThrownBy(() -> restarted.bind(new InetSocketAddress(Lab.LOOPBACK, timeWait.port()), 50));
    }

    @Test
    @Tag("task:2")
    @DisplayName("REUSE_ADDRESS is not port sharing: a second live listener on the port still gets EADDRINUSE")
    void reuseAddressDoesNotShareALiveListenersPort() throws Exception {
        var first = lab.track(ServerSocketChannel.open());
        PortReuse.REUSE_ADDRESS.applyTo(first);
        first.bind(new InetSocketAddress(Lab.LOOPBACK, 0), 50);
        int port = ((InetSocketAddress) first.getLocalAddress()).getPort();
        var second = lab.track(ServerSocketChannel.open());

        PortReuse.REUSE_ADDRESS.applyTo(second);

        assertThatExceptionOfType(BindException.class)
                .as("a second REUSE_ADDRESS listener binding 127.0.0.1:%d while the first listens: SO_REUSEADDR "
                        + "forgives TIME_WAIT, not a live listener (that would be SO_REUSEPORT)", port)
                .isThrownBy(() -> second.bind(new InetSocketAddress(Lab.LOOPBACK, port), 50));
    }

    @Test
    @Tag("task:2")
    @DisplayName("SHARE_PORT: two listeners bind one port, and the kernel spreads clients over both of them")
    void sharePortSpreadsClientsOverListeners() throws Exception {
        assumeTrue(System.getProperty("os.name").startsWith("Linux"),
                "spreading connections over SO_REUSEPORT listeners is Linux behaviour");
        var one = lab.track(SocketBinder.listen(Lab.LOOPBACK, 0, PortReuse.SHARE_PORT, 50));
        int port = ((InetSocketAddress) one.getLocalAddress()).getPort();
        ServerSocketChannel two;
        try {
            two = lab.track(SocketBinder.listen(Lab.LOOPBACK, port, PortReuse.SHARE_PORT, 50));
        } catch (BindException e) {
            throw new AssertionError(("a second SHARE_PORT listener on 127.0.0.1:%d failed with EADDRINUSE while the "
                    + "first listens: both need SO_REUSEPORT, set before bind() — the kernel looks at the options "
                    + "when the address is taken, not later").formatted(port), e);
        }
        int clients = 24;

        for (int i = 0; i < clients; i++) {
            lab.connect(port); // the kernel completes each handshake and queues it on one of the two listeners
        }

        one.configureBlocking(false); // accept() then returns null instead of waiting when a queue is empty
        two.configureBlocking(false);
        var accepted = new int[2];
        await("%d connections accepted from the two listeners of port %d".formatted(clients, port))
                .atMost(ofSeconds(2)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(5))
                .until(() -> (accepted[0] += drain(one)) + (accepted[1] += drain(two)) == clients);
        assertThat(accepted).as("connections each listener's accept() returned; with SO_REUSEPORT the kernel hashes "
                + "every new connection to one listener's queue, so each gets a share").doesNotContain(0);
    }

    private int drain(ServerSocketChannel listener) throws IOException {
        int taken = 0;
        for (SocketChannel c; (c = listener.accept()) != null; taken++) {
            lab.track(c);
        }
        return taken;
    }

    /// A TIME_WAIT left on a loopback server port that nobody listens on any more.
    record TimeWait(int port, SocketAddress server, SocketAddress client) {
        @Override
        public String toString() {
            return "the connection " + server + " -> " + client;
        }
    }

    /// The server closes first, so the server side is the active closer and its port holds TIME_WAIT (60 s).
    private TimeWait timeWaitOnServerPort() throws IOException {
        return timeWaitOnServerPort(lab.track(ServerSocketChannel.open())); // Java's default: SO_REUSEADDR on
    }

    /// Same, from a listener the test configured but has not bound yet.
    private TimeWait timeWaitOnServerPort(ServerSocketChannel old) throws IOException {
        try (old) {
            old.bind(new InetSocketAddress(Lab.LOOPBACK, 0), 1);
            Socket client = lab.connect(old.getLocalAddress());
            client.setSoTimeout(2_000);
            SocketAddress server;
            try (var served = lab.track(old.accept())) { // the connection is queued already: accept() returns at once
                server = served.getLocalAddress();
            } // served.close(): the server's FIN goes first
            assertThat(client.getInputStream().read()).as("the client's read after the server closed (EOF)").isEqualTo(-1);
            var timeWait = new TimeWait(client.getPort(), server, client.getLocalSocketAddress());
            client.close();
            ProcNetTcp.awaitState(timeWait.server(), timeWait.client(), ProcNetTcp.State.TIME_WAIT, ofSeconds(2));
            return timeWait;
        } // and the old listener is gone: only the TIME_WAIT holds the port now
    }

}
