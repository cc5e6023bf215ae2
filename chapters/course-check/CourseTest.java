import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

/// The course checks itself (run by `./mvnw verify -Psolutions`, where the graded tests already run on solutions/):
/// every graded test fails on the untouched exercises, every known-bad implementation is caught by the tests it
/// names, every lesson runs to exit 0 within its budget (the chapters' shape: ChapterShapeTest).
///
/// Trees other than solutions/ are graded in JVMs of their own ({@link GradeRun}), with their classes first on the
/// class path, so a stub or a known-bad class stands in for the solution of the same name.
@Tag("course")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
@DisplayName("The course")
class CourseTest {

    private static final Path ROOT = Course.ROOT;
    private static final Path WORK = ROOT.resolve("target/course-check");
    private static final Duration LESSON_BUDGET = Duration.ofSeconds(5);
    private static final Duration RUN_BOUND = Duration.ofMinutes(3);
    private static final List<String> LESSONS_WITHOUT_PROC = List.of("time-wait", "close");
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

    // Child runs wait mostly on sockets and timeouts, so two at a time keeps both cores busy without starving tests.
    private static final Map<String, Duration> TIMINGS = new java.util.concurrent.ConcurrentSkipListMap<>();
    private static ExecutorService runner;
    private static ExecutorService lessonRunner;
    private static ExecutorService knownBadLanes;
    private static final int KNOWN_BAD_LANES = 4;
    private static CompletableFuture<List<Row>> exercisesRun;
    private static final Map<KnownBad, CompletableFuture<List<Row>>> knownBadRuns = new java.util.LinkedHashMap<>();
    private static final Map<Path, CompletableFuture<Child[]>> lessonRuns = new TreeMap<>();
    private static final Path LEARNER = WORK.resolve("learner");
    private static CompletableFuture<LearnerBuild.Verdict> halfSolvedRun;
    private static CompletableFuture<Map<String, Child>> workbookChecks;
    private static CompletableFuture<Map<String, LearnerBuild.Verdict>> oneChapterRuns;
    private static CompletableFuture<List<Row>> withoutProcRun;
    private static CompletableFuture<List<Row>> withoutNamespacesRun;

