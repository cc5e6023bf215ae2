import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/// Runs a lesson and keeps what it printed: the course check times every run, and the course site shows it, step by
/// step, in the chapter's "See it" section, for a reader who cannot run it.
///
/// `java chapters/course-check/LessonOutput.java <repository> <out-dir>` (pom.xml, before the site renders) writes
/// `<out-dir>/<Lesson>.adoc` for every chapter's lesson. A lesson's log, `target/course-check/lessons/<Lesson>.log`,
/// is reused if the course check wrote it after the lesson and the bench last changed and the lesson exited 0;
/// otherwise the lesson is built and run here. JDK only (and Child.java beside it), so it also runs as a source file
/// where nothing is compiled.
public final class LessonOutput {

    /// How long a lesson may run (its budget is 5 s): one that hangs is killed, and the page says so.
    public static final Duration RUN_BOUND = Duration.ofSeconds(20);
    private static final Duration BUILD_BOUND = Duration.ofMinutes(3);
    /// The first line of every log: where the lesson ran (`uname -r` is the JDK's os.version on Linux) and when.
    private static final Pattern RAN_ON = Pattern.compile("^# ran on (.+)$");
    private static final Pattern EXIT = Pattern.compile("^# exit (-?\\d+) after .*$");
    private static final Pattern STEP = Pattern.compile("^(\\d+)\\. (.+)$");

    private LessonOutput() {
    }

