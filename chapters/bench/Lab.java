import java.io.EOFException;
import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Deque;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;
import org.opentest4j.TestAbortedException;

/// A graded test's workbench: what the test opens through it is closed after the test even when the code under
/// test hung, and failures that only JUnit would understand are told in socket terms.
///
/// Register it in every graded test class: `@RegisterExtension final Lab lab = new Lab();`
///
/// Why: a test that times out is abandoned, not stopped — a thread blocked in `accept()` or `read()` ignores
/// interrupts. Closing its sockets is what wakes it (with a `SocketException`), so nothing of one test, thread or
/// socket, lives on into the next.
public final class Lab implements BeforeEachCallback, AfterEachCallback, ExecutionCondition, TestExecutionExceptionHandler {

    /// 127.0.0.1: tests and lessons talk to this machine only.
    public static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private final Deque<AutoCloseable> owned = new ConcurrentLinkedDeque<>();

    /// Closes `resource` after the test (last opened, first closed), whatever the test did.
    public <T extends AutoCloseable> T track(T resource) {
        owned.push(resource);
        return resource;
    }

    /// A listener on a kernel-chosen loopback port with the given accept-queue backlog.
    public ServerSocket listener(int backlog) throws IOException {
        return track(new ServerSocket(0, backlog, LOOPBACK));
    }

    /// A listener on a kernel-chosen loopback port.
    public ServerSocket listener() throws IOException {
        return listener(50);
    }

    /// A client connected to `port` on loopback (connect bounded to 2 s).
    public Socket connect(int port) throws IOException {
        return connect(new InetSocketAddress(LOOPBACK, port));
    }

    /// A client connected to `address` (connect bounded to 2 s).
    public Socket connect(SocketAddress address) throws IOException {
        Socket s = track(new Socket());
        s.connect(address, 2_000);
        return s;
    }

    /// A loopback port that nothing listens on right now: bound by a socket that was closed at once.
    /// (Chosen by the kernel, so nothing else is likely to take it in the moments the test needs it.)
    public static int freePort() throws IOException {
        try (var probe = new ServerSocket(0, 1, LOOPBACK)) {
            return probe.getLocalPort();
        }
    }

