import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.SocketOption;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.DatagramChannel;
import java.nio.channels.FileChannel;
import java.nio.channels.NetworkChannel;
import java.nio.channels.Pipe;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.UnsupportedAddressTypeException;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static java.net.StandardProtocolFamily.INET;
import static java.net.StandardProtocolFamily.INET6;
import static java.net.StandardProtocolFamily.UNIX;
import static java.net.StandardSocketOptions.IP_MULTICAST_TTL;
import static java.net.StandardSocketOptions.SO_BROADCAST;
import static java.net.StandardSocketOptions.SO_KEEPALIVE;
import static java.net.StandardSocketOptions.SO_LINGER;
import static java.net.StandardSocketOptions.SO_RCVBUF;
import static java.net.StandardSocketOptions.SO_REUSEADDR;
import static java.net.StandardSocketOptions.SO_SNDBUF;
import static java.net.StandardSocketOptions.TCP_NODELAY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/// Chapter 1, graded: the sockets you open are the kind you asked for, carry the options you set, and are counted.
@Tag("socket")
@Tag("01-socket")
class SocketsTest {

    @RegisterExtension
    final Lab lab = new Lab();

    @Test
    @Tag("task:1")
    @DisplayName("open(INET, STREAM) is a TCP socket of family AF_INET: bound to the wildcard it gets 0.0.0.0, not [::]")
    void opensAnIpv4StreamSocket() throws Exception {
        var channel = lab.track(Sockets.open(INET, Sockets.Type.STREAM));

        assertThat(channel).as("the socket for (AF_INET, SOCK_STREAM)").isInstanceOf(SocketChannel.class);
        channel.bind(null); // the kernel picks the family's wildcard address and a free port
        var local = (InetSocketAddress) channel.getLocalAddress();
        assertThat(local.getAddress())
                .withFailMessage("pass the protocol family to open(): without it Java opens AF_INET6 (dual stack), and "
                        + "bind() put this socket on %s, an IPv6 wildcard, not 0.0.0.0", local)
                .isInstanceOf(Inet4Address.class);
    }

    @Test
    @Tag("task:1")
    @DisplayName("open(INET, DATAGRAM) is a UDP socket of family AF_INET: bound to the wildcard it gets 0.0.0.0, not [::]")
    void opensAnIpv4DatagramSocket() throws Exception {
        var channel = lab.track(Sockets.open(INET, Sockets.Type.DATAGRAM));

        assertThat(channel).as("the socket for (AF_INET, SOCK_DGRAM)").isInstanceOf(DatagramChannel.class);
        channel.bind(null);
        var local = (InetSocketAddress) channel.getLocalAddress();
        assertThat(local.getAddress())
                .withFailMessage("pass the protocol family to DatagramChannel.open() too: without it Java opens "
                        + "AF_INET6 (dual stack), and bind() put this UDP socket on %s, an IPv6 wildcard, not 0.0.0.0", local)
                .isInstanceOf(Inet4Address.class);
    }

    @Test
    @Tag("task:1")
    @DisplayName("open(INET6, STREAM) is a TCP socket of family AF_INET6: it binds to ::1")
    void opensAnIpv6StreamSocket() throws Exception {
        var channel = lab.track(Sockets.open(INET6, Sockets.Type.STREAM));

        assertThat(channel).as("the socket for (AF_INET6, SOCK_STREAM)").isInstanceOf(SocketChannel.class);
        try {
            channel.bind(new InetSocketAddress("::1", 0));
        } catch (UnsupportedAddressTypeException | java.net.SocketException e) {
            throw new AssertionError("bind([::1]:0) on the socket that open(INET6, STREAM) returned failed with " + e
                    + ": an AF_INET socket cannot take an IPv6 address. Open the family that was asked for.", e);
        }
        assertThat(((InetSocketAddress) channel.getLocalAddress()).getAddress())
                .as("the address an AF_INET6 TCP socket was bound to").isInstanceOf(Inet6Address.class);
    }

    @Test
    @Tag("task:1")
    @DisplayName("open(INET6, DATAGRAM) is a UDP socket of family AF_INET6 that can bind to ::1")
    void opensAnIpv6DatagramSocket() throws Exception {
        var channel = lab.track(Sockets.open(INET6, Sockets.Type.DATAGRAM));

        assertThat(channel).as("the socket for (AF_INET6, SOCK_DGRAM)").isInstanceOf(DatagramChannel.class);
        channel.bind(new InetSocketAddress("::1", 0));
        assertThat(((InetSocketAddress) channel.getLocalAddress()).getAddress())
                .as("the address an AF_INET6 UDP socket was bound to").isInstanceOf(Inet6Address.class);
    }

