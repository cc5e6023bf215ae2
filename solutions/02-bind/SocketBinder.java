import java.io.IOException;
import java.net.BindException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProtocolFamily;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.nio.channels.NetworkChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;

/// Chapter 2: give a socket its name — a listener on an address and port, a port held without listening, and a
/// client's chosen source.
public final class SocketBinder {

    private SocketBinder() {
    }

    public static ServerSocketChannel listen(InetAddress address, int port, PortReuse reuse, int backlog)
            throws IOException {
        checkAddress(address);
        if (reuse == null) {
            throw new IllegalArgumentException("reuse policy is null: choose STRICT, REUSE_ADDRESS or SHARE_PORT");
        }
        if (backlog < 0) {
            // Java would quietly turn a negative backlog into its default of 50; a caller who passed one made a mistake.
            throw new IllegalArgumentException("backlog " + backlog + " is negative: give 0 for the default, or a queue length");
        }
        var local = socketAddress(address, port);
        // The family follows the address: AF_INET for an IPv4 one, so that 0.0.0.0 means "every IPv4 address" and
        // nothing more; AF_INET6 for an IPv6 one, where :: is dual stack and takes IPv4 clients too.
        var listener = ServerSocketChannel.open(familyOf(address));
        try {
            // Options count at bind(): the kernel decides then whether the address may be shared.
            reuse.applyTo(listener);
            // ServerSocketChannel.bind is bind(2) and listen(2) in one call.
            listener.bind(local, backlog);
            return listener;
        } catch (BindException e) {
            listener.close(); // a socket that failed to bind is still a descriptor: don't leak it
            throw named(e, address, port);
        } catch (IOException | RuntimeException e) {
            listener.close();
            throw e;
        }
    }

    public static NetworkChannel reserve(InetAddress address, int port) throws IOException {
        checkAddress(address);
        var local = socketAddress(address, port);
        // A stream socket that is bound but neither listens nor connects: bind(2) without listen(2). (A
        // ServerSocketChannel cannot do that in Java: its bind() listens too, and then clients get in.)
        var holder = SocketChannel.open(familyOf(address));
        try {
            // SO_REUSEADDR must stay off: Linux lets two sockets that both have it share a port as long as
            // neither listens — so a listener with it (every Java listener) could bind right over the reservation.
            PortReuse.STRICT.applyTo(holder);
            holder.bind(local);
            return holder;
        } catch (BindException e) {
            holder.close();
            throw named(e, address, port);
        } catch (IOException | RuntimeException e) {
            holder.close();
            throw e;
        }
    }

    public static Socket connectFrom(InetSocketAddress source, InetSocketAddress server, Duration timeout)
            throws IOException {
        if (source == null || server == null) {
            throw new IllegalArgumentException("source and server are required, got source=" + source + ", server=" + server);
        }
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            // Zero would mean "wait forever" to connect(): not a bound at all.
            throw new IllegalArgumentException("connect timeout must be positive, got " + timeout);
        }
        var client = new Socket();
        try {
            // bind() before connect() fixes the source; without it connect() picks the address by route and an
            // ephemeral port from ip_local_port_range.
            client.bind(source);
            client.connect(server, (int) Math.min(Integer.MAX_VALUE, Math.max(1, timeout.toMillis())));
            return client;
        } catch (IOException | RuntimeException e) {
            client.close();
            throw e;
        }
    }

    private static ProtocolFamily familyOf(InetAddress address) {
        return address instanceof Inet4Address ? StandardProtocolFamily.INET : StandardProtocolFamily.INET6;
    }

    private static BindException named(BindException e, InetAddress address, int port) {
        // Java's message is the bare strerror ("Address already in use"); say which address it was about.
        String host = address.getHostAddress();
        var named = new BindException("bind(%s:%d): %s".formatted(host.contains(":") ? "[" + host + "]" : host, port,
                e.getMessage()));
        named.initCause(e);
        return named;
    }

    private static void checkAddress(InetAddress address) {
        if (address == null) {
            throw new IllegalArgumentException(
                    "address is null: give 127.0.0.1 or ::1 for loopback only, 0.0.0.0 or :: for every address");
        }
    }

    /// The address to bind, made before any socket exists: InetSocketAddress refuses a port outside 0..65535 with
    /// an IllegalArgumentException that names it ("port out of range:65536"), so nothing is opened to be leaked.
    private static InetSocketAddress socketAddress(InetAddress address, int port) {
        return new InetSocketAddress(address, port);
    }
}
