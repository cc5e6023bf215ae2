import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/// A TCP relay on loopback that cuts the byte stream into pieces: what one write() sends arrives at the other end
/// as many small segments, so a reader sees partial reads it would hardly ever see on a quiet loopback.
///
/// ```
/// client ──▶ relay (127.0.0.1, port 0) ──▶ target        each direction re-sent in writes of at most `piece`
///        ◀──                          ◀──                bytes (TCP_NODELAY: each write its own segment),
///                                                        with an optional pause between pieces
/// ```
/// It forwards EOF as a half-close (shutdownOutput) and a reset as a reset, and can itself reset a connection on
/// cue: `resetAfter(n)` lets exactly n bytes through towards the target and then closes both of its sockets with
/// SO_LINGER 0, so both peers see RST (`Connection reset`) in the middle of whatever they were doing.
///
/// Everything is bounded: connections (at most {@link #MAX_CONNECTIONS} at once), the connect to the target (2 s),
/// the piece size, the pause, and `close()` — which ends every connection and thread it started.
/// Usable from tests (`lab.track(new FragmentingRelay(...))`) and lessons (`//SOURCES ../bench/FragmentingRelay.java`).
public final class FragmentingRelay implements AutoCloseable {

    /// Connections relayed at the same time; one more is closed as soon as it is accepted.
    public static final int MAX_CONNECTIONS = 64;
    /// The largest piece: beyond it the relay would no longer fragment anything worth the name.
    public static final int MAX_PIECE = 1 << 20;
    /// The longest pause between two pieces.
    public static final Duration MAX_PAUSE = Duration.ofSeconds(1);

    private static final int CONNECT_TIMEOUT_MS = 2_000;
    private static final int READ_CHUNK = 64 * 1024;

    private final InetSocketAddress target;
    private final int piece;
    private final long pauseNanos;
    private final ServerSocket listener;
    private final Thread acceptor;
    private final Set<Link> links = ConcurrentHashMap.newKeySet();
    private final AtomicLong pieces = new AtomicLong();
    private final AtomicLong accepted = new AtomicLong();
    private volatile long resetAfter = -1;
    private volatile boolean closed;

    /// A relay to `target` that re-sends each direction in writes of at most `piece` bytes, back to back.
    public FragmentingRelay(SocketAddress target, int piece) throws IOException {
        this(target, piece, Duration.ZERO);
    }

    /// A relay to `target` that re-sends each direction in writes of at most `piece` bytes with `pause` after each.
    public FragmentingRelay(SocketAddress target, int piece, Duration pause) throws IOException {
        if (!(target instanceof InetSocketAddress t) || t.isUnresolved() || !t.getAddress().isLoopbackAddress()) {
            throw new IllegalArgumentException("the relay forwards to a loopback address only, got " + target);
        }
        if (piece < 1 || piece > MAX_PIECE) {
            throw new IllegalArgumentException("piece must be 1.." + MAX_PIECE + " bytes, got " + piece);
        }
        if (pause == null || pause.isNegative() || pause.compareTo(MAX_PAUSE) > 0) {
            throw new IllegalArgumentException("pause must be 0.." + MAX_PAUSE.toMillis() + " ms, got " + pause);
        }
        this.target = t;
        this.piece = piece;
        this.pauseNanos = pause.toNanos();
        this.listener = new ServerSocket(0, MAX_CONNECTIONS, InetAddress.getLoopbackAddress());
        this.acceptor = Thread.ofVirtual().name("relay-accept-" + listener.getLocalPort()).start(this::acceptLoop);
    }

    /// The relay's own address: connect here instead of to the target.
    public InetSocketAddress address() {
        return new InetSocketAddress(listener.getInetAddress(), listener.getLocalPort());
    }

    /// The relay's port on loopback.
    public int port() {
        return listener.getLocalPort();
    }

    /// From now on, every connection (open or new) is reset once `bytesToTarget` bytes of it have been forwarded
    /// towards the target: exactly that many arrive, then both peers get RST.
    public FragmentingRelay resetAfter(long bytesToTarget) {
        if (bytesToTarget < 0) {
            throw new IllegalArgumentException("bytesToTarget must be >= 0, got " + bytesToTarget);
        }
        resetAfter = bytesToTarget;
        links.forEach(Link::checkCue);
        return this;
    }