    @Test
    @Tag("task:1")
    @DisplayName("open(UNIX, STREAM) is a Unix-domain stream socket that binds to a path; UNIX DATAGRAM is refused by name")
    void opensAUnixDomainStreamSocket() throws Exception {
        var dir = Files.createTempDirectory("workbook");
        var path = dir.resolve("lab.sock");
        try {
            var channel = lab.track(Sockets.open(UNIX, Sockets.Type.STREAM));
            assertThat(channel).as("the socket for (AF_UNIX, SOCK_STREAM)").isInstanceOf(SocketChannel.class);
            try {
                channel.bind(UnixDomainSocketAddress.of(path));
            } catch (UnsupportedAddressTypeException e) {
                throw new AssertionError(("bind(%s) on the socket that open(UNIX, STREAM) returned was refused "
                        + "(UnsupportedAddressTypeException): only an AF_UNIX socket takes a path as its address, so this "
                        + "one is AF_INET or AF_INET6. Pass the family UNIX to SocketChannel.open().").formatted(path), e);
            }
            assertThat(channel.getLocalAddress()).as("where an AF_UNIX socket is bound: a path, not an address and port")
                    .isEqualTo(UnixDomainSocketAddress.of(path));
            channel.close();
        } finally {
            Files.deleteIfExists(path);
            Files.delete(dir);
        }
        assertThatIllegalArgumentException()
                .as("Java has no AF_UNIX datagram channel: open(UNIX, DATAGRAM) should say so")
                .isThrownBy(() -> Sockets.open(UNIX, Sockets.Type.DATAGRAM))
                .withMessageContaining("UNIX")
                .withMessageContaining("DATAGRAM");
    }

    @Test
    @NeedsProc
    @Tag("task:1")
    @DisplayName("a new socket is a new descriptor, with no address, no peer, and no row in the TCP table")
    void aNewSocketIsOnlyAHandle() throws Exception {
        // The first channel a JVM opens brings a socket the JDK keeps for itself: open it before counting.
        SocketChannel.open().close();
        var before = Descriptors.socketInodes();

        var channel = (SocketChannel) lab.track(Sockets.open(INET, Sockets.Type.STREAM));

        var added = new HashSet<>(Descriptors.socketInodes());
        added.removeAll(before);
        assertThat(added).as("new socket:[inode] descriptors in /proc/self/fd after open()").hasSize(1);
        long inode = added.iterator().next();
        assertThat(channel.getLocalAddress()).as("local address of a socket nobody bound").isNull();
        assertThat(channel.isConnected()).as("is a fresh socket connected?").isFalse();
        assertThat(ProcNetTcp.snapshot().stream().filter(e -> e.inode() == inode))
                .as("rows of /proc/net/tcp{,6} for the new socket (inode %d): it has no address yet, so none", inode)
                .isEmpty();
    }

    @Test
    @Tag("task:1")
    @DisplayName("open() with a null family or type fails with IllegalArgumentException naming it")
    void refusesMissingArguments() {
        assertThatIllegalArgumentException().as("open(null, STREAM): a socket needs a family (AF_INET, AF_INET6, AF_UNIX)")
                .isThrownBy(() -> Sockets.open(null, Sockets.Type.STREAM))
                .withMessageContaining("family");
        assertThatIllegalArgumentException().as("open(INET, null): a socket needs a type (SOCK_STREAM or SOCK_DGRAM)")
                .isThrownBy(() -> Sockets.open(INET, null))
                .withMessageContaining("type");
    }

