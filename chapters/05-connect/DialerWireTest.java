import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Instant;
import java.util.Set;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static java.time.Duration.ofMillis;
import static java.time.Duration.ofSeconds;
import static org.assertj.core.api.Assertions.assertThat;

/// Chapter 5 on the wire, graded: what a connect() that nobody answers puts on the wire — seen segment by segment
/// in a private network namespace.
@Tag("connect")
@Tag("05-connect")
@NeedsWire
class DialerWireTest {

    @RegisterExtension
    final Lab lab = new Lab();

    @Test
    @Tag("task:1")
    @DisplayName("an attempt that times out sent SYNs only — the first, and the same SYN again after 1 s — from one port, never an ACK or data")
    void aTimedOutAttemptSentOnlySyns() throws Exception {
        WireRun.play(UnansweredScene.class, Dialer.class, ofSeconds(5));
    }

    /// A listener with backlog 1 and two connections queued drops every further SYN: attempt() hears nothing.
    static final class UnansweredScene implements WireRun.Scene {
        @Override
        public void play(Wire wire) throws Exception {
            var loopback = InetAddress.ofLiteral("127.0.0.1");
            try (var listener = new ServerSocket(0, 1, loopback);
                 var first = new Socket(loopback, listener.getLocalPort());
                 var second = new Socket(loopback, listener.getLocalPort())) {
                int port = listener.getLocalPort();
                var queued = Set.of(first.getLocalPort(), second.getLocalPort());
                Instant start = Instant.now();

                var attempt = Dialer.attempt(new InetSocketAddress(loopback, port), ofMillis(1_500));

                if (attempt instanceof Dialer.Connected connected) {
                    connected.socket().close();
                }
                assertThat(attempt).as("attempt() to a listener whose accept queue is full: Linux drops the SYN, "
                        + "nothing answers, and the 1.5 s timeout runs out").isInstanceOf(Dialer.TimedOut.class);
                var sent = WireRun.segments(wire, start, s -> s.to().getPort() == port && !queued.contains(s.from().getPort()));
                var ports = sent.stream().map(s -> s.from().getPort()).distinct().toList();
                assertThat(ports).as("client ports the attempt sent from: one attempt is one socket and one "
                        + "connect(), whose SYN the kernel re-sends itself — a new socket per retry is the dialer's "
                        + "job, not attempt()'s").hasSize(1);
                assertThat(sent.stream().map(Wire.Segment::kind))
                        .as("what the attempt put on the wire (an unanswered connect() sends its SYN, then the same "
                                + "SYN again after 1 s; nothing else: no ACK without a SYN-ACK, no data, no RST)")
                        .containsOnly("SYN").hasSizeGreaterThanOrEqualTo(2);
                assertThat(sent.stream().map(Wire.Segment::seq).distinct())
                        .as("sequence numbers of those SYNs: a retransmission carries the same ISN").hasSize(1);
            }
        }
    }
}
