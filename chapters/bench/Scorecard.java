import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/// The grade: one row per chapter on the console, and `target/grade.json` in the result format of GitHub
/// Classroom's autograding graders, with a per-chapter summary added.
///
/// A graded test is any test whose class lives in a chapter folder (`chapters/NN-name/`); its chapter is that
/// folder. Registered through `META-INF/services`, so it runs wherever JUnit runs the course's tests; it writes
/// `scorecard.txt` beside `grade.json`, and the build prints it after the last test.
public final class Scorecard implements TestExecutionListener {

    /// One graded test's outcome: `status` is pass, fail or skip.
    public record Result(String chapter, String name, String status, String message, String filename,
                         long durationMillis, int task) {
    }

    private static final Path CHAPTERS = Path.of("chapters");
    private static final java.util.regex.Pattern STUB =
            java.util.regex.Pattern.compile("Task \\d+: implement [^\\n(]*(\\([^)\\n]*\\))?");

    private final Map<String, Path> sourceOfClass = new HashMap<>();
    private final Map<String, Long> started = new ConcurrentHashMap<>();
    private final Map<String, Result> results = new LinkedHashMap<>();
    private TestPlan plan;

    @Override
    public void testPlanExecutionStarted(TestPlan testPlan) {
        plan = testPlan;
        try (Stream<Path> files = Files.isDirectory(CHAPTERS) ? Files.walk(CHAPTERS, 2) : Stream.empty()) {
            files.filter(f -> f.toString().endsWith("Test.java") && chapterOf(f).isPresent())
                    .forEach(f -> sourceOfClass.put(f.getFileName().toString().replace(".java", ""), f));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void executionStarted(TestIdentifier id) {
        started.put(id.getUniqueId(), System.nanoTime());
    }

    @Override
    public void executionSkipped(TestIdentifier id, String reason) {
        forEachGradedTest(id, test -> record(test, "skip", reason));
    }

    @Override
    public void executionFinished(TestIdentifier id, TestExecutionResult result) {
        String message = result.getThrowable().map(Scorecard::oneLine).orElse("");
        if (id.isTest()) {
            switch (result.getStatus()) {
                case SUCCESSFUL -> record(id, "pass", "");
                case ABORTED -> record(id, "skip", message);
                case FAILED -> record(id, "fail", message);
            }
        } else if (result.getStatus() != TestExecutionResult.Status.SUCCESSFUL) {
            // a class that could not even start (its setup failed): its tests fail with the class's reason
            forEachGradedTest(id, test -> record(test, result.getStatus() == TestExecutionResult.Status.ABORTED
                    ? "skip" : "fail", message));
        }
    }

    @Override
    public void testPlanExecutionFinished(TestPlan testPlan) {
        Path out = Path.of(System.getProperty("workbook.grade", "target/grade.json"));
        try {
            Files.createDirectories(out.toAbsolutePath().getParent());
            if (results.isEmpty()) {
                String why = "No graded test ran. To grade one chapter, name its tag: ./mvnw test -Dgroups=<tag>, "
                        + "where <tag> is one of: " + String.join(", ", chapterTags());
                Files.writeString(out, """
                        {"version": 1, "status": "error", "max_score": 0, "score": 0, "message": %s, \
                        "tests": [], "chapters": []}
                        """.formatted(quote(why)));
                Files.writeString(out.resolveSibling("scorecard.txt"), why + "\n");
                return;
            }
            Files.writeString(out, json());
            // the build prints this once every test has run (surefire's own report would bury it)
            Files.writeString(out.resolveSibling("scorecard.txt"), console(out));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out, e);
        }
    }

    /// The graded outcomes so far, in the order they finished.
    public List<Result> results() {
        return List.copyOf(results.values());
    }

    private void forEachGradedTest(TestIdentifier id, java.util.function.Consumer<TestIdentifier> action) {
        if (id.isTest()) {
            action.accept(id);
        } else {
            plan.getDescendants(id).stream().filter(TestIdentifier::isTest).forEach(action);
        }
    }

    private void record(TestIdentifier test, String status, String message) {
        if (results.containsKey(test.getUniqueId())) {
            return;
        }
        Optional<Path> source = sourceOf(test);
        if (source.isEmpty()) {
            return; // not a graded test: the bench's own tests and the course check
        }
        Long t0 = started.get(test.getUniqueId());
        long millis = t0 == null ? 0 : (System.nanoTime() - t0) / 1_000_000;
        String chapter = chapterOf(source.get()).orElseThrow();
        int task = test.getTags().stream().map(t -> t.getName())
                .filter(t -> t.matches("task:\\d+")).mapToInt(t -> Integer.parseInt(t.substring(5)))
                .min().orElse(Integer.MAX_VALUE);
        results.put(test.getUniqueId(), new Result(chapter, chapter + " › " + nameOf(test), status, message,
                source.get().toString().replace('\\', '/'), millis, task));
    }

    private Optional<Path> sourceOf(TestIdentifier test) {
        String className = switch (test.getSource().orElse(null)) {
            case MethodSource m -> m.getClassName();
            case ClassSource c -> c.getClassName();
            case null, default -> null;
        };
        if (className == null) {
            return Optional.empty();
        }
        String outer = className.replaceAll("\\$.*", "");
        return Optional.ofNullable(sourceOfClass.get(outer.substring(outer.lastIndexOf('.') + 1)));
    }

    private String nameOf(TestIdentifier test) {
        // a parameterized or repeated test: "its sentence [2] the case" rather than "[2] the case"
        return plan.getParent(test)
                .filter(p -> p.getSource().orElse(null) instanceof MethodSource)
                .map(p -> p.getDisplayName() + " " + test.getDisplayName())
                .orElse(test.getDisplayName());
    }

    private static List<String> chapterTags() {
        try (Stream<Path> dirs = Files.isDirectory(CHAPTERS) ? Files.list(CHAPTERS) : Stream.empty()) {
            return dirs.map(d -> d.getFileName().toString()).filter(n -> n.matches("\\d\\d-[a-z0-9-]+"))
                    .sorted().map(n -> n.substring(3)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Optional<String> chapterOf(Path file) {
        Path dir = file.getParent();
        return dir != null && dir.getFileName().toString().matches("\\d\\d-[a-z0-9-]+")
                ? Optional.of(dir.getFileName().toString()) : Optional.empty();
    }

    private static String oneLine(Throwable t) {
        // a stub's "Task N: implement …" is the whole story, even when an assertion wraps it
        for (Throwable c = t; c != null; c = c.getCause()) {
            var stub = c.getMessage() == null ? null : STUB.matcher(c.getMessage());
            if (stub != null && stub.find()) {
                return "not written yet: " + stub.group();
            }
        }
        String text = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        if (t instanceof UnsupportedOperationException || !(t instanceof AssertionError)) {
            text = t.getClass().getSimpleName() + ": " + text;
        }
        return text.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    private Map<String, int[]> byChapter() {
        var chapters = new TreeMap<String, int[]>();
        for (Result r : results.values()) {
            int[] score = chapters.computeIfAbsent(r.chapter(), c -> new int[2]);
            score[0] += r.status().equals("pass") ? 1 : 0;
            score[1] += r.status().equals("skip") ? 0 : 1;
        }
        return chapters;
    }

    private String json() {
        int score = 0, max = 0;
        var tests = new ArrayList<String>();
        for (Result r : results.values()) {
            int points = r.status().equals("pass") ? 1 : 0;
            int possible = r.status().equals("skip") ? 0 : 1;
            score += points;
            max += possible;
            tests.add("""
                    {"name": %s, "status": "%s", "score": %d, "max_score": %d, "chapter": %s, "message": %s, \
                    "filename": %s, "duration": %d}""".formatted(quote(r.name()), r.status(), points, possible,
                    quote(r.chapter()), quote(r.message()), quote(r.filename()), r.durationMillis()));
        }
        var chapters = new ArrayList<String>();
        byChapter().forEach((id, s) -> chapters.add(
                "{\"id\": %s, \"score\": %d, \"max_score\": %d}".formatted(quote(id), s[0], s[1])));
        return """
                {"version": 1, "status": "%s", "max_score": %d, "score": %d,
                 "tests": [
                  %s],
                 "chapters": [%s]}
                """.formatted(score == max ? "pass" : "fail", max, score,
                String.join(",\n  ", tests), String.join(", ", chapters));
    }

    private String console(Path out) {
        var text = new StringBuilder("Socket Workbook scorecard (")
                .append(System.getProperty("workbook.impl", "exercises")).append("/)\n");
        int score = 0, max = 0;
        for (var chapter : byChapter().entrySet()) {
            int[] s = chapter.getValue();
            score += s[0];
            max += s[1];
            text.append("  %-14s %3d/%-3d %s%n".formatted(chapter.getKey(), s[0], s[1], s[0] == s[1] ? "done" : ""));
            // the next test to fix: the first failure of the lowest-numbered task, as the chapter text orders them
            results.values().stream()
                    .filter(r -> r.chapter().equals(chapter.getKey()) && r.status().equals("fail"))
                    .min(java.util.Comparator.comparingInt(Result::task))
                    .ifPresent(r -> text.append("      next: ").append(r.name().substring(r.chapter().length() + 3))
                            .append("\n            ").append(shorten(r.message(), 160)).append('\n'));
        }
        text.append("  %-14s %3d/%-3d -> %s%n".formatted("total", score, max, out));
        return text.toString();
    }

    private static String shorten(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 1) + "…";
    }

    private static String quote(String s) {
        var out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> out.append(c < 0x20 ? "\\u%04x".formatted((int) c) : String.valueOf(c));
            }
        }
        return out.append('"').toString();
    }
}