    /// Runs `./jbang <lesson>` from `root` (on this JVM's JDK), its output into `log` after a "ran on" line, and
    /// kills it (and what it started) after `bound`.
    public static Child run(Path root, Path lesson, Path log, Duration bound) {
        String ranOn = "# ran on %s %s, JDK %s (%s), %s".formatted(System.getProperty("os.name"),
                System.getProperty("os.version"), System.getProperty("java.version"), System.getProperty("java.vendor"),
                DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'").format(Instant.now().atOffset(ZoneOffset.UTC)));
        List<String> command = List.of(root.resolve("jbang").toString(), root.relativize(lesson.toAbsolutePath()).toString());
        Child ran = exec(root, command, log, ranOn, bound);
        append(log, ran.killed() ? "\n# exit -1 after %d s: killed, it did not finish in time\n".formatted(bound.toSeconds())
                : "# exit %d after %.1f s\n".formatted(ran.exit(), ran.took().toMillis() / 1000.0));
        return ran;
    }

    /// Compiles a lesson (`./jbang build`), untimed but bounded, so that its run measures the lesson alone.
    public static Child build(Path root, Path lesson, Path log) {
        return exec(root, List.of(root.resolve("jbang").toString(), "build",
                root.relativize(lesson.toAbsolutePath()).toString()), log, null, BUILD_BOUND);
    }

    private static Child exec(Path root, List<String> command, Path log, String firstLine, Duration bound) {
        try {
            Files.createDirectories(log.toAbsolutePath().getParent());
            Files.writeString(log, firstLine == null ? "" : firstLine + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        var builder = new ProcessBuilder(command).directory(root.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        // the lesson runs on the JDK this line names (./jbang takes JAVA_HOME first)
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        return Child.run(builder, log, bound);
    }

    private static void append(Path log, String text) {
        try {
            Files.writeString(log, text, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static void main(String[] args) throws IOException {
        Path root = Path.of(args[0]).toAbsolutePath(), out = Path.of(args[1]).toAbsolutePath();
        Path logs = root.resolve("target/course-check/lessons");
        Files.createDirectories(out);
        for (Path lesson : lessons(root)) {
            String name = lesson.getFileName().toString().replace(".java", "");
            Path log = logs.resolve(name + ".log");
            String how = "its log is newer than the lesson and the bench: reused";
            if (!fresh(root, lesson, log)) {
                Child built = build(root, lesson, logs.resolve(name + ".build.log"));
                how = built.exit() != 0 ? "did not build" : "ran in %.1f s".formatted(run(root, lesson, log, RUN_BOUND).took().toMillis() / 1000.0);
                if (built.exit() != 0) {
                    Files.copy(built.log(), log, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
            Files.writeString(out.resolve(name + ".adoc"), page(alias(root, lesson), Files.readAllLines(log)));
            System.out.printf("[site] %s: %s (%s)%n", root.relativize(lesson), how, root.relativize(log));
        }
    }

    /// The lessons, one per chapter folder (chapters/NN-name/*Lesson.java).
    static List<Path> lessons(Path root) throws IOException {
        try (Stream<Path> files = Files.walk(root.resolve("chapters"), 2)) {
            return files.filter(f -> f.getParent().getFileName().toString().matches("\\d\\d-[a-z0-9-]+")
                    && f.getFileName().toString().endsWith("Lesson.java")).sorted().toList();
        }
    }

    /// A log the course check left is as good as a new run: it ran to exit 0, after the lesson and the bench it
    /// uses last changed.
    private static boolean fresh(Path root, Path lesson, Path log) throws IOException {
        if (!Files.isRegularFile(log)) {
            return false;
        }
        List<String> lines = Files.readAllLines(log);
        if (lines.isEmpty() || !RAN_ON.matcher(lines.getFirst()).matches()
                || !lines.getLast().matches("^# exit 0 after .*")) {
            return false;
        }
        FileTime written = Files.getLastModifiedTime(log);
        try (Stream<Path> bench = Files.list(root.resolve("chapters/bench"))) {
            return Stream.concat(Stream.of(lesson), bench).allMatch(f -> {
                try {
                    return Files.getLastModifiedTime(f).compareTo(written) < 0;
                } catch (IOException e) {
                    return false;
                }
            });
        }
    }

    /// The lesson's alias in jbang-catalog.json (`./jbang socket`), or its path.
    private static String alias(Path root, Path lesson) throws IOException {
        String catalog = Files.readString(root.resolve("jbang-catalog.json"));
        String path = root.relativize(lesson).toString();
        Matcher m = Pattern.compile("\"([a-z0-9-]+)\"\\s*:\\s*\\{[^}]*\"script-ref\"\\s*:\\s*\"" + Pattern.quote(path) + "\"")
                .matcher(catalog);
        return m.find() ? m.group(1) : path;
    }

    /// The AsciiDoc a chapter's "See it" section includes: where and when it ran, then one block per step.
    static String page(String alias, List<String> log) {
        var text = new StringBuilder();
        String ranOn = log.isEmpty() ? "" : RAN_ON.matcher(log.getFirst()).replaceFirst("$1");
        int exit = log.isEmpty() ? -1 : log.stream().map(EXIT::matcher).filter(Matcher::matches)
                .mapToInt(m -> Integer.parseInt(m.group(1))).findFirst().orElse(-1);
        text.append("[.lesson-output]\n====\n");
        if (exit != 0 || ranOn.equals(log.getFirst())) {
            text.append("The lesson could not be run when this page was made: run `./jbang ").append(alias)
                    .append("` to see what it prints.\n====\n");
            return text.toString();
        }
        text.append("[.lesson-output-ran]\nWhat `./jbang ").append(alias).append("` printed on ").append(escape(ranOn))
                .append(" (ports, inodes and times change from run to run).\n\n");
        var step = new ArrayList<String>();
        String title = null;
        for (String line : log.subList(1, log.size())) {
            Matcher m = STEP.matcher(line);
            if (line.startsWith("# exit ")) {
                continue;
            }
            if (m.matches()) {
                block(text, title, step);
                title = "Step " + m.group(1) + ": " + m.group(2);
                step.clear();
            } else {
                step.add(line);
            }
        }
        block(text, title, step);
        return text.append("====\n").toString();
    }

    private static void block(StringBuilder text, String title, List<String> lines) {
        int from = 0, to = lines.size();
        while (from < to && lines.get(from).isBlank()) {
            from++;
        }
        while (to > from && lines.get(to - 1).isBlank()) {
            to--;
        }
        if (title == null && from == to) {
            return;
        }
        if (from == to) { // a step that printed nothing but its title
            text.append("[.lesson-step]\n").append(escape(title)).append("\n\n");
            return;
        }
        if (title != null) {
            text.append('.').append(escape(title)).append('\n');
        }
        text.append("[.lesson-step]\n....\n");
        lines.subList(from, to).forEach(l -> text.append(l.equals("....") ? " ...." : l).append('\n'));
        text.append("....\n\n");
    }

    /// Text shown as it is: no AsciiDoc formatting or attribute references, HTML's special characters escaped.
    private static String escape(String s) {
        return "pass:c[" + s.replace("]", "\\]") + "]";
    }
}