    @BeforeAll
    static void startEveryRun() throws IOException {
        Files.createDirectories(WORK);
        runner = Executors.newFixedThreadPool(2);
        lessonRunner = Executors.newSingleThreadExecutor();
        // the longest chain first: the whole tree built and graded, then the workbook on the same copy
        halfSolvedRun = CompletableFuture.supplyAsync(CourseTest::gradeHalfSolved, runner);
        workbookChecks = halfSolvedRun.thenApplyAsync(graded -> checkWithTheWorkbook(), runner);
        oneChapterRuns = CompletableFuture.supplyAsync(CourseTest::gradeOneChapter, runner);
        exercisesRun = CompletableFuture.supplyAsync(CourseTest::gradeExercises, runner);
        withoutProcRun = canHideProc() ? CompletableFuture.supplyAsync(CourseTest::gradeSolutionsWithoutProc, runner)
                : CompletableFuture.failedFuture(new IllegalStateException("cannot make a mount namespace here"));
        withoutNamespacesRun = canForbidNamespaces()
                ? CompletableFuture.supplyAsync(CourseTest::gradeSolutionsWithoutNamespaces, runner)
                : CompletableFuture.failedFuture(new IllegalStateException("cannot make a user namespace here"));
        // The known-bads are compiled in a few shares at once, then graded in as many lanes, each a JVM that takes
        // the next known-bad nobody has taken (GradeRun --batch) and grades it in a class loader of its own; a
        // known-bad that leaves something behind gets the lane a fresh JVM. Their tests mostly wait (on a bound, a
        // timeout, a peer), so lanes beyond the cores still shorten the check, and lanes that take from one queue
        // end together.
        var bugs = KnownBad.all(ROOT.resolve("solutions")).stream().filter(k -> focus(k.chapter())).toList();
        knownBadLanes = Executors.newFixedThreadPool(KNOWN_BAD_LANES);
        var compiled = new ArrayList<CompletableFuture<Map<KnownBad, String>>>();
        for (int lane = 0; lane < KNOWN_BAD_LANES; lane++) {
            // dealt like cards, so that each share holds some of every chapter's
            var share = new ArrayList<KnownBad>();
            for (int i = lane; i < bugs.size(); i += KNOWN_BAD_LANES) {
                share.add(bugs.get(i));
            }
            int number = lane + 1;
            compiled.add(CompletableFuture.supplyAsync(() -> compileKnownBads(number, share), knownBadLanes));
        }
        CompletableFuture<Path> batch = CompletableFuture.allOf(compiled.toArray(CompletableFuture[]::new))
                .thenApply(done -> writeBatch(bugs, compiled.stream().map(CompletableFuture::join).toList()));
        CompletableFuture<?> graded = batch.thenCompose(file -> CompletableFuture.allOf(
                java.util.stream.IntStream.rangeClosed(1, KNOWN_BAD_LANES).mapToObj(lane -> CompletableFuture
                        .runAsync(() -> gradeKnownBads(lane, file), knownBadLanes)).toArray(CompletableFuture[]::new)));
        bugs.forEach(bug -> knownBadRuns.put(bug, graded.thenApply(done -> results(bug))));
        // Lessons are timed against their budget, so they run one at a time once the grading runs are done.
        CompletableFuture<?> previous = CompletableFuture.allOf(Stream.concat(Stream.of(exercisesRun, workbookChecks, oneChapterRuns,
                        withoutProcRun.exceptionally(cannot -> List.of()),
                        withoutNamespacesRun.exceptionally(cannot -> List.of())),
                knownBadRuns.values().stream()).toArray(CompletableFuture[]::new)).exceptionally(failed -> null);
        // Building a lesson is not timed: the builds share the grading runs' threads, queued behind them.
        for (Path lesson : lessons()) {
            CompletableFuture<Child> build = CompletableFuture.supplyAsync(() -> buildLesson(lesson), runner);
            CompletableFuture<Child[]> run = previous.thenCombine(build, (ignored, built) -> built)
                    .thenApplyAsync(built -> new Child[] {built, built.exit() != 0 ? built : runLesson(lesson)}, lessonRunner);
            lessonRuns.put(lesson, run);
            previous = run.exceptionally(failed -> null);
        }
    }

    @AfterAll
    static void stopRunner() throws IOException {
        runner.shutdownNow();
        lessonRunner.shutdownNow();
        knownBadLanes.shutdownNow();
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
        if (WireRun.unavailable(false) == null) {
            assertThat(rows.stream().filter(r -> r.tags().contains("wire") && !r.status().equals("FAILED"))
                    .map(r -> r.test() + " " + r.status() + ": " + r.message()))
                    .as("tests on the wire that did not run against the stubs, though this machine has the wire "
                            + "(they must run, and fail because of the stub)")
                    .isEmpty();
        }
    }

