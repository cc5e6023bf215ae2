import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.util.Arrays;
import java.util.Deque;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

import org.junit.jupiter.api.extension.AfterEachCallback;
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
public final class Lab implements AfterEachCallback, ExecutionCondition, TestExecutionExceptionHandler {

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
        boolean needsProc = context.getElement().map(e -> e.isAnnotationPresent(NeedsProc.class)).orElse(false)
                || context.getTestClass().map(c -> c.isAnnotationPresent(NeedsProc.class)).orElse(false);
        return needsProc && !(ProcNetTcp.available() && Descriptors.available())
                ? ConditionEvaluationResult.disabled(NO_PROC.formatted(System.getProperty("os.name")))
                : ConditionEvaluationResult.enabled("");
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
        TimeoutException timeout = timeoutIn(thrown);
        if (timeout != null) {
            throw new AssertionError(stuckMessage(timeout), thrown);
        }
        throw thrown;
    }

    private static TimeoutException timeoutIn(Throwable thrown) {
        for (Throwable t = thrown; t != null; t = t.getCause()) {
            if (t instanceof TimeoutException timeout) {
                return timeout;
            }
        }
        return null;
    }

    private static String stuckMessage(TimeoutException timeout) {
        StackTraceElement[] stack = timeout.getCause() != null ? timeout.getCause().getStackTrace() : new StackTraceElement[0];
        String where = Arrays.stream(stack)
                .filter(f -> !f.getClassName().matches("(java|javax|jdk|sun|org\\.junit)\\..*"))
                .limit(3)
                .map(f -> f.getClassName() + "." + f.getMethodName() + "(" + f.getFileName() + ":" + f.getLineNumber() + ")")
                .collect(Collectors.joining(" <- "));
        String innermost = stack.length == 0 ? "" : " (innermost call: " + stack[0].getClassName() + "." + stack[0].getMethodName() + ")";
        return "%s, still blocked%s%s. A call that waits on the network (accept, read, connect) needs a bound, "
                .formatted(timeout.getMessage(), where.isEmpty() ? "" : " in " + where, innermost)
                + "or the code waited for an event that never came.";
    }
}
