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
    @DisplayName("a 5,000-byte reply to a request that allows 1,000 is a ProtocolException, not 1,000 silently kept bytes")
    void refusesATruncatedReply() throws Exception {
        var server = udp();
        var client = udp();
        respond(server, 1, Map.of(3, 5_000));

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
    }

    @Test
    @Tag("task:4")
    @DisplayName("request() refuses a request above 65,507 bytes, a negative maxReply and a zero timeout, naming each")
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
        assertThat(Arrays.asList(DatagramExchange.MAX_PAYLOAD)).containsExactly(65_507);
    }
}