    @Test
    @DisplayName("./mvnw test passes only at full marks: a half-solved tree and one mistake fail it, a solved chapter passes")
    void theLearnersBuildPassesOnlyAtFullMarks() {
        Map<String, LearnerBuild.Verdict> runs = oneChapterRuns.join();
        var first = new Chapters(ROOT).all().getFirst();
        int total = exercisesRun.join().size();
        int inFirst = (int) exercisesRun.join().stream().filter(r -> r.tags().contains(first.tag())).count();

        var solved = runs.get("solved");
        assertThat(solved.exit()).as("exit status of `./mvnw test -Dgroups=%s` with %s solved (%s); scorecard:%n%s",
                first.tag(), first.id(), solved.buildLine(), solved.scorecard()).isZero();
        assertThat(List.of(solved.status(), solved.score(), solved.max()))
                .as("grade.json of the solved chapter (status, score, max_score)").containsExactly("pass", inFirst, inFirst);

        var mistake = runs.get("one-mistake");
        assertThat(mistake.exit()).as("exit status of `./mvnw test -Dgroups=%s` with %s solved but for one known-bad "
                + "(%s); scorecard:%n%s", first.tag(), first.id(), mistake.buildLine(), mistake.scorecard()).isNotZero();
        assertThat(mistake.status()).as("grade.json status with one mistake").isEqualTo("fail");
        assertThat(mistake.score()).as("grade.json score with one mistake").isLessThan(inFirst);

        var half = halfSolvedRun.join();
        assertThat(half.exit()).as("exit status of `./mvnw test` with only %s solved (%s); scorecard:%n%s",
                first.id(), half.buildLine(), half.scorecard()).isNotZero();
        assertThat(half.buildLine()).as("Maven's verdict with only %s solved", first.id()).contains("BUILD FAILURE");
        assertThat(List.of(half.status(), half.score(), half.max()))
                .as("grade.json with only %s solved (status, score, max_score)", first.id())
                .containsExactly("fail", inFirst, total);
        assertThat(half.scorecard()).as("the scorecard's total line with only %s solved", first.id())
                .containsPattern("total\\s+%d/%d".formatted(inFirst, total));
    }

    @Test
    @DisplayName("./mvnw test and ./jbang workbook check agree test for test on a solved chapter and an untouched one")
    void bothFrontDoorsGiveOneVerdict() throws IOException {
        var half = halfSolvedRun.join();
        Map<String, String> byMaven = tests(LEARNER.resolve("target/grade.json"));
        boolean solved = true;
        for (var check : workbookChecks.join().entrySet()) {
            String chapter = check.getKey(), output = check.getValue().output();
            assertThat(check.getValue().exit()).as("exit status of ./jbang workbook check on %s (%s: %s); its output:%n%s",
                    chapter, solved ? "solved" : "untouched", solved ? 0 : 1, output).isEqualTo(solved ? 0 : 1);
            assertThat(output).as("./jbang workbook check on %s, piped: no colour codes", chapter).doesNotContain("\u001b[");
            Map<String, String> byWorkbook = tests(LEARNER.resolve("target/workbook").resolve(chapter).resolve("grade.json"));
            var ofChapter = new TreeMap<String, String>();
            byMaven.forEach((name, verdict) -> {
                if (name.startsWith(chapter + " › ")) {
                    ofChapter.put(name, verdict);
                }
            });
            assertThat(byWorkbook).as("%s graded by ./jbang workbook check (left) and by ./mvnw test (right, %s): "
                    + "test → status and message", chapter, half.buildLine()).isNotEmpty().isEqualTo(ofChapter);
            solved = false;
        }
    }

    @Test
    @DisplayName("without /proc, a test that needs it is skipped with the reason before any code runs; none errs")
    void withoutProcEveryTestPassesOrIsSkippedWithTheReason() throws IOException {
        assumeTrue(canHideProc(), "hiding /proc needs a mount namespace (unshare --mount, as root): not here");
        List<Row> rows = withoutProcRun.join();
        assertThat(rows).as("graded tests run on the solutions with /proc hidden").hasSize(exercisesRun.join().size());
        assertThat(rows.stream().filter(r -> !r.status().equals("SUCCESSFUL") && !r.status().equals("SKIPPED"))
                .map(r -> r.test() + " " + r.status() + ": " + r.message()))
                .as("tests that failed or erred on the solutions without /proc (mark a test that needs /proc "
                        + "@NeedsProc, so that it is skipped before any code runs)")
                .isEmpty();
        assertThat(rows.stream().filter(r -> r.status().equals("SKIPPED")).map(Row::message))
                .as("reasons given for the skipped tests").isNotEmpty()
                .allMatch(m -> m.startsWith("needs Linux") || m.startsWith(WireRun.SKIP));
        assertThat(rows.stream().filter(r -> r.tags().contains("wire")).map(r -> r.status() + " " + r.message()))
                .as("tests on the wire without /proc: skipped, saying they need the private wire")
                .isNotEmpty().allMatch(m -> m.startsWith("SKIPPED " + WireRun.SKIP));
        String card = Files.readString(WORK.resolve("without-proc/scorecard.txt"));
        assertThat(card).as("the scorecard without /proc: skipped tests counted apart")
                .contains("need Linux");
        for (String lesson : LESSONS_WITHOUT_PROC) {
            String out = Files.readString(WORK.resolve("without-proc").resolve(lesson + ".log"));
            assertThat(out).as("`./jbang %s` without /proc: it says what it would have shown; its output:%n%s", lesson, out)
                    .contains("(here the TCP table would show")
                    .doesNotContainPattern("\\brx=\\d+ tx=\\d+")
                    .doesNotContain("rows on the clients' side: 0")
                    .doesNotContain("socket:[");
        }
        assertThat(Files.readString(WORK.resolve("without-proc/grade.json")))
                .as("grade.json without /proc: not a pass while tests were skipped")
                .startsWith("{\"version\": 1, \"status\": \"fail\"").contains("\"skipped\": ");
    }

