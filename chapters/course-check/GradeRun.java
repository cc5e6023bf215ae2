import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.platform.engine.DiscoverySelector;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.TestTag;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherFactory;

import static org.junit.platform.engine.discovery.ClassNameFilter.includeClassNamePatterns;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClasspathRoots;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod;
import static org.junit.platform.launcher.TagFilter.excludeTags;
import static org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder.request;

/// Runs graded tests in a JVM of its own, against an implementation other than the one Maven compiled. That is how
/// the course check grades the untouched exercises and each known-bad implementation.
///
/// - `java -cp <impl classes>:<course test class path> GradeRun <results.tsv> [Class#method …]` runs the named
///   tests (with none named, every graded test) against whatever implementation classes come first on the path.
/// - `java -cp <course test class path> GradeRun --batch <batch.tsv> <claims>` grades known-bad implementations
///   from the batch file (`name  results.tsv  classes  Class#method,…`) one after the other, each in a class loader
///   of its own that looks in its classes first. Several JVMs take from one batch at once: each takes a line by
///   creating its file in the folder `claims`, so every line is graded once. After each one the JVM must be as it
///   was before — as many sockets open, as many threads alive — or it stops with exit status 3 and the caller
///   starts a fresh JVM: a known-bad's leftovers (a server nobody stopped, a loop that spins) never run beside the
///   next one's tests. It exits 0 once no line is left.
///
/// Each line of a results file is one test: `status  Class#method  tags  stub  message`, where status is
/// SUCCESSFUL, FAILED, ABORTED or SKIPPED (disabled before it ran, as `@NeedsProc` tests are without /proc) and
/// `stub` is true when the failure came from a stub's "Task N: implement …" exception.
public final class GradeRun {

    /// The exit status that asks for a fresh JVM from the next line of the batch.
    static final int DIRTY = 3;

    public static void main(String[] args) throws Exception {
        if (args[0].equals("--batch")) {
            List<String> batch = Files.readAllLines(Path.of(args[1]));
            Path claims = Path.of(args[2]);
            int next = unclaimed(batch, claims, 0);
            if (next < 0) {
                System.exit(0);
            }
            // Warm up on the reference solution with the next known-bad's tests: what a JVM opens once and keeps
            // (the JDK's own socket, its carrier and timer threads) is then part of the state to come back to.
            Path scratch = Files.createTempFile("warm-up", ".tsv");
            gradeInALoaderOfItsOwn(scratch, Path.of("target/classes").toAbsolutePath(),
                    List.of(batch.get(next).split("\t")[3].split(",")));
            settle(Integer.MAX_VALUE, Integer.MAX_VALUE); // nothing to compare with yet: only let it go quiet
            Files.delete(scratch);
            for (int i = next; i < batch.size(); i++) {
                if (!claim(claims, i)) {
                    continue; // another lane has it
                }
                String[] f = batch.get(i).split("\t");
                if (!gradeInALoaderOfItsOwn(Path.of(f[1]), Path.of(f[2]), List.of(f[3].split(",")))
                        && unclaimed(batch, claims, i + 1) >= 0) {
                    System.out.println("left something behind after " + f[0] + ": a fresh JVM goes on");
                    System.exit(DIRTY);
                }
            }
        } else {
            List<DiscoverySelector> selectors = new ArrayList<>();
            for (int i = 1; i < args.length; i++) {
                selectors.add(selectMethod(args[i]));
            }
            if (selectors.isEmpty()) {
                selectors.add(selectClasspathRoots(Set.of(Path.of("target/test-classes").toAbsolutePath())).getFirst());
            }
            Files.write(Path.of(args[0]), run(selectors, false));
        }
        // Code under test may leave threads behind (a server nobody stopped); they must not keep this JVM alive.
        System.exit(0);
    }

    /// Takes line `i` of the batch for this JVM: false if another has taken it (a claim is a file, made at most once).
    private static boolean claim(Path claims, int i) throws IOException {
        try {
            Files.createFile(claims.resolve(String.valueOf(i)));
            return true;
        } catch (java.nio.file.FileAlreadyExistsException taken) {
            return false;
        }
    }

    /// The first line from `from` on that no JVM has taken yet, or -1.
    private static int unclaimed(List<String> batch, Path claims, int from) {
        for (int i = from; i < batch.size(); i++) {
            if (!Files.exists(claims.resolve(String.valueOf(i)))) {
                return i;
            }
        }
        return -1;
    }

