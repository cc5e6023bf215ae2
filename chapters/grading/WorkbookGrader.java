import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Enumeration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

import org.junit.platform.engine.DiscoverySelector;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TagFilter;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;
import org.junit.platform.launcher.core.LauncherFactory;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder.request;

/// The workbook's grading engine: one chapter's exercise and graded tests compiled with `javax.tools` into
/// `target/workbook/`, then run by the JUnit Platform Launcher inside this JVM — in a class loader of their own for
/// every run, so that `watch` keeps one warm JVM and still sees each saved change.
///
/// It is `./mvnw test -Dgroups=<chapter>` by other means, and nothing else: the same test classes (the chapter's
/// `*Test` classes, selected by its tag, `bench` excluded, as surefire selects them), the same
/// `junit-platform.properties` (5 s SEPARATE_THREAD timeouts, `TaskOrder`), the same `Lab`, and the same `Scorecard`
/// (registered by the same `META-INF/services` file) writing `grade.json` and `scorecard.txt` — into
/// `target/workbook/<chapter>/` instead of `target/`. The verdict shown is read back from that `grade.json`.
final class WorkbookGrader {

    /// One graded test as the scorecard judged it, with what the workbook adds: its task, and where to edit.
    record Test(String name, String status, String message, int task, String location, boolean wire) {
        boolean passed() {
            return status.equals("pass");
        }

        /// Skipped for want of the private wire: neither failed nor credited, and no bar to done (as in grade.json).
        boolean wireSkip() {
            return wire && status.equals("skip");
        }

        boolean failed() {
            return status.equals("fail");
        }
    }

    /// A javac error: `file:line`, its message, and the source line with a caret under the column.
    record CompileError(String file, long line, String message, String source, long column) {
    }

    /// One grading of one chapter: either compile errors, or the tests. `printed` is what the code under test wrote
    /// to stdout/stderr (kept in a file, as surefire keeps it), `inputs` the fingerprint of every file graded.
    record Verdict(String chapter, List<CompileError> errors, List<Test> tests, Duration compile, Duration run,
                   Path printed, String inputs) {

        boolean compiled() {
            return errors.isEmpty();
        }

        int passed() {
            return (int) tests.stream().filter(Test::passed).count();
        }

        /// Tests that count: a skipped test (a machine without /proc, or without the private wire) neither earns nor
        /// costs a point.
        int counted() {
            return (int) tests.stream().filter(t -> !t.status().equals("skip")).count();
        }

        boolean done() {
            return compiled() && counted() > 0 && tests.stream().allMatch(t -> t.passed() || t.wireSkip());
        }

        /// The test to fix next: a failure of the lowest-numbered task, in the order the tests ran.
        Optional<Test> next() {
            return tests.stream().filter(Test::failed).min(Comparator.comparingInt(Test::task));
        }
    }

    private static final Pattern TODO = Pattern.compile("TODO\\(task (\\d+)\\)");

    private final Path root;
    private final String tree;
    private final Path work;
    private final JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    private final StandardJavaFileManager fileManager;
    private final List<Path> libraries;
    private final ClassLoader parent = WorkbookGrader.class.getClassLoader();
    private String labHash = "";

    /// Grades `root/<tree>/NN-name` (tree: `exercises`, or `solutions` for the course check) into `root/target/workbook`.
    WorkbookGrader(Path root, String tree) {
        this.root = root.toAbsolutePath().normalize();
        this.tree = tree;
        this.work = this.root.resolve("target/workbook");
        if (javac == null) {
            throw new IllegalStateException("this Java has no compiler (javax.tools): run the workbook on a JDK 25, "
                    + "not a JRE");
        }
        // one file manager for every compile: it keeps the JDK's and the libraries' class files open and indexed
        this.fileManager = javac.getStandardFileManager(null, Locale.ROOT, StandardCharsets.UTF_8);
        this.libraries = libraries();
    }

    Path work() {
        return work;
    }

    /// Where the verdict of `chapter` is kept: the scorecard's `grade.json` and `scorecard.txt`, and the workbook's own.
    Path dirOf(String chapter) {
        return work.resolve(chapter);
    }

