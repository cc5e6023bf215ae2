import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.nio.channels.ServerSocketChannel;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static java.net.StandardSocketOptions.SO_REUSEADDR;
import static java.net.StandardSocketOptions.SO_REUSEPORT;
import static java.time.Duration.ofSeconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/// Chapter 2, graded: scanning a port range skips the taken ports, and a full range is EADDRINUSE, by name.
@Tag("bind")
@Tag("02-bind")
class PortRangeBinderTest {

    @RegisterExtension
    final Lab lab = new Lab();

    @Test
    @NeedsProc
    @Tag("task:3")
    @DisplayName("the scan skips ports other listeners hold and listens on the first free one, here the last of the range")
    void skipsTakenPortsAndListensOnTheFirstFree() throws Exception {
        var held = holdConsecutivePorts(3);
        int first = held.getFirst().getLocalPort(), last = first + 2;
        held.getLast().close(); // the last port of the range is free again; nothing else is

        ServerSocketChannel listener;
        try {
            listener = lab.track(PortRangeBinder.listenOnFirstFree(Lab.LOOPBACK, first, last, PortReuse.REUSE_ADDRESS, 50));
        } catch (BindException e) {
            throw new AssertionError("listenOnFirstFree(%d-%d) failed although port %d is free: EADDRINUSE on port %d "
                    .formatted(first, last, last, first) + "says only that this one port is taken — try the next", e);
        }

        assertThat(((InetSocketAddress) listener.getLocalAddress()).getPort())
                .as("the port listenOnFirstFree(%d-%d) chose, with %d and %d held by other listeners (EADDRINUSE)",
                        first, last, first, first + 1)
                .isEqualTo(last);
        assertThat(ProcNetTcp.onPort(last)).as("rows of port %d", last).anyMatch(e -> e.state() == ProcNetTcp.State.LISTEN);
        assertThat(held.subList(0, 2)).as("the listeners that held the taken ports are untouched")
                .allMatch(s -> s.isBound() && !s.isClosed());
    }

    @Test
    @Tag("task:3")
    @DisplayName("the scan stops at the first free port: with the last two of three free, it listens on the middle one")
    void stopsAtTheFirstFreePort() throws Exception {
        var held = holdConsecutivePorts(3);
        int first = held.getFirst().getLocalPort(), middle = first + 1, last = first + 2;
        held.get(1).close(); // the middle and the last port are free again; the first stays taken
        held.get(2).close();

        var listener = lab.track(PortRangeBinder.listenOnFirstFree(Lab.LOOPBACK, first, last, PortReuse.REUSE_ADDRESS, 50));

        assertThat(((InetSocketAddress) listener.getLocalAddress()).getPort())
                .as("the port listenOnFirstFree(%d-%d) chose, with %d held by another listener and %d, %d free: the "
                        + "first free port, in order from the first", first, last, first, middle, last)
                .isEqualTo(middle);
    }

    @Test
    @NeedsProc
    @Tag("task:3")
    @DisplayName("the scan listens with the reuse policy and backlog it was given: SHARE_PORT with backlog 1, "
            + "then STRICT with backlog 3")
    void usesThePolicyAndBacklogItWasGiven() throws Exception {
        int port = Lab.freePort();
        var shared = lab.track(scanOneFreePort(port, PortReuse.SHARE_PORT, 1));
        assertBacklog(shared, 1);
        var second = lab.track(ServerSocketChannel.open());
        second.setOption(SO_REUSEPORT, true);
        assertThatCode(() -> second.bind(new InetSocketAddress(Lab.LOOPBACK, port)))
                .as("a second listener with SO_REUSEPORT binding port %d, which listenOnFirstFree(%d-%d, SHARE_PORT) "
                        + "holds: it binds only if the scan's listener has SO_REUSEPORT too", port, port, port)
                .doesNotThrowAnyException();

        int other = Lab.freePort();
        var strict = lab.track(scanOneFreePort(other, PortReuse.STRICT, 3));
        assertThat(strict.getOption(SO_REUSEADDR))
                .as("SO_REUSEADDR of the listener listenOnFirstFree(%d-%d, STRICT) made (Java turns it on for every "
                        + "listener: STRICT turns it off)", other, other).isFalse();
        assertBacklog(strict, 3);
    }

    @Test
    @NeedsProc
    @Tag("task:3")
    @DisplayName("when every port of the range is taken: a BindException naming EADDRINUSE and the range (first-last), "
            + "and no socket left open")
    void aFullRangeIsAddressInUseByName() throws Exception {
        var held = holdConsecutivePorts(4);
        int first = held.getFirst().getLocalPort(), last = first + 3;
        var before = Descriptors.socketInodes();

        assertThatExceptionOfType(BindException.class)
                .as("listenOnFirstFree(%d-%d) with every port held by another listener", first, last)
                .isThrownBy(() -> lab.track(PortRangeBinder.listenOnFirstFree(Lab.LOOPBACK, first, last,
                        PortReuse.REUSE_ADDRESS, 50)))
                .withMessageContaining("EADDRINUSE")
                .withMessageContaining(first + "-" + last);

        assertThat(Descriptors.socketInodes())
                .as("socket descriptors in /proc/self/fd after the scan failed: each socket that could not bind "
                        + "must be closed, or a scan of a busy range leaks one descriptor per port").isEqualTo(before);
    }

