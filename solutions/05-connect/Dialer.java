import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/// Chapter 5: connect() to a service that may have several addresses, may refuse, may stay silent, or may start late.
public final class Dialer {

    /// How one connect() ended: the kernel's answer to the SYN decides which.
    public sealed interface Attempt permits Connected, Refused, TimedOut, Failed {
        /// The address and port the SYN went to.
        InetSocketAddress to();

        /// How long connect() took, from the call to its return or failure.
        Duration took();
    }

    /// SYN, SYN-ACK, ACK: the handshake completed and `socket` is connected (ESTABLISHED).
    public record Connected(InetSocketAddress to, Duration took, Socket socket) implements Attempt {
    }

    /// ECONNREFUSED: an RST answered the SYN, because nothing listens on that address and port.
    public record Refused(InetSocketAddress to, Duration took) implements Attempt {
    }

    /// ETIMEDOUT: nothing answered the SYN (nor its retransmissions) before the connect timeout.
    public record TimedOut(InetSocketAddress to, Duration took) implements Attempt {
    }

    /// Any other failure, e.g. EHOSTUNREACH (`NoRouteToHostException`) or ENETUNREACH (`SocketException:
    /// Network is unreachable`), or an address family this machine does not have.
    public record Failed(InetSocketAddress to, Duration took, IOException error) implements Attempt {
    }

    /// How patient [#dial] is: each connect() waits at most `connectTimeout`; after a round in which every address
    /// failed it pauses `firstBackoff`, then twice as long after each further round; it gives up once `deadline` has
    /// passed since the call began.
    public record Patience(Duration connectTimeout, Duration firstBackoff, Duration deadline) {
    }

    /// Thrown by [#dial] when its deadline leaves no time for another attempt; `attempts()` lists every one it made.
    public static final class GaveUp extends ConnectException {
        private final transient List<Attempt> attempts;

        public GaveUp(String message, List<Attempt> attempts) {
            super(message);
            this.attempts = List.copyOf(attempts);
        }

        /// Every attempt dial() made, in order.
        public List<Attempt> attempts() {
            return attempts;
        }
    }

    private Dialer() {
    }

    public static Attempt attempt(InetSocketAddress to, Duration timeout) {
        if (to == null || to.isUnresolved()) {
            // The dialer is handed addresses, never names: resolving here would hide a DNS lookup inside connect.
            throw new IllegalArgumentException("need a resolved address to connect to, got " + to);
        }
        // Socket.connect(to, 0) means "no bound": the kernel would retransmit the SYN for about two minutes.
        requirePositive("timeout", timeout);
        // A socket whose connect() failed cannot be connected again (POSIX leaves its state unspecified, and Java
        // closes it): every attempt gets a socket of its own.
        var socket = new Socket();
        long start = System.nanoTime();
        try {
            socket.connect(to, millis(timeout));
            return new Connected(to, since(start), socket);
        } catch (IOException e) {
            close(socket);
            return classify(to, since(start), e);
        }
    }

    private static Attempt classify(InetSocketAddress to, Duration took, IOException e) {
        return switch (e) {
            // Our own bound ran out while the SYN went unanswered (Java: "Connect timed out").
            case SocketTimeoutException _ -> new TimedOut(to, took);
            // Java maps both ECONNREFUSED and the kernel's own ETIMEDOUT (after its SYN retries, about 2 minutes)
            // to ConnectException; only the message tells them apart.
            case ConnectException c when String.valueOf(c.getMessage()).contains("timed out") -> new TimedOut(to, took);
            case ConnectException _ -> new Refused(to, took);
            // NoRouteToHostException (EHOSTUNREACH), "Network is unreachable" (ENETUNREACH), no IPv6 here, …
            default -> new Failed(to, took, e);
        };
    }