    /// Resets every connection now (SO_LINGER 0 close of both relay sockets): both peers see RST.
    public void reset() {
        links.forEach(Link::abort);
    }

    /// Writes the relay has made (or is making) so far, both directions together: one per piece.
    public long pieces() {
        return pieces.get();
    }

    /// Connections accepted so far.
    public long connections() {
        return accepted.get();
    }

    /// Stops accepting and ends every connection (orderly close) and every thread the relay started.
    @Override
    public void close() {
        closed = true;
        try {
            listener.close();
        } catch (IOException ignored) {
            // closing is all that is left to do
        }
        links.forEach(Link::close);
        try {
            acceptor.join(Duration.ofSeconds(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = listener.accept();
            } catch (IOException e) {
                return; // the listener was closed
            }
            accepted.incrementAndGet();
            if (links.size() >= MAX_CONNECTIONS) {
                quietly(client);
                continue;
            }
            Thread.ofVirtual().name("relay-link-" + client.getPort()).start(() -> link(client));
        }
    }

    private void link(Socket client) {
        var server = new Socket();
        var link = new Link(client, server);
        links.add(link);
        try {
            server.connect(target, CONNECT_TIMEOUT_MS);
            // Each piece must leave as its own segment: without TCP_NODELAY, Nagle would glue small pieces together.
            client.setTcpNoDelay(true);
            server.setTcpNoDelay(true);
            if (closed) {
                link.close();
                return;
            }
            var back = Thread.ofVirtual().name("relay-back-" + client.getPort()).start(() -> link.pump(server, client, false));
            link.pump(client, server, true);
            back.join(TimeUnit.SECONDS.toMillis(60)); // bounded: an idle peer keeps its link open no longer
        } catch (IOException | InterruptedException e) {
            link.abort();
        } finally {
            link.close();
            links.remove(link);
        }
    }

    /// One relayed connection: the client's socket and the relay's own socket to the target.
    private final class Link {
        private final Socket client;
        private final Socket server;
        private final AtomicLong toTarget = new AtomicLong();
        private volatile boolean aborted;

        Link(Socket client, Socket server) {
            this.client = client;
            this.server = server;
        }

        void pump(Socket from, Socket to, boolean towardsTarget) {
            var buffer = new byte[Math.max(piece, READ_CHUNK)];
            try {
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                if (towardsTarget && resetAfter == 0) {
                    abort();
                    return;
                }
                int n;
                while ((n = in.read(buffer)) > 0) {
                    for (int off = 0; off < n; ) {
                        int len = Math.min(piece, n - off);
                        if (towardsTarget) {
                            long cue = resetAfter;
                            long sent = toTarget.get();
                            if (cue >= 0 && sent + len >= cue) {
                                len = (int) (cue - sent);
                                pieces.incrementAndGet();
                                out.write(buffer, off, len);
                                toTarget.addAndGet(len);
                                abort();
                                return;
                            }
                        }
                        pieces.incrementAndGet(); // counted first: once the peer has the bytes, the count has them too
                        out.write(buffer, off, len);
                        if (towardsTarget) {
                            toTarget.addAndGet(len);
                        }
                        off += len;
                        if (pauseNanos > 0) {
                            LockSupport.parkNanos(pauseNanos); // the pause is the point: the reader sees each piece alone
                        }
                    }
                }
                // EOF from one side: pass it on as a half-close, so the other side reads -1 too.
                to.shutdownOutput();
            } catch (SocketException e) {
                // A reset (or our own close) on one side: pass a reset on to the other, as a router would not,
                // but as the peer would see it end to end.
                if (!closed) {
                    abort();
                }
            } catch (IOException e) {
                abort();
            }
        }

        void checkCue() {
            long cue = resetAfter;
            if (cue >= 0 && toTarget.get() >= cue) {
                abort();
            }
        }

        /// SO_LINGER 0 then close: the kernel discards what is queued and sends RST instead of FIN.
        void abort() {
            if (aborted) {
                return;
            }
            aborted = true;
            for (Socket s : new Socket[] {client, server}) {
                try {
                    if (!s.isClosed()) {
                        s.setSoLinger(true, 0);
                    }
                } catch (IOException ignored) {
                    // not connected yet or closed meanwhile: closing is still right
                }
                quietly(s);
            }
        }

        void close() {
            quietly(client);
            quietly(server);
        }
    }

    private static void quietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // nothing left to do with a socket that will not close
        }
    }
}
