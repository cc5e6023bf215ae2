import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;
import org.opentest4j.TestAbortedException;

/// A graded test on the wire: the test's [Scene] runs in a child JVM inside a private network namespace
/// (`unshare --user --map-root-user --net`, no root needed), with the code under test — whatever implementation the
/// test's own JVM graded, exercises or solutions — first on its class path. There it drives that code on the
/// namespace's own loopback, sees every segment through [Wire], and asserts on them. What the scene throws comes
/// back and is thrown again in the test, its messages and causes intact: a stub's "Task N: implement …" among them.
///
/// ```java
/// @Test @NeedsWire @Tag("task:3")
/// void abortSendsRst() throws Exception {
///     WireRun.play(AbortScene.class, ReverseClient.class, Duration.ofSeconds(3));
/// }
/// static final class AbortScene implements WireRun.Scene { public void play(Wire wire) throws Exception { … } }
/// ```
public final class WireRun {

    /// What a wire test does inside the namespace: drive the code under test, read `wire`, assert. It runs in
    /// another JVM, so it shares no state with the test; it needs a constructor without arguments.
    public interface Scene {
        void play(Wire wire) throws Exception;
    }

    /// The start of every skip reason for a test that needs the wire (the scorecard counts these apart).
    public static final String SKIP = "needs the private wire: ";

    private static final String MARK = "@@wire ";
    private static volatile String unavailable;
    private static volatile String nftMissing;

    private WireRun() {
    }

    /// Runs `scene` in a fresh namespace, with the classes of `underTest`'s implementation first, and throws what
    /// it threw. `bound` limits the scene itself; a scene still running then fails saying where it was blocked.
    public static void play(Class<? extends Scene> scene, Class<?> underTest, Duration bound)
            throws IOException, InterruptedException {
        var java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // The implementation graded first (a stub, a solution, a known-bad), then wherever this JVM found the scene,
        // the bench and the test libraries — a class loader's own directories are not on java.class.path — then
        // the rest of the class path.
        var entries = new LinkedHashSet<String>();
        for (Class<?> type : List.of(underTest, scene, WireRun.class, Lab.class, org.assertj.core.api.Assertions.class,
                ExtensionContext.class, TestAbortedException.class, AnnotationSupport.class)) {
            classesOf(type).ifPresent(entries::add);
        }
        entries.addAll(List.of(System.getProperty("java.class.path").split(File.pathSeparator)));
        String classPath = String.join(File.pathSeparator, entries);
        var command = List.of(Wire.findTool("unshare").orElse("unshare"), "--user", "--map-root-user", "--net",
                java, "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", classPath, WireRun.class.getName(), scene.getName(), String.valueOf(bound.toMillis()));
        Path log = Files.createTempFile("wire-scene-", ".log");
        var builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().put(Wire.INSIDE, "1");
        Process child = builder.start();
        String out;
        try {
            // the scene's own bound, plus a JVM's start and end
            if (!child.waitFor(bound.toMillis() + 5_000, TimeUnit.MILLISECONDS)) {
                throw new AssertionError("the scene's JVM in the private namespace did not end within %d ms; it printed:%n%s"
                        .formatted(bound.toMillis() + 5_000, Files.readString(log)));
            }
            out = Files.readString(log);
        } finally {
            child.destroyForcibly();
            Files.deleteIfExists(log);
        }
        String verdict = out.lines().filter(l -> l.startsWith(MARK)).reduce((a, b) -> b).orElse(null);
        if (verdict == null) {
            throw new AssertionError("the scene's JVM in the private namespace ended (exit status %d) without a verdict; it printed:%n%s"
                    .formatted(child.exitValue(), out));
        }
        String said = verdict.substring(MARK.length());
        if (said.startsWith("off ")) {
            // decided in the namespace before the scene ran: no code under test was called
            throw new TestAbortedException(SKIP + said.substring(4));
        }
        if (said.startsWith("fail ")) {
            Throwable thrown = decode(said.substring(5));
            switch (thrown) {
                case AssertionError assertion -> throw assertion;
                case RuntimeException other -> throw new AssertionError("in the private namespace, the code under test threw "
                        + other.getMessage(), other);
                default -> throw new AssertionError(thrown);
            }
        }
    }