    /// Grades `methods` with `classes` first, the course's own classes after, in a loader of their own; returns
    /// whether the JVM is as it was before (sockets and threads), waiting a bounded while for it to settle.
    private static boolean gradeInALoaderOfItsOwn(Path results, Path classes, List<String> methods) throws Exception {
        int sockets = sockets(), threads = THREADS.getThreadCount();
        var urls = new ArrayList<URL>(List.of(classes.toUri().toURL()));
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            if (Files.isDirectory(Path.of(entry))) {
                urls.add(Path.of(entry).toUri().toURL()); // target/test-classes, target/classes
            }
        }
        ClassLoader previous = Thread.currentThread().getContextClassLoader();
        try (var loader = new OwnClassesFirst(urls.toArray(URL[]::new), GradeRun.class.getClassLoader())) {
            Thread.currentThread().setContextClassLoader(loader);
            Files.write(results, run(methods.stream().map(m -> (DiscoverySelector) selectMethod(loader, m)).toList(),
                    true));
        } finally {
            Thread.currentThread().setContextClassLoader(previous);
        }
        return settle(sockets, threads);
    }

    /// Waits a bounded while (1 s) for the JVM to hold no more than `sockets` sockets and `threads` threads, and to
    /// spend no CPU; returns whether it does. A clean implementation's threads are gone within milliseconds of its
    /// tests' end; one that waits past the bound costs only a fresh JVM, never a wrong verdict.
    private static boolean settle(int sockets, int threads) throws Exception {
        long deadline = System.nanoTime() + 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (sockets() <= sockets && THREADS.getThreadCount() <= threads) {
                // and nothing left spinning: over 50 ms, well under a core's worth of CPU is spent
                long cpu = OS.getProcessCpuTime(), t0 = System.nanoTime();
                Thread.sleep(50);
                return OS.getProcessCpuTime() - cpu < (System.nanoTime() - t0) / 2;
            }
            Thread.sleep(10); // polling observable state (the process's sockets and threads), bounded above
        }
        return false;
    }

    private static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();
    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

    private static List<String> run(List<DiscoverySelector> selectors, boolean alone) {
        var builder = request().selectors(selectors)
                .filters(includeClassNamePatterns(".*Test"), excludeTags("bench", "course"));
        if (alone) {
            // the scorecard is the graded run's; here the results file says everything
            builder.configurationParameter("junit.platform.execution.listeners.deactivate", "*");
        }
        var lines = new ArrayList<String>();
        var started = new java.util.HashMap<TestIdentifier, Long>();
        LauncherFactory.create().execute(builder.build(), new TestExecutionListener() {
            @Override
            public void executionStarted(TestIdentifier id) {
                started.put(id, System.nanoTime());
            }

            @Override
            public void executionSkipped(TestIdentifier id, String reason) {
                record(id, "SKIPPED", null, reason);
            }

            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                Throwable t = result.getThrowable().orElse(null);
                record(id, result.getStatus().name(), t, t == null ? "" : String.valueOf(t));
            }

            private void record(TestIdentifier id, String status, Throwable t, String message) {
                if (id.isTest() && id.getSource().orElse(null) instanceof MethodSource m) {
                    // what each test cost, in the run's log, for whoever keeps the course check fast
                    System.out.printf("%6d ms  %s %s#%s%n", (System.nanoTime() - started.getOrDefault(id, System.nanoTime())) / 1_000_000,
                            status, m.getClassName(), m.getMethodName());
                    lines.add(String.join("\t", status, m.getClassName() + "#" + m.getMethodName(),
                            String.join(",", id.getTags().stream().map(TestTag::getName).sorted().toList()),
                            String.valueOf(t != null && Stub.in(t).isPresent()), message.replaceAll("\\s+", " ")));
                }
            }
        });
        return lines;
    }

    private static int sockets() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return (int) fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString().startsWith("socket:");
                } catch (IOException gone) {
                    return false;
                }
            }).count();
        }
    }

    /// Loads the course's classes from its own path first (a known-bad class stands in for the solution's), and
    /// shares the test libraries and the JDK with every other loader.
    private static final class OwnClassesFirst extends URLClassLoader {
        private static final List<String> SHARED = List.of("java.", "javax.", "jdk.", "sun.", "org.junit.",
                "org.opentest4j.", "org.apiguardian.", "org.assertj.", "org.awaitility.", "org.hamcrest.", "net.bytebuddy.");

        OwnClassesFirst(URL[] urls, ClassLoader parent) {
            super(urls, parent);
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            synchronized (getClassLoadingLock(name)) {
                Class<?> c = findLoadedClass(name);
                if (c == null && SHARED.stream().noneMatch(name::startsWith)) {
                    try {
                        c = findClass(name);
                    } catch (ClassNotFoundException notOurs) {
                        // a library class: the parent has it
                    }
                }
                if (c == null) {
                    c = super.loadClass(name, false);
                }
                if (resolve) {
                    resolveClass(c);
                }
                return c;
            }
        }
    }
}
