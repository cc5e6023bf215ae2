import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;

/// Chapter 6: a server on loopback that answers every framed message on every connection with `handler`'s reply,
/// one virtual thread per connection.
public final class FrameServer implements AutoCloseable {

    /// How many exceptions [#failures] keeps: the newest; older ones are dropped.
    public static final int MAX_FAILURES = 100;

    private final ServerSocketChannel listener;
    private final int maxMessage;
    private final Duration idle;
    private final UnaryOperator<byte[]> handler;
    private final Set<SocketChannel> open = ConcurrentHashMap.newKeySet();
    private final Deque<Exception> failures = new ArrayDeque<>(); // guarded by itself
    private final ScheduledThreadPoolExecutor watchdog;
    private final Thread acceptor;

    private FrameServer(ServerSocketChannel listener, int maxMessage, Duration idle, UnaryOperator<byte[]> handler) {
        this.listener = listener;
        this.maxMessage = maxMessage;
        this.idle = idle;
        this.handler = handler;
        this.watchdog = new ScheduledThreadPoolExecutor(1, Thread.ofVirtual().name("frame-watchdog").factory());
        this.watchdog.setRemoveOnCancelPolicy(true); // a cancelled cut-off must not linger for the whole idle time
        this.acceptor = Thread.ofVirtual().name("frame-accept").start(this::acceptLoop);
    }

    public static FrameServer start(int maxMessage, Duration idle, UnaryOperator<byte[]> handler) throws IOException {
        if (maxMessage < 0) {
            throw new IllegalArgumentException("maxMessage must be >= 0, got " + maxMessage);
        }
        if (idle == null || idle.isNegative() || idle.isZero()) {
            // No idle bound would let any client hold a thread and a descriptor for as long as it likes.
            throw new IllegalArgumentException("idle time must be positive, got " + idle);
        }
        if (handler == null) {
            throw new IllegalArgumentException("handler is null");
        }
        var listener = ServerSocketChannel.open();
        try {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        } catch (IOException | RuntimeException e) {
            listener.close();
            throw e;
        }
        return new FrameServer(listener, maxMessage, idle, handler);
    }

    public int port() {
        return listener.socket().getLocalPort();
    }

    public List<Exception> failures() {
        synchronized (failures) {
            return List.copyOf(failures);
        }
    }

    private void acceptLoop() {
        while (listener.isOpen()) {
            SocketChannel connection;
            try {
                connection = listener.accept();
            } catch (IOException e) {
                return; // the listener was closed by close()
            }
            open.add(connection);
            if (!listener.isOpen()) {
                // close() ran between accept() and add(): it did not see this one.
                closeQuietly(connection);
                return;
            }
            // A thread per connection: a client that stops mid-frame blocks its own thread, nobody else's.
            Thread.ofVirtual().name("frame-conn-", 0).start(() -> serve(connection));
        }
    }

    private void serve(SocketChannel connection) {
        try (var frames = new FramedChannel(connection, maxMessage)) {
            while (true) {
                // FramedChannel refuses a length above maxMessage before it allocates: a request's size is bounded.
                // Its time is bounded here: a client that sends no whole frame within `idle` is hung up on (FIN).
                byte[] request = within(connection, false, "no whole request frame", "closed", frames::receive);
                if (request == null) {
                    return; // the client closed between two frames: done
                }
                byte[] reply = handler.apply(request);
                // A client that does not take its reply within `idle` (it sends but never reads: the buffers fill
                // and write() blocks) is cut off with an RST, which also drops the reply the kernel still holds.
                within(connection, true, "the reply was not taken", "cut off (RST)", () -> {
                    frames.send(reply);
                    return null;
                });
            }
        } catch (IOException | RuntimeException e) {
            // A reset, an EOF mid-frame, a bad length, a client cut off or a failing handler ends this connection
            // only; try-with-resources has closed it, so no CLOSE_WAIT is left behind.
            remember(e);
        } finally {
            open.remove(connection);
        }
    }

    private interface Io<T> {
        T call() throws IOException;
    }

    /// Runs `io`, and closes the connection if it has not finished within `idle`. A blocking channel ignores
    /// SO_TIMEOUT, and a blocked write has no timeout at all: a close from another thread is what ends the wait.
    private <T> T within(SocketChannel connection, boolean abort, String what, String ending, Io<T> io)
            throws IOException {
        var expired = new AtomicBoolean();
        ScheduledFuture<?> cutoff = watchdog.schedule(() -> {
            expired.set(true);
            if (abort) {
                abort(connection);
            } else {
                closeQuietly(connection);
            }
        }, idle.toNanos(), TimeUnit.NANOSECONDS);
        T result = null;
        IOException failure = null;
        try {
            result = io.call();
        } catch (IOException e) {
            failure = e;
        } finally {
            cutoff.cancel(false);
        }
        // Checked even when the call returned: a write woken by the close may still finish its last bytes, but the
        // connection is gone all the same.
        if (expired.get()) {
            var timeout = new SocketTimeoutException("%s within the idle time of %d ms: the connection was %s"
                    .formatted(what, idle.toMillis(), ending));
            timeout.initCause(failure);
            throw timeout;
        }
        if (failure != null) {
            throw failure;
        }
        return result;
    }

    private void remember(Exception e) {
        synchronized (failures) {
            // Bounded: a stream of bad clients must not grow the server's memory without end.
            if (failures.size() == MAX_FAILURES) {
                failures.removeFirst();
            }
            failures.addLast(e);
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        for (var connection : open) {
            closeQuietly(connection);
        }
        watchdog.shutdownNow();
        try {
            acceptor.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /// SO_LINGER 0, then close: an RST instead of a FIN, and whatever the kernel still had to send is dropped.
    private static void abort(SocketChannel connection) {
        try {
            connection.setOption(StandardSocketOptions.SO_LINGER, 0);
        } catch (IOException | RuntimeException alreadyClosed) {
            // closing is all that is left to do
        }
        closeQuietly(connection);
    }

    private static void closeQuietly(SocketChannel connection) {
        try {
            connection.close();
        } catch (IOException ignored) {
            // already closed, or the peer is gone: either way the descriptor is released
        }
    }
}