    /// Why a test marked `@NeedsProc` cannot be judged here: decided before the test, so no learner code runs.
    static final String NO_PROC = "needs Linux: it reads /proc, which this machine (%s) does not have — grade it on Linux "
            + "(see docs/setup.adoc)";

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        return needsProc(context) && !(ProcNetTcp.available() && Descriptors.available())
                ? ConditionEvaluationResult.disabled(NO_PROC.formatted(System.getProperty("os.name")))
                : ConditionEvaluationResult.enabled("");
    }

    /// Waits until a connect() to `port` on loopback is refused (ECONNREFUSED), trying every 10 ms for at most
    /// `bound`; a connection that still gets through is closed at once. Fails saying how long the port kept taking
    /// connections. (A stopped server's listener may take a moment to go: the JDK closes a socket for good only
    /// once no thread is blocked in it, and a virtual thread parked in accept() leaves it when it is next scheduled.)
    public static void awaitRefused(int port, Duration bound) throws IOException {
        long deadline = System.nanoTime() + bound.toNanos();
        int accepted = 0;
        while (true) {
            try (var probe = new Socket()) {
                probe.connect(new InetSocketAddress(LOOPBACK, port), 2_000);
                accepted++;
            } catch (ConnectException refused) {
                return;
            } catch (SocketException reset) {
                // The listener closed while this probe sat in its accept queue, and the kernel reset the probe's
                // connection: the port is going away. The next try tells whether it refuses.
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError(("connect() to 127.0.0.1:%d still succeeded %d ms after the server was "
                        + "closed (%d connections got through): the listening socket is still open, so the server "
                        + "has not stopped. close() must close its listener (and, if a thread waits in accept(), let "
                        + "it leave: join it).").formatted(port, bound.toMillis(), accepted));
            }
            try {
                Thread.sleep(10); // polling the port: a closed listener sends no notice
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for port " + port + " to refuse connections", e);
            }
        }
    }

    /// What a thread whose stack is `stack` waits for, said in socket terms: `"in read() with no SO_TIMEOUT: …"`.
    /// Empty when the innermost calls are no socket call, sleep or wait this bench knows.
    public static String blockedIn(StackTraceElement[] stack) {
        // A bounded wait shows as timedRead/timedAccept/timedFinishConnect, as poll() with a timeout (a platform
        // thread) or as parkNanos (a virtual thread); an unbounded one sits in the blocking call itself, or in park().
        boolean timed = Arrays.stream(stack).anyMatch(f -> f.getMethodName().startsWith("timed")
                || f.getMethodName().equals("parkNanos") || f.getClassName().equals("sun.nio.ch.Net") && f.getMethodName().equals("poll"));
        for (StackTraceElement f : stack) {
            String type = f.getClassName().substring(f.getClassName().lastIndexOf('.') + 1);
            String call = type + "." + f.getMethodName();
            if (call.equals("NioSocketImpl.connect") || call.equals("SocketChannelImpl.connect")
                    || call.equals("SocketChannelImpl.blockingConnect")) {
                return timed
                        ? "in connect(), waiting out its timeout: a connect timeout longer than the time allowed "
                          + "keeps the call waiting past it (cut the timeout to what is left)"
                        : "in connect() with no timeout: when nothing answers the SYN, the kernel retransmits it for "
                          + "about two minutes before ETIMEDOUT. Pass a timeout to connect()";
            }
            if (call.equals("NioSocketImpl.accept") || call.startsWith("ServerSocketChannelImpl.")) {
                return timed ? "in accept(), waiting out its SO_TIMEOUT"
                        : "in accept() with no SO_TIMEOUT: it waits for ever for a connection that does not come";
            }
            if (call.startsWith("NioSocketImpl.") && f.getMethodName().toLowerCase().contains("write")
                    || call.equals("SocketChannelImpl.write") || call.equals("SocketChannelImpl.implWrite")) {
                return "in write(): the peer does not read, the buffers are full, and a blocking write waits for "
                       + "room for ever (SO_TIMEOUT bounds reads, not writes): only a close ends it";
            }
            if (call.startsWith("NioSocketImpl.") && f.getMethodName().toLowerCase().contains("read")) {
                return timed ? "in read(), waiting out its SO_TIMEOUT: a timeout longer than the test allows, or a "
                               + "read retried after each timeout"
                        : "in read() with no SO_TIMEOUT: it waits for ever for data or the peer's FIN. Bound it "
                          + "with setSoTimeout";
            }
            if (call.equals("SocketChannelImpl.read") || call.equals("SocketChannelImpl.implRead")) {
                return "in SocketChannel.read(): a channel ignores SO_TIMEOUT, so only data, the peer's FIN or a "
                       + "close() from another thread ends this wait";
            }
            if (type.startsWith("DatagramChannelImpl") || type.startsWith("DatagramSocketAdaptor")) {
                return timed ? "in a datagram receive(), waiting out its SO_TIMEOUT"
                        : "in a datagram receive() with no bound: UDP loses datagrams without a word, so an "
                          + "unbounded receive can wait for ever. Set SO_TIMEOUT";
            }
            if (call.equals("Thread.sleep") || call.equals("Thread.sleepNanos")) {
                return "in Thread.sleep(): a pause longer than the time that was left";
            }
            if (type.equals("CompletableFuture") || call.equals("Thread.join") || type.startsWith("CountDownLatch")) {
                return "waiting for another thread (a server or client this test runs beside the code under test)";
            }
        }
        return "";
    }

    /// Before a test that reads /proc, a garbage collection. The JDK closes a socket that code dropped without
    /// close() once a collection finds it (a cleaner): a collection in the middle of a leak check would close the
    /// leaked descriptor, or end its CLOSE_WAIT, and pass the leak off as a close. After one here the young
    /// generation is empty, and a test allocates far too little to fill it again before its check.
    @Override
    public void beforeEach(ExtensionContext context) {
        if (needsProc(context)) {
            System.gc();
        }
    }

    private static boolean needsProc(ExtensionContext context) {
        return context.getElement().map(e -> e.isAnnotationPresent(NeedsProc.class)).orElse(false)
                || context.getTestClass().map(c -> c.isAnnotationPresent(NeedsProc.class)).orElse(false);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        AutoCloseable next;
        while ((next = owned.poll()) != null) {
            try {
                next.close();
            } catch (Exception ignored) {
                // the test has its verdict already; a failing close must not replace it
            }
        }
    }

    @Override
    public void handleTestExecutionException(ExtensionContext context, Throwable thrown) throws Throwable {
        if (thrown instanceof ProcNetTcp.Unavailable unavailable) {
            throw new TestAbortedException(unavailable.getMessage());
        }
        if (thrown instanceof TimeoutException timeout && isJUnitsTimeout(timeout)) {
            throw new AssertionError(stuckMessage(timeout), thrown);
        }
        TimeoutException ownWait = timeoutIn(thrown);
        // (Awaitility's ConditionTimeoutException carries one too, but its message already names the condition.)
        if (ownWait != null && !(thrown instanceof AssertionError) && !thrown.getClass().getName().startsWith("org.awaitility")) {
            throw new AssertionError("the test waited, with a bound, for work it runs on another thread (a server, a "
                    + "client or the code under test), and it was not done in time (TimeoutException" + where(ownWait)
                    + "): the other side is stuck — the test's lines around it say on what.", thrown);
        }
        if (thrown instanceof IOException io) {
            String said = inSocketTerms(io);
            if (!said.isEmpty()) {
                throw new AssertionError(said, thrown);
            }
        }
        throw thrown;
    }

    /// JUnit's own timeout (`@Timeout`, or the default in junit-platform.properties): its cause carries the stack of
    /// the test's thread at the moment it was given up.
    private static boolean isJUnitsTimeout(TimeoutException timeout) {
        return timeout.getCause() != null && timeout.getCause().getClass().getSimpleName().equals("ExecutionTimeoutException");
    }

    private static TimeoutException timeoutIn(Throwable thrown) {
        for (Throwable t = thrown; t != null; t = t.getCause()) {
            if (t instanceof TimeoutException timeout) {
                return timeout;
            }
        }
        return null;
    }

    /// The failures a socket raises, each with what the kernel did and where to look.
    private static String inSocketTerms(IOException e) {
        String message = String.valueOf(e.getMessage());
        String at = where(e);
        return switch (e) {
            case SocketTimeoutException _ -> "a socket call timed out (%s)%s: nothing arrived within its bound — no data, "
                    .formatted(message, at) + "no FIN, no connection. The other end is silent, or still waiting for "
                    + "something this end never sent.";
            case BindException _ -> "bind() failed with EADDRINUSE (%s)%s: another socket holds this address and port — "
                    .formatted(message, at) + "a live listener, or TIME_WAIT rows of connections this port closed first "
                    + "(SO_REUSEADDR lets bind() pass those, never a listener).";
            case ConnectException _ when message.contains("refused") -> "connect() was refused (ECONNREFUSED)%s: an RST "
                    .formatted(at) + "answered the SYN, so nothing listens on that address and port (any more).";
            case EOFException _ -> "the stream ended (the peer's FIN, read() returned -1)%s before what was due had "
                    .formatted(at) + "arrived: %s".formatted(message);
            case SocketException _ when message.contains("Connection reset") -> ("the connection was reset (an RST "
                    + "arrived: ECONNRESET)%s where data or an orderly FIN was due: the other end aborted (SO_LINGER 0), "
                    + "or closed while bytes it had not read were waiting.").formatted(at);
            case IOException _ when message.contains("Broken pipe") -> ("a write failed with EPIPE (Broken pipe)%s: the "
                    + "other end had closed the connection and answered earlier bytes with an RST.").formatted(at);
            default -> "";
        };
    }

    /// " at Class.method(File.java:12)": the innermost frame outside the JDK and the test frameworks.
    private static String where(Throwable t) {
        return Arrays.stream(t.getStackTrace())
                .filter(f -> !f.getClassName().matches("(java|javax|jdk|sun|org\\.junit|org\\.assertj|org\\.awaitility)\\..*"))
                .findFirst().map(f -> " at " + f.getClassName() + "." + f.getMethodName() + "(" + f.getFileName() + ":"
                        + f.getLineNumber() + ")").orElse("");
    }

    private static String stuckMessage(TimeoutException timeout) {
        StackTraceElement[] stack = timeout.getCause().getStackTrace();
        String where = Arrays.stream(stack)
                .filter(f -> !f.getClassName().matches("(java|javax|jdk|sun|org\\.junit)\\..*"))
                .limit(3)
                .map(f -> f.getClassName() + "." + f.getMethodName() + "(" + f.getFileName() + ":" + f.getLineNumber() + ")")
                .collect(Collectors.joining(" <- "));
        String what = blockedIn(stack);
        String innermost = stack.length == 0 ? "" : " (innermost call: " + stack[0].getClassName() + "." + stack[0].getMethodName() + ")";
        return "%s, still blocked%s%s. ".formatted(timeout.getMessage(), where.isEmpty() ? "" : " in " + where, innermost)
                + (what.isEmpty()
                ? "A call that waits on the network (accept, read, connect) needs a bound, or the code waited for an "
                  + "event that never came."
                : "It was " + what + ".");
    }
}
