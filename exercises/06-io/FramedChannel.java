import java.io.IOException;
import java.nio.channels.SocketChannel;

/// Chapter 6: messages over a TCP byte stream, each sent as a frame: a 4-byte big-endian signed length, then
/// that many bytes.
///
/// ```
/// +--------+--------+--------+--------+--------------------- ... ---+
/// |   length (int32, network byte order) |  body: `length` bytes      |
/// +--------+--------+--------+--------+--------------------- ... ---+
/// ```
public final class FramedChannel implements AutoCloseable {

    /// Bytes in a frame's header.
    public static final int HEADER_BYTES = 4;

    // TODO(task 1): keep the (blocking) channel and the largest message this side will send or accept.
    //  A null channel, a non-blocking one or a negative maxMessage is an IllegalArgumentException naming it.
    public FramedChannel(SocketChannel channel, int maxMessage) {
    }

    // TODO(task 1): send `message` as one frame, header and body together in a single gathering write, so that
    //  Nagle's algorithm never holds the body back. The length goes first, in network byte order (big-endian:
    //  a 1-byte message starts 00 00 00 01). A message of exactly maxMessage bytes is fine; a longer one is an
    //  IllegalArgumentException naming both sizes, and nothing is written.
    public void send(byte[] message) throws IOException {
        throw new UnsupportedOperationException(
                "Task 1: implement FramedChannel.send (see chapters/06-io/README.adoc, 'Task 1: Send a frame')");
    }

    // TODO(task 2): return the next message, however the bytes of its frame arrive, leaving the bytes of the
    //  next frame for the next call. Return null when the peer closed exactly between two frames.
    //  A length of exactly maxMessage is fine; one that is negative or above maxMessage is a
    //  java.net.ProtocolException naming it, raised before
    //  any buffer of that size exists. EOF inside a frame is an EOFException saying how many bytes were missing;
    //  any other failure (a reset) is an IOException that says so, never a quiet end.
    public byte[] receive() throws IOException {
        throw new UnsupportedOperationException(
                "Task 2: implement FramedChannel.receive (see chapters/06-io/README.adoc, 'Task 2: Receive a frame')");
    }

    // TODO(task 1): close the channel: the peer reads EOF, and the descriptor is released (a half-close is not
    //  enough).
    @Override
    public void close() throws IOException {
        throw new UnsupportedOperationException(
                "Task 1: implement FramedChannel.close (see chapters/06-io/README.adoc, 'Task 1: Send a frame')");
    }
}
