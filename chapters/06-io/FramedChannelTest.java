import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/// Chapter 6, graded: a length-prefixed message channel over a TCP byte stream — one write per frame, read-fully
/// loops, and lengths checked before they cost memory.
@Tag("io")
@Tag("06-io")
class FramedChannelTest {

    private static final int MAX = 1 << 20;

    @RegisterExtension
    final Lab lab = new Lab();

    /// The two ends of one loopback connection: the learner's channel on one side, a plain socket on the other.
    record Pair(SocketChannel channel, Socket peer) {
    }

    private ServerSocketChannel listener() throws IOException {
        var listener = lab.track(ServerSocketChannel.open());
        listener.bind(new InetSocketAddress(Lab.LOOPBACK, 0));
        return listener;
    }

    /// A SocketChannel accepted from `listener` after a plain Socket connected to `port` (the listener's, or a relay's).
    private Pair acceptFrom(ServerSocketChannel listener, int port) throws IOException {
        var peer = lab.connect(port);
        peer.setSoTimeout(3_000);
        return new Pair(lab.track(listener.accept()), peer);
    }

    private static byte[] frame(int length, byte[] body) {
        return ByteBuffer.allocate(4 + body.length).putInt(length).put(body).array();
    }

    private static byte[] frame(byte[] body) {
        return frame(body.length, body);
    }

    /// Calls receive(), turning a failure into an explanation in stream terms (the cause is kept).
    private static byte[] receiveOrExplain(FramedChannel frames, String situation, int... lengthsSent) {
        try {
            return frames.receive();
        } catch (UnsupportedOperationException notWritten) {
            throw notWritten;
        } catch (Throwable t) {
            String hint = byteOrderHint(String.valueOf(t.getMessage()), lengthsSent);
            throw new AssertionError("receive() threw %s while %s. ".formatted(t, situation) + (!hint.isEmpty() ? hint
                    : "read() returns whatever has arrived — 1 byte of a 4-byte header, half a body — so each part "
                    + "of a frame needs a loop that reads until it is complete."), t);
        }
    }

    /// If `said` names one of `lengths` with its bytes reversed, a sentence saying that the byte order is wrong.
    static String byteOrderHint(String said, int... lengths) {
        for (int length : lengths) {
            int swapped = Integer.reverseBytes(length);
            if (swapped != length && said.contains(String.valueOf(swapped))) {
                return ("The peer sent a length of %d (%02X %02X %02X %02X, big-endian) and it was read as %d: the "
                        + "header was decoded little-endian. A frame's length is in network byte order, big-endian — "
                        + "ByteBuffer's default.").formatted(length, length >>> 24, length >>> 16 & 0xFF,
                        length >>> 8 & 0xFF, length & 0xFF, swapped);
            }
        }
        return "";
    }

    /// Sizes of the messages, for a comparison that prints short.
    private static List<Integer> sizes(List<byte[]> messages) {
        return messages.stream().map(m -> m == null ? -1 : m.length).toList();
    }

