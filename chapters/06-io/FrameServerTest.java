import java.io.DataInputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.ProtocolException;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.awaitility.Awaitility.await;

/// Chapter 6, graded: a framed request/reply server goes on serving everybody whatever one client does.
@Tag("io")
@Tag("06-io")
class FrameServerTest {

    private static final int MAX = 1000;

    @RegisterExtension
    final Lab lab = new Lab();

    private static void send(Socket socket, byte[] message) throws IOException {
        socket.getOutputStream().write(ByteBuffer.allocate(4 + message.length).putInt(message.length).put(message).array());
    }

    private static byte[] receive(Socket socket) throws IOException {
        var in = new DataInputStream(socket.getInputStream());
        var message = new byte[in.readInt()];
        in.readFully(message);
        return message;
    }

    private Socket client(int port) throws IOException {
        var socket = lab.connect(port);
        socket.setSoTimeout(3_000);
        return socket;
    }

    private static String chain(Throwable t) {
        var messages = new StringBuilder();
        for (; t != null; t = t.getCause()) {
            messages.append(t).append(" / ");
        }
        return messages.toString();
    }

    @Test
    @Tag("task:3")
    @DisplayName("answers 20 clients, 5 messages each, while another client sits idle in the middle of a frame")
    void answersManyClientsWhileOneIsIdle() throws Exception {
        var server = lab.track(FrameServer.start(MAX, Bytes::reversed));
        var idle = client(server.port());
        idle.getOutputStream().write(new byte[] {0, 0}); // half a header, and then nothing

        var clients = new ArrayList<CompletableFuture<Integer>>();
        for (int c = 0; c < 20; c++) {
            var socket = client(server.port());
            int id = c;
            clients.add(CompletableFuture.supplyAsync(() -> {
                try {
                    for (int m = 0; m < 5; m++) {
                        var message = ("client " + id + " message " + m).getBytes();
                        send(socket, message);
                        if (!Arrays.equals(receive(socket), Bytes.reversed(message))) {
                            throw new AssertionError("client " + id + " got a wrong reply to message " + m);
                        }
                    }
                    return id;
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }, task -> Thread.ofVirtual().start(task)));
        }
        try {
            CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).get(3, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            long done = clients.stream().filter(f -> f.isDone() && !f.isCompletedExceptionally()).count();
            throw new AssertionError(("after 3 s only %d of 20 clients had all 5 replies while one client sat idle "
                    + "mid-frame: does the server serve one connection at a time? Each connection needs its own "
                    + "thread (or a selector), or one silent client stops everybody.").formatted(done));
        }
    }

    @Test
    @Tag("task:3")
    @DisplayName("a client that resets mid-frame and one that announces an oversized frame end only their own connections")
    void keepsServingAfterAResetAndABadFrame() throws Exception {
        var server = lab.track(FrameServer.start(MAX, Bytes::reversed));
        var resetter = client(server.port());
        var greedy = client(server.port());

        resetter.getOutputStream().write(ByteBuffer.allocate(14).putInt(100).array()); // header + 10 of 100 bytes
        resetter.setSoLinger(true, 0);
        resetter.close(); // RST: the server's next read fails with "Connection reset"
        greedy.getOutputStream().write(ByteBuffer.allocate(4).putInt(MAX + 1).array());
        int greedyRead;
        try {
            greedyRead = greedy.getInputStream().read();
        } catch (SocketException reset) {
            greedyRead = -1;
        }

        assertThat(greedyRead).as("what the client that announced %d bytes (maximum %d) reads next: the server "
                + "should end that connection, not wait for the bytes", MAX + 1, MAX).isEqualTo(-1);
        await().atMost(Duration.ofSeconds(2)).untilAsserted(() -> assertThat(server.failures())
                .as("exceptions that ended connections, as server.failures() lists them")
                .anySatisfy(e -> assertThat(chain(e).toLowerCase()).as("a failure naming the reset").contains("reset"))
                .anySatisfy(e -> assertThat(e).as("a failure naming the oversized length")
                        .isInstanceOf(ProtocolException.class).hasMessageContaining(String.valueOf(MAX + 1))));
        var next = client(server.port());
        send(next, "still there?".getBytes());
        assertThat(new String(receive(next))).as("the reply to a new client after both failures").isEqualTo("?ereht llits");
    }

    @Test
    @Tag("task:3")
    @DisplayName("close() stops listening and closes every open connection: clients read EOF, new ones are refused")
    void closeEndsEveryConnection() throws Exception {
        var server = lab.track(FrameServer.start(MAX, Bytes::reversed));
        int port = server.port();
        List<Socket> open = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            var socket = client(port);
            send(socket, new byte[] {(byte) i});
            assertThat(receive(socket)).containsExactly((byte) i);
            open.add(socket);
        }

        server.close();

        for (var socket : open) {
            assertThat(socket.getInputStream().read()).as("a connected client's read() after server.close()").isEqualTo(-1);
        }
        assertThatExceptionOfType(ConnectException.class).as("connect() to the port of a closed server")
                .isThrownBy(() -> client(port));
    }

    @Test
    @Tag("task:3")
    @DisplayName("start() refuses a negative maximum and a missing handler, naming them")
    void refusesBadArguments() {
        assertThatIllegalArgumentException().as("FrameServer.start(-1, handler)")
                .isThrownBy(() -> lab.track(FrameServer.start(-1, Bytes::reversed)))
                .withMessageContaining("-1");
        assertThatIllegalArgumentException().as("FrameServer.start(1000, null)")
                .isThrownBy(() -> lab.track(FrameServer.start(MAX, null)))
                .withMessageContaining("handler");
    }
}
