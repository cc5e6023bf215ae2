import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static java.time.Duration.ofSeconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/// Chapter 7 on the wire, graded: what the client's close() and abort() put on the wire — a FIN after the last
/// byte, or an RST — seen segment by segment in a private network namespace.
@Tag("close")
@Tag("07-close")
@NeedsWire
class ReverseClientWireTest {

    private static final Duration SCENE = ofSeconds(4);

    @RegisterExtension
    final Lab lab = new Lab();

    @Test
    @Tag("task:1")
    @DisplayName("close() sends FIN first, right after the request's last byte: the client is the active closer, and no RST follows")
    void closeSendsFinFirst() throws Exception {
        WireRun.play(CloseScene.class, ReverseClient.class, SCENE);
    }

    @Test
    @Tag("task:3")
    @DisplayName("abort() sends RST, not FIN: the client's last segment is a reset, and no FIN ever leaves it")
    void abortSendsRstNotFin() throws Exception {
        WireRun.play(AbortScene.class, ReverseClient.class, SCENE);
    }

    /// The client sends 9 bytes and closes; the server has not closed, so the first FIN must be the client's.
    static final class CloseScene extends EndingScene {
        CloseScene() {
            super("no finish");
        }

        @Override
        void end(ReverseClient client) throws Exception {
            client.close();
        }

        @Override
        void judge(Wire wire, Ending ending) {
            if (ending.first().isEmpty()) {
                fail("expected the client's close() to send FIN, but within 2 s the client sent no FIN and no "
                        + "RST at all (its segments: %s): close() left the connection open. Close the socket "
                        + "itself, not only its streams' buffers.", kinds(ending.sent()));
            }
            var first = ending.first().get();
            assertThat(first.kind())
                    .withFailMessage("expected the client's close() to send FIN, but the first segment after the "
                            + "data was %s — did you set SO_LINGER 0? An RST is abort()'s: it throws away what "
                            + "is queued and the server reads 'Connection reset' instead of the end of the "
                            + "request. (The client's segments: %s)", first.kind(), kinds(ending.sent()))
                    .isIn("FIN", "data+FIN");
            long before = ending.sent().stream().filter(s -> !s.at().isAfter(first.at()))
                    .mapToLong(Wire.Segment::length).sum();
            assertThat(before).as("bytes of data the client sent up to and with its FIN: close() sends FIN "
                    + "after the pending data, so the 9 bytes of \"no finish\" come first").isEqualTo(9);
            // The server's kernel acknowledges the FIN at once; a reset after it would mean the client
            // turned its close into an abort after all.
            wire.await(first.at(), s -> s.from().getPort() == ending.port() && s.to().getPort() == ending.clientPort()
                    && s.is(Wire.ACK) && s.ack() == ((first.seq() + first.span()) & 0xFFFF_FFFFL), ofSeconds(2));
            var after = WireRun.segments(wire, first.at(), s -> s.from().getPort() == ending.clientPort() && s.is(Wire.RST));
            assertThat(after)
                    .withFailMessage("expected the client's close() to end in order, but an RST followed its FIN "
                            + "— was SO_LINGER 0 set before the close, after a shutdownOutput()? The reset throws "
                            + "away what the server still sends, and the TIME_WAIT that guards the end of the "
                            + "connection with it. (The client's segments: %s)",
                            kinds(WireRun.segments(wire, ending.start(), ending.fromClient())))
                    .isEmpty();
        }
    }

    /// The client sends part of a request and aborts: an RST must be all that ends it.
    static final class AbortScene extends EndingScene {
        AbortScene() {
            super("half a requ");
        }

        @Override
        void end(ReverseClient client) throws Exception {
            client.abort();
        }

        @Override
        void judge(Wire wire, Ending ending) {
            if (ending.first().isEmpty()) {
                fail("expected the client's abort() to send RST, but within 2 s the client sent neither RST "
                        + "nor FIN (its segments: %s): abort() left the connection open. It must close the "
                        + "socket, with SO_LINGER 0 set first.", kinds(ending.sent()));
            }
            var first = ending.first().get();
            assertThat(first.kind())
                    .withFailMessage("expected the client's abort() to send RST, but the first segment after the "
                            + "data was %s — an orderly close: the server reads -1 as if the request were "
                            + "complete, and the client is left in TIME_WAIT. Set SO_LINGER 0 (setSoLinger(true, "
                            + "0)) before close(). (The client's segments: %s)", first.kind(), kinds(ending.sent()))
                    .isEqualTo("RST");
            assertThat(kinds(ending.sent())).as("the client's segments, in order: no FIN at all, before or after the "
                    + "RST (shutdownOutput() or an orderly close first sends one)").doesNotContain("FIN");
        }

        @Override
        void release(ReverseClient client) throws Exception {
            client.close(); // already closed by abort(): the descriptor is released either way
        }
    }

    /// How a connection the client ended looked on the wire: its first FIN or RST (none if it sent neither within
    /// 2 s), and every segment it sent from the start.
    record Ending(int port, int clientPort, Instant start, Optional<Wire.Segment> first, List<Wire.Segment> sent) {
        Predicate<Wire.Segment> fromClient() {
            return fromClient(clientPort, port);
        }

        static Predicate<Wire.Segment> fromClient(int clientPort, int port) {
            return s -> s.from().getPort() == clientPort && s.to().getPort() == port;
        }
    }

    /// The client connects to a listener in the namespace, sends `request` and ends the connection with
    /// {@link #end}; {@link #judge} then reads how it ended, while the server's side is still open.
    abstract static class EndingScene implements WireRun.Scene {
        private final String request;

        EndingScene(String request) {
            this.request = request;
        }

        abstract void end(ReverseClient client) throws Exception;

        abstract void judge(Wire wire, Ending ending);

        /// What the scene does with the client once judged (nothing: end() has closed it).
        void release(ReverseClient client) throws Exception {
        }

        @Override
        public final void play(Wire wire) throws Exception {
            var loopback = InetAddress.ofLiteral("127.0.0.1");
            try (var listener = new ServerSocket(0, 50, loopback)) {
                listener.setSoTimeout(2_000);
                int port = listener.getLocalPort();
                Instant start = Instant.now();
                var client = ReverseClient.connect(loopback, port, ofSeconds(2));
                try (var server = listener.accept()) {
                    client.send(request.getBytes(StandardCharsets.US_ASCII));

                    end(client);

                    var fromClient = Ending.fromClient(server.getPort(), port);
                    var first = wire.await(start, s -> fromClient.test(s) && (s.is(Wire.FIN) || s.is(Wire.RST)), ofSeconds(2));
                    judge(wire, new Ending(port, server.getPort(), start, first.map(Wire.Seen::segment),
                            WireRun.segments(wire, start, fromClient)));
                } finally {
                    release(client);
                }
            }
        }
    }

    /// The client's segments as their kinds, in order: `SYN, ACK, data, RST`.
    private static String kinds(List<Wire.Segment> segments) {
        return segments.stream().map(Wire.Segment::kind).collect(Collectors.joining(", "));
    }
}
