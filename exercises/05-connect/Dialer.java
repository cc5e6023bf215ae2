import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
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

    // TODO(task 1): connect a new socket to `to`, waiting at most `timeout`, and say how it ended: Connected (with
    //  the connected socket), Refused, TimedOut, or Failed for anything else — never an exception, never a leaked
    //  socket. A null or unresolved address, or a zero or negative timeout, is an IllegalArgumentException whose
    //  message names it. A positive timeout under a millisecond is still a bound, never "no timeout".
    public static Attempt attempt(InetSocketAddress to, Duration timeout) {
        throw new UnsupportedOperationException(
                "Task 1: implement Dialer.attempt (see chapters/05-connect/README.adoc, 'Task 1: One attempt, named')");
    }

    // TODO(task 2): connect to `port` on one of `addresses`: try each in the order given, report every attempt to
    //  `onAttempt` as soon as it ends, and return the first connected socket. After a round in which all failed,
    //  pause (firstBackoff, then twice as long each round) and try again. Never run past the deadline — not even
    //  inside a connect(): each connect() waits at most what is left of it. When the deadline leaves no room for
    //  another attempt, or when the next pause would end past it, throw GaveUp with every attempt made at once,
    //  without sleeping. If onAttempt throws, that exception leaves dial() as it is, and a socket the failed
    //  report was about is closed first (nobody else can close it). If the thread is interrupted, stop with
    //  InterruptedIOException and leave its interrupt status set.
    //  Bad arguments (no addresses, a null among them, a port outside 1..65535, a missing patience, a
    //  connectTimeout, firstBackoff or deadline that is not positive, a null onAttempt — pass `a -> { }` to ignore
    //  attempts) are an IllegalArgumentException whose message names the value.
    public static Socket dial(List<InetAddress> addresses, int port, Patience patience,
                              Consumer<? super Attempt> onAttempt) throws IOException {
        throw new UnsupportedOperationException(
                "Task 2: implement Dialer.dial (see chapters/05-connect/README.adoc, 'Task 2: Dial with patience')");
    }
}