    public static Socket dial(List<InetAddress> addresses, int port, Patience patience,
                              Consumer<? super Attempt> onAttempt) throws IOException {
        check(addresses, port, patience, onAttempt);
        long deadline = System.nanoTime() + patience.deadline().toNanos();
        var attempts = new ArrayList<Attempt>();
        Duration pause = patience.firstBackoff();
        while (true) {
            // One round: every address in the order given (RFC 8305 puts the preferred family first and
            // alternates); the first that completes the handshake wins.
            for (InetAddress address : addresses) {
                long left = deadline - System.nanoTime();
                if (left < 1_000_000) { // under a millisecond: connect() counts whole ones, and cannot wait less
                    throw gaveUp(port, patience, attempts);
                }
                // The deadline bounds connect() too: a 2 s connect timeout must not outlive a 250 ms deadline.
                Duration bound = min(patience.connectTimeout(), Duration.ofNanos(left));
                Attempt attempt = attempt(new InetSocketAddress(address, port), bound);
                attempts.add(attempt);
                report(onAttempt, attempt);
                if (attempt instanceof Connected connected) {
                    return connected.socket();
                }
            }
            // Every address failed. Waiting longer each round spares a restarting server a storm of SYNs;
            // a pause that would end past the deadline cannot lead to another attempt, so give up now.
            if (pause.toNanos() >= deadline - System.nanoTime()) {
                throw gaveUp(port, patience, attempts);
            }
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // whoever interrupted us wants the dial abandoned
                throw new InterruptedIOException("dial to port " + port + " interrupted after " + attempts.size() + " attempts");
            }
            pause = pause.multipliedBy(2);
        }
    }

    private static void report(Consumer<? super Attempt> onAttempt, Attempt attempt) {
        try {
            onAttempt.accept(attempt);
        } catch (RuntimeException | Error e) {
            // The caller's listener failed, so the caller will never see this socket: close it, or the connection
            // stays ESTABLISHED with nobody to read or close it (the server keeps a client that is not there).
            if (attempt instanceof Connected connected) {
                close(connected.socket());
            }
            throw e;
        }
    }

    private static void check(List<InetAddress> addresses, int port, Patience patience, Consumer<?> onAttempt) {
        if (addresses == null || addresses.isEmpty()) {
            throw new IllegalArgumentException("no address to dial: addresses = " + addresses);
        }
        if (addresses.stream().anyMatch(Objects::isNull)) {
            throw new IllegalArgumentException("addresses contains null: " + addresses);
        }
        // Port 0 means "any port" to bind(); as a destination it names no service.
        if (port < 1 || port > 65_535) {
            throw new IllegalArgumentException("port " + port + " is out of range 1..65535");
        }
        if (patience == null || onAttempt == null) {
            throw new IllegalArgumentException("patience and onAttempt are required, got patience = " + patience
                    + ", onAttempt = " + onAttempt);
        }
        requirePositive("connectTimeout", patience.connectTimeout());
        requirePositive("firstBackoff", patience.firstBackoff());
        requirePositive("deadline", patience.deadline());
    }

    private static void requirePositive(String name, Duration value) {
        if (value == null || value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException(name + " must be positive, got " + value
                    + (value == null ? "" : " (" + value.toMillis() + " ms)"));
        }
    }

    private static GaveUp gaveUp(int port, Patience patience, List<Attempt> attempts) {
        long refused = attempts.stream().filter(a -> a instanceof Refused).count();
        long timedOut = attempts.stream().filter(a -> a instanceof TimedOut).count();
        long failed = attempts.stream().filter(a -> a instanceof Failed).count();
        return new GaveUp("gave up on port %d after %d attempts within the %d ms deadline: %d refused, %d timed out, %d failed otherwise; last: %s"
                .formatted(port, attempts.size(), patience.deadline().toMillis(), refused, timedOut, failed,
                        attempts.isEmpty() ? "none" : attempts.getLast()), attempts);
    }

    private static int millis(Duration d) {
        // connect() takes whole milliseconds, and 0 would mean "forever": round a sub-millisecond bound up.
        return Math.clamp(d.toMillis(), 1, Integer.MAX_VALUE);
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private static Duration since(long start) {
        return Duration.ofNanos(System.nanoTime() - start);
    }

    private static void close(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // the connect already failed; that is the news
        }
    }
}
