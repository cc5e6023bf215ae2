import java.io.IOException;
import java.net.SocketAddress;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.function.UnaryOperator;

/// Chapter 6: one request, one reply over UDP, each a single datagram that arrives whole or not at all.
public final class DatagramExchange {

    /// The largest UDP payload over IPv4: 65,535 (IP total length) − 20 (IP header) − 8 (UDP header).
    public static final int MAX_PAYLOAD = 65_507;

    private DatagramExchange() {
    }

    // TODO(task 4): send `request` to `server` as one datagram and return the reply datagram from `server`,
    //  whole. A reply longer than maxReply is a java.net.ProtocolException, never a silently shortened reply.
    //  No reply within `timeout` is a SocketTimeoutException (UDP may lose either datagram): never wait forever,
    //  also when the timeout is under a millisecond. A datagram from any other address is not the reply: ignore
    //  it and keep waiting (within the same timeout). A request or maxReply above MAX_PAYLOAD, a negative maxReply,
    //  a timeout that is not positive, a missing argument or a channel in non-blocking mode is an
    //  IllegalArgumentException naming it.
    public static byte[] request(DatagramChannel channel, SocketAddress server, byte[] request, int maxReply,
                                 Duration timeout) throws IOException {
        throw new UnsupportedOperationException(
                "Task 4: implement DatagramExchange.request (see chapters/06-io/README.adoc, 'Task 4: Ask and answer over UDP')");
    }

    // TODO(task 4): wait for one datagram on `channel`, answer its sender with handler's reply as one datagram,
    //  and return the sender's address. A request longer than maxRequest is a java.net.ProtocolException and
    //  gets no answer (a request of exactly maxRequest bytes is fine). A maxRequest outside 0..MAX_PAYLOAD, a
    //  missing argument or a channel in non-blocking mode is an IllegalArgumentException naming it.
    public static SocketAddress answerOne(DatagramChannel channel, int maxRequest, UnaryOperator<byte[]> handler)
            throws IOException {
        throw new UnsupportedOperationException(
                "Task 4: implement DatagramExchange.answerOne (see chapters/06-io/README.adoc, 'Task 4: Ask and answer over UDP')");
    }
}
