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
///
/// A skipped test neither earns nor costs a point. A test that needs /proc and was skipped keeps the grade from
/// `pass` (the chapter is not proven done); a wire test (tagged `wire` by `@NeedsWire`) skipped because this machine
/// cannot make a private network namespace does not: it is left out of the chapter's points and listed apart, so a
/// learner without namespaces is neither failed nor credited (docs/grading.adoc, "Tests on the wire").
public final class Scorecard implements TestExecutionListener {

    /// One graded test's outcome: `status` is pass, fail or skip; `wire` when it is a test on the wire.
    public record Result(String chapter, String name, String status, String message, String filename,
                         long durationMillis, int task, boolean wire) {

        /// Skipped for want of the private wire: counted apart, never blocking a pass.
        boolean wireSkip() {
            return wire && status.equals("skip");
        }
    }

    private static final Chapters CHAPTERS = new Chapters(Path.of(""));

    private final Map<String, Path> sourceOfClass = new HashMap<>();
    private final Map<String, Long> started = new ConcurrentHashMap<>();
    private final Map<String, Result> results = new LinkedHashMap<>();
    private TestPlan plan;

    @Override
    public void testPlanExecutionStarted(TestPlan testPlan) {
        plan = testPlan;
        for (var chapter : CHAPTERS.all()) {
            try (Stream<Path> files = Files.list(chapter.dir())) {
                files.filter(f -> f.toString().endsWith("Test.java"))
                        .forEach(f -> sourceOfClass.put(f.getFileName().toString().replace(".java", ""), f));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
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
                String why = "No graded test ran. To grade one chapter, name it: ./mvnw test -Dgroups=<chapter>, "
                        + "where <chapter> is one of: " + String.join(", ", chapterTags());
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
        String chapter = Chapters.of(source.get()).orElseThrow();
        int task = TaskOrder.taskOf(test.getTags().stream().map(t -> t.getName()));
        boolean wire = test.getTags().stream().anyMatch(t -> t.getName().equals("wire"));
        results.put(test.getUniqueId(), new Result(chapter, chapter + " › " + nameOf(test), status, message,
                source.get().toString().replace('\\', '/'), millis, task, wire));
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
        return CHAPTERS.all().stream().map(c -> c.tag() + " (or " + c.id() + ")").toList();
    }

    private static String oneLine(Throwable t) {
        // a stub's "Task N: implement …" is the whole story, even when an assertion wraps it
        var stub = Stub.in(t);
        if (stub.isPresent()) {
            return "not written yet: " + stub.get();
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
            // passed, counted (max), skipped for want of /proc (blocks a pass), skipped for want of the wire (does not)
            int[] score = chapters.computeIfAbsent(r.chapter(), c -> new int[4]);
            score[0] += r.status().equals("pass") ? 1 : 0;
            score[1] += r.status().equals("skip") ? 0 : 1;
            score[2] += r.status().equals("skip") && !r.wire() ? 1 : 0;
            score[3] += r.wireSkip() ? 1 : 0;
        }
        return chapters;
    }

    private String json() {
        int score = 0, max = 0, skipped = 0;
        var tests = new ArrayList<String>();
        for (Result r : results.values()) {
            int points = r.status().equals("pass") ? 1 : 0;
            int possible = r.status().equals("skip") ? 0 : 1;
            score += points;
            max += possible;
            skipped += r.status().equals("skip") && !r.wire() ? 1 : 0;
            tests.add("""
                    {"name": %s, "status": "%s", "score": %d, "max_score": %d, "chapter": %s, "message": %s, \
                    "filename": %s, "duration": %d, "wire": %b}""".formatted(quote(r.name()), r.status(), points, possible,
                    quote(r.chapter()), quote(r.message()), quote(r.filename()), r.durationMillis(), r.wire()));
        }
        var chapters = new ArrayList<String>();
        byChapter().forEach((id, s) -> chapters.add(("{\"id\": %s, \"score\": %d, \"max_score\": %d, \"skipped\": %d, "
                + "\"wire_skipped\": %d}").formatted(quote(id), s[0], s[1], s[2] + s[3], s[3])));
        return """
                {"version": 1, "status": "%s", "max_score": %d, "score": %d,
                 "tests": [
                  %s],
                 "chapters": [%s]}
                """.formatted(score == max && skipped == 0 && max > 0 ? "pass" : "fail", max, score,
                String.join(",\n  ", tests), String.join(", ", chapters));
    }

    /// The scorecard as the console shows it: per chapter its count, and the tree of its tests (✔ passed, ✘ failed,
    /// – skipped) with the next one to fix; a chapter not started yet is one line. Grading the solutions, every
    /// failure is listed with its message, since every one is a defect.
    private String console(Path out) {
        boolean solutions = System.getProperty("workbook.impl", "exercises").startsWith("solutions");
        var text = new StringBuilder("Socket Workbook scorecard (")
                .append(System.getProperty("workbook.impl", "exercises")).append("/)\n");
        int score = 0, max = 0, skipped = 0, offWire = 0;
        for (var chapter : byChapter().entrySet()) {
            int[] s = chapter.getValue();
            int skips = s[2];
            score += s[0];
            max += s[1];
            skipped += skips;
            offWire += s[3];
            List<Result> tests = results.values().stream().filter(r -> r.chapter().equals(chapter.getKey()))
                    .sorted(java.util.Comparator.comparingInt(Result::task)).toList();
            boolean notStarted = s[0] == 0 && tests.stream().filter(r -> !r.wireSkip())
                    .allMatch(r -> r.message().startsWith("not written yet"));
            String verdict = s[0] == s[1] && skips == 0 ? "done" : skips > 0 ? "%d passed, %d need Linux".formatted(s[0], skips)
                    : notStarted ? "not started" : "";
            if (s[3] > 0) {
                verdict = (verdict.isEmpty() ? "" : verdict + ", ") + "%d need the private wire".formatted(s[3]);
            }
            text.append("%n%s %-14s %3d/%-3d %s%n".formatted(s[0] == s[1] && skips == 0 ? "✔" : "✘", chapter.getKey(),
                    s[0], s[1], verdict).stripTrailing()).append('\n');
            if (!notStarted && !(s[0] == s[1] && skips == 0)) {
                for (Result r : tests) {
                    String mark = switch (r.status()) {
                        case "pass" -> "✔";
                        case "skip" -> "–";
                        default -> "✘";
                    };
                    text.append("    ").append(mark).append(" task ").append(r.task() == Integer.MAX_VALUE ? "-" : r.task())
                            .append(": ").append(r.name().substring(r.chapter().length() + 3)).append('\n');
                    if (solutions && r.status().equals("fail")) {
                        wrap(r.message(), 100).forEach(line -> text.append("          ").append(line).append('\n'));
                    }
                }
            }
            // the next test to fix: the first failure of the lowest-numbered task, as the chapter text orders them
            tests.stream().filter(r -> r.status().equals("fail")).findFirst().ifPresent(r -> {
                text.append("    next: ").append(r.name().substring(r.chapter().length() + 3)).append('\n');
                wrap(r.message(), 100).forEach(line -> text.append("          ").append(line).append('\n'));
            });
        }
        text.append("%n  %-14s %3d/%-3d -> %s%n".formatted("total", score, max, out));
        if (skipped > 0) {
            text.append("  %d tests were skipped: they read Linux's /proc, which this machine lacks. A chapter is done "
                    .formatted(skipped)).append("only when they pass:\n  grade it on Linux "
                    + "(see docs/setup.adoc).\n");
        }
        if (offWire > 0) {
            text.append("  %d tests on the wire need the private wire (see docs/setup.adoc): skipped, they neither count "
                    .formatted(offWire)).append("nor block.\n  ")
                    .append(results.values().stream().filter(Result::wireSkip).findFirst().map(Result::message).orElse(""))
                    .append('\n');
        }
        return text.toString();
    }

    /// A message cut into lines of at most `width` characters at spaces, so that nothing is lost on the console.
    static List<String> wrap(String message, int width) {
        var lines = new ArrayList<String>();
        var line = new StringBuilder();
        for (String word : message.split(" ")) {
            if (!line.isEmpty() && line.length() + 1 + word.length() > width) {
                lines.add(line.toString());
                line.setLength(0);
            }
            line.append(line.isEmpty() ? "" : " ").append(word);
        }
        if (!line.isEmpty()) {
            lines.add(line.toString());
        }
        return lines;
    }

    /// `s` as a JSON string, quotes included.
    static String quote(String s) {
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
