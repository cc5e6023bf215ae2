///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 -XX:+UseSerialGC
//DEPS info.picocli:picocli:4.7.7
//DEPS org.junit:junit-bom:5.14.4@pom
//DEPS org.junit.jupiter:junit-jupiter
//DEPS org.junit.platform:junit-platform-launcher
//DEPS org.assertj:assertj-core:3.27.7
//DEPS org.awaitility:awaitility:4.3.0
//SOURCES Chapters.java
//SOURCES Scorecard.java
//SOURCES Stub.java
//SOURCES TaskOrder.java
//SOURCES WorkbookGrader.java
//SOURCES WorkbookHints.java
//SOURCES WorkbookReset.java
//SOURCES WorkbookScreen.java
//SOURCES WorkbookWatch.java

// The learner's loop: ./jbang workbook (an alias in jbang-catalog.json). The versions above are the pom's, and the
// first JVM option is the one surefire gives the graded tests: the course check fails the build if they drift apart
// (chapters/course-check/WorkbookTest.java). The other two make a JVM that compiles and grades in seconds start
// sooner on a small machine: one quick compiler, one GC thread.

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Help.Ansi;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/// The learner's command line: progress, `check`, `watch`, `hint`, `reset` — the same graded tests, timeouts, `Lab`
/// and `Scorecard` as `./mvnw test`, answered in about a second by a JVM that stays warm.
@Command(name = "workbook", mixinStandardHelpOptions = true, version = Workbook.VERSION,
        sortOptions = false, usageHelpAutoWidth = true,
        description = {
            "Your progress through the Socket Workbook, and the loop to work in: grade a chapter, re-grade it on "
                    + "every save, get a hint, start a chapter over.",
            "",
            "With no command: one bar per chapter (a cell per graded test, grouped by task), the chapter in "
                    + "progress, its next task, the first failing test with its message, and the line to edit.",
            "",
            "It grades exactly as `./mvnw test -Dgroups=<chapter>` does (same tests, same 5 s bounds, same "
                    + "scorecard), and writes the same grade.json and scorecard.txt, into target/workbook/<chapter>/.",
            "A chapter is named by its folder (02-bind), its name (bind) or its number (2)."},
        subcommands = {Workbook.Check.class, Workbook.Watch.class, Workbook.Hint.class, Workbook.Reset.class,
            Workbook.Bench.class, CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
            "0:done (check: every graded test of the chapter passes)",
            "1:not yet (check: a test fails or the code does not compile; reset: nothing was reset)",
            "2:the command line was wrong",
            "3:the workbook could not do it (e.g. reset outside a git clone)"},
        footerHeading = "%nExamples:%n",
        footer = {
            "  ./jbang workbook                 your progress and what to do next",
            "  ./jbang workbook watch           grade on every save, beside the chapter text",
            "  ./jbang workbook check bind      grade chapter 2 once; exit 0 when it is done",
            "  ./jbang workbook hint            a hint for the next task, one level at a time",
            "  ./jbang workbook reset bind      start chapter 2 over (your files are kept)"})
public final class Workbook implements Callable<Integer> {

    static final String VERSION = "Socket Workbook's workbook 1.0";

    static final int DONE = 0;
    static final int NOT_YET = 1;
    static final int USAGE = 2;
    static final int CANNOT = 3;

