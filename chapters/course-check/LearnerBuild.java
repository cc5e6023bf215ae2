import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/// A learner's copy of the course, graded the way a learner grades it: `./mvnw test` in the copy's root, read by its
/// exit status, its `BUILD` line, `target/grade.json` and the scorecard. The course check uses it to prove that the
/// build passes only at full marks.
///
/// The copy holds what a learner's clone holds for grading (the build, `./jbang`, `chapters/`, `exercises/`); a scenario then
/// replaces exercise files with solved or mistaken ones before each run.
final class LearnerBuild {

    /// One `./mvnw test` in the copy: its exit status, its `BUILD` line, the grade's top-level status, score and
    /// maximum, and the scorecard as printed.
    record Verdict(int exit, String buildLine, String status, int score, int max, String scorecard, Path log) {
    }

    private static final Pattern TOP = Pattern.compile(
            "\\A\\{\"version\": \\d+, \"status\": \"(\\w+)\", \"max_score\": (\\d+), \"score\": (\\d+)");

    private final Path root;
    private final Path tree;

    /// Copies the course at `root` into `tree` (replacing an earlier copy): every chapter, or only `chapters` (with
    /// the bench and the grading they need) when some are named — a smaller tree compiles sooner.
    LearnerBuild(Path root, Path tree, String... chapters) {
        this.root = root;
        this.tree = tree;
        try {
            WorkbookGrader.deleteTree(tree);
            var parts = new ArrayList<>(List.of("pom.xml", "mvnw", ".mvn", "jbang", "jbang-catalog.json"));
            if (chapters.length == 0) {
                parts.addAll(List.of("chapters", "exercises"));
            } else {
                parts.addAll(List.of("chapters/bench", "chapters/grading"));
                for (String chapter : chapters) {
                    parts.addAll(List.of("chapters/" + chapter, "exercises/" + chapter));
                }
            }
            for (String part : parts) {
                copy(root.resolve(part), tree.resolve(part));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /// Puts `file` into the copy's `exercises/<chapter>/` under its own name, as a learner's edit would.
    LearnerBuild write(String chapter, Path file) {
        try {
            Files.copy(file, tree.resolve("exercises").resolve(chapter).resolve(file.getFileName()),
                    StandardCopyOption.REPLACE_EXISTING);
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /// Runs `./mvnw -o -B test` with `args` in the copy and reads its verdict; `name` names the log.
    Verdict grade(String name, Duration bound, String... args) {
        var command = new ArrayList<>(List.of(tree.resolve("mvnw").toString(), "-o", "-B", "test"));
        command.addAll(List.of(args));
        Path log = tree.resolve(name + ".log");
        Child ran = Child.run(command, tree, log, bound);
        if (ran.killed()) {
            throw new AssertionError("`./mvnw test %s` in %s ran longer than %s; its output is in %s"
                    .formatted(String.join(" ", args), root.relativize(tree), bound, root.relativize(log)));
        }
        try {
            String out = Files.readString(log);
            String buildLine = out.lines().filter(l -> l.contains("BUILD SUCCESS") || l.contains("BUILD FAILURE"))
                    .reduce((a, b) -> b).orElse("(no BUILD line)").replace("[INFO] ", "").strip();
            Path grade = tree.resolve("target/grade.json");
            Matcher top = TOP.matcher(Files.isRegularFile(grade) ? Files.readString(grade) : "");
            boolean graded = top.find();
            Path card = tree.resolve("target/scorecard.txt");
            return new Verdict(ran.exit(), buildLine, graded ? top.group(1) : "(no grade.json)",
                    graded ? Integer.parseInt(top.group(3)) : -1, graded ? Integer.parseInt(top.group(2)) : -1,
                    Files.isRegularFile(card) ? Files.readString(card) : "(no scorecard)", log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void copy(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            // the build and the code, not the texts: a copied .adoc under target/ would be rendered into the site
            for (Path f : files.filter(f -> !from.relativize(f).toString().startsWith("target")
                    && !f.toString().endsWith(".adoc")).toList()) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.createDirectories(target.getParent());
                    Files.copy(f, target, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }

}
