import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/// A command the course check ran in a process of its own — a graded run, a lesson, a learner's `./mvnw test`, a
/// linter: its exit status, how long it took, and the log its output went to.
///
/// Every child reads nothing (stdin is /dev/null) and has a bound; one that outlives it is killed together with
/// everything it started, and its log then ends with "(killed after N s)".
record Child(int exit, Duration took, Path log) {

    /// The exit status of a child killed at its bound.
    static final int KILLED = -1;

    /// Runs `command` in `dir`, its output and errors both into `log`.
    static Child run(List<String> command, Path dir, Path log, Duration bound) {
        return run(new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()), log, bound);
    }

    /// Runs what `builder` describes (its directory, environment and output are the caller's); `log` is where the
    /// caller sent its output.
    static Child run(ProcessBuilder builder, Path log, Duration bound) {
        try {
            Files.createDirectories(log.toAbsolutePath().getParent());
            long t0 = System.nanoTime();
            Process p = builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            if (!p.waitFor(bound.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                Files.writeString(log, "\n(killed after " + bound.toSeconds() + " s)\n", StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND);
                return new Child(KILLED, Duration.ofNanos(System.nanoTime() - t0), log);
            }
            return new Child(p.exitValue(), Duration.ofNanos(System.nanoTime() - t0), log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted running " + String.join(" ", builder.command()), e);
        }
    }

    /// Whether `command` exits 0 within 10 s (its output discarded): can this machine do what it tries?
    static boolean succeeds(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            return p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    boolean killed() {
        return exit == KILLED;
    }

    /// Everything the child wrote to its log.
    String output() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no output: " + e + ")";
        }
    }

    /// The last 40 lines of the log, and before them the first line that names an exception: a failure's cause
    /// comes first and its stack trace after, so a plain tail could lose it.
    String tail() {
        List<String> lines = output().lines().toList();
        int from = Math.max(0, lines.size() - 40);
        String cause = lines.subList(0, from).stream()
                .filter(l -> l.matches("^(Exception in thread|Caused by:|\\S+(Exception|Error)\\b).*"))
                .findFirst().map(l -> l + "\n…\n").orElse("");
        return cause + String.join("\n", lines.subList(from, lines.size()));
    }
}
