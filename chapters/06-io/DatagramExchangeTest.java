import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.catchThrowable;

/// Chapter 6, graded: UDP keeps message boundaries — each datagram arrives whole and alone, or not at all.
@Tag("io")
@Tag("06-io")
class DatagramExchangeTest {

    private static final Duration WAIT = Duration.ofSeconds(2);

    @RegisterExtension
    final Lab lab = new Lab();

    private DatagramChannel udp() throws IOException {
        var channel = lab.track(DatagramChannel.open(StandardProtocolFamily.INET));
        channel.bind(new InetSocketAddress(Lab.LOOPBACK, 0));
        channel.setOption(StandardSocketOptions.SO_RCVBUF, 1 << 20); // room for several 64 KB datagrams in a row
        return channel;
    }

    /// Answers `count` datagrams with a reply of the size `replySizes` gives for the request's size.
    private static CompletableFuture<Void> respond(DatagramChannel server, int count, Map<Integer, Integer> replySizes) {
        return CompletableFuture.runAsync(() -> {
            var buffer = ByteBuffer.allocate(65_536);
            try {
                for (int i = 0; i < count; i++) {
                    SocketAddress from = server.receive(buffer.clear());
                    server.send(ByteBuffer.wrap(Bytes.random(replySizes.get(buffer.position()), replySizes.get(buffer.position()))), from);
                }
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }, task -> Thread.ofVirtual().start(task));
    }

    @Test
    @Tag("task:4")
    @DisplayName("requests of 1, 100, 5,000 and 65,507 bytes each get their whole reply (65,507, 5,000, 1, 100 bytes) as one datagram")
    void repliesArriveWhole() throws Exception {
        var server = udp();
        var client = udp();
        var sizes = Map.of(1, 65_507, 100, 5_000, 5_000, 1, 65_507, 100);
        var responder = respond(server, 4, sizes);

        for (int size : List.of(1, 100, 5_000, 65_507)) {
            byte[] reply = DatagramExchange.request(client, server.getLocalAddress(), Bytes.random(size, size), 65_507, WAIT);
            assertThat(reply).as("reply to the %d-byte request: one datagram of %d bytes, whole", size, sizes.get(size))
                    .isEqualTo(Bytes.random(sizes.get(size), sizes.get(size)));
        }
        responder.get(2, TimeUnit.SECONDS);
    }

    @Test
    @Tag("task:4")
    @DisplayName("answerOne() takes datagrams of 5,000, 1 and 65,507 bytes sent back to back one at a time, whole, and answers each sender")
    void answersEachDatagramWholeAndAlone() throws Exception {
        var server = udp();
        var client = udp();
        var sizes = List.of(5_000, 1, 65_507);
        for (int size : sizes) {
            client.send(ByteBuffer.wrap(Bytes.random(size, size)), server.getLocalAddress());
        }

        var seen = new ArrayList<byte[]>();
        var senders = new ArrayList<SocketAddress>();
        for (int i = 0; i < sizes.size(); i++) {
            senders.add(DatagramExchange.answerOne(server, DatagramExchange.MAX_PAYLOAD, request -> {
                seen.add(request);
                return ByteBuffer.allocate(4).putInt(request.length).array();
            }));
        }
        var replies = new ArrayList<Integer>();
        var buffer = ByteBuffer.allocate(100);
        for (int i = 0; i < sizes.size(); i++) {
            client.receive(buffer.clear());
            replies.add(buffer.flip().getInt());
        }

        assertThat(seen.stream().map(b -> b.length).toList())
                .as("sizes of the requests answerOne() handed to the handler, for three datagrams sent back to back")
                .containsExactlyElementsOf(sizes);
        for (int i = 0; i < sizes.size(); i++) {
            assertThat(seen.get(i)).as("content of datagram %d", i + 1).isEqualTo(Bytes.random(sizes.get(i), sizes.get(i)));
        }
        assertThat(senders).as("addresses answerOne() returned: the client's, taken from recvfrom()")
                .containsOnly(client.getLocalAddress());
        assertThat(replies).as("the replies the client received, each a datagram of its own").containsExactlyElementsOf(sizes);
    }

    @Test
    @Tag("task:4")
    @DisplayName("an empty datagram is a message too: answerOne() with maxRequest 0 answers an empty request, and request() with maxReply 0 takes the empty reply")
    void carriesEmptyDatagrams() throws Exception {
        var server = udp();
        var client = udp();
        var answering = new CompletableFuture<Object>();
        Thread answerer = Thread.ofVirtual().start(() -> {
            try {
                answering.complete(DatagramExchange.answerOne(server, 0, request -> new byte[0]));
            } catch (Throwable t) {
                answering.complete(t);
            }
        });
        lab.track(answerer::interrupt);

        byte[] reply = DatagramExchange.request(client, server.getLocalAddress(), new byte[0], 0, WAIT);

        assertThat(answering.get(2, TimeUnit.SECONDS))
                .as("what answerOne(maxRequest 0) ended with, for an empty datagram (UDP carries a datagram of 0 "
                        + "bytes: a maximum of 0 is allowed, only a negative one is not): the client's address")
                .isEqualTo(client.getLocalAddress());
        assertThat(reply).as("the reply request(maxReply 0) returned for the server's empty datagram").isEmpty();
    }

    @Test
    @Tag("task:4")
    @DisplayName("answerOne() sends a reply of exactly 65,507 bytes, the most one IPv4 datagram carries, whole")
    void sendsAReplyOfTheLargestPayload() throws Exception {
        var server = udp();
        var client = udp();
        client.send(ByteBuffer.wrap(new byte[] {7}), server.getLocalAddress());

        DatagramExchange.answerOne(server, 10, request -> Bytes.random(DatagramExchange.MAX_PAYLOAD, 7));
        client.socket().setSoTimeout(2_000);
        var reply = ByteBuffer.allocate(65_536);
        client.receive(reply);

        assertThat(reply.flip().remaining())
                .as("bytes of the reply the client received: a reply of exactly 65,507 bytes fits in one datagram "
                        + "(65,535 − 20 IP − 8 UDP) and must be sent, only a larger one is refused")
                .isEqualTo(DatagramExchange.MAX_PAYLOAD);
        assertThat(Arrays.copyOf(reply.array(), reply.remaining())).as("its content")
                .isEqualTo(Bytes.random(DatagramExchange.MAX_PAYLOAD, 7));
    }

    @Test
    @Tag("task:4")
    @DisplayName("a reply of exactly maxReply (1,000 bytes) comes back whole; a 5,000-byte one is a ProtocolException, not 1,000 silently kept bytes")
    void refusesATruncatedReply() throws Exception {
        var server = udp();
        var client = udp();
        respond(server, 2, Map.of(4, 1_000, 3, 5_000));

        byte[] exact = DatagramExchange.request(client, server.getLocalAddress(), new byte[4], 1_000, WAIT);
        assertThat(exact).as("a reply of exactly maxReply, 1000 bytes: allowed, and whole")
                .isEqualTo(Bytes.random(1_000, 1_000));
        var reply = new byte[1][];
        Throwable thrown = catchThrowable(
                () -> reply[0] = DatagramExchange.request(client, server.getLocalAddress(), new byte[3], 1_000, WAIT));

        if (thrown == null) {
            throw new AssertionError(("request() returned a %d-byte reply, but the server sent 5000 bytes: the kernel "
                    + "cut the datagram to the buffer and said nothing. Receive into one byte more than maxReply: if "
                    + "that byte fills, the reply was too long.").formatted(reply[0] == null ? -1 : reply[0].length));
        }
        assertThat(thrown)
                .as("request() with maxReply 1000, answered by a 5000-byte datagram: the kernel cuts a datagram to "
                        + "the buffer in silence, so code must ask for one byte more to notice")
                .isInstanceOf(ProtocolException.class)
                .hasMessageContaining("1000");
    }

    @Test
    @Tag("task:4")
    @DisplayName("with no reply (UDP may lose it), request() gives up with SocketTimeoutException after its timeout")
    void timesOutWithoutAReply() throws Exception {
        var silent = udp();
        var client = udp();

        long t0 = System.nanoTime();
        Throwable thrown = catchThrowable(() -> DatagramExchange.request(client, silent.getLocalAddress(), new byte[10],
                100, Duration.ofMillis(200)));
        long millis = (System.nanoTime() - t0) / 1_000_000;

        assertThat(thrown).as("request() to a UDP socket that never answers").isInstanceOf(SocketTimeoutException.class);
        assertThat(millis).as("ms request() waited, with a 200 ms timeout").isBetween(150L, 2_000L);

        var waiting = new CompletableFuture<Throwable>();
        Thread asking = Thread.ofVirtual().start(() -> waiting.complete(catchThrowable(() -> DatagramExchange.request(
                client, silent.getLocalAddress(), new byte[10], 100, Duration.ofNanos(500_000)))));
        lab.track(asking::interrupt);
        Throwable subMillisecond;
        try {
            subMillisecond = waiting.get(2, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("request() with a timeout of 0.5 ms was still waiting 2 s later, "
                    + Lab.blockedIn(asking.getStackTrace()) + ". Duration.toMillis() of 0.5 ms is 0, and SO_TIMEOUT 0 "
                    + "means no bound at all: round a positive timeout under a millisecond up to 1 ms.");
        }
        assertThat(subMillisecond).as("request() with a timeout of 0.5 ms to a UDP socket that never answers: a "
                + "timeout under a millisecond is still a bound").isInstanceOf(SocketTimeoutException.class);
    }

    @Test
    @Tag("task:4")
    @DisplayName("a datagram from a stranger that arrives first is not the reply: request() ignores it and returns the server's")
    void ignoresADatagramFromAStranger() throws Exception {
        var server = udp();
        var client = udp();
        var stranger = udp();
        stranger.send(ByteBuffer.wrap("not your reply".getBytes()), client.getLocalAddress());
        respond(server, 1, Map.of(3, 20));

        byte[] reply = DatagramExchange.request(client, server.getLocalAddress(), new byte[3], 100, WAIT);

        assertThat(reply)
                .as("what request() to %s returned, when a datagram from %s was waiting first in the client's "
                        + "queue: UDP takes datagrams from anyone, so only one whose source address is the server's "
                        + "is the reply (recvfrom() says who sent it)", server.getLocalAddress(), stranger.getLocalAddress())
                .isEqualTo(Bytes.random(20, 20));
    }

    @Test
    @Tag("task:4")
    @DisplayName("answerOne() refuses a 101-byte request when maxRequest is 100 (ProtocolException, no answer) and answers one of exactly 100 bytes")
    void refusesAnOversizedRequestWithoutAnswering() throws Exception {
        var server = udp();
        var client = udp();
        client.send(ByteBuffer.wrap(Bytes.pattern(101)), server.getLocalAddress());
        client.send(ByteBuffer.wrap(Bytes.pattern(100)), server.getLocalAddress());
        var handled = new ArrayList<Integer>();
        UnaryOperator<byte[]> sizeOf = request -> {
            handled.add(request.length);
            return ByteBuffer.allocate(4).putInt(request.length).array();
        };

        assertThatExceptionOfType(ProtocolException.class)
                .as("answerOne(maxRequest 100) for a 101-byte datagram: received into 100 bytes, it would be cut in "
                        + "silence, so receive into one byte more and refuse it when that byte fills")
                .isThrownBy(() -> DatagramExchange.answerOne(server, 100, sizeOf))
                .withMessageContaining("100");
        SocketAddress sender = DatagramExchange.answerOne(server, 100, sizeOf);
        client.socket().setSoTimeout(2_000);
        var reply = ByteBuffer.allocate(100);
        client.receive(reply);

        assertThat(handled).as("sizes of the requests handed to the handler: the refused one never is").containsExactly(100);
        assertThat(sender).as("the sender answerOne() returned").isEqualTo(client.getLocalAddress());
        assertThat(reply.flip().getInt())
                .as("the first reply the client receives: the answer to the 100-byte request, since the 101-byte one "
                        + "got none (an answer to a cut request would say 100 too, and come first)")
                .isEqualTo(100);
        assertThat(reply.hasRemaining()).as("bytes after the 4-byte reply").isFalse();
        client.configureBlocking(false);
        assertThat(client.receive(reply.clear())).as("a second reply waiting for the client: none, one request was refused")
                .isNull();
    }

    @Test
    @Tag("task:4")
    @DisplayName("request() and answerOne() refuse sizes above 65,507 bytes, negative ones, a zero timeout and a non-blocking channel, naming each")
    void refusesBadArguments() throws Exception {
        var client = udp();
        var server = udp().getLocalAddress();

        assertThatIllegalArgumentException().as("a 65,508-byte request: more than one IPv4 datagram can carry")
                .isThrownBy(() -> DatagramExchange.request(client, server, new byte[65_508], 10, WAIT))
                .withMessageContaining("65508");
        assertThatIllegalArgumentException().as("maxReply -1")
                .isThrownBy(() -> DatagramExchange.request(client, server, new byte[1], -1, WAIT))
                .withMessageContaining("-1");
        assertThatIllegalArgumentException().as("timeout 0")
                .isThrownBy(() -> DatagramExchange.request(client, server, new byte[1], 10, Duration.ZERO))
                .withMessageContaining("PT0S");
        var nonBlocking = udp();
        nonBlocking.configureBlocking(false);
        assertThatIllegalArgumentException().as("request() on a channel in non-blocking mode: its receive() returns "
                        + "null at once, so there would be no reply to wait for")
                .isThrownBy(() -> DatagramExchange.request(nonBlocking, server, new byte[1], 10, WAIT))
                .withMessageContaining("blocking");
        assertThatIllegalArgumentException().as("answerOne() on a channel in non-blocking mode")
                .isThrownBy(() -> DatagramExchange.answerOne(nonBlocking, 10, r -> r))
                .withMessageContaining("blocking");
        assertThatIllegalArgumentException().as("answerOne(maxRequest -1)")
                .isThrownBy(() -> DatagramExchange.answerOne(client, -1, r -> r))
                .withMessageContaining("-1");
        assertThatIllegalArgumentException().as("answerOne(maxRequest 65,508): above what one datagram can carry")
                .isThrownBy(() -> DatagramExchange.answerOne(client, 65_508, r -> r))
                .withMessageContaining("65508");
        assertThatIllegalArgumentException().as("answerOne(handler null)")
                .isThrownBy(() -> DatagramExchange.answerOne(client, 10, null))
                .withMessageContaining("handler");
        assertThat(Arrays.asList(DatagramExchange.MAX_PAYLOAD)).containsExactly(65_507);
    }
}
