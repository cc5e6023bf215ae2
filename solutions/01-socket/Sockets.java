import java.io.IOException;
import java.net.ProtocolFamily;
import java.net.SocketOption;
import java.net.StandardProtocolFamily;
import java.nio.channels.DatagramChannel;
import java.nio.channels.NetworkChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

/// Chapter 1: open a socket of the kind you ask for, set its options, and count the process's sockets.
public final class Sockets {

    /// The socket type: SOCK_STREAM (TCP, or a Unix-domain stream) or SOCK_DGRAM (UDP).
    public enum Type { STREAM, DATAGRAM }

    private Sockets() {
    }

    public static NetworkChannel open(ProtocolFamily family, Type type) throws IOException {
        if (family == null || type == null) {
            throw new IllegalArgumentException("family and type are required, got family=" + family + ", type=" + type);
        }
        if (family == StandardProtocolFamily.UNIX && type == Type.DATAGRAM) {
            // The kernel has AF_UNIX + SOCK_DGRAM; Java's channels do not offer it.
            throw new IllegalArgumentException("Java cannot open a UNIX DATAGRAM socket (only UNIX STREAM)");
        }
        // Without the family, Java opens a dual-stack AF_INET6 socket: the family must be asked for.
        return switch (type) {
            case STREAM -> SocketChannel.open(family);
            case DATAGRAM -> DatagramChannel.open(family);
        };
    }

    @SuppressWarnings("unchecked")
    public static void configure(NetworkChannel channel, Map<SocketOption<?>, ?> options) throws IOException {
        for (var option : options.entrySet()) {
            // setOption would throw a bare "'TCP_NODELAY' not supported"; say which socket refused it.
            if (!channel.supportedOptions().contains(option.getKey())) {
                throw new IllegalArgumentException("%s is not an option of a %s; it supports %s".formatted(
                        option.getKey().name(), kind(channel), channel.supportedOptions()));
            }
            channel.setOption((SocketOption<Object>) option.getKey(), option.getValue());
        }
    }

    public static int countSockets() throws IOException {
        int sockets = 0;
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    // A socket's descriptor is a link to "socket:[inode]"; files and pipes link elsewhere.
                    if (Files.readSymbolicLink(fd).toString().startsWith("socket:")) {
                        sockets++;
                    }
                } catch (IOException closedMeanwhile) {
                    // the listing's own descriptor is gone by the time we look at it
                }
            }
        }
        return sockets;
    }

    /// The kind of socket, as the message names it: its channel class, which says what the socket is for.
    private static String kind(NetworkChannel channel) {
        return switch (channel) {
            case DatagramChannel _ -> "DatagramChannel (a datagram socket)";
            case ServerSocketChannel _ -> "ServerSocketChannel (a listening socket)";
            case SocketChannel _ -> "SocketChannel (a stream socket)";
            default -> channel.getClass().getName();
        };
    }
}
