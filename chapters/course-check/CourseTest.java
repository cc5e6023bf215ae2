import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import javax.tools.ToolProvider;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

/// The course checks itself (run by `./mvnw verify -Psolutions`, where the graded tests already run on solutions/):
/// every graded test fails on the untouched exercises, every known-bad implementation is caught by the tests it
/// names, every lesson runs to exit 0 within its budget, and the chapters keep the shape a newcomer relies on.
///
/// Trees other than solutions/ are graded in JVMs of their own ({@link GradeRun}), with their classes first on the
/// class path, so a stub or a known-bad class stands in for the solution of the same name.
@Tag("course")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
@DisplayName("The course")
class CourseTest {

    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static final Path WORK = ROOT.resolve("target/course-check");
    private static final Duration LESSON_BUDGET = Duration.ofSeconds(5);
    private static final Duration RUN_BOUND = Duration.ofMinutes(3);
    /// Lines a lesson's output must show (on Linux, where it reads /proc) and lines it must never show: a lesson
    /// whose output contradicts its own text is caught here, not by a reader.
    private static final Map<String, List<String>> LESSON_SHOWS = Map.of("SocketLesson", List.of(
            "(one new descriptor: that is all socket() makes)", "after close: none (gone from /proc/self/fd)",
            "the reader is still waiting 300 ms later", "at 100 bytes, the low-water mark"));
    private static final Map<String, List<String>> LESSON_NEVER_SHOWS = Map.of("SocketLesson", List.of(
            "not one, so which is this socket cannot be told", "after close: fd", "and the reader woke?!"));

    /// One graded test's outcome in a {@link GradeRun}.
    record Row(String status, String test, List<String> tags, boolean stub, String message) {
        static Row parse(String line) {
            String[] f = line.split("\t", 5);
            return new Row(f[0], f[1], List.of(f[2].split(",")), Boolean.parseBoolean(f[3]), f.length > 4 ? f[4] : "");
        }
    }

    /// A finished child process: its exit status, how long it took, and where its output went.
    record Ran(int exit, Duration took, Path log) {
        String tail() {
            try {
                List<String> lines = Files.readAllLines(log);
                return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
            } catch (IOException e) {
                return "(no output: " + e + ")";
            }
        }
    }

    // Child runs wait mostly on sockets and timeouts, so two at a time keeps both cores busy without starving tests.
    private static final Map<String, Duration> TIMINGS = new java.util.concurrent.ConcurrentSkipListMap<>();
    private static ExecutorService runner;
    private static ExecutorService lessonRunner;
    private static CompletableFuture<List<Row>> exercisesRun;
    private static final Map<KnownBad, CompletableFuture<List<Row>>> knownBadRuns = new java.util.LinkedHashMap<>();
    private static final Map<Path, CompletableFuture<Ran[]>> lessonRuns = new TreeMap<>();

    @BeforeAll
    static void startEveryRun() throws IOException {
        Files.createDirectories(WORK);
        runner = Executors.newFixedThreadPool(2);
        lessonRunner = Executors.newSingleThreadExecutor();
        exercisesRun = CompletableFuture.supplyAsync(CourseTest::gradeExercises, runner);
        for (KnownBad bug : KnownBad.all(ROOT.resolve("solutions")).stream().filter(k -> focus(k.chapter())).toList()) {
            knownBadRuns.put(bug, CompletableFuture.supplyAsync(() -> gradeKnownBad(bug), runner));
        }
        // Lessons are timed against their budget, so they run one at a time once the grading runs are done.
        CompletableFuture<?> previous = CompletableFuture.allOf(Stream.concat(Stream.of(exercisesRun),
                knownBadRuns.values().stream()).toArray(CompletableFuture[]::new)).exceptionally(failed -> null);
        for (Path lesson : lessons()) {
            CompletableFuture<Ran[]> run = previous.thenApplyAsync(ignored -> runLesson(lesson), lessonRunner);
            lessonRuns.put(lesson, run);
            previous = run.exceptionally(failed -> null);
        }
    }

    @AfterAll
    static void stopRunner() throws IOException {
        runner.shutdownNow();
        lessonRunner.shutdownNow();
        // what each child run cost, for whoever keeps the course fast
        Files.write(WORK.resolve("timings.txt"), TIMINGS.entrySet().stream()
                .map(e -> "%7d ms  %s".formatted(e.getValue().toMillis(), e.getKey())).toList());
    }

    @Test
    @DisplayName("every graded test fails on the untouched exercises, because of the stub")
    void everyGradedTestFailsOnTheUntouchedExercises() {
        List<Row> rows = exercisesRun.join();
        assertThat(rows).as("graded tests run against exercises/").isNotEmpty();
        assertThat(rows.stream().filter(r -> r.status().equals("SUCCESSFUL")).map(Row::test))
                .as("graded tests that PASS on the untouched stubs (free points: make them exercise the stub)")
                .isEmpty();
        assertThat(rows.stream().filter(r -> r.status().equals("FAILED") && !r.stub())
                .map(r -> r.test() + ": " + r.message()))
                .as("graded tests that fail on the stubs, but not because of the stub's \"Task N: implement\" exception")
                .isEmpty();
    }