    @Test
    @Tag("task:2")
    @DisplayName("configure() sets every option asked for, and getsockopt reads each one back")
    void setsEveryOption() throws Exception {
        var channel = lab.track(SocketChannel.open(StandardProtocolFamily.INET));

        Sockets.configure(channel, Map.of(SO_RCVBUF, 65_536, SO_SNDBUF, 32_768, TCP_NODELAY, true,
                SO_KEEPALIVE, true, SO_LINGER, 5));

        assertThat(channel.getOption(SO_RCVBUF)).as("SO_RCVBUF after asking for 65536 (the kernel may give more)")
                .isGreaterThanOrEqualTo(65_536);
        assertThat(channel.getOption(SO_SNDBUF)).as("SO_SNDBUF after asking for 32768").isGreaterThanOrEqualTo(32_768);
        assertThat(channel.getOption(TCP_NODELAY)).as("TCP_NODELAY (Nagle off)").isTrue();
        assertThat(channel.getOption(SO_KEEPALIVE)).as("SO_KEEPALIVE").isTrue();
        assertThat(channel.getOption(SO_LINGER)).as("SO_LINGER seconds").isEqualTo(5);
    }

    @Test
    @Tag("task:2")
    @DisplayName("configure() sets the values asked for, not just 'on': it turns options off again and shrinks a buffer")
    void setsTheValuesAskedForEvenOff() throws Exception {
        var channel = lab.track(SocketChannel.open(StandardProtocolFamily.INET));
        Sockets.configure(channel, Map.of(SO_RCVBUF, 65_536, TCP_NODELAY, true, SO_KEEPALIVE, true, SO_LINGER, 5));

        Sockets.configure(channel, Map.of(SO_RCVBUF, 16_384, TCP_NODELAY, false, SO_KEEPALIVE, false, SO_LINGER, -1,
                SO_REUSEADDR, true));

        assertThat(channel.getOption(TCP_NODELAY))
                .as("TCP_NODELAY after configure(TCP_NODELAY=true), then configure(TCP_NODELAY=false): setsockopt "
                        + "with 0 turns Nagle back on, so false is a value to set, not one to skip").isFalse();
        assertThat(channel.getOption(SO_KEEPALIVE)).as("SO_KEEPALIVE after asking for true, then false").isFalse();
        assertThat(channel.getOption(SO_LINGER))
                .as("SO_LINGER after asking for 5 s, then -1 (linger off: close() returns at once)").isEqualTo(-1);
        assertThat(channel.getOption(SO_REUSEADDR)).as("SO_REUSEADDR after asking for true").isTrue();
        assertThat(channel.getOption(SO_RCVBUF))
                .as("SO_RCVBUF after asking for 65536, then 16384: the buffer is set to the new size, not left as it was")
                .isBetween(16_384, 65_535);
    }

    @Test
    @Tag("task:2")
    @DisplayName("configure() works on UDP sockets too: SO_RCVBUF, SO_BROADCAST and IP_MULTICAST_TTL")
    void setsOptionsOnADatagramSocket() throws Exception {
        var channel = lab.track(DatagramChannel.open(StandardProtocolFamily.INET));

        Sockets.configure(channel, Map.of(SO_RCVBUF, 100_000, SO_BROADCAST, true, IP_MULTICAST_TTL, 7));

        assertThat(channel.getOption(SO_RCVBUF)).as("SO_RCVBUF of the UDP socket").isGreaterThanOrEqualTo(100_000);
        assertThat(channel.getOption(SO_BROADCAST)).as("SO_BROADCAST").isTrue();
        assertThat(channel.getOption(IP_MULTICAST_TTL)).as("IP_MULTICAST_TTL (hops a multicast datagram may take)")
                .isEqualTo(7);
    }

    @Test
    @Tag("task:2")
    @DisplayName("an option the socket does not support (TCP_NODELAY on UDP) is an error naming the option and the socket")
    void reportsAnUnsupportedOption() throws Exception {
        NetworkChannel udp = lab.track(DatagramChannel.open(StandardProtocolFamily.INET));
        Map<SocketOption<?>, Object> options = Map.of(TCP_NODELAY, true);

        assertThatIllegalArgumentException()
                .as("configure(UDP socket, TCP_NODELAY): a UDP socket has no Nagle algorithm to turn off, "
                        + "and skipping the option in silence would hide that")
                .isThrownBy(() -> Sockets.configure(udp, options))
                .withMessageContaining("TCP_NODELAY")
                .withMessageContaining("DatagramChannel");
    }

