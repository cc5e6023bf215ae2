import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/// The fragmenting relay: it forwards every byte in order, in pieces, passes EOF and resets on, and resets on cue.
@Tag("bench")
class FragmentingRelayTest {

    @RegisterExtension
    final Lab lab = new Lab();

    @Test
    @DisplayName("bytes go through intact in both directions, re-sent in pieces of the chosen size")
    void forwardsEveryByteInPieces() throws Exception {
        var listener = lab.listener();
        var relay = lab.track(new FragmentingRelay(new InetSocketAddress(Lab.LOOPBACK, listener.getLocalPort()), 1000));
        var data = new byte[300_000];
        new Random(6).nextBytes(data);

        var client = lab.connect(relay.port());
        var server = lab.track(listener.accept());
        server.setSoTimeout(3_000);
        client.setSoTimeout(3_000);
        var echo = CompletableFuture.runAsync(() -> {
            try {
                server.getOutputStream().write(server.getInputStream().readNBytes(data.length));
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        client.getOutputStream().write(data);
        var back = client.getInputStream().readNBytes(data.length);
        echo.get(3, TimeUnit.SECONDS);

        assertThat(back).as("bytes echoed back through the relay").isEqualTo(data);
        assertThat(relay.pieces()).as("writes the relay made for 2 x 300,000 bytes in pieces of at most 1000")
                .isGreaterThanOrEqualTo(600);
        assertThat(relay.connections()).isEqualTo(1);
    }

    @Test
    @DisplayName("with 1-byte pieces and a pause, one 10-byte write leaves the relay as 10 writes and arrives in several reads")
    void oneBytePiecesArriveApart() throws Exception {
        var listener = lab.listener();
        var relay = lab.track(new FragmentingRelay(new InetSocketAddress(Lab.LOOPBACK, listener.getLocalPort()), 1,
                Duration.ofMillis(5)));
        var client = lab.connect(relay.port());
        var server = lab.track(listener.accept());
        server.setSoTimeout(3_000);

        client.getOutputStream().write("0123456789".getBytes());
        var sizes = new ArrayList<Integer>();
        var buffer = new byte[1024];
        InputStream in = server.getInputStream();
        int total = 0;
        while (total < 10) {
            int n = in.read(buffer);
            sizes.add(n);
            total += n;
        }

        assertThat(relay.pieces()).as("writes the relay made for one 10-byte write, in 1-byte pieces").isEqualTo(10);
        // 5 ms between pieces: only a reader kept off the CPU for the whole 45 ms would take them in one read.
        assertThat(sizes).as("sizes of the reads that took in the 10 bytes").hasSizeGreaterThanOrEqualTo(2);
    }

    @Test
    @DisplayName("EOF passes through as EOF: the client's half-close reaches the target, the target's reply comes back")
    void passesAHalfCloseOn() throws Exception {
        var listener = lab.listener();
        var relay = lab.track(new FragmentingRelay(new InetSocketAddress(Lab.LOOPBACK, listener.getLocalPort()), 7));
        var client = lab.connect(relay.port());
        var server = lab.track(listener.accept());
        server.setSoTimeout(3_000);
        client.setSoTimeout(3_000);

        client.getOutputStream().write("request".getBytes());
        client.shutdownOutput();
        var request = server.getInputStream().readAllBytes();
        server.getOutputStream().write("reply".getBytes());
        server.close();

        assertThat(new String(request)).as("what the target read up to EOF").isEqualTo("request");
        assertThat(new String(client.getInputStream().readAllBytes())).as("what the client read up to EOF").isEqualTo("reply");
    }

    @Test
    @DisplayName("resetAfter(n) lets exactly n bytes reach the target, then both peers see a reset")
    void resetsOnCue() throws Exception {
        var listener = lab.listener();
        var relay = lab.track(new FragmentingRelay(new InetSocketAddress(Lab.LOOPBACK, listener.getLocalPort()), 100)
                .resetAfter(250));
        var client = lab.connect(relay.port());
        var server = lab.track(listener.accept());
        server.setSoTimeout(3_000);
        client.setSoTimeout(3_000);

        client.getOutputStream().write(new byte[1000]);
        var received = new ByteArrayOutputStream();
        var buffer = new byte[1000];
        InputStream in = server.getInputStream();
        Exception failure = null;
        try {
            int n;
            while ((n = in.read(buffer)) > 0) {
                received.write(buffer, 0, n);
            }
        } catch (SocketException e) {
            failure = e;
        }

        assertThat(received.size()).as("bytes the target read before the reset").isEqualTo(250);
        assertThat(failure).as("what the target's read() saw after them").isNotNull()
                .hasMessageContaining("Connection reset");
        assertThatExceptionOfType(SocketException.class).as("the client's read() after the relay reset it")
                .isThrownBy(() -> client.getInputStream().read())
                .withMessageContaining("Connection reset");
    }

    @Test
    @DisplayName("reset() aborts open connections, and a client's own reset is passed on to the target")
    void passesResetsOn() throws Exception {
        var listener = lab.listener();
        var relay = lab.track(new FragmentingRelay(new InetSocketAddress(Lab.LOOPBACK, listener.getLocalPort()), 64));
        var first = lab.connect(relay.port());
        var firstAtServer = lab.track(listener.accept());
        firstAtServer.setSoTimeout(3_000);
        var second = lab.connect(relay.port());
        var secondAtServer = lab.track(listener.accept());
        secondAtServer.setSoTimeout(3_000);
        first.setSoTimeout(3_000);

        relay.reset();
        assertThatExceptionOfType(SocketException.class).as("the target's read() once the relay reset the connection")
                .isThrownBy(() -> firstAtServer.getInputStream().read()).withMessageContaining("Connection reset");
        assertThatExceptionOfType(SocketException.class).as("the client's read() once the relay reset the connection")
                .isThrownBy(() -> first.getInputStream().read()).withMessageContaining("Connection reset");

        second.setSoLinger(true, 0);
        second.close();
        assertThatExceptionOfType(SocketException.class).as("the target's read() after its client closed with SO_LINGER 0")
                .isThrownBy(() -> secondAtServer.getInputStream().read()).withMessageContaining("Connection reset");
    }

    @Test
    @DisplayName("close() stops the listener: a new client is refused")
    void closeStopsListening() throws Exception {
        var listener = lab.listener();
        var relay = new FragmentingRelay(new InetSocketAddress(Lab.LOOPBACK, listener.getLocalPort()), 1);
        int port = relay.port();
        var client = lab.connect(port);
        var atServer = lab.track(listener.accept());
        atServer.setSoTimeout(3_000);

        relay.close();

        assertThat(atServer.getInputStream().read()).as("the target's read() after the relay closed").isEqualTo(-1);
        assertThatExceptionOfType(ConnectException.class).isThrownBy(() -> lab.connect(port));
        client.close();
    }

    @Test
    @DisplayName("bad settings are refused by name: piece 0, a negative pause, a target that is not a loopback address")
    void refusesBadSettings() throws Exception {
        var target = new InetSocketAddress(Lab.LOOPBACK, Lab.freePort());
        assertThatIllegalArgumentException().isThrownBy(() -> new FragmentingRelay(target, 0)).withMessageContaining("0");
        assertThatIllegalArgumentException().isThrownBy(() -> new FragmentingRelay(target, 1, Duration.ofMillis(-1)))
                .withMessageContaining("pause");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> new FragmentingRelay(InetSocketAddress.createUnresolved("lab.invalid", 9), 1))
                .withMessageContaining("loopback");
        assertThat(Arrays.asList(FragmentingRelay.MAX_CONNECTIONS, FragmentingRelay.MAX_PIECE)).allMatch(n -> n > 0);
    }
}