    @TestFactory
    @DisplayName("every known-bad implementation is caught by the tests it names")
    Stream<DynamicTest> everyKnownBadImplementationIsCaught() {
        return knownBadRuns.entrySet().stream().map(run -> dynamicTest(label(run.getKey().patch()), () -> {
            KnownBad bug = run.getKey();
            assertThat(bug.caughtBy()).as("tests named in a \"Caught by: Test#method\" line of %s", label(bug.patch()))
                    .isNotEmpty();
            List<Row> rows = run.getValue().join();
            assertThat(rows.stream().map(Row::test)).as("tests run against %s", label(bug.patch()))
                    .containsExactlyInAnyOrderElementsOf(bug.caughtBy());
            assertThat(rows.stream().filter(r -> !r.status().equals("FAILED")).map(Row::test))
                    .as("tests that should catch %s but did not fail", label(bug.patch()))
                    .isEmpty();
        }));
    }

    @TestFactory
    @DisplayName("every lesson runs to exit 0 within its budget")
    Stream<DynamicTest> everyLessonRunsWithinItsBudget() {
        return lessonRuns.entrySet().stream().map(run -> dynamicTest(label(run.getKey()), () -> {
            Ran[] ran = run.getValue().join();
            Ran build = ran[0], lesson = ran[1];
            assertThat(build.exit()).as("`./jbang build %s` exit status; its output:%n%s",
                    label(run.getKey()), build.tail()).isZero();
            assertThat(lesson.exit()).as("`./jbang %s` exit status; its output:%n%s",
                    label(run.getKey()), lesson.tail()).isZero();
            String name = run.getKey().getFileName().toString().replace(".java", ""), log = Files.readString(lesson.log());
            for (String line : Files.isDirectory(Path.of("/proc/self/fd")) ? LESSON_SHOWS.getOrDefault(name, List.of()) : List.<String>of()) {
                assertThat(log).as("`./jbang %s` output, which its chapter's text describes", label(run.getKey())).contains(line);
            }
            for (String line : LESSON_NEVER_SHOWS.getOrDefault(name, List.of())) {
                assertThat(log).as("`./jbang %s` output, which must not contradict its chapter's text", label(run.getKey()))
                        .doesNotContain(line);
            }
            assertThat(lesson.took()).as("time `./jbang %s` took (budget %s)", label(run.getKey()), LESSON_BUDGET)
                    .isLessThanOrEqualTo(LESSON_BUDGET);
        }));
    }

    @Test
    @DisplayName("every chapter has its text, one lesson and graded tests; exercises and solutions mirror each other")
    void everyChapterHasItsShape() throws IOException {
        List<Path> chapters = chapters();
        assertThat(chapters).as("chapter folders chapters/NN-name").isNotEmpty();
        for (Path chapter : chapters) {
            String id = chapter.getFileName().toString();
            assertThat(chapter.resolve("README.adoc")).as("the text of " + id).isRegularFile();
            assertThat(files(chapter, "Lesson.java")).as("the lesson script of " + id).hasSize(1);
            assertThat(files(chapter, "Test.java")).as("graded test classes of " + id).isNotEmpty();
            assertThat(KnownBad.all(ROOT.resolve("solutions")).stream().filter(k -> k.chapter().equals(id)))
                    .as("known-bad implementations of %s (solutions/%s/known-bad/*.patch)", id, id)
                    .hasSizeGreaterThanOrEqualTo(2);
            assertThat(names(ROOT.resolve("exercises").resolve(id)))
                    .as("files of exercises/%s (must be those of solutions/%s)", id, id)
                    .isNotEmpty()
                    .isEqualTo(names(ROOT.resolve("solutions").resolve(id)));
        }
    }

    @Test
    @DisplayName("every graded test class is tagged with its chapter and registers the Lab")
    void everyGradedTestClassIsTaggedWithItsChapter() throws Exception {
        for (Path chapter : chapters()) {
            String folder = chapter.getFileName().toString(), tag = folder.substring(3);
            for (Path test : files(chapter, "Test.java")) {
                Class<?> type = Class.forName(test.getFileName().toString().replace(".java", ""));
                assertThat(Arrays.stream(type.getAnnotationsByType(Tag.class)).map(Tag::value))
                        .as("@Tag of %s (grades it with ./mvnw test -Dgroups=%s, or -Dgroups=%s)", type.getName(), tag,
                                folder)
                        .contains(tag, folder);
                assertThat(Arrays.stream(type.getDeclaredFields())
                        .filter(f -> f.getType() == Lab.class && f.isAnnotationPresent(RegisterExtension.class))
                        .map(Field::getName))
                        .as("a `@RegisterExtension final Lab lab = new Lab();` field in %s", type.getName())
                        .hasSize(1);
            }
        }
    }