    @Test
    @DisplayName("without user namespaces, a test on the wire is skipped with the reason and the fix, and the grade can still pass")
    void withoutNamespacesWireTestsAreSkippedAndDoNotBlockAPass() throws IOException {
        assumeTrue(canForbidNamespaces(), "forbidding namespaces needs a user namespace of its own: not here");
        List<Row> rows = withoutNamespacesRun.join();
        assertThat(rows.stream().filter(r -> r.tags().contains("wire")).map(r -> r.status() + " " + r.message()))
                .as("tests on the wire, graded on the solutions where no user namespace can be made")
                .isNotEmpty()
                .allMatch(m -> m.startsWith("SKIPPED " + WireRun.SKIP) && m.contains("Fix: "));
        assertThat(rows.stream().filter(r -> !r.tags().contains("wire")).map(r -> r.test() + " " + r.status()))
                .as("the other test graded beside them").singleElement().asString().endsWith(" SUCCESSFUL");
        String grade = Files.readString(WORK.resolve("without-namespaces/grade.json"));
        assertThat(grade).as("grade.json when only tests on the wire were skipped: a pass, without their points")
                .startsWith("{\"version\": 1, \"status\": \"pass\", \"max_score\": 1, \"score\": 1,")
                .contains("\"wire_skipped\": 2");
        assertThat(Files.readString(WORK.resolve("without-namespaces/scorecard.txt")))
                .as("the scorecard when only tests on the wire were skipped")
                .contains("need the private wire (see docs/setup.adoc)", WireRun.SKIP);
    }

    @TestFactory
    @DisplayName("every known-bad implementation is caught by the tests it names")
    Stream<DynamicTest> everyKnownBadImplementationIsCaught() {
        return knownBadRuns.entrySet().stream().map(run -> dynamicTest(Course.label(run.getKey().patch()), () -> {
            KnownBad bug = run.getKey();
            assertThat(bug.caughtBy()).as("tests named in a \"Caught by: Test#method\" line of %s", Course.label(bug.patch()))
                    .isNotEmpty();
            List<Row> rows = run.getValue().join();
            assertThat(rows.stream().map(Row::test)).as("tests run against %s", Course.label(bug.patch()))
                    .containsExactlyInAnyOrderElementsOf(bug.caughtBy());
            assertThat(rows.stream().filter(r -> !r.status().equals("FAILED")).map(Row::test))
                    .as("tests that should catch %s but did not fail", Course.label(bug.patch()))
                    .isEmpty();
        }));
    }

