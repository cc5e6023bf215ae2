import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static java.time.Duration.ofMillis;
import static java.time.Duration.ofSeconds;
import static org.assertj.core.api.Assertions.assertThat;

/// Chapter 3 on the wire, graded: what a full accept queue does to the next client's SYN — seen segment by segment
/// in a private network namespace.
@Tag("listen")
@Tag("03-listen")
@NeedsWire
class ListenQueueWireTest {

    @RegisterExtension
    final Lab lab = new Lab();

    @Test
    @Tag("task:3")
    @DisplayName("no SYN-ACK while the accept queue is full: the SYN of the client fill() gave up on was dropped, sent again after 1 s, and never answered")
    void aFullQueueDropsTheSyn() throws Exception {
        WireRun.play(FullQueueScene.class, ListenQueue.class, ofSeconds(5));
    }

    /// A listener with backlog 1 holds two connections; fill() with a 1.5 s connect timeout stops at the third.
    static final class FullQueueScene implements WireRun.Scene {
        @Override
        public void play(Wire wire) throws Exception {
            var loopback = InetAddress.ofLiteral("127.0.0.1");
            try (var listener = new ServerSocket(0, 1, loopback)) {
                int port = listener.getLocalPort();
                Instant start = Instant.now();

                List<Socket> in = ListenQueue.fill(new InetSocketAddress(loopback, port), ofMillis(1_500), 10);

                try {
                    var segments = WireRun.segments(wire, start, s -> s.to().getPort() == port || s.from().getPort() == port);
                    // per client port: what it sent (SYN, ACK, …) and whether the listener ever answered its SYN
                    Map<Integer, List<String>> syns = new TreeMap<>();
                    for (var s : segments) {
                        if (s.to().getPort() == port && s.is(Wire.SYN) && !s.is(Wire.ACK)) {
                            syns.computeIfAbsent(s.from().getPort(), p -> new java.util.ArrayList<>()).add(s.kind());
                        }
                    }
                    var answered = segments.stream().filter(s -> s.from().getPort() == port && s.is(Wire.SYN | Wire.ACK))
                            .map(s -> s.to().getPort()).collect(Collectors.toSet());
                    var unanswered = syns.keySet().stream().filter(p -> !answered.contains(p)).toList();

                    assertThat(in).as("clients fill() got in: a listener with backlog 1 holds backlog + 1 = 2 "
                            + "completed connections, and the third connect() times out").hasSize(2);
                    assertThat(answered).as("client ports the listener answered with a SYN-ACK: one per client that "
                            + "got in, none for the one that did not").hasSize(2);
                    assertThat(unanswered)
                            .withFailMessage("expected exactly one client whose SYN got no SYN-ACK — the one that found "
                                    + "the queue full — but the clients' SYNs were %s and SYN-ACKs went to %s",
                                    syns, answered)
                            .hasSize(1);
                    int dropped = unanswered.getFirst();
                    assertThat(syns.get(dropped).size())
                            .withFailMessage("the client on port %d sent its SYN once only, then gave up: Linux drops "
                                    + "a SYN that finds the accept queue full and the client re-sends it after 1 s (its "
                                    + "first retransmission timeout). fill() was given a 1.5 s connect timeout: did its "
                                    + "connect() wait less than that?", dropped)
                            .isGreaterThanOrEqualTo(2);
                    assertThat(segments.stream().filter(s -> s.from().getPort() == dropped && !s.is(Wire.SYN)).map(Wire.Segment::kind))
                            .as("what the client that did not get in sent besides SYNs (nothing: a connect() that "
                                    + "times out in SYN_SENT just stops)").isEmpty();
                } finally {
                    for (Socket s : in) {
                        s.close();
                    }
                }
            }
        }
    }
}
