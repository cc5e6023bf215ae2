import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/// The TCP table reader: decoding recorded rows, then reading the live table.
@Tag("bench")
class ProcNetTcpTest {

    @RegisterExtension
    final Lab lab = new Lab();

    @Test
    @DisplayName("an IPv4 LISTEN row decodes to 127.0.0.1, its port, and its accept-queue depth")
    void decodesAnIpv4ListenRow() throws Exception {
        var row = ProcNetTcp.parse(
                "   0: 0100007F:9C6B 00000000:0000 0A 00000000:00000002 00:00000000 00000000     0        0 48211 1 0000000000000000 100 0 0 10 0");
        assertThat(row.local()).isEqualTo(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 40043));
        assertThat(row.state()).isEqualTo(ProcNetTcp.State.LISTEN);
        assertThat(row.rxQueue()).as("connections waiting in the accept queue").isEqualTo(2);
        assertThat(row.txQueue()).isZero();
        assertThat(row.inode()).isEqualTo(48211);
        assertThat(row.ipv6Table()).isFalse();
    }

    @Test
    @DisplayName("an IPv4-mapped tcp6 row decodes to the plain IPv4 address")
    void decodesAnIpv4MappedRow() throws Exception {
        var row = ProcNetTcp.parse(
                "   1: 0000000000000000FFFF00000100007F:A1F2 0000000000000000FFFF00000100007F:9C6B 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000");
        assertThat(row.local()).isEqualTo(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 41458));
        assertThat(row.remote().getPort()).isEqualTo(40043);
        assertThat(row.state()).isEqualTo(ProcNetTcp.State.TIME_WAIT);
        assertThat(row.ipv6Table()).isTrue();
    }

    @Test
    @DisplayName("a tcp6 row for ::1 and a wildcard [::] listener decode to IPv6 addresses")
    void decodesIpv6Rows() throws Exception {
        var loopback = ProcNetTcp.parse(
                "   0: 00000000000000000000000001000000:1F90 00000000000000000000000001000000:D431 01 00000010:00000020 00:00000000 00000000  1000        0 777 1 0000000000000000");
        assertThat(loopback.local()).isEqualTo(new InetSocketAddress(InetAddress.getByName("::1"), 8080));
        assertThat(loopback.state()).isEqualTo(ProcNetTcp.State.ESTABLISHED);
        assertThat(loopback.txQueue()).isEqualTo(16);
        assertThat(loopback.rxQueue()).isEqualTo(32);
        var wildcard = ProcNetTcp.parse(
                "   2: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 999 1 0000000000000000");
        assertThat(wildcard.local().getAddress().isAnyLocalAddress()).isTrue();
        assertThat(wildcard.local().getAddress().getAddress()).hasSize(16);
    }

    @Test
    @DisplayName("every state code from 01 to 0B maps to its kernel name, and back")
    void mapsEveryStateCode() {
        assertThat(ProcNetTcp.State.ofCode("01")).isEqualTo(ProcNetTcp.State.ESTABLISHED);
        assertThat(ProcNetTcp.State.ofCode("06")).isEqualTo(ProcNetTcp.State.TIME_WAIT);
        assertThat(ProcNetTcp.State.ofCode("08")).isEqualTo(ProcNetTcp.State.CLOSE_WAIT);
        assertThat(ProcNetTcp.State.ofCode("0A")).isEqualTo(ProcNetTcp.State.LISTEN);
        assertThat(ProcNetTcp.State.ofCode("0B")).isEqualTo(ProcNetTcp.State.CLOSING);
        for (var state : ProcNetTcp.State.values()) {
            assertThat(ProcNetTcp.State.ofCode(state.code())).isEqualTo(state);
        }
        assertThatIllegalArgumentException().isThrownBy(() -> ProcNetTcp.State.ofCode("00"));
        assertThatIllegalArgumentException().isThrownBy(() -> ProcNetTcp.parse("  sl  local_address"));
    }

    @Test
    @DisplayName("live: a listener, a client and the accepted socket show LISTEN and two ESTABLISHED rows")
    void readsTheLiveTable() throws Exception {
        var listener = lab.listener(1);
        var client = lab.connect(listener.getLocalPort());
        var accepted = lab.track(listener.accept());

        assertThat(ProcNetTcp.listenerOf(listener)).map(ProcNetTcp.Entry::state).contains(ProcNetTcp.State.LISTEN);
        assertThat(ProcNetTcp.stateOf(client)).contains(ProcNetTcp.State.ESTABLISHED);
        assertThat(ProcNetTcp.stateOf(accepted)).contains(ProcNetTcp.State.ESTABLISHED);
        assertThat(ProcNetTcp.onPort(listener.getLocalPort())).hasSize(2);
        long inode = ProcNetTcp.entryOf(client.getLocalSocketAddress(), client.getRemoteSocketAddress())
                .orElseThrow().inode();
        assertThat(Descriptors.socketInodes()).as("the client's inode among our socket descriptors").contains(inode);
        assertThat(Descriptors.fdOf(inode)).isPositive();
    }

    @Test
    @DisplayName("live: the accept-queue depth of a LISTEN row counts connections nobody accepted")
    void readsTheAcceptQueueDepth() throws Exception {
        var listener = lab.listener(4);
        lab.connect(listener.getLocalPort());
        lab.connect(listener.getLocalPort());
        var row = ProcNetTcp.await("two connections in the accept queue",
                rows -> ProcNetTcp.listenerOf(listener).orElseThrow().rxQueue() == 2, Duration.ofSeconds(2));
        assertThat(row).isNotEmpty();
    }

    @Test
    @DisplayName("live: the client that closes first reaches TIME_WAIT, its peer CLOSE_WAIT until it closes too")
    void followsAnOrderlyClose() throws Exception {
        var listener = lab.listener(1);
        var client = new Socket(Lab.LOOPBACK, listener.getLocalPort());
        var accepted = lab.track(listener.accept());
        var clientEnd = client.getLocalSocketAddress();
        var serverEnd = accepted.getLocalSocketAddress();

        client.close();
        ProcNetTcp.awaitState(serverEnd, clientEnd, ProcNetTcp.State.CLOSE_WAIT, Duration.ofSeconds(2));
        assertThat(ProcNetTcp.stateOf(clientEnd, serverEnd)).contains(ProcNetTcp.State.FIN_WAIT2);
        accepted.close();
        ProcNetTcp.awaitState(clientEnd, serverEnd, ProcNetTcp.State.TIME_WAIT, Duration.ofSeconds(2));
        assertThat(ProcNetTcp.stateOf(serverEnd, clientEnd)).as("the passive closer after its own close").isEmpty();
    }

    @Test
    @DisplayName("await gives up after its bound and shows the table")
    void awaitIsBounded() {
        long t0 = System.nanoTime();
        var failure = org.assertj.core.api.Assertions.catchThrowable(() ->
                ProcNetTcp.await("something that never happens", rows -> false, Duration.ofMillis(100)));
        assertThat(failure).isInstanceOf(AssertionError.class).hasMessageContaining("something that never happens");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));
    }
}