    @Test
    @Tag("task:3")
    @DisplayName("a range that is empty or inverted, starts at port 0 or ends past 65535 is an IllegalArgumentException naming it; one that ends at 65535 is scanned")
    void rejectsBadRanges() throws Exception {
        var loopback = Lab.LOOPBACK;
        var reuse = PortReuse.REUSE_ADDRESS;
        int free = Lab.freePort(); // if a check is missing, the scan binds this free port, not a fixed one

        assertThatIllegalArgumentException().as("range %d-%d (last below first)", free, free - 1)
                .isThrownBy(() -> lab.track(PortRangeBinder.listenOnFirstFree(loopback, free, free - 1, reuse, 50)))
                .withMessageContaining(String.valueOf(free)).withMessageContaining(String.valueOf(free - 1));
        assertThatIllegalArgumentException().as("range 0-%d: port 0 is not a port to try, it means 'any'", free)
                .isThrownBy(() -> lab.track(PortRangeBinder.listenOnFirstFree(loopback, 0, free, reuse, 50)))
                .withMessageContaining("0");
        assertThatIllegalArgumentException().as("range %d-65536", free)
                .isThrownBy(() -> lab.track(PortRangeBinder.listenOnFirstFree(loopback, free, 65_536, reuse, 50)))
                .withMessageContaining("65536");
        assertThatIllegalArgumentException().as("a null address")
                .isThrownBy(() -> lab.track(PortRangeBinder.listenOnFirstFree(null, free, free, reuse, 50)))
                .withMessageContaining("address");
        var upToTheLast = lab.track(PortRangeBinder.listenOnFirstFree(loopback, free, 65_535, reuse, 50));
        assertThat(((InetSocketAddress) upToTheLast.getLocalAddress()).getPort())
                .as("the port listenOnFirstFree(%d-65535) listens on: 65535 is the last TCP port, so a range may end "
                        + "there, and its first port, %d, is free", free, free)
                .isEqualTo(free);
    }

    /// The scan of a range that is one free port long.
    private static ServerSocketChannel scanOneFreePort(int port, PortReuse reuse, int backlog) throws IOException {
        try {
            return PortRangeBinder.listenOnFirstFree(Lab.LOOPBACK, port, port, reuse, backlog);
        } catch (BindException e) {
            throw new AssertionError("listenOnFirstFree(%d-%d, %s, backlog %d) failed although port %d is free: a range "
                    .formatted(port, port, reuse, backlog, port) + "of one port starts and ends with it", e);
        }
    }

    /// The listener queues `backlog` + 1 connections that nobody accepts, and the kernel drops the next SYN.
    private void assertBacklog(ServerSocketChannel listener, int backlog) throws IOException {
        var address = (InetSocketAddress) listener.getLocalAddress();
        for (int i = 1; i <= backlog + 1; i++) {
            try {
                lab.connect(address);
            } catch (SocketTimeoutException e) {
                throw new AssertionError(("connect() #%d to the scan's listener (backlog %d) timed out: its accept queue "
                        + "should hold %d, so it listens with a smaller backlog than it was given")
                        .formatted(i, backlog, backlog + 1), e);
            }
        }
        assertThat(lab.track(AcceptQueue.knock(address, ofSeconds(2))).admitted())
                .as("connect() #%d to the scan's listener on port %d, given backlog %d and never accept()ed: its queue "
                        + "holds backlog + 1 = %d, so the kernel should drop this SYN. It got in: the scan did not pass "
                        + "its backlog on", backlog + 2, address.getPort(), backlog, backlog + 1)
                .isFalse();
    }

    /// Listeners on `count` consecutive loopback ports, the first chosen by the kernel (port 0). If a neighbour is
    /// taken by some other program, start again from another kernel-chosen port.
    private List<ServerSocket> holdConsecutivePorts(int count) throws IOException {
        for (int attempt = 0; attempt < 20; attempt++) {
            var held = new ArrayList<ServerSocket>();
            held.add(lab.track(new ServerSocket(0, 1, Lab.LOOPBACK)));
            try {
                for (int i = 1; i < count; i++) {
                    held.add(lab.track(new ServerSocket(held.getFirst().getLocalPort() + i, 1, Lab.LOOPBACK)));
                }
                return held;
            } catch (BindException neighbourTaken) {
                for (var s : held) {
                    s.close();
                }
            }
        }
        throw new IllegalStateException("found no " + count + " consecutive free loopback ports in 20 tries");
    }
}