    /// A command line that names something that is not there (a chapter, a task): one line saying what there is.
    static final class Wrong extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Wrong(String message) {
            super(message);
        }
    }

    private final Path root;
    private final PrintStream out;
    private final PrintStream err;
    private final WorkbookScreen screen;

    @Option(names = "--tree", hidden = true, defaultValue = "exercises",
            description = "the tree to grade: exercises (the learner's), or solutions (the course's own check)")
    String tree;

    private WorkbookGrader grader;

    Workbook(Path root, PrintStream out, PrintStream err, WorkbookScreen screen) {
        this.root = root;
        this.out = out;
        this.err = err;
        this.screen = screen;
    }

    public static void main(String[] args) {
        Path cwd = Path.of("").toAbsolutePath();
        var err = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        Optional<Path> root = rootAbove(cwd);
        if (root.isEmpty()) {
            err.println("workbook: run it inside the Socket Workbook's folder (the one with pom.xml, chapters/ and "
                    + "exercises/): cd there, then ./jbang workbook");
            System.exit(CANNOT);
        }
        if (!root.get().equals(cwd)) {
            // the graded tests and the scorecard read the course by paths relative to its root, as under Maven
            System.exit(relaunchIn(root.get()));
        }
        var out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        boolean colour = WorkbookScreen.colourWanted();
        var screen = new WorkbookScreen(colour, WorkbookScreen.terminalWidth());
        var cli = new CommandLine(new Workbook(root.get(), out, err, screen));
        cli.setColorScheme(CommandLine.Help.defaultColorScheme(colour ? Ansi.ON : Ansi.OFF));
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        cli.setExecutionExceptionHandler((e, line, parsed) -> {
            // a sentence, not a stack trace: what could not be done and why
            line.getErr().println(screen.red("workbook: ") + (e.getMessage() == null ? e.toString() : e.getMessage()));
            return e instanceof Wrong ? USAGE : CANNOT;
        });
        System.exit(cli.execute(args));
    }

    @Override
    public Integer call() {
        var texts = texts();
        var verdicts = new LinkedHashMap<String, WorkbookGrader.Verdict>();
        for (var text : texts) {
            verdicts.put(text.chapter().id(), latest(text.chapter()));
        }
        out.print(screen.progress(texts, verdicts, seen(), tree));
        return DONE;
    }

    // --- commands ----------------------------------------------------------------------------------------------

    @Command(name = "check", mixinStandardHelpOptions = true, version = VERSION, description = {
        "Grade one chapter, show its verdict, and exit 0 if every graded test passes, 1 if not.",
        "Default: the first chapter not done."})
    static final class Check implements Callable<Integer> {
        @ParentCommand
        Workbook workbook;

        @Parameters(arity = "0..1", paramLabel = "<chapter>", description = "e.g. bind, 02-bind or 2")
        String chapter;

        @Override
        public Integer call() {
            var text = workbook.chapterOrNext(chapter);
            if (text.isEmpty()) {
                workbook.out.println(workbook.screen.green("Every chapter is done."));
                return DONE;
            }
            var verdict = workbook.grader().grade(text.get().chapter());
            workbook.out.print(workbook.screen.verdict(text.get(), verdict, workbook.seen()));
            workbook.out.println(workbook.screen.dim("\n" + timing(verdict)));
            return verdict.done() ? DONE : NOT_YET;
        }
    }

    @Command(name = "watch", mixinStandardHelpOptions = true, version = VERSION, description = {
        "Grade a chapter, then again on every save under exercises/, redrawing the screen; when the chapter is "
                + "done, go on to the next. Ctrl-C stops it.",
        "Default: the first chapter not done. Keep it open beside the chapter text."})
    static final class Watch implements Callable<Integer> {
        @ParentCommand
        Workbook workbook;

        @Parameters(arity = "0..1", paramLabel = "<chapter>", description = "the chapter to start with")
        String chapter;

        @Override
        public Integer call() throws InterruptedException {
            var start = workbook.chapterOrNext(chapter).or(() -> Optional.of(workbook.texts().getLast()));
            var screen = workbook.screen;
            var out = workbook.out;
            Path watched = workbook.root.resolve(workbook.tree);
            var watch = new WorkbookWatch(workbook.grader(), workbook.chapters(), watched, true);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                watch.stop();
                // Ctrl-C: a last line, not a stack trace; the terminal's colours back to normal
                out.print(screen.colour() ? "\u001b[0m" : "");
                out.println("\nwatch stopped.");
                out.flush();
            }, "watch-stop"));
            watch.run(start.get().chapter(), new WorkbookWatch.Show() {
                @Override
                public void verdict(Chapters.Chapter chapter, WorkbookGrader.Verdict verdict, String banner, long savedAt) {
                    var text = WorkbookScreen.Text.of(chapter);
                    var page = new StringBuilder(screen.clear());
                    if (!banner.isEmpty()) {
                        page.append(screen.green(screen.bold(banner))).append("\n\n");
                    }
                    page.append(screen.verdict(text, verdict, workbook.seen()));
                    String when = savedAt == 0 ? "" : "verdict %.1f s after the save · ".formatted(
                            (System.currentTimeMillis() - savedAt) / 1000.0);
                    page.append('\n').append(screen.dim(LocalTime.now().format(DateTimeFormatter.ofPattern("HH:mm:ss"))
                            + " · " + when + times(verdict))).append('\n');
                    page.append(screen.dim("watching " + workbook.tree + "/ — save a file to grade again · Ctrl-C to stop"))
                            .append('\n');
                    out.print(page);
                    out.flush();
                }

                @Override
                public void grading(Chapters.Chapter chapter, Path saved) {
                    out.println(screen.yellow("\n⟳ grading " + chapter.id() + " (" + workbook.root.relativize(saved)
                            + " saved) …"));
                }

                @Override
                public void failed(Chapters.Chapter chapter, RuntimeException e) {
                    out.println(screen.red("workbook: could not grade " + chapter.id() + ": ")
                            + (e.getMessage() == null ? e.toString() : e.getMessage()));
                    out.println(screen.dim("still watching " + workbook.tree + "/ — save a file to try again · Ctrl-C to stop"));
                }
            });
            return DONE;
        }
    }

    @Command(name = "hint", mixinStandardHelpOptions = true, version = VERSION, description = {
        "A hint for a task, one level at a time: a nudge; then the concept and the call to use; then nearly the "
                + "answer. Each run shows one level more (the levels seen are remembered and shown in the progress "
                + "view).",
        "Default: the chapter in progress and its next task."})
    static final class Hint implements Callable<Integer> {
        @ParentCommand
        Workbook workbook;

        @Parameters(index = "0", arity = "0..1", paramLabel = "<chapter>", description = "e.g. bind, 02-bind or 2")
        String chapter;

        @Parameters(index = "1", arity = "0..1", paramLabel = "<task>", description = "the task's number, as in the chapter text")
        Integer task;

        @Option(names = "--level", paramLabel = "<n>", description = "show the hints up to this level (1 to 3)")
        Integer level;

        @Override
        public Integer call() {
            var text = workbook.chapterOrNext(chapter).or(() -> Optional.of(workbook.texts().getLast())).get();
            var hints = WorkbookHints.of(text.chapter().dir());
            if (hints.isEmpty()) {
                workbook.err.println("workbook: " + text.chapter().id() + " has no hints yet (chapters/"
                        + text.chapter().id() + "/_hints.adoc)");
                return CANNOT;
            }
            int number = task != null ? task : workbook.latest(text.chapter()).next()
                    .map(WorkbookGrader.Test::task).filter(hints::containsKey).orElse(hints.keySet().iterator().next());
            var ofTask = hints.get(number);
            if (ofTask == null) {
                throw new Wrong("%s has no task %d; its tasks: %s".formatted(text.chapter().id(), number, hints.keySet()));
            }
            var seen = workbook.seen();
            int show = level != null ? Math.max(1, Math.min(level, ofTask.size()))
                    : Math.min(seen.of(text.chapter().id(), number) + 1, ofTask.size());
            seen.saw(text.chapter().id(), number, show);
            workbook.out.println(workbook.screen.hints(text, ofTask, show));
            return DONE;
        }
    }

    @Command(name = "reset", mixinStandardHelpOptions = true, version = VERSION, description = {
        "Put a chapter's stubs back as the course shipped them (from the clone's git history), after you confirm; "
                + "a copy of your files is kept first."})
    static final class Reset implements Callable<Integer> {
        @ParentCommand
        Workbook workbook;

        @Parameters(arity = "1", paramLabel = "<chapter>", description = "e.g. bind, 02-bind or 2")
        String chapter;

        @Option(names = {"-y", "--yes"}, description = "do not ask (for scripts)")
        boolean yes;

        @Override
        public Integer call() {
            var text = workbook.text(chapter);
            String id = text.chapter().id();
            var reset = new WorkbookReset(workbook.root);
            var plan = reset.plan(id, workbook.tree);
            var out = workbook.out;
            var changes = new ArrayList<String>();
            plan.shipped().forEach((file, shipped) -> {
                if (reset.changed(file, shipped)) {
                    changes.add("  back to the stub  " + workbook.root.relativize(file));
                }
            });
            plan.extra().forEach(f -> changes.add("  moved out        " + workbook.root.relativize(f) + " (not the course's)"));
            if (changes.isEmpty()) {
                out.println(workbook.tree + "/" + id + " is as the course shipped it: nothing to reset.");
                return DONE;
            }
            out.println("Reset " + workbook.tree + "/" + id + " to the stubs as the course shipped them:");
            changes.forEach(out::println);
            out.println("Your files are copied first to " + plan.backup());
            if (!yes) {
                var console = System.console();
                if (console == null || !console.isTerminal()) {
                    workbook.err.println("workbook: nothing was reset: confirm with --yes when there is no terminal to ask on");
                    return NOT_YET;
                }
                String answer = console.readLine("Reset %s? [y/N] ", id);
                if (answer == null || !answer.strip().matches("(?i)y|yes")) {
                    out.println("Nothing was reset.");
                    return NOT_YET;
                }
            }
            reset.apply(plan, id, workbook.tree);
            out.println(workbook.screen.green("Reset.") + " " + workbook.tree + "/" + id + " holds the stubs again; "
                    + "your files are in " + plan.backup());
            return DONE;
        }
    }

    @Command(name = "bench", hidden = true, description = "For the course's authors: time save-to-verdict in a warm "
            + "JVM against `./mvnw -o -q test -Dgroups=<chapter>`, chapter by chapter, in one run.")
    static final class Bench implements Callable<Integer> {
        @ParentCommand
        Workbook workbook;

        @Parameters(arity = "0..*", paramLabel = "<chapter>")
        List<String> names = new ArrayList<>();

        @Option(names = "--saves", defaultValue = "5", description = "saves timed per chapter")
        int saves;

        @Option(names = "--maven-runs", defaultValue = "1", description = "Maven runs timed per chapter")
        int mavenRuns;

        @Override
        public Integer call() throws Exception {
            var out = workbook.out;
            var texts = names.isEmpty() ? workbook.texts() : names.stream().map(workbook::text).toList();
            out.println("load before: " + uptime());
            out.printf("%-13s %8s %8s %8s %8s   %s%n", "chapter", "save→v", "min", "max", "mvn -q", "verdict (workbook | maven)");
            for (var text : texts) {
                var chapter = text.chapter();
                // Maven first, so that the workbook's timings below are from a JVM that only did this chapter
                var maven = new ArrayList<Duration>();
                String mavenGrade = "";
                for (int i = 0; i < mavenRuns; i++) {
                    var command = new ArrayList<>(List.of(workbook.root.resolve("mvnw").toString(), "-o", "-q", "-B",
                            "test", "-Dgroups=" + chapter.tag()));
                    if (workbook.tree.equals("solutions")) {
                        command.add("-Psolutions");
                    }
                    Path log = workbook.grader().work().resolve("bench/mvn-" + chapter.id() + ".log");
                    Files.createDirectories(log.getParent());
                    long t0 = System.nanoTime();
                    Process p = new ProcessBuilder(command).directory(workbook.root.toFile()).redirectErrorStream(true)
                            .redirectOutput(log.toFile()).start();
                    p.waitFor(10, TimeUnit.MINUTES);
                    maven.add(Duration.ofNanos(System.nanoTime() - t0));
                    mavenGrade = scoreOf(workbook.root.resolve("target/grade.json"));
                }
                if (maven.isEmpty()) {
                    mavenGrade = "(not run)";
                }
                var grader = workbook.grader();
                grader.grade(chapter); // warm: the bench and grading layer compiled, JUnit and javac loaded
                var watch = new WorkbookWatch(grader, workbook.chapters(), workbook.root.resolve(workbook.tree), false);
                var verdicts = new java.util.concurrent.LinkedBlockingQueue<Long>();
                var started = new java.util.concurrent.atomic.AtomicLong();
                var last = new java.util.concurrent.atomic.AtomicReference<WorkbookGrader.Verdict>();
                Thread watcher = Thread.ofPlatform().daemon().name("bench-watch").start(() -> {
                    try {
                        watch.run(chapter, new WorkbookWatch.Show() {
                            @Override
                            public void verdict(Chapters.Chapter c, WorkbookGrader.Verdict v, String banner, long savedAt) {
                                last.set(v);
                                verdicts.add(System.nanoTime());
                            }

                            @Override
                            public void grading(Chapters.Chapter c, Path saved) {
                                started.set(System.nanoTime());
                            }
                        });
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                verdicts.poll(5, TimeUnit.MINUTES); // the watch's own first grading
                Path file = WorkbookGrader.sources(grader.implDir(chapter.id())).getFirst();
                // per save: [save to verdict, save to grading start (the poll), compile, tests]
                var times = new ArrayList<double[]>();
                for (int i = 0; i < saves; i++) {
                    String content = Files.readString(file);
                    long t0 = System.nanoTime();
                    Files.writeString(file, content); // a save: same text, new modification time
                    Long t1 = verdicts.poll(5, TimeUnit.MINUTES);
                    if (t1 == null) {
                        throw new IllegalStateException("no verdict within 5 minutes of saving " + file);
                    }
                    var v = last.get();
                    times.add(new double[] {(t1 - t0) / 1e9, (started.get() - t0) / 1e9, seconds(v.compile()),
                        seconds(v.run())});
                }
                watch.stop();
                watcher.join(TimeUnit.MINUTES.toMillis(5));
                var v = last.get();
                times.sort(java.util.Comparator.comparingDouble(t -> t[0]));
                double[] median = times.get(times.size() / 2);
                out.printf("%-13s %7.2fs %7.2fs %7.2fs %7.2fs   %s | %s%n", chapter.id(), median[0],
                        times.getFirst()[0], times.getLast()[0],
                        maven.isEmpty() ? Double.NaN : seconds(maven.stream().sorted().toList().get(maven.size() / 2)),
                        v.compiled() ? v.passed() + "/" + v.counted() : "does not compile", mavenGrade);
                out.printf("%-13s          the median save: noticed after %.2fs, compile %.2fs, tests %.2fs%n", "",
                        median[1], median[2], median[3]);
            }
            out.println("load after:  " + uptime());
            return DONE;
        }

        private static double seconds(Duration d) {
            return d.toNanos() / 1e9;
        }

        private static String scoreOf(Path grade) {
            try {
                var json = WorkbookGrader.Json.object(Files.readString(grade));
                return json.get("score") + "/" + json.get("max_score");
            } catch (IOException | RuntimeException e) {
                return "(no grade.json)";
            }
        }

        private static String uptime() {
            try {
                return Files.readString(Path.of("/proc/loadavg")).strip() + " (1, 5, 15 min load averages; 2 cores)";
            } catch (IOException e) {
                return "(no /proc/loadavg)";
            }
        }
    }

    // --- shared ------------------------------------------------------------------------------------------------

    WorkbookGrader grader() {
        if (grader == null) {
            grader = new WorkbookGrader(root, tree);
        }
        return grader;
    }

    List<Chapters.Chapter> chapters() {
        var all = new Chapters(root).all();
        if (all.isEmpty()) {
            throw new IllegalStateException("no chapters under " + root.resolve("chapters"));
        }
        return all;
    }

    List<WorkbookScreen.Text> texts() {
        return chapters().stream().map(WorkbookScreen.Text::of).toList();
    }

    WorkbookHints.Seen seen() {
        return new WorkbookHints.Seen(grader().work().resolve("hints-seen.properties"));
    }

    /// A chapter named on the command line: `02-bind`, `bind`, `2`, `02`, or a path ending in its folder.
    WorkbookScreen.Text text(String name) {
        String wanted = Path.of(name.replaceAll("/+$", "")).getFileName().toString();
        for (var text : texts()) {
            var c = text.chapter();
            if (c.id().equals(wanted) || c.tag().equals(wanted)
                    || (wanted.matches("\\d{1,2}") && Integer.parseInt(wanted) == Integer.parseInt(c.id().substring(0, 2)))) {
                return text;
            }
        }
        throw new Wrong("no chapter '%s': the chapters are %s".formatted(name,
                String.join(", ", chapters().stream().map(Chapters.Chapter::id).toList())));
    }

    /// The chapter named, or else the first chapter not done (grading, on the way, those whose last verdict is out
    /// of date); empty when every chapter is done.
    Optional<WorkbookScreen.Text> chapterOrNext(String name) {
        if (name != null) {
            return Optional.of(text(name));
        }
        for (var text : texts()) {
            if (!latest(text.chapter()).done()) {
                return Optional.of(text);
            }
        }
        return Optional.empty();
    }

    /// The chapter's last verdict if nothing it reads has changed since; else a new one.
    WorkbookGrader.Verdict latest(Chapters.Chapter chapter) {
        return grader().remembered(chapter).orElseGet(() -> {
            // on a terminal, a line that the next one overwrites
            err.print(screen.dim("grading " + chapter.id() + " …") + (screen.colour() ? "\r" : "\n"));
            var v = grader().grade(chapter);
            err.print(screen.colour() ? "\r\u001b[2K" : "");
            return v;
        });
    }

    private static String timing(WorkbookGrader.Verdict v) {
        return times(v) + " · target/workbook/%s/grade.json".formatted(v.chapter());
    }

    private static String times(WorkbookGrader.Verdict v) {
        if (!v.compiled()) {
            return "compiled in %.1f s, with errors: nothing graded".formatted(v.compile().toMillis() / 1000.0);
        }
        return "graded in %.1f s (compile %.1f s, tests %.1f s)".formatted((v.compile().toMillis() + v.run().toMillis())
                / 1000.0, v.compile().toMillis() / 1000.0, v.run().toMillis() / 1000.0);
    }

    /// The folder at or above `dir` that holds the course: pom.xml, chapters/grading and exercises/.
    static Optional<Path> rootAbove(Path dir) {
        for (Path d = dir; d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("pom.xml")) && Files.isDirectory(d.resolve("chapters/grading"))
                    && Files.isDirectory(d.resolve("exercises"))) {
                return Optional.of(d);
            }
        }
        return Optional.empty();
    }

    /// Runs this same command again with the course's root as its working directory, and waits for it.
    private static int relaunchIn(Path root) {
        var info = ProcessHandle.current().info();
        var command = new ArrayList<String>();
        command.add(info.command().orElse("java"));
        command.addAll(List.of(info.arguments().orElse(new String[0])));
        try {
            Process child = new ProcessBuilder(command).directory(root.toFile()).inheritIO().start();
            // Ctrl-C reaches both; let the child say its last line before this JVM ends
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    child.waitFor(3, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "wait-for-workbook"));
            return child.waitFor();
        } catch (IOException e) {
            System.err.println("workbook: could not start in " + root + ": " + e.getMessage());
            return CANNOT;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return CANNOT;
        }
    }
}
