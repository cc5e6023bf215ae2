import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;

/// Chapter 6: a server on loopback that answers every framed message on every connection with `handler`'s reply,
/// one virtual thread per connection.
public final class FrameServer implements AutoCloseable {

    private final ServerSocketChannel listener;
    private final int maxMessage;
    private final UnaryOperator<byte[]> handler;
    private final Set<SocketChannel> open = ConcurrentHashMap.newKeySet();
    private final List<Exception> failures = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    private FrameServer(ServerSocketChannel listener, int maxMessage, UnaryOperator<byte[]> handler) {
        this.listener = listener;
        this.maxMessage = maxMessage;
        this.handler = handler;
        this.acceptor = Thread.ofVirtual().name("frame-accept").start(this::acceptLoop);
    }

    public static FrameServer start(int maxMessage, UnaryOperator<byte[]> handler) throws IOException {
        if (maxMessage < 0) {
            throw new IllegalArgumentException("maxMessage must be >= 0, got " + maxMessage);
        }
        if (handler == null) {
            throw new IllegalArgumentException("handler is null");
        }
        var listener = ServerSocketChannel.open();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        return new FrameServer(listener, maxMessage, handler);
    }

    public int port() {
        return listener.socket().getLocalPort();
    }

    public List<Exception> failures() {
        return List.copyOf(failures);
    }

    // tag::serve[]
    private void acceptLoop() {
        while (listener.isOpen()) {
            SocketChannel connection;
            try {
                connection = listener.accept();
            } catch (IOException e) {
                return; // the listener was closed by close()
            }
            open.add(connection);
            // A thread per connection: a client that stops mid-frame blocks its own thread, nobody else's.
            Thread.ofVirtual().name("frame-conn-", 0).start(() -> serve(connection));
        }
    }

    private void serve(SocketChannel connection) {
        try (var frames = new FramedChannel(connection, maxMessage)) {
            byte[] request;
            while ((request = frames.receive()) != null) {
                frames.send(handler.apply(request));
            }
        } catch (IOException | RuntimeException e) {
            // A reset, an EOF mid-frame, a bad length or a failing handler ends this connection only;
            // try-with-resources has closed it, so no CLOSE_WAIT is left behind.
            failures.add(e);
        } finally {
            open.remove(connection);
        }
    }
    // end::serve[]

    @Override
    public void close() throws IOException {
        listener.close();
        for (var connection : open) {
            connection.close();
        }
        try {
            acceptor.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