    private static List<Row> gradeExercises() {
        List<Path> sources = javaFiles(ROOT.resolve("exercises"));
        Path classes = compile(sources, WORK.resolve("exercises/classes"), null);
        return grade(classes, WORK.resolve("exercises"), List.of());
    }

    private static List<Row> gradeKnownBad(KnownBad bug) {
        Path work = WORK.resolve("known-bad").resolve(bug.chapter()).resolve(bug.name());
        List<Path> sources = bug.applyTo(ROOT.resolve("solutions").resolve(bug.chapter()), work.resolve("src"));
        Path classes = compile(sources, work.resolve("classes"), ROOT.resolve("target/classes"));
        return bug.caughtBy().isEmpty() ? List.of() : grade(classes, work, bug.caughtBy());
    }

    private static Path compile(List<Path> sources, Path out, Path classpath) {
        try {
            Files.createDirectories(out);
            var args = new ArrayList<>(List.of("-d", out.toString(), "-proc:none", "-nowarn", "-encoding", "UTF-8"));
            if (classpath != null) {
                args.addAll(List.of("-cp", classpath.toString()));
            }
            sources.forEach(s -> args.add(s.toString()));
            var errors = new ByteArrayOutputStream();
            int exit = ToolProvider.getSystemJavaCompiler().run(null, errors, errors, args.toArray(String[]::new));
            if (exit != 0) {
                throw new AssertionError("javac failed on " + sources + ":\n" + errors);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<Row> grade(Path implClasses, Path work, List<String> methods) {
        Path results = work.resolve("results.tsv");
        // A short-lived JVM: quick start-up matters more than peak speed, and spares the other run's core.
        var command = new ArrayList<>(List.of(java(), "--enable-native-access=ALL-UNNAMED",
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-Dworkbook.grade=" + work.resolve("grade.json"),
                "-Dworkbook.impl=" + ROOT.relativize(implClasses),
                "-cp", implClasses + java.io.File.pathSeparator + System.getProperty("java.class.path"),
                "GradeRun", results.toString()));
        command.addAll(methods);
        Ran ran = run(command, work.resolve("run.log"), RUN_BOUND);
        if (ran.exit() != 0) {
            throw new AssertionError("grading " + ROOT.relativize(implClasses) + " crashed:\n" + ran.tail());
        }
        try {
            return Files.readAllLines(results).stream().map(Row::parse).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Ran[] runLesson(Path lesson) {
        Path logs = WORK.resolve("lessons");
        String name = lesson.getFileName().toString().replace(".java", "");
        String script = ROOT.relativize(lesson).toString();
        Ran build = run(List.of(ROOT.resolve("jbang").toString(), "build", script),
                logs.resolve(name + ".build.log"), Duration.ofMinutes(2));
        Ran lessonRun = build.exit() != 0 ? build
                : run(List.of(ROOT.resolve("jbang").toString(), script), logs.resolve(name + ".log"),
                LESSON_BUDGET.multipliedBy(4));
        return new Ran[] {build, lessonRun};
    }

    private static Ran run(List<String> command, Path log, Duration bound) {
        try {
            Files.createDirectories(log.getParent());
            long t0 = System.nanoTime();
            Process p = new ProcessBuilder(command).directory(ROOT.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
            if (!p.waitFor(bound.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                Files.writeString(log, "\n(killed after " + bound.toSeconds() + " s)\n", java.nio.file.StandardOpenOption.APPEND);
                return new Ran(-1, Duration.ofNanos(System.nanoTime() - t0), log);
            }
            var took = Duration.ofNanos(System.nanoTime() - t0);
            TIMINGS.put(ROOT.relativize(log).toString(), took);
            return new Ran(p.exitValue(), took, log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted running " + command, e);
        }
    }

    private static String java() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    private static String label(Path p) {
        return ROOT.relativize(p).toString();
    }

    private static List<Path> chapters() {
        return new Chapters(ROOT).all().stream().map(Chapters.Chapter::dir).toList();
    }

    /// `-Dcourse.chapters=04-accept,05-connect` narrows the known-bad and lesson runs to those chapters while one
    /// is being written (the full check, as CI runs it, has no such property).
    private static boolean focus(String chapter) {
        String only = System.getProperty("course.chapters", "");
        return only.isBlank() || List.of(only.split(",")).contains(chapter);
    }

    private static List<Path> lessons() {
        return chapters().stream().filter(c -> focus(c.getFileName().toString())).flatMap(c -> files(c, "Lesson.java").stream()).toList();
    }

    private static List<Path> files(Path dir, String suffix) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(suffix)).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<Path> javaFiles(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(f -> f.toString().endsWith(".java")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<String> names(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        return javaFiles(dir).stream().map(f -> dir.relativize(f).toString()).toList();
    }
}
