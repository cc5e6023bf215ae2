import java.io.EOFException;
import java.io.IOException;
import java.net.ProtocolException;
import java.net.SocketException;
import java.nio.ByteBuffer;
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

    private final SocketChannel channel;
    private final int maxMessage;
    private final ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES);

    public FramedChannel(SocketChannel channel, int maxMessage) {
        if (channel == null) {
            throw new IllegalArgumentException("channel is null");
        }
        if (maxMessage < 0) {
            throw new IllegalArgumentException("maxMessage must be >= 0, got " + maxMessage);
        }
        // A non-blocking channel may write or read 0 bytes and return: the loops below would spin.
        if (!channel.isBlocking()) {
            throw new IllegalArgumentException("the channel must be in blocking mode");
        }
        this.channel = channel;
        this.maxMessage = maxMessage;
    }

    public void send(byte[] message) throws IOException {
        if (message == null) {
            throw new IllegalArgumentException("message is null");
        }
        if (message.length > maxMessage) {
            // The peer would refuse the frame anyway; refusing it here keeps the stream in step.
            throw new IllegalArgumentException("message of %d bytes is larger than the maximum of %d bytes"
                    .formatted(message.length, maxMessage));
        }
        var frame = new ByteBuffer[] {ByteBuffer.allocate(HEADER_BYTES).putInt(message.length).flip(),
                ByteBuffer.wrap(message)};
        // writev(): header and body leave in one call, so Nagle never holds the body back waiting for the
        // peer's (delayed) ACK of a lone header. Blocking write() takes all of it; the loop is for the rare
        // short write (a signal), and costs nothing.
        while (frame[0].hasRemaining() || frame[1].hasRemaining()) {
            channel.write(frame);
        }
    }

    public byte[] receive() throws IOException {
        header.clear();
        if (!readFully(header, "header", true)) {
            return null; // EOF exactly between frames: the peer is done, nothing is missing
        }
        int length = header.flip().getInt();
        // Checked before allocating: a hostile or broken peer must not choose how much memory we take.
        if (length < 0 || length > maxMessage) {
            throw new ProtocolException("frame announces %d bytes; the limit is 0..%d bytes"
                    .formatted(length, maxMessage));
        }
        var body = ByteBuffer.allocate(length);
        readFully(body, "%d-byte message".formatted(length), false);
        return body.array();
    }

    /// Reads until `buffer` is full; false if EOF came before its first byte and `eofFirstIsClean`.
    private boolean readFully(ByteBuffer buffer, String what, boolean eofFirstIsClean) throws IOException {
        while (buffer.hasRemaining()) {
            int n;
            try {
                n = channel.read(buffer); // 1..remaining bytes: whatever has arrived, never "a message"
            } catch (IOException e) {
                // e's own words ("java.net.SocketException: Connection reset") say what ended the stream.
                throw new SocketException("%s while reading a %s, %d of %d bytes in"
                        .formatted(e, what, buffer.position(), buffer.capacity()), e);
            }
            if (n < 0) {
                if (buffer.position() == 0 && eofFirstIsClean) {
                    return false;
                }
                throw new EOFException("the peer closed the connection in the middle of a %s: %d of %d bytes received, %d missing"
                        .formatted(what, buffer.position(), buffer.capacity(), buffer.remaining()));
            }
        }
        return true;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