    @Test
    @Tag("task:1")
    @DisplayName("write-write-read with Nagle on: 15 request/reply exchanges take well under 10 ms each (no delayed-ACK stall)")
    void sendsHeaderAndBodyInOneWrite() throws Exception {
        var listener = listener();
        var client = lab.track(SocketChannel.open(listener.getLocalAddress()));
        var server = lab.track(listener.accept());
        assertThat(client.getOption(java.net.StandardSocketOptions.TCP_NODELAY)).as("TCP_NODELAY of a new socket").isFalse();
        var frames = lab.track(new FramedChannel(client, MAX));
        // The server reads a whole frame before it replies, as any request/reply server does.
        var answering = CompletableFuture.runAsync(() -> {
            try (var in = new DataInputStream(server.socket().getInputStream())) {
                for (int i = 0; i < 15; i++) {
                    int length = in.readInt();
                    if (length != 8) {
                        throw new AssertionError("the server read a header announcing %d bytes for an 8-byte message. "
                                .formatted(length) + (length == Integer.reverseBytes(8) ? "That is 8 written "
                                + "little-endian (08 00 00 00): a frame's length goes in network byte order, "
                                + "big-endian (00 00 00 08)." : "The header is the body's length, as a 4-byte int."));
                    }
                    in.readFully(new byte[length]);
                    server.write(ByteBuffer.wrap(new byte[] {1}));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        answering.exceptionally(failed -> { // a server that gave up must not leave the client waiting for a reply
            try {
                server.close();
            } catch (IOException ignored) {
                // closing is all that is left to do
            }
            return null;
        });

        var millis = new ArrayList<Double>();
        client.socket().setSoTimeout(2_000); // read through the socket's stream, so SO_TIMEOUT bounds the wait
        var replies = client.socket().getInputStream();
        for (int i = 0; i < 15; i++) {
            long t0 = System.nanoTime();
            frames.send("request!".getBytes());
            int reply;
            try {
                reply = replies.read();
            } catch (SocketTimeoutException e) {
                throw new AssertionError("no reply within 2 s to the 8-byte message %d: the server, which answers a "
                        .formatted(i + 1) + "whole frame, is still waiting for the rest of it — send() must write the "
                        + "4-byte header and every byte of the body", e);
            } catch (IOException e) {
                reply = -1; // the server gave up on the frame and closed (a reset, with bytes unread)
            }
            if (reply < 0) {
                break; // the server gave up on the frame: its reason is reported below
            }
            millis.add((System.nanoTime() - t0) / 1e6);
        }
        try {
            answering.get(2, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof AssertionError told ? told : new AssertionError(e.getCause());
        }

        double median = millis.stream().sorted().toList().get(millis.size() / 2);
        assertThat(median)
                .withFailMessage("median request/reply exchange took %.1f ms (all: %s). About 40 ms is the Nagle + "
                        + "delayed-ACK stall: the header left alone, Nagle held the body until the header was ACKed, "
                        + "and the server delays that ACK because it has nothing to reply yet. Send header and body "
                        + "in one write.", median, millis.stream().map(m -> "%.1f".formatted(m)).toList())
                .isLessThan(10.0);
    }

    @Test
    @Tag("task:1")
    @DisplayName("send() refuses a message above the maximum, naming both sizes, and writes nothing; the constructor refuses bad arguments and takes a maximum of 0")
    void refusesAnOversizedMessageAndBadArguments() throws Exception {
        var listener = listener();
        var pair = acceptFrom(listener, listener.socket().getLocalPort());
        var frames = lab.track(new FramedChannel(pair.channel(), 100));

        assertThatIllegalArgumentException().as("send() of 101 bytes on a channel whose maximum is 100")
                .isThrownBy(() -> frames.send(new byte[101]))
                .withMessageContaining("101").withMessageContaining("100");
        frames.send(new byte[] {42});
        var in = new DataInputStream(pair.peer().getInputStream());
        byte[] header = in.readNBytes(4);
        if (Arrays.equals(header, new byte[] {1, 0, 0, 0})) {
            throw new AssertionError("the header of a 1-byte message arrived as 01 00 00 00: the length went out "
                    + "little-endian. A frame's length is in network byte order, big-endian: 00 00 00 01 "
                    + "(ByteBuffer's default order; a ByteBuffer set to ByteOrder.LITTLE_ENDIAN, or the host's "
                    + "nativeOrder() on x86 and ARM, writes it backwards).");
        }
        assertThat(header)
                .as("the 4 header bytes of the first frame the peer receives, for a 1-byte message: its length in network "
                        + "byte order, big-endian (01 00 00 00 would be little-endian; anything else, bytes of the "
                        + "refused 101-byte message left behind)")
                .containsExactly(0, 0, 0, 1);
        assertThat(in.readByte()).as("the body of that frame").isEqualTo((byte) 42);
        var largest = Bytes.pattern(100);
        assertThatCode(() -> frames.send(largest)).as("send() of exactly 100 bytes, the maximum: allowed")
                .doesNotThrowAnyException();
        assertThat(in.readInt()).as("length in the frame of exactly the maximum").isEqualTo(100);
        assertThat(in.readNBytes(100)).as("its body").isEqualTo(largest);
        var emptyOnly = new FramedChannel(pair.channel(), 0); // same channel: no new socket to close
        emptyOnly.send(new byte[0]);
        assertThat(in.readInt())
                .as("length in the frame of an empty message sent with a maximum of 0 (an empty message is a "
                        + "message: only a negative maximum is wrong)")
                .isEqualTo(0);
        assertThatIllegalArgumentException().as("new FramedChannel(channel, -1)")
                .isThrownBy(() -> new FramedChannel(pair.channel(), -1)).withMessageContaining("-1");
        assertThatIllegalArgumentException().as("new FramedChannel(null, 100)")
                .isThrownBy(() -> new FramedChannel(null, 100)).withMessageContaining("null");
        var nonBlocking = lab.track(SocketChannel.open(listener.getLocalAddress()));
        nonBlocking.configureBlocking(false);
        assertThatIllegalArgumentException().as("new FramedChannel(a channel in non-blocking mode, 100): its read() "
                        + "and write() may return 0 at once, so the loops of a blocking API would spin")
                .isThrownBy(() -> new FramedChannel(nonBlocking, 100)).withMessageContaining("blocking");
    }

    @Test
    @NeedsProc
    @Tag("task:1")
    @DisplayName("close() closes the channel: the peer reads EOF, and the socket's descriptor is released")
    void closeSendsFinAndReleasesTheDescriptor() throws Exception {
        var listener = listener();
        var pair = acceptFrom(listener, listener.socket().getLocalPort());
        var frames = new FramedChannel(pair.channel(), MAX);
        var row = ProcNetTcp.entryOf(pair.channel().getLocalAddress(), pair.channel().getRemoteAddress()).orElseThrow();

        frames.close();

        assertThat(pair.peer().getInputStream().read()).as("the peer's read() after close(): -1, the FIN").isEqualTo(-1);
        assertThat(pair.channel().isOpen())
                .withFailMessage("the channel is still open after close(): the peer got its FIN (a half-close, "
                        + "shutdownOutput, sends one too), but the socket and its descriptor stay allocated until the "
                        + "channel itself is closed")
                .isFalse();
        assertThat(Descriptors.fdOf(row.inode()))
                .as("the descriptor of socket:[%d] (the closed channel) in /proc/self/fd: -1, none", row.inode())
                .isEqualTo(-1);
    }

    @Test
    @Tag("task:2")
    @DisplayName("frames that arrive one byte per segment (through a fragmenting relay) are read whole")
    void readsFramesArrivingOneByteAtATime() throws Exception {
        var listener = listener();
        var relay = lab.track(new FragmentingRelay(listener.getLocalAddress(), 1, Duration.ofMillis(1)));
        var pair = acceptFrom(listener, relay.port());
        var frames = lab.track(new FramedChannel(pair.channel(), MAX));
        var messages = List.of(new byte[0], new byte[] {7}, Bytes.random(3, 1), Bytes.random(90, 2));

        for (var message : messages) {
            pair.peer().getOutputStream().write(frame(message));
        }
        var received = new ArrayList<byte[]>();
        for (int i = 0; i < messages.size(); i++) {
            received.add(receiveOrExplain(frames, "frames of 0, 1, 3 and 90 bytes arrived one byte per segment", 1, 3, 90));
        }

        assertThat(sizes(received)).as("sizes of the messages received (-1: null), each frame sent in one write and "
                + "cut into 1-byte segments by the relay").containsExactlyElementsOf(sizes(messages));
        assertThat(received).as("the messages received").containsExactlyElementsOf(messages);
    }

    @Test
    @Tag("task:2")
    @DisplayName("frames written back to back in a single write come out one per receive(), none lost or merged")
    void keepsTheBytesOfTheNextFrame() throws Exception {
        var listener = listener();
        var pair = acceptFrom(listener, listener.socket().getLocalPort());
        var frames = lab.track(new FramedChannel(pair.channel(), MAX));
        var messages = new ArrayList<byte[]>();
        var stream = ByteBuffer.allocate(200_000);
        for (int i = 0; i < 40; i++) {
            messages.add(Bytes.random(i * 97 % 1000, i));
            stream.put(frame(messages.getLast()));
        }

        pair.peer().getOutputStream().write(Arrays.copyOf(stream.array(), stream.position()));
        pair.peer().shutdownOutput();
        var received = new ArrayList<byte[]>();
        byte[] next;
        int[] lengths = messages.stream().mapToInt(m -> m.length).toArray();
        while (received.size() <= messages.size()
                && (next = receiveOrExplain(frames, "40 frames came in one write", lengths)) != null) {
            received.add(next);
        }

        assertThat(sizes(received)).as("sizes of the messages received from 40 frames that came in one write (then "
                        + "EOF): a read may carry the end of one frame and the start of the next, and those bytes "
                        + "belong to the next receive()")
                .containsExactlyElementsOf(sizes(messages));
        assertThat(received).as("the messages received").containsExactlyElementsOf(messages);
    }

    @Test
    @Tag("task:2")
    @DisplayName("messages of 6 MiB, 0 bytes and 2 MiB round-trip intact through a fragmenting relay")
    void carriesMultiMegabyteMessages() throws Throwable {
        var listener = listener();
        var relay = lab.track(new FragmentingRelay(listener.getLocalAddress(), 60_000));
        var client = lab.track(SocketChannel.open(relay.address()));
        var server = lab.track(listener.accept());
        var clientFrames = lab.track(new FramedChannel(client, 16 << 20));
        var serverFrames = lab.track(new FramedChannel(server, 16 << 20));
        var big = Bytes.random(6 << 20, 6);
        var echo = CompletableFuture.runAsync(() -> {
            try {
                for (int i = 0; i < 3; i++) {
                    serverFrames.send(receiveOrExplain(serverFrames, "a multi-megabyte message came through a relay",
                            6 << 20, 2 << 20));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        echo.exceptionally(failed -> { // a failed echo must not leave the client waiting for a reply
            try {
                server.close();
            } catch (IOException ignored) {
                // closing is all that is left to do
            }
            return null;
        });

        byte[] first = null, empty = null, second = null;
        var other = Bytes.random(2 << 20, 7);
        IOException clientFailure = null;
        try {
            clientFrames.send(big);
            first = clientFrames.receive();
            clientFrames.send(new byte[0]);
            empty = clientFrames.receive();
            clientFrames.send(other);
            second = clientFrames.receive();
        } catch (IOException e) {
            clientFailure = e; // the echo's failure, if any, is the cause: it is reported first, below
        }
        try {
            echo.get(3, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause();
        }
        if (clientFailure != null) {
            throw new AssertionError("the client's send() or receive() failed: " + clientFailure, clientFailure);
        }

        assertThat(first).as("a 6 MiB message after its round trip (%d bytes back)", first == null ? -1 : first.length)
                .isEqualTo(big);
        assertThat(empty).as("an empty message after its round trip").isEmpty();
        assertThat(second).as("a 2 MiB message after its round trip").isEqualTo(other);
    }

    @Test
    @Tag("task:2")
    @DisplayName("a header announcing 64 MiB against a 1 MiB maximum is refused before a buffer of that size is allocated")
    void rejectsAnOversizedLengthBeforeAllocating() throws Exception {
        var listener = listener();
        var pair = acceptFrom(listener, listener.socket().getLocalPort());
        var frames = lab.track(new FramedChannel(pair.channel(), MAX));
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(threads.getCurrentThreadAllocatedBytes() >= 0, "this JVM does not measure a thread's allocations");
        pair.peer().getOutputStream().write(frame(64 << 20, new byte[100]));

        long before = threads.getCurrentThreadAllocatedBytes();
        Throwable thrown = catchThrowable(frames::receive);
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;

        assertThat(thrown).as("receive() of a frame announcing 67108864 bytes, maximum 1048576")
                .isInstanceOf(ProtocolException.class)
                .hasMessageContaining("67108864");
        assertThat(allocated)
                .withFailMessage("receive() allocated %,d bytes before refusing a 64 MiB length: the length comes "
                        + "from the peer, so check it against the maximum before you allocate, or any client can "
                        + "make the server take gigabytes with 4 bytes", allocated)
                .isLessThan(MAX);
    }

    @Test
    @Tag("task:2")
    @DisplayName("a frame of exactly the maximum (100 bytes) is received whole; the next, of 101 bytes, is refused naming 101")
    void takesAFrameOfExactlyTheMaximumAndRefusesOneMore() throws Exception {
        var listener = listener();
        var pair = acceptFrom(listener, listener.socket().getLocalPort());
        var frames = lab.track(new FramedChannel(pair.channel(), 100));
        var largest = Bytes.pattern(100);

        pair.peer().getOutputStream().write(frame(largest));
        pair.peer().getOutputStream().write(frame(new byte[101]));

        assertThat(receiveOrExplain(frames, "the peer sent a frame of exactly the maximum, 100 bytes", 100))
                .as("the frame of exactly the maximum, 100 bytes: allowed").isEqualTo(largest);
        assertThatExceptionOfType(ProtocolException.class)
                .as("receive() of the next frame, announcing 101 bytes, one more than the maximum of 100")
                .isThrownBy(frames::receive)
                .withMessageContaining("101");
    }

    @Test
    @Tag("task:2")
    @DisplayName("a header announcing a negative length (0x80000000) is refused, naming the length")
    void rejectsANegativeLength() throws Exception {
        var listener = listener();
        var pair = acceptFrom(listener, listener.socket().getLocalPort());
        var frames = lab.track(new FramedChannel(pair.channel(), MAX));

        pair.peer().getOutputStream().write(frame(Integer.MIN_VALUE, new byte[10]));
        pair.peer().shutdownOutput(); // should the length be misread as positive, EOF ends the wait for its body

        assertThatExceptionOfType(ProtocolException.class)
                .as("receive() of a frame whose header is 80 00 00 00 (a signed int: -2147483648)")
                .isThrownBy(frames::receive)
                .withMessageContaining("-2147483648");
    }

    @Test
    @Tag("task:2")
    @DisplayName("EOF inside a frame is an EOFException saying how many bytes were missing; EOF between frames ends cleanly")
    void reportsEofInsideAFrame() throws Exception {
        var listener = listener();
        var cut = acceptFrom(listener, listener.socket().getLocalPort());
        var cutFrames = lab.track(new FramedChannel(cut.channel(), MAX));
        var inHeader = acceptFrom(listener, listener.socket().getLocalPort());
        var inHeaderFrames = lab.track(new FramedChannel(inHeader.channel(), MAX));
        var whole = acceptFrom(listener, listener.socket().getLocalPort());
        var wholeFrames = lab.track(new FramedChannel(whole.channel(), MAX));

        cut.peer().getOutputStream().write(frame(1000, new byte[400]));
        cut.peer().shutdownOutput();
        inHeader.peer().getOutputStream().write(new byte[] {0});
        inHeader.peer().shutdownOutput();
        whole.peer().getOutputStream().write(frame(new byte[] {1, 2, 3}));
        whole.peer().shutdownOutput();

        assertThatExceptionOfType(EOFException.class)
                .as("receive() when the peer sent 400 of a 1000-byte body and closed (600 missing)")
                .isThrownBy(cutFrames::receive).withMessageContaining("600");
        assertThatExceptionOfType(EOFException.class)
                .as("receive() when the peer sent 1 byte of a 4-byte header and closed (3 missing)")
                .isThrownBy(inHeaderFrames::receive).withMessageContaining("3");
        assertThat(wholeFrames.receive()).as("the one whole frame a peer sent before closing").containsExactly(1, 2, 3);
        assertThat(wholeFrames.receive()).as("receive() after the peer closed between two frames: a clean end, null")
                .isNull();
    }

    @Test
    @Tag("task:2")
    @DisplayName("a reset in the middle of a frame is an IOException that names the reset, not a clean end")
    void reportsAResetInsideAFrame() throws Exception {
        var listener = listener();
        var relay = lab.track(new FragmentingRelay(listener.getLocalAddress(), 100).resetAfter(4 + 400));
        var pair = acceptFrom(listener, relay.port());
        var frames = lab.track(new FramedChannel(pair.channel(), MAX));

        pair.peer().getOutputStream().write(frame(1000, new byte[1000]));

        Throwable thrown = catchThrowable(frames::receive);
        assertThat(thrown).as("receive() when the connection was reset (RST) after 400 of 1000 body bytes")
                .isInstanceOf(IOException.class)
                .isNotInstanceOf(EOFException.class);
        var messages = new StringBuilder();
        for (Throwable t = thrown; t != null; t = t.getCause()) {
            messages.append(t.getMessage()).append(" / ");
        }
        assertThat(messages.toString().toLowerCase())
                .as("the message (and causes) of what receive() threw: the reader should learn it was a reset")
                .contains("reset");
    }
}