    @TestFactory
    @DisplayName("every lesson runs to exit 0 within its budget")
    Stream<DynamicTest> everyLessonRunsWithinItsBudget() {
        return lessonRuns.entrySet().stream().map(run -> dynamicTest(Course.label(run.getKey()), () -> {
            Child[] ran = run.getValue().join();
            Child build = ran[0], lesson = ran[1];
            assertThat(build.exit()).as("`./jbang build %s` exit status; its output:%n%s",
                    Course.label(run.getKey()), build.tail()).isZero();
            assertThat(lesson.exit()).as("`./jbang %s` exit status; its output:%n%s",
                    Course.label(run.getKey()), lesson.tail()).isZero();
            String name = run.getKey().getFileName().toString().replace(".java", ""), log = Files.readString(lesson.log());
            for (String line : Files.isDirectory(Path.of("/proc/self/fd")) ? LESSON_SHOWS.getOrDefault(name, List.of()) : List.<String>of()) {
                assertThat(log).as("`./jbang %s` output, which its chapter's text describes", Course.label(run.getKey())).contains(line);
            }
            for (String line : LESSON_NEVER_SHOWS.getOrDefault(name, List.of())) {
                assertThat(log).as("`./jbang %s` output, which must not contradict its chapter's text", Course.label(run.getKey()))
                        .doesNotContain(line);
            }
            assertThat(lesson.took()).as("time `./jbang %s` took (budget %s)", Course.label(run.getKey()), LESSON_BUDGET)
                    .isLessThanOrEqualTo(LESSON_BUDGET);
        }));
    }

    /// The learner's own command on a copy of the whole course with only the first chapter solved.
    private static LearnerBuild.Verdict gradeHalfSolved() {
        var first = new Chapters(ROOT).all().getFirst();
        long t0 = System.nanoTime();
        var whole = new LearnerBuild(ROOT, LEARNER);
        solved(first).forEach(f -> whole.write(first.id(), f));
        var verdict = whole.grade("half-solved", RUN_BOUND);
        TIMINGS.put(ROOT.relativize(LEARNER) + " (./mvnw test)", Duration.ofNanos(System.nanoTime() - t0));
        return verdict;
    }

    /// `./jbang workbook check` on the same copy, once the learner's `./mvnw test` has graded it: for the solved
    /// chapter and an untouched one.
    private static Map<String, Child> checkWithTheWorkbook() {
        var checks = new java.util.LinkedHashMap<String, Child>();
        for (var chapter : new Chapters(ROOT).all().subList(0, 2)) {
            checks.put(chapter.id(), run(List.of(LEARNER.resolve("jbang").toString(), "workbook", "check", chapter.tag()),
                    LEARNER, LEARNER.resolve("workbook-" + chapter.tag() + ".log"), RUN_BOUND));
        }
        return checks;
    }

    /// The learner's own command on a copy holding the first chapter alone (it compiles sooner): the chapter solved
    /// (-Dgroups), then with one known-bad mistake in it.
    private static Map<String, LearnerBuild.Verdict> gradeOneChapter() {
        var first = new Chapters(ROOT).all().getFirst();
        Path solution = ROOT.resolve("solutions").resolve(first.id());
        var runs = new java.util.LinkedHashMap<String, LearnerBuild.Verdict>();
        long t0 = System.nanoTime();
        var alone = new LearnerBuild(ROOT, WORK.resolve("learner-" + first.id()), first.id());
        solved(first).forEach(f -> alone.write(first.id(), f));
        runs.put("solved", alone.grade("solved", RUN_BOUND, "-Dgroups=" + first.tag()));
        KnownBad bug = KnownBad.all(ROOT.resolve("solutions")).stream().filter(k -> k.chapter().equals(first.id()))
                .findFirst().orElseThrow();
        bug.applyTo(solution, WORK.resolve("learner-mistake")).forEach(f -> alone.write(first.id(), f));
        runs.put("one-mistake", alone.grade("one-mistake", RUN_BOUND, "-Dgroups=" + first.tag()));
        TIMINGS.put("target/course-check/learner-" + first.id() + " (2 x ./mvnw test)", Duration.ofNanos(System.nanoTime() - t0));
        return runs;
    }

