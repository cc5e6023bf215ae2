import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.xml.parsers.DocumentBuilderFactory;

import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/// The build's verdict: run after the tests, on what `Scorecard` and surefire wrote, so the exit status of
/// `./mvnw test` is the grade's own top-level status — never a guess from a test's line.
public final class Verdict {

    private static final Pattern STATUS = Pattern.compile("^\\{\"version\": \\d+, \"status\": \"(\\w+)\"");

    private Verdict() {
    }

    /// `java Verdict <target> grade|all-tests`: prints the scorecard written into `target` and exits with the verdict.
    ///
    /// - `grade` (the learner's `./mvnw test`): 0 only if `grade.json`'s top-level status is "pass" — every graded test
    ///   of the chapters graded passed, but for wire tests skipped where no private network namespace can be made
    ///   (the scorecard leaves those out, see Scorecard) — 1 for "fail", 2 for "error" (nothing compiled or nothing
    ///   graded).
    /// - `all-tests` (the instructor's `-Psolutions`): 0 only if no test of any kind failed in
    ///   `target/surefire-reports`; each failure is listed with its message, since every one is a defect.
    public static void main(String[] args) throws Exception {
        Path target = Path.of(args[0]);
        Path grade = target.resolve("grade.json");
        Path card = target.resolve("scorecard.txt");
        var console = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        console.println();
        console.print(Files.isRegularFile(card) ? Files.readString(card) : "No scorecard: no graded test ran.\n");
        if (args.length > 1 && args[1].equals("all-tests")) {
            List<String> failed = failures(target.resolve("surefire-reports"));
            int[] counts = counts(target.resolve("surefire-reports"));
            console.println("%ntests: %d passed, %d failed, %d skipped".formatted(
                    counts[0] - counts[1] - counts[2], counts[1], counts[2]));
            if (!failed.isEmpty()) {
                console.println("\n%d tests failed (each one is a defect of the course):".formatted(failed.size()));
                failed.forEach(f -> console.println("  ✘ " + f));
                console.println("Details, stack traces included: target/surefire-reports/");
                console.flush();
                System.exit(1);
            }
            return;
        }
        String first = Files.isRegularFile(grade) ? Files.readAllLines(grade).stream().findFirst().orElse("") : "";
        var status = STATUS.matcher(first);
        String verdict = status.find() ? status.group(1) : "error";
        if (!verdict.equals("pass")) {
            if (verdict.equals("fail")) {
                console.println("\nNot every graded test passes yet: the scorecard above says which to fix next "
                        + "(details: target/grade.json, target/surefire-reports).");
            }
            console.flush();
            System.exit(verdict.equals("fail") ? 1 : 2);
        }
    }

    /// How many tests the surefire reports hold: run, failed (or erred), skipped.
    private static int[] counts(Path reports) throws Exception {
        int[] counts = new int[3];
        if (!Files.isDirectory(reports)) {
            return counts;
        }
        var parser = DocumentBuilderFactory.newInstance().newDocumentBuilder();
        try (Stream<Path> files = Files.list(reports)) {
            for (Path xml : files.filter(f -> f.getFileName().toString().matches("TEST-.*\\.xml")).toList()) {
                Element suite = parser.parse(xml.toFile()).getDocumentElement();
                counts[0] += Integer.parseInt(suite.getAttribute("tests"));
                counts[1] += Integer.parseInt(suite.getAttribute("failures")) + Integer.parseInt(suite.getAttribute("errors"));
                counts[2] += Integer.parseInt(suite.getAttribute("skipped"));
            }
        }
        return counts;
    }

    /// Every failed or errored test case in the surefire reports: `Class#method: message`.
    private static List<String> failures(Path reports) throws Exception {
        var failed = new ArrayList<String>();
        if (!Files.isDirectory(reports)) {
            return failed;
        }
        var parser = DocumentBuilderFactory.newInstance().newDocumentBuilder();
        try (Stream<Path> files = Files.list(reports)) {
            for (Path xml : files.filter(f -> f.getFileName().toString().matches("TEST-.*\\.xml")).sorted().toList()) {
                NodeList cases = parser.parse(xml.toFile()).getElementsByTagName("testcase");
                for (int i = 0; i < cases.getLength(); i++) {
                    var test = (Element) cases.item(i);
                    for (String kind : List.of("failure", "error")) {
                        NodeList problems = test.getElementsByTagName(kind);
                        if (problems.getLength() > 0) {
                            String message = ((Element) problems.item(0)).getAttribute("message").strip()
                                    .replaceAll("\\s+", " ");
                            failed.add(test.getAttribute("classname") + "#" + test.getAttribute("name") + ": "
                                    + (message.length() > 2000 ? message.substring(0, 2000) + " …" : message));
                        }
                    }
                }
            }
        }
        return failed;
    }
}