    @Test
    @Tag("task:2")
    @DisplayName("every kind of socket reports what it does not support: SO_BROADCAST on a SocketChannel, "
            + "TCP_NODELAY on a ServerSocketChannel, SO_LINGER on a DatagramChannel")
    void reportsUnsupportedOptionsOfEveryKind() throws Exception {
        NetworkChannel stream = lab.track(SocketChannel.open(StandardProtocolFamily.INET));
        NetworkChannel listening = lab.track(ServerSocketChannel.open(StandardProtocolFamily.INET));
        NetworkChannel udp = lab.track(DatagramChannel.open(StandardProtocolFamily.INET));
        // a supported option first: the unsupported one must be reported wherever it stands in the map
        var streamOptions = new LinkedHashMap<SocketOption<?>, Object>();
        streamOptions.put(SO_KEEPALIVE, true);
        streamOptions.put(SO_BROADCAST, true);
        var listeningOptions = new LinkedHashMap<SocketOption<?>, Object>();
        listeningOptions.put(SO_RCVBUF, 65_536);
        listeningOptions.put(TCP_NODELAY, true);

        assertThatIllegalArgumentException()
                .as("configure(TCP stream socket, SO_KEEPALIVE then SO_BROADCAST): broadcast is a datagram's option")
                .isThrownBy(() -> Sockets.configure(stream, streamOptions))
                .withMessageContaining("SO_BROADCAST").withMessageContaining("SocketChannel");
        assertThatIllegalArgumentException()
                .as("configure(listening socket, SO_RCVBUF then TCP_NODELAY): a listener sends no data, so it has no "
                        + "Nagle algorithm; the kind of socket is its channel class, here ServerSocketChannel")
                .isThrownBy(() -> Sockets.configure(listening, listeningOptions))
                .withMessageContaining("TCP_NODELAY").withMessageContaining("ServerSocketChannel");
        assertThatIllegalArgumentException()
                .as("configure(UDP socket, SO_LINGER): there is no connection to linger over")
                .isThrownBy(() -> Sockets.configure(udp, Map.of(SO_LINGER, 5)))
                .withMessageContaining("SO_LINGER").withMessageContaining("DatagramChannel");
    }

    @Test
    @NeedsProc
    @Tag("task:3")
    @DisplayName("countSockets() goes up by one per socket opened and back to the baseline once they are closed")
    void countsSocketsUpAndDown() throws Exception {
        int baseline = Sockets.countSockets();
        assertThat(baseline).as("countSockets() must agree with /proc/self/fd").isEqualTo(Descriptors.socketInodes().size());

        var tcp = SocketChannel.open();
        var udp = DatagramChannel.open();
        var listener = lab.listener();
        int during = Sockets.countSockets();
        tcp.close();
        udp.close();
        listener.close();
        int after = Sockets.countSockets();

        assertThat(during).as("sockets counted with a TCP, a UDP and a listening socket open (baseline %d)", baseline)
                .isEqualTo(baseline + 3);
        assertThat(after).as("sockets counted after closing all three: close() frees the descriptor").isEqualTo(baseline);
    }

    @Test
    @NeedsProc
    @Tag("task:3")
    @DisplayName("countSockets() closes what it opens: 50 calls leave the process's descriptor count as it was")
    void countingLeavesNoDescriptorBehind() throws Exception {
        Sockets.countSockets();
        int before = Descriptors.count();

        for (int i = 0; i < 50; i++) {
            Sockets.countSockets();
        }

        // A leak shows as one descriptor (or more) per call; a margin of 10 leaves room for the JVM's own.
        assertThat(Descriptors.count())
                .as("descriptors in /proc/self/fd after 50 calls of countSockets() (%d before): listing /proc/self/fd "
                        + "opens the directory, a descriptor of its own, until the listing is closed", before)
                .isLessThan(before + 10);
    }

    @Test
    @NeedsProc
    @Tag("task:3")
    @DisplayName("countSockets() counts sockets only: an open file or pipe is a descriptor, not a socket")
    void countsOnlySockets() throws Exception {
        var file = Files.createTempFile("workbook", ".txt");
        int baseline = Sockets.countSockets();
        var pipe = Pipe.open();
        try (var _ = FileChannel.open(file, StandardOpenOption.READ); var _ = pipe.source(); var _ = pipe.sink()) {
            assertThat(Sockets.countSockets())
                    .as("sockets counted with a file and a pipe open (baseline %d): /proc/self/fd links a socket to "
                            + "'socket:[inode]', a file to its path, a pipe to 'pipe:[inode]'", baseline)
                    .isEqualTo(baseline);
        } finally {
            Files.delete(file);
        }
    }
}