    private static List<Path> solved(Chapters.Chapter chapter) {
        return Course.javaFiles(ROOT.resolve("solutions").resolve(chapter.id())).stream()
                .filter(f -> !f.toString().contains("known-bad")).toList();
    }

    /// grade.json's tests: name → "status: message".
    private static Map<String, String> tests(Path grade) throws IOException {
        assertThat(grade).as("a grade.json").isRegularFile();
        var tests = new TreeMap<String, String>();
        for (Object o : WorkbookGrader.Json.list(WorkbookGrader.Json.object(Files.readString(grade)).get("tests"))) {
            Map<String, Object> t = WorkbookGrader.Json.object(o);
            tests.put((String) t.get("name"), t.get("status") + ": " + t.get("message"));
        }
        return tests;
    }

    /// Where the graded tests meet a machine without /proc: the solutions graded in a mount namespace whose /proc is
    /// an empty tmpfs (as root; the JDK then needs LD_ORIGIN_PATH, and a copy of /proc/net/if_inet6 to keep IPv6).
    private static List<Row> gradeSolutionsWithoutProc() {
        Path work = WORK.resolve("without-proc");
        try {
            Files.createDirectories(work);
            Path inet6 = Files.copy(Path.of("/proc/net/if_inet6"), work.resolve("if_inet6"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            String javaBin = Path.of(java()).getParent().toString();
            var hideProc = List.of("unshare", "--mount", "--", "sh", "-c",
                    "mount -t tmpfs none /proc && mkdir /proc/net && cp \"$0\" /proc/net/if_inet6 "
                            + "&& exec env LD_ORIGIN_PATH=" + javaBin + " \"$@\"", inet6.toString());
            var rows = grade(hideProc, ROOT.resolve("target/classes"), work, List.of());
            // and two lessons, as a learner on another system runs them
            for (String lesson : LESSONS_WITHOUT_PROC) {
                var command = new ArrayList<>(hideProc);
                command.addAll(List.of(ROOT.resolve("jbang").toString(), lesson));
                run(command, work.resolve(lesson + ".log"), LESSON_BUDGET.multipliedBy(4));
            }
            return rows;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /// Where the tests on the wire meet a machine without user namespaces: the solutions of chapter 7's client (its two
    /// tests on the wire and one other) graded in a user namespace whose own limit allows no further one
    /// (`user.max_user_namespaces` = 0 there), so the machine's setting is left alone.
    private static List<Row> gradeSolutionsWithoutNamespaces() {
        Path work = WORK.resolve("without-namespaces");
        var noNamespaces = List.of("unshare", "--user", "--map-root-user", "--", "sh", "-c",
                "echo 0 > /proc/sys/user/max_user_namespaces && exec \"$@\"", "sh");
        return grade(noNamespaces, ROOT.resolve("target/classes"), work, List.of(
                "ReverseClientWireTest#closeSendsFinFirst", "ReverseClientWireTest#abortSendsRstNotFin",
                "ReverseClientTest#halfCloseDeliversTheWholeReply"));
    }

    private static boolean canForbidNamespaces() {
        return Child.succeeds("unshare", "--user", "--map-root-user", "--", "sh", "-c",
                "echo 0 > /proc/sys/user/max_user_namespaces");
    }

    private static boolean canHideProc() {
        return Child.succeeds("unshare", "--mount", "--", "true");
    }

    private static List<Row> gradeExercises() {
        List<Path> sources = Course.javaFiles(ROOT.resolve("exercises"));
        Path classes = compile(sources, WORK.resolve("exercises/classes"), null);
        return grade(classes, WORK.resolve("exercises"), List.of());
    }

    /// Applies and compiles a share of the known-bads; returns each one's line of the batch file (`name  results.tsv
    /// classes  Class#method,…`), or none for one that names no test (its results are empty: the test says so).
    private static Map<KnownBad, String> compileKnownBads(int share, List<KnownBad> bugs) {
        long t0 = System.nanoTime(), cpu = THREAD_CPU.getCurrentThreadCpuTime();
        var lines = new java.util.HashMap<KnownBad, String>();
        try {
            for (KnownBad bug : bugs) {
                Path dir = knownBadDir(bug);
                List<Path> sources = bug.applyTo(ROOT.resolve("solutions").resolve(bug.chapter()), dir.resolve("src"));
                Path classes = compile(sources, dir.resolve("classes"), ROOT.resolve("target/classes"));
                Files.deleteIfExists(dir.resolve("results.tsv"));
                if (bug.caughtBy().isEmpty()) {
                    Files.write(dir.resolve("results.tsv"), List.of()); // nothing to run: the test says so
                    continue;
                }
                lines.put(bug, String.join("\t", bug.name(), dir.resolve("results.tsv").toString(), classes.toString(),
                        String.join(",", bug.caughtBy())));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        TIMINGS.put("target/course-check/known-bad/javac-" + share + " (%d known-bads, %.1f s of CPU)"
                .formatted(bugs.size(), (THREAD_CPU.getCurrentThreadCpuTime() - cpu) / 1e9), Duration.ofNanos(System.nanoTime() - t0));
        return lines;
    }

    /// The batch every lane takes from, in the course's order, with a fresh folder of claims beside it.
    private static Path writeBatch(List<KnownBad> bugs, List<Map<KnownBad, String>> shares) {
        Path work = WORK.resolve("known-bad");
        try {
            WorkbookGrader.deleteTree(work.resolve("claims"));
            Files.createDirectories(work.resolve("claims"));
            return Files.write(work.resolve("batch.tsv"), bugs.stream()
                    .flatMap(bug -> shares.stream().map(share -> share.get(bug)))
                    .filter(java.util.Objects::nonNull).toList());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /// One lane: JVMs one after the other, each grading known-bads from the batch until none is left (exit 0), or
    /// until one left something behind (exit DIRTY: the next JVM goes on).
    private static void gradeKnownBads(int lane, Path batch) {
        Path logs = WORK.resolve("known-bad").resolve("lane-" + lane);
        try {
            WorkbookGrader.deleteTree(logs);
            Files.createDirectories(logs);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long t0 = System.nanoTime();
        for (int jvm = 1; ; jvm++) {
            // Many mistakes are caught by a hang: 3 s is still well above what any graded test takes on the
            // solutions (under 2 s each), and spares the check the full 5 s per hang.
            var command = List.of(java(), "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1",
                    "-XX:+UseSerialGC", "-Djunit.jupiter.execution.timeout.testable.method.default=3 s",
                    "-cp", System.getProperty("java.class.path"),
                    "GradeRun", "--batch", batch.toString(), batch.resolveSibling("claims").toString());
            Child ran = run(command, logs.resolve("run-" + jvm + ".log"), RUN_BOUND);
            if (ran.exit() == 0) {
                break;
            }
            if (ran.exit() != GradeRun.DIRTY) {
                throw new AssertionError("grading known-bads in lane " + lane + " crashed:\n" + ran.tail());
            }
        }
        TIMINGS.put(ROOT.relativize(logs) + " (a queue of known-bads)", Duration.ofNanos(System.nanoTime() - t0));
    }

    private static List<Row> results(KnownBad bug) {
        try {
            return Files.readAllLines(knownBadDir(bug).resolve("results.tsv")).stream().map(Row::parse).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /// Where a known-bad's patched sources, classes and results go: target/course-check/known-bad/NN-name/<bug>/.
    private static Path knownBadDir(KnownBad bug) {
        return WORK.resolve("known-bad").resolve(bug.chapter()).resolve(bug.name());
    }

    private static final java.lang.management.ThreadMXBean THREAD_CPU = java.lang.management.ManagementFactory.getThreadMXBean();

    /// javac's file manager, one per thread (a share of the known-bads is compiled one after the other): it reads the
    /// JDK's module index once, not once for each of a hundred small compilations.
    private static final ThreadLocal<StandardJavaFileManager> JAVAC_FILES = ThreadLocal.withInitial(() ->
            ToolProvider.getSystemJavaCompiler().getStandardFileManager(null, null, StandardCharsets.UTF_8));

    private static Path compile(List<Path> sources, Path out, Path classpath) {
        try {
            Files.createDirectories(out);
            var options = new ArrayList<>(List.of("-d", out.toString(), "-proc:none", "-nowarn", "-encoding", "UTF-8"));
            if (classpath != null) {
                options.addAll(List.of("-cp", classpath.toString()));
            }
            var errors = new java.io.StringWriter();
            var files = JAVAC_FILES.get();
            boolean compiled = ToolProvider.getSystemJavaCompiler().getTask(errors, files, null, options, null,
                    files.getJavaFileObjectsFromPaths(sources)).call();
            if (!compiled) {
                throw new AssertionError("javac failed on " + sources + ":\n" + errors);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<Row> grade(Path implClasses, Path work, List<String> methods, String... jvmOptions) {
        return grade(List.of(), implClasses, work, methods, jvmOptions);
    }

    /// Grades with `wrapper` in front of the JVM's command line (a command that runs its arguments).
    private static List<Row> grade(List<String> wrapper, Path implClasses, Path work, List<String> methods,
                                   String... jvmOptions) {
        Path results = work.resolve("results.tsv");
        // A short-lived JVM: quick start-up matters more than peak speed, and spares the other run's core.
        var command = new ArrayList<>(wrapper);
        command.addAll(List.of(java(), "--enable-native-access=ALL-UNNAMED",
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
        command.addAll(List.of(jvmOptions));
        command.addAll(List.of(
                "-Dworkbook.grade=" + work.resolve("grade.json"),
                "-Dworkbook.impl=" + ROOT.relativize(implClasses),
                "-cp", implClasses + java.io.File.pathSeparator + System.getProperty("java.class.path"),
                "GradeRun", results.toString()));
        command.addAll(methods);
        Child ran = run(command, work.resolve("run.log"), RUN_BOUND);
        if (ran.exit() != 0) {
            throw new AssertionError("grading " + ROOT.relativize(implClasses) + " crashed:\n" + ran.tail());
        }
        try {
            return Files.readAllLines(results).stream().map(Row::parse).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // One way to build and run a lesson, LessonOutput's: the course site shows the log this run leaves (its "See it").
    private static Child buildLesson(Path lesson) {
        String name = lesson.getFileName().toString().replace(".java", "");
        return LessonOutput.build(ROOT, lesson, WORK.resolve("lessons").resolve(name + ".build.log"));
    }

    private static Child runLesson(Path lesson) {
        String name = lesson.getFileName().toString().replace(".java", "");
        var ran = LessonOutput.run(ROOT, lesson, WORK.resolve("lessons").resolve(name + ".log"), LESSON_BUDGET.multipliedBy(4));
        TIMINGS.put(ROOT.relativize(ran.log()).toString(), ran.took());
        return ran;
    }

    private static Child run(List<String> command, Path log, Duration bound) {
        return run(command, ROOT, log, bound);
    }

    private static Child run(List<String> command, Path dir, Path log, Duration bound) {
        Child ran = Child.run(command, dir, log, bound);
        TIMINGS.put(ROOT.relativize(log).toString(), ran.took());
        return ran;
    }

    private static String java() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    /// `-Dcourse.chapters=04-accept,05-connect` narrows the known-bad and lesson runs to those chapters while one
    /// is being written (the full check, as CI runs it, has no such property).
    private static boolean focus(String chapter) {
        String only = System.getProperty("course.chapters", "");
        return only.isBlank() || List.of(only.split(",")).contains(chapter);
    }

    private static List<Path> lessons() {
        return Course.chapters().stream().filter(c -> focus(c.getFileName().toString())).flatMap(c -> Course.files(c, "Lesson.java").stream()).toList();
    }
}
