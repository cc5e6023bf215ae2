import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/// The learner's verdict: the build runs this after the tests, on the scorecard and grade that `Scorecard` wrote,
/// so the exit status of `./mvnw test` is the grade's own top-level status — never a guess from a test's line.
public final class Verdict {

    private static final Pattern STATUS = Pattern.compile("^\\{\"version\": \\d+, \"status\": \"(\\w+)\"");

    private Verdict() {
    }

    /// `java Verdict <grade.json> <grading>`: prints the scorecard written beside `grade.json` and, when `grading` is
    /// true, exits 0 only if the grade's top-level status is "pass" (1 for "fail", 2 for "error" or no grade).
    /// The build runs it after the tests, so its exit status is the learner's verdict.
    public static void main(String[] args) throws IOException {
        Path grade = Path.of(args[0]);
        Path card = grade.resolveSibling("scorecard.txt");
        var console = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        console.println();
        console.print(Files.isRegularFile(card) ? Files.readString(card) : "No scorecard: no graded test ran.\n");
        String first = Files.isRegularFile(grade) ? Files.readAllLines(grade).stream().findFirst().orElse("") : "";
        var status = STATUS.matcher(first);
        String verdict = status.find() ? status.group(1) : "error";
        if (args.length > 1 && Boolean.parseBoolean(args[1]) && !verdict.equals("pass")) {
            if (verdict.equals("fail")) {
                console.println("\nNot every graded test passes yet: the scorecard above says which to fix next "
                        + "(details: target/grade.json, target/surefire-reports).");
            }
            console.flush();
            System.exit(verdict.equals("fail") ? 1 : 2);
        }
    }
}
