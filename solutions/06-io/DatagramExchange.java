import java.io.IOException;
import java.net.DatagramPacket;
import java.net.ProtocolException;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.Arrays;
import java.util.function.UnaryOperator;

/// Chapter 6: one request, one reply over UDP, each a single datagram that arrives whole or not at all.
public final class DatagramExchange {

    /// The largest UDP payload over IPv4: 65,535 (IP total length) − 20 (IP header) − 8 (UDP header).
    public static final int MAX_PAYLOAD = 65_507;

    private DatagramExchange() {
    }

    public static byte[] request(DatagramChannel channel, SocketAddress server, byte[] request, int maxReply,
                                 Duration timeout) throws IOException {
        if (channel == null || server == null || request == null || timeout == null) {
            throw new IllegalArgumentException("channel, server, request and timeout are required");
        }
        if (request.length > MAX_PAYLOAD) {
            throw new IllegalArgumentException("request of %d bytes does not fit in one datagram (max %d)"
                    .formatted(request.length, MAX_PAYLOAD));
        }
        if (maxReply < 0 || maxReply > MAX_PAYLOAD) {
            throw new IllegalArgumentException("maxReply must be 0..%d, got %d".formatted(MAX_PAYLOAD, maxReply));
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
        requireBlocking(channel);
        // sendto(): the whole request is one datagram, or nothing is sent.
        channel.send(ByteBuffer.wrap(request), server);

        // A bounded recvfrom(): UDP may lose the request or the reply, and nobody would ever tell us. (Java's
        // SO_TIMEOUT waits in poll() with a timeout before each recvfrom(); C code would set SO_RCVTIMEO.)
        var socket = channel.socket();
        long deadline = System.nanoTime() + timeout.toNanos();
        // One byte more than allowed: a reply that fills it was larger than maxReply, and the kernel cut it.
        var buffer = new byte[maxReply + 1];
        while (true) {
            long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
            if (System.nanoTime() - deadline >= 0) {
                throw new SocketTimeoutException("no reply from %s within %d ms: UDP may have lost the request or the reply"
                        .formatted(server, timeout.toMillis()));
            }
            socket.setSoTimeout((int) Math.min(left, Integer.MAX_VALUE));
            // A fresh packet for each recvfrom(): the whole buffer, however short a stray datagram before it was.
            var packet = new DatagramPacket(buffer, buffer.length);
            try {
                socket.receive(packet);
            } catch (SocketTimeoutException e) {
                continue; // the loop's deadline check says it in our words
            }
            if (!server.equals(packet.getSocketAddress())) {
                continue; // a stray datagram from someone else is not our reply
            }
            if (packet.getLength() > maxReply) {
                throw new ProtocolException("reply from %s is larger than %d bytes: a datagram bigger than the buffer is cut without a word"
                        .formatted(server, maxReply));
            }
            return Arrays.copyOf(packet.getData(), packet.getLength());
        }
    }

    public static SocketAddress answerOne(DatagramChannel channel, int maxRequest, UnaryOperator<byte[]> handler)
            throws IOException {
        if (channel == null || handler == null) {
            throw new IllegalArgumentException("channel and handler are required");
        }
        if (maxRequest < 0 || maxRequest > MAX_PAYLOAD) {
            throw new IllegalArgumentException("maxRequest must be 0..%d, got %d".formatted(MAX_PAYLOAD, maxRequest));
        }
        requireBlocking(channel);
        var buffer = ByteBuffer.allocate(maxRequest + 1);
        // recvfrom(): one datagram per call, never two glued together, never half of one (unless cut).
        SocketAddress sender = channel.receive(buffer);
        if (buffer.position() > maxRequest) {
            throw new ProtocolException("request from %s is larger than %d bytes; not answered".formatted(sender, maxRequest));
        }
        byte[] reply = handler.apply(Arrays.copyOf(buffer.array(), buffer.position()));
        if (reply.length > MAX_PAYLOAD) {
            throw new IllegalArgumentException("reply of %d bytes does not fit in one datagram (max %d)"
                    .formatted(reply.length, MAX_PAYLOAD));
        }
        channel.send(ByteBuffer.wrap(reply), sender);
        return sender;
    }

    private static void requireBlocking(DatagramChannel channel) {
        // In non-blocking mode receive() returns null at once when no datagram is waiting: there is no reply to
        // wait for, nor a request to answer.
        if (!channel.isBlocking()) {
            throw new IllegalArgumentException("the channel must be in blocking mode");
        }
    }
}