    /// Where the class path entry of `type` is: a stub's, a solution's or a known-bad's classes, a library's jar.
    private static Optional<String> classesOf(Class<?> type) {
        var source = type.getProtectionDomain().getCodeSource();
        if (source == null || source.getLocation() == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(Path.of(source.getLocation().toURI()).toString());
        } catch (URISyntaxException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    // ------------------------------------------------------------------------------------------------ in the namespace

    /// `java WireRun <scene class> <bound ms>`, started by [#play] inside the namespace.
    public static void main(String[] args) throws Exception {
        PrintStream out = System.out;
        try (var wire = Wire.open(Map.of())) {
            if (!wire.live()) {
                out.println(MARK + "off " + wire.why().lines().findFirst().orElse(""));
                out.flush();
                System.exit(0);
            }
            var constructor = Class.forName(args[0]).getDeclaredConstructor();
            constructor.setAccessible(true);
            var scene = (Scene) constructor.newInstance();
            var bound = Duration.ofMillis(Long.parseLong(args[1]));
            var play = new FutureTask<Void>(() -> {
                scene.play(wire);
                return null;
            });
            Thread thread = Thread.ofPlatform().daemon().name("scene").start(play);
            Throwable failure = null;
            if (!thread.join(bound)) {
                failure = stuck(thread.getStackTrace(), bound);
            } else {
                try {
                    play.get();
                } catch (ExecutionException e) {
                    failure = e.getCause();
                }
            }
            out.println(MARK + (failure == null ? "pass" : "fail " + encode(portable(failure))));
            out.flush();
        }
        System.exit(0); // a thread of the code under test (a server nobody stopped) must not keep this JVM alive
    }

    private static AssertionError stuck(StackTraceElement[] stack, Duration bound) {
        String where = Arrays.stream(stack)
                .filter(f -> !f.getClassName().matches("(java|javax|jdk|sun)\\..*"))
                .findFirst().map(f -> " in " + f.getClassName() + "." + f.getMethodName() + "(" + f.getFileName() + ":"
                        + f.getLineNumber() + ")").orElse("");
        String what = Lab.blockedIn(stack);
        var error = new AssertionError("the scene on the wire was still running after %d ms%s%s".formatted(
                bound.toMillis(), where, what.isEmpty() ? ": a call that waits on the network needs a bound"
                        : ". It was " + what + "."));
        error.setStackTrace(stack);
        return error;
    }

    /// `t` and its causes as exceptions any JVM can read back: assertions stay assertions, anything else becomes a
    /// [Failure] that names the original type; messages and stack traces are kept.
    static Throwable portable(Throwable t) {
        if (t == null) {
            return null;
        }
        Throwable cause = t.getCause() == t ? null : portable(t.getCause());
        Throwable copy = t instanceof AssertionError
                ? new AssertionError(String.valueOf(t.getMessage()), cause)
                : new Failure(t.getClass().getName() + (t.getMessage() == null ? "" : ": " + t.getMessage()), cause);
        copy.setStackTrace(t.getStackTrace());
        for (Throwable suppressed : t.getSuppressed()) {
            copy.addSuppressed(portable(suppressed));
        }
        return copy;
    }

    static String encode(Throwable t) throws IOException {
        var bytes = new ByteArrayOutputStream();
        try (var objects = new ObjectOutputStream(bytes)) {
            objects.writeObject(t);
        }
        return Base64.getEncoder().encodeToString(bytes.toByteArray());
    }

    static Throwable decode(String base64) throws IOException {
        try (var objects = new ObjectInputStream(new ByteArrayInputStream(Base64.getDecoder().decode(base64)))) {
            // only what portable() writes: assertions, Failure, their stack traces and lists of suppressed ones
            objects.setObjectInputFilter(ObjectInputFilter.Config.createFilter(
                    "java.lang.Throwable;java.lang.Error;java.lang.AssertionError;java.lang.Exception;"
                            + "java.lang.RuntimeException;java.lang.StackTraceElement;java.lang.StackTraceElement[];"
                            + "java.util.*;" + Failure.class.getName() + ";!*"));
            return (Throwable) objects.readObject();
        } catch (ClassNotFoundException e) {
            throw new IOException("cannot read back what the scene threw", e);
        }
    }

    /// An exception of the code under test, carried out of the namespace: its message starts with its type's name.
    public static final class Failure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Failure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    // ------------------------------------------------------------------------------------------------ helpers for scenes

    /// Every segment seen since `since` that passes `which`, once the tap has caught up.
    public static List<Wire.Segment> segments(Wire wire, Instant since, Predicate<Wire.Segment> which) {
        wire.settle();
        return wire.seen().stream().map(Wire.Seen::segment)
                .filter(s -> !s.at().isBefore(since) && which.test(s)).toList();
    }

    // ------------------------------------------------------------------------------------------------ the condition

    /// Skips a `@NeedsWire` test, with the reason and the fix, where the wire cannot be had — before any code runs.
    public static final class Condition implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            var needs = AnnotationSupport.findAnnotation(context.getElement(), NeedsWire.class)
                    .or(() -> context.getTestClass().flatMap(c -> AnnotationSupport.findAnnotation(c, NeedsWire.class)));
            if (needs.isEmpty() || context.getTestMethod().isEmpty()) {
                // decided per test, not per class: each test is then reported skipped, with its own reason
                return ConditionEvaluationResult.enabled("");
            }
            String why = unavailable(needs.get().drops());
            return why == null ? ConditionEvaluationResult.enabled("the wire is available")
                    : ConditionEvaluationResult.disabled(why);
        }
    }

    /// Why a wire test cannot run here, in one line starting with [#SKIP], with the fix; null when it can.
    static String unavailable(boolean drops) {
        if (unavailable == null) {
            String why;
            if (!ProcNetTcp.available()) {
                why = SKIP + "it needs a Linux network namespace and /proc, which this machine (%s) does not have. "
                        .formatted(System.getProperty("os.name")) + "Fix: grade it on Linux (see docs/setup.adoc)";
            } else {
                String namespace = Wire.unavailable();
                why = namespace == null ? "" : SKIP + namespace + " (see docs/setup.adoc, the wire)";
            }
            unavailable = why;
            nftMissing = Wire.findTool("nft").isPresent() ? "" : SKIP + "it drops segments with nftables, and `nft` "
                    + "is not installed. Fix: sudo apt-get install nftables (Fedora: sudo dnf install nftables)";
        }
        if (!unavailable.isEmpty()) {
            return unavailable;
        }
        return drops && !nftMissing.isEmpty() ? nftMissing : null;
    }
}