    /// A fingerprint of everything a grading of `chapter` reads: its exercise, its tests, the bench and the grading
    /// layer. A verdict recorded with the same fingerprint is the verdict a new run would give.
    String inputsOf(Chapters.Chapter chapter) {
        var digest = sha256();
        for (Path file : Stream.of(sources(implDir(chapter.id())), chapterSources(chapter), labSources(),
                files(root.resolve("chapters/grading/resources"), f -> true)).flatMap(List::stream).toList()) {
            digest.update(root.relativize(file).toString().getBytes(StandardCharsets.UTF_8));
            digest.update((byte) 0);
            try {
                digest.update(Files.readAllBytes(file));
            } catch (IOException e) {
                digest.update(("unreadable " + e).getBytes(StandardCharsets.UTF_8));
            }
            digest.update((byte) 0);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    Path implDir(String chapter) {
        return root.resolve(tree).resolve(chapter);
    }

    /// Compiles and grades one chapter.
    Verdict grade(Chapters.Chapter chapter) {
        String inputs = inputsOf(chapter);
        Path dir = dirOf(chapter.id());
        long t0 = System.nanoTime();
        List<CompileError> errors = compileLab();
        Path classes = dir.resolve("classes");
        if (errors.isEmpty()) {
            deleteTree(classes);
            var sources = new ArrayList<>(sources(implDir(chapter.id())));
            sources.addAll(testSources(chapter));
            errors = compile(sources, classes, List.of(work.resolve("lab/classes")), chapter.dir());
        }
        Duration compile = Duration.ofNanos(System.nanoTime() - t0);
        Path printed = dir.resolve("output.txt");
        Verdict verdict;
        if (!errors.isEmpty()) {
            writeGradeOfAFailedCompile(dir, errors);
            verdict = new Verdict(chapter.id(), errors, List.of(), compile, Duration.ZERO, printed, inputs);
        } else {
            long t1 = System.nanoTime();
            List<Test> tests = run(chapter, classes, dir, printed);
            verdict = new Verdict(chapter.id(), List.of(), tests, compile, Duration.ofNanos(System.nanoTime() - t1),
                    printed, inputs);
        }
        remember(verdict);
        return verdict;
    }

    /// The last verdict of `chapter`, if nothing it reads has changed since: the progress view needs no new run then.
    Optional<Verdict> remembered(Chapters.Chapter chapter) {
        Path file = dirOf(chapter.id()).resolve("verdict.json");
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            Map<String, Object> v = Json.object(Files.readString(file));
            if (!inputsOf(chapter).equals(v.get("inputs"))) {
                return Optional.empty();
            }
            var errors = new ArrayList<CompileError>();
            for (Object o : Json.list(v.get("errors"))) {
                Map<String, Object> e = Json.object(o);
                errors.add(new CompileError((String) e.get("file"), (Long) e.get("line"), (String) e.get("message"),
                        (String) e.get("source"), (Long) e.get("column")));
            }
            var tests = new ArrayList<Test>();
            for (Object o : Json.list(v.get("tests"))) {
                Map<String, Object> t = Json.object(o);
                tests.add(new Test((String) t.get("name"), (String) t.get("status"), (String) t.get("message"),
                        ((Long) t.get("task")).intValue(), (String) t.get("location"), Boolean.TRUE.equals(t.get("wire"))));
            }
            return Optional.of(new Verdict(chapter.id(), errors, tests, Duration.ofMillis((Long) v.get("compileMillis")),
                    Duration.ofMillis((Long) v.get("runMillis")), dirOf(chapter.id()).resolve("output.txt"),
                    (String) v.get("inputs")));
        } catch (IOException | RuntimeException unreadable) {
            return Optional.empty(); // written by another version of the workbook, or cut short: grade again
        }
    }

    /// Keeps `verdict` for {@link #remembered}.
    void remember(Verdict verdict) {
        var errors = verdict.errors().stream().map(e -> "{\"file\": %s, \"line\": %d, \"message\": %s, \"source\": %s, \"column\": %d}"
                .formatted(Json.quote(e.file()), e.line(), Json.quote(e.message()), Json.quote(e.source()), e.column())).toList();
        var tests = verdict.tests().stream().map(t -> "{\"name\": %s, \"status\": %s, \"message\": %s, \"task\": %d, \"location\": %s, \"wire\": %b}"
                .formatted(Json.quote(t.name()), Json.quote(t.status()), Json.quote(t.message()), t.task(),
                        Json.quote(t.location()), t.wire())).toList();
        try {
            Path dir = dirOf(verdict.chapter());
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("verdict.json"), """
                    {"inputs": %s, "compileMillis": %d, "runMillis": %d,
                     "errors": [%s],
                     "tests": [
                      %s]}
                    """.formatted(Json.quote(verdict.inputs()), verdict.compile().toMillis(), verdict.run().toMillis(),
                    String.join(",\n  ", errors), String.join(",\n  ", tests)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // --- compiling ---------------------------------------------------------------------------------------------

    /// The bench and the grading layer, compiled once and again only when one of their files changes.
    private List<CompileError> compileLab() {
        Path classes = work.resolve("lab/classes");
        var digest = sha256();
        List<Path> sources = labSources();
        for (Path f : sources) {
            try {
                digest.update(f.toString().getBytes(StandardCharsets.UTF_8));
                digest.update(Files.readAllBytes(f));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        String hash = HexFormat.of().formatHex(digest.digest());
        Path stamp = work.resolve("lab/sources.sha256");
        try {
            if (hash.equals(labHash) || (Files.isDirectory(classes) && Files.isRegularFile(stamp)
                    && Files.readString(stamp).equals(hash))) {
                labHash = hash;
                return List.of();
            }
            deleteTree(classes);
            List<CompileError> errors = compile(sources, classes, List.of(), null);
            if (errors.isEmpty()) {
                Files.writeString(stamp, hash);
                labHash = hash;
            }
            return errors;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private List<CompileError> compile(List<Path> sources, Path out, List<Path> classpath, Path sourcepath) {
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        var path = new ArrayList<>(classpath);
        path.addAll(libraries);
        var options = new ArrayList<>(List.of("-d", out.toString(), "-proc:none", "-encoding", "UTF-8",
                "-cp", String.join(java.io.File.pathSeparator, path.stream().map(Path::toString).toList())));
        if (sourcepath != null) {
            // helper classes of the chapter's tests, if any, are compiled as they are needed
            options.addAll(List.of("-sourcepath", sourcepath.toString()));
        }
        var diagnostics = new DiagnosticCollector<JavaFileObject>();
        Iterable<? extends JavaFileObject> units = fileManager.getJavaFileObjectsFromPaths(sources);
        boolean ok = javac.getTask(null, fileManager, diagnostics, options, null, units).call();
        var errors = new ArrayList<CompileError>();
        for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
            if (d.getKind() == Diagnostic.Kind.ERROR) {
                errors.add(errorOf(d));
            }
        }
        if (!ok && errors.isEmpty()) {
            errors.add(new CompileError("", 0, "javac failed without saying why", "", 0));
        }
        return errors;
    }

    private CompileError errorOf(Diagnostic<? extends JavaFileObject> d) {
        String file = "";
        String line = "";
        if (d.getSource() != null) {
            Path p = Path.of(d.getSource().toUri());
            file = p.startsWith(root) ? root.relativize(p).toString() : p.toString();
            try {
                List<String> lines = Files.readAllLines(p);
                if (d.getLineNumber() > 0 && d.getLineNumber() <= lines.size()) {
                    line = lines.get((int) d.getLineNumber() - 1);
                }
            } catch (IOException | UncheckedIOException e) {
                line = "";
            }
        }
        return new CompileError(file, Math.max(0, d.getLineNumber()), d.getMessage(Locale.ROOT), line,
                Math.max(0, d.getColumnNumber()));
    }

    /// Like the build, which writes an "error" grade before it compiles: a grade of a chapter that did not compile.
    private void writeGradeOfAFailedCompile(Path dir, List<CompileError> errors) {
        try {
            Files.createDirectories(dir);
            String first = errors.getFirst().file() + ":" + errors.getFirst().line() + ": " + errors.getFirst().message();
            Files.writeString(dir.resolve("grade.json"), """
                    {"version": 1, "status": "error", "max_score": 0, "score": 0, "message": %s, "tests": [], \
                    "chapters": []}
                    """.formatted(Json.quote("the code did not compile, so nothing was graded: " + first)));
            Files.deleteIfExists(dir.resolve("scorecard.txt"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // --- running -----------------------------------------------------------------------------------------------

    private List<Test> run(Chapters.Chapter chapter, Path classes, Path dir, Path printed) {
        Path grade = dir.resolve("grade.json");
        var loader = new RunLoader(new Path[] {classes, work.resolve("lab/classes"),
                root.resolve("chapters/grading/resources")}, parent);
        var seen = new Seen();
        Thread self = Thread.currentThread();
        ClassLoader before = self.getContextClassLoader();
        PrintStream out = System.out;
        PrintStream err = System.err;
        String gradeBefore = System.getProperty("workbook.grade");
        String implBefore = System.getProperty("workbook.impl");
        try (var capture = new PrintStream(new FileOutputStream(printed.toFile()), true, StandardCharsets.UTF_8)) {
            Files.deleteIfExists(grade);
            Files.deleteIfExists(dir.resolve("scorecard.txt"));
            // What the surefire configuration passes to the test JVM, for the Scorecard.
            System.setProperty("workbook.grade", grade.toString());
            System.setProperty("workbook.impl", tree);
            // JUnit finds junit-platform.properties, the Scorecard (META-INF/services) and TaskOrder through this.
            self.setContextClassLoader(loader);
            // As surefire's redirectTestOutputToFile: what the code under test prints goes to a file, not the screen.
            System.setOut(capture);
            System.setErr(capture);
            List<DiscoverySelector> selectors = testSources(chapter).stream()
                    .map(f -> (DiscoverySelector) selectClass(loader, f.getFileName().toString().replace(".java", "")))
                    .toList();
            // -Dgroups=<tag> and <excludedGroups>bench</excludedGroups>, as the pom gives surefire
            LauncherDiscoveryRequest request = request().selectors(selectors)
                    .filters(TagFilter.includeTags(chapter.tag()), TagFilter.excludeTags("bench")).build();
            LauncherFactory.create().execute(request, seen);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            System.setOut(out);
            System.setErr(err);
            self.setContextClassLoader(before);
            restore("workbook.grade", gradeBefore);
            restore("workbook.impl", implBefore);
        }
        return readGrade(grade, chapter, seen);
    }

    private static void restore(String property, String value) {
        if (value == null) {
            System.clearProperty(property);
        } else {
            System.setProperty(property, value);
        }
    }

    /// The scorecard's verdict (grade.json), each test joined with what the workbook saw of it: its task and where
    /// the failure points into the exercise.
    private List<Test> readGrade(Path grade, Chapters.Chapter chapter, Seen seen) {
        if (!Files.isRegularFile(grade)) {
            throw new IllegalStateException("the scorecard wrote no " + root.relativize(grade)
                    + ": is chapters/grading/resources/META-INF/services in place?");
        }
        Map<String, Object> json;
        try {
            json = Json.object(Files.readString(grade));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        var tests = new ArrayList<Test>();
        Map<Integer, java.util.Set<String>> stubs = stubMethods(chapter, seen);
        for (Object o : Json.list(json.get("tests"))) {
            Map<String, Object> t = Json.object(o);
            String name = (String) t.get("name");
            String shortName = name.startsWith(chapter.id() + " › ") ? name.substring(chapter.id().length() + 3) : name;
            Seen.Observed what = seen.byName.get(shortName);
            int task = what == null ? Integer.MAX_VALUE : what.task();
            String location = what == null ? "" : locate(chapter, what.thrown(), task, stubs.getOrDefault(task, java.util.Set.of()));
            tests.add(new Test(shortName, (String) t.get("status"), (String) t.get("message"), task, location,
                    Boolean.TRUE.equals(t.get("wire"))));
        }
        // the order the chapter text gives: task by task, as the tests ran
        tests.sort(Comparator.comparingInt(Test::task));
        return tests;
    }

    /// Where to edit for a failed test: the line of the exercise the failure came from (a stub's `throw`, or the
    /// learner's own code), else the `TODO(task N)` of its task.
    private String locate(Chapters.Chapter chapter, Throwable thrown, int task, java.util.Set<String> stubsOfTask) {
        Path impl = implDir(chapter.id());
        Map<String, Path> exerciseFiles = new LinkedHashMap<>();
        for (Path f : sources(impl)) {
            exerciseFiles.put(f.getFileName().toString(), f);
        }
        for (Throwable t = thrown; t != null; t = t.getCause()) {
            for (StackTraceElement frame : t.getStackTrace()) {
                Path file = frame.getFileName() == null ? null : exerciseFiles.get(frame.getFileName());
                if (file != null && frame.getLineNumber() > 0) {
                    return root.relativize(file) + ":" + frame.getLineNumber();
                }
            }
        }
        for (Path f : exerciseFiles.values()) {
            try {
                List<String> lines = Files.readAllLines(f);
                for (int i = 0; i < lines.size(); i++) {
                    Matcher m = TODO.matcher(lines.get(i));
                    if (m.find() && Integer.parseInt(m.group(1)) == task) {
                        return root.relativize(f) + ":" + (i + 1);
                    }
                }
            } catch (IOException e) {
                // an unreadable file points nowhere
            }
        }
        // the TODO is gone once the method is written: the method the task's stub was, by its declaration
        for (String method : stubsOfTask) {
            Path f = exerciseFiles.get(method.substring(0, method.indexOf('.')) + ".java");
            if (f == null) {
                continue;
            }
            var declaration = Pattern.compile("^\\s*(?:(?:public|protected|private|static|final|synchronized)\\s+)+"
                    + "[\\w<>\\[\\], ?.]*\\b" + Pattern.quote(method.substring(method.indexOf('.') + 1)) + "\\s*\\(");
            try {
                List<String> lines = Files.readAllLines(f);
                for (int i = 0; i < lines.size(); i++) {
                    if (declaration.matcher(lines.get(i)).find()) {
                        return root.relativize(f) + ":" + (i + 1);
                    }
                }
            } catch (IOException e) {
                // an unreadable file points nowhere
            }
        }
        return exerciseFiles.isEmpty() ? "" : root.relativize(exerciseFiles.values().iterator().next()).toString();
    }

    private static final Pattern STUB_METHOD = Pattern.compile("Task (\\d+): implement (\\w+\\.\\w+)");

    /// Per task, the methods its stubs were (`Sockets.open`), learnt from the stubs' messages whenever a run meets
    /// them and kept in `target/workbook/<chapter>/stubs.properties`: once a method is written its stub is gone,
    /// but the workbook still knows where task N's code lives.
    private Map<Integer, java.util.Set<String>> stubMethods(Chapters.Chapter chapter, Seen seen) {
        Path file = dirOf(chapter.id()).resolve("stubs.properties");
        var known = new java.util.Properties();
        try {
            if (Files.isRegularFile(file)) {
                try (var in = Files.newBufferedReader(file)) {
                    known.load(in);
                }
            }
            boolean learnt = false;
            for (var observed : seen.byName.values()) {
                var stub = observed.thrown() == null ? Optional.<String>empty() : Stub.in(observed.thrown());
                Matcher m = stub.map(STUB_METHOD::matcher).filter(Matcher::find).orElse(null);
                if (m != null && known.putIfAbsent(m.group(2), m.group(1)) == null) {
                    learnt = true;
                }
            }
            if (learnt) {
                try (var out = Files.newBufferedWriter(file)) {
                    known.store(out, "Socket Workbook: the method of each stub met so far, and its task");
                }
            }
        } catch (IOException e) {
            // without it, a failure points at the exercise's file rather than its line
        }
        var byTask = new java.util.TreeMap<Integer, java.util.Set<String>>();
        for (String method : known.stringPropertyNames()) {
            try {
                byTask.computeIfAbsent(Integer.parseInt(known.getProperty(method)), k -> new java.util.TreeSet<>()).add(method);
            } catch (NumberFormatException e) {
                // a hand-edited line: ignore it
            }
        }
        return byTask;
    }

    /// What the workbook needs beyond the scorecard, per test: its task (`@Tag("task:N")`) and what it threw. Named
    /// as the scorecard names a test, so the two can be joined.
    private static final class Seen implements TestExecutionListener {
        record Observed(int task, Throwable thrown) {
        }

        final Map<String, Observed> byName = new ConcurrentHashMap<>();
        private TestPlan plan;

        @Override
        public void testPlanExecutionStarted(TestPlan testPlan) {
            plan = testPlan;
        }

        @Override
        public void executionSkipped(TestIdentifier id, String reason) {
            if (id.isTest()) {
                record(id, null);
            }
        }

        @Override
        public void executionFinished(TestIdentifier id, TestExecutionResult result) {
            if (id.isTest()) {
                record(id, result.getThrowable().orElse(null));
            } else if (result.getStatus() != TestExecutionResult.Status.SUCCESSFUL) {
                plan.getDescendants(id).stream().filter(TestIdentifier::isTest)
                        .forEach(t -> byName.putIfAbsent(nameOf(t), new Observed(taskOf(t), result.getThrowable().orElse(null))));
            }
        }

        private void record(TestIdentifier id, Throwable thrown) {
            byName.putIfAbsent(nameOf(id), new Observed(taskOf(id), thrown));
        }

        private static int taskOf(TestIdentifier id) {
            return TaskOrder.taskOf(id.getTags().stream().map(t -> t.getName()));
        }

        // as Scorecard.nameOf: a parameterized or repeated test is "its sentence [2] the case"
        private String nameOf(TestIdentifier test) {
            return plan.getParent(test)
                    .filter(p -> p.getSource().orElse(null) instanceof MethodSource)
                    .map(p -> p.getDisplayName() + " " + test.getDisplayName())
                    .orElse(test.getDisplayName());
        }
    }

    /// A run's own class loader: the course's classes (all in the unnamed package) come from this run's class files,
    /// never from whoever loaded the workbook; the libraries (JUnit, AssertJ, Awaitility) are shared and stay warm.
    /// Resources the run brings (junit-platform.properties, the Scorecard's service file) hide any of the parent's.
    static final class RunLoader extends URLClassLoader {
        static {
            registerAsParallelCapable();
        }

        RunLoader(Path[] dirs, ClassLoader parent) {
            super(urls(dirs), parent);
        }

        private static URL[] urls(Path[] dirs) {
            var urls = new URL[dirs.length];
            for (int i = 0; i < dirs.length; i++) {
                try {
                    urls[i] = dirs[i].toUri().toURL();
                } catch (MalformedURLException e) {
                    throw new IllegalArgumentException(e);
                }
            }
            return urls;
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            if (name.indexOf('.') >= 0) {
                return super.loadClass(name, resolve);
            }
            synchronized (getClassLoadingLock(name)) {
                Class<?> c = findLoadedClass(name);
                if (c == null) {
                    try {
                        c = findClass(name);
                    } catch (ClassNotFoundException notHere) {
                        c = super.loadClass(name, false);
                    }
                }
                if (resolve) {
                    resolveClass(c);
                }
                return c;
            }
        }

        @Override
        public URL getResource(String name) {
            URL own = findResource(name);
            return own != null ? own : super.getResource(name);
        }

        @Override
        public Enumeration<URL> getResources(String name) throws IOException {
            Enumeration<URL> own = findResources(name);
            return own.hasMoreElements() ? own : super.getResources(name);
        }
    }

    // --- files -------------------------------------------------------------------------------------------------

    /// The jars this JVM runs with (JUnit, AssertJ, Awaitility, …): the graded tests compile against them. Folders
    /// of classes are left out, so that no course class compiled elsewhere can stand in for one compiled here.
    private static List<Path> libraries() {
        Path own = null;
        try {
            var source = WorkbookGrader.class.getProtectionDomain().getCodeSource();
            own = source == null ? null : Path.of(source.getLocation().toURI()).toAbsolutePath();
        } catch (java.net.URISyntaxException | IllegalArgumentException e) {
            own = null;
        }
        var jars = new ArrayList<Path>();
        for (String entry : System.getProperty("java.class.path", "").split(java.io.File.pathSeparator)) {
            Path jar = Path.of(entry).toAbsolutePath();
            if (entry.endsWith(".jar") && !jar.equals(own)) {
                jars.add(jar);
            }
        }
        return jars;
    }

    /// The bench (without its own tests) and the grading layer (without the workbook itself).
    private List<Path> labSources() {
        var lab = new ArrayList<>(files(root.resolve("chapters/bench"), f -> f.toString().endsWith(".java")
                && !f.getFileName().toString().endsWith("Test.java")));
        lab.addAll(files(root.resolve("chapters/grading"), f -> f.toString().endsWith(".java")
                && !f.getFileName().toString().startsWith("Workbook") && f.getParent().endsWith("grading")));
        return lab;
    }

    /// A chapter's graded test classes, as surefire includes them: `**/*Test.java`.
    private static List<Path> testSources(Chapters.Chapter chapter) {
        return files(chapter.dir(), f -> f.getFileName().toString().endsWith("Test.java")
                && f.getParent().equals(chapter.dir()));
    }

    private static List<Path> chapterSources(Chapters.Chapter chapter) {
        return files(chapter.dir(), f -> f.toString().endsWith(".java"));
    }

    static List<Path> sources(Path dir) {
        return files(dir, f -> f.toString().endsWith(".java") && !f.toString().contains("known-bad"));
    }

    private static List<Path> files(Path dir, java.util.function.Predicate<Path> which) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).filter(which).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /// Just enough JSON for grade.json: objects, arrays, strings, numbers, true, false, null.
    static final class Json {
        private final String text;
        private int at;

        private Json(String text) {
            this.text = text;
        }

        static Object parse(String text) {
            var json = new Json(text);
            Object value = json.value();
            json.space();
            if (json.at != text.length()) {
                throw json.error("text after the value");
            }
            return value;
        }

        @SuppressWarnings("unchecked")
        static Map<String, Object> object(Object value) {
            if (value instanceof String s) {
                value = parse(s);
            }
            if (!(value instanceof Map<?, ?>)) {
                throw new IllegalArgumentException("not a JSON object: " + value);
            }
            return (Map<String, Object>) value;
        }

        static List<Object> list(Object value) {
            if (value == null) {
                return List.of();
            }
            if (!(value instanceof List<?> l)) {
                throw new IllegalArgumentException("not a JSON array: " + value);
            }
            return Collections.unmodifiableList(l);
        }

        static String quote(String s) {
            return Scorecard.quote(s); // the same escaping grade.json is written with
        }

        private Object value() {
            space();
            if (at >= text.length()) {
                throw error("a value");
            }
            char c = text.charAt(at);
            switch (c) {
                case '{' -> {
                    at++;
                    var map = new LinkedHashMap<String, Object>();
                    space();
                    if (peek('}')) {
                        return map;
                    }
                    do {
                        space();
                        String key = string();
                        space();
                        expect(':');
                        map.put(key, value());
                        space();
                    } while (peek(','));
                    expect('}');
                    return map;
                }
                case '[' -> {
                    at++;
                    var list = new ArrayList<Object>();
                    space();
                    if (peek(']')) {
                        return list;
                    }
                    do {
                        list.add(value());
                        space();
                    } while (peek(','));
                    expect(']');
                    return list;
                }
                case '"' -> {
                    return string();
                }
                default -> {
                    for (var literal : List.of("true", "false", "null")) {
                        if (text.startsWith(literal, at)) {
                            at += literal.length();
                            return literal.equals("null") ? null : Boolean.valueOf(literal);
                        }
                    }
                    int start = at;
                    while (at < text.length() && "+-0123456789.eE".indexOf(text.charAt(at)) >= 0) {
                        at++;
                    }
                    if (start == at) {
                        throw error("a value");
                    }
                    String number = text.substring(start, at);
                    return number.matches("-?\\d+") ? (Object) Long.valueOf(number) : (Object) Double.valueOf(number);
                }
            }
        }

        private String string() {
            expect('"');
            var s = new StringBuilder();
            while (at < text.length()) {
                char c = text.charAt(at++);
                if (c == '"') {
                    return s.toString();
                }
                if (c != '\\') {
                    s.append(c);
                    continue;
                }
                char e = text.charAt(at++);
                switch (e) {
                    case 'n' -> s.append('\n');
                    case 'r' -> s.append('\r');
                    case 't' -> s.append('\t');
                    case 'b' -> s.append('\b');
                    case 'f' -> s.append('\f');
                    case 'u' -> {
                        s.append((char) Integer.parseInt(text.substring(at, at + 4), 16));
                        at += 4;
                    }
                    default -> s.append(e);
                }
            }
            throw error("the end of a string");
        }

        private void space() {
            while (at < text.length() && Character.isWhitespace(text.charAt(at))) {
                at++;
            }
        }

        private boolean peek(char c) {
            if (at < text.length() && text.charAt(at) == c) {
                at++;
                return true;
            }
            return false;
        }

        private void expect(char c) {
            if (!peek(c)) {
                throw error("'" + c + "'");
            }
        }

        private IllegalArgumentException error(String expected) {
            return new IllegalArgumentException("JSON: expected " + expected + " at character " + at);
        }
    }
}
