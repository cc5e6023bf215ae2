import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.xml.parsers.DocumentBuilderFactory;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.w3c.dom.Element;

import static org.assertj.core.api.Assertions.assertThat;

/// The learner's two front doors, `./mvnw test` and `./jbang workbook`, give one verdict: the workbook runs on the
/// pom's library versions (that both grade a copy of the course test for test alike is CourseTest's, on the copy
/// its learner's build grades). Also: every task of every chapter has its three levels of hints, and the site shows
/// them.
@Tag("course")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
@DisplayName("The workbook command line")
class WorkbookTest {

    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static final Path SCRIPT = ROOT.resolve("chapters/grading/Workbook.java");
    private static final Pattern DEPS = Pattern.compile("(?m)^//DEPS\\s+(\\S+)$");

    @Test
    @DisplayName("./jbang workbook runs on the pom's JUnit, AssertJ, Awaitility and picocli, its JDK and its test JVM flags")
    void itsDependenciesAreThePoms() throws Exception {
        String script = Files.readString(SCRIPT);
        var pom = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(ROOT.resolve("pom.xml").toFile());
        Map<String, String> properties = new TreeMap<>();
        for (var node = child(pom.getDocumentElement(), "properties").getFirstChild(); node != null; node = node.getNextSibling()) {
            if (node instanceof Element e) {
                properties.put(e.getTagName(), e.getTextContent().strip());
            }
        }
        // the pom's libraries outside any profile: what ./mvnw test grades with
        var pomLibraries = new TreeMap<String, String>();
        var list = child(pom.getDocumentElement(), "dependencies").getElementsByTagName("dependency");
        for (int i = 0; i < list.getLength(); i++) {
            var d = (Element) list.item(i);
            String version = text(d, "version").replaceAll("\\$\\{(.+)}", "$1");
            pomLibraries.put(text(d, "groupId") + ":" + text(d, "artifactId"),
                    version.isEmpty() ? "managed by junit-bom " + properties.get("junit.version")
                            : properties.getOrDefault(version, version));
        }
        var cliLibraries = new TreeMap<String, String>();
        String bom = null;
        Matcher m = DEPS.matcher(script);
        while (m.find()) {
            String[] gav = m.group(1).split(":");
            if (m.group(1).endsWith("@pom")) {
                assertThat(gav[0] + ":" + gav[1]).as("the one BOM in Workbook.java's //DEPS").isEqualTo("org.junit:junit-bom");
                bom = gav[2].replace("@pom", "");
                continue;
            }
            cliLibraries.put(gav[0] + ":" + gav[1], gav.length > 2 ? gav[2] : "managed by junit-bom " + bom);
        }
        assertThat(bom).as("the junit-bom version in Workbook.java's //DEPS (pom.xml: junit.version)")
                .isEqualTo(properties.get("junit.version"));
        assertThat(cliLibraries)
                .as("Workbook.java's //DEPS against pom.xml's test dependencies (versions from pom.xml's properties): "
                        + "change both together")
                .isEqualTo(pomLibraries);
        assertThat(script).as("Workbook.java's //JAVA line (pom.xml: java.release)")
                .contains("//JAVA " + properties.get("java.release") + "+\n");
        String argLine = pom.getElementsByTagName("argLine").item(0).getTextContent().strip();
        String options = script.lines().filter(l -> l.startsWith("//JAVA_OPTIONS ")).findFirst().orElse("//JAVA_OPTIONS ");
        assertThat(List.of(options.substring("//JAVA_OPTIONS ".length()).split("\\s+")))
                .as("Workbook.java's //JAVA_OPTIONS: they must hold the flags surefire gives the graded tests' JVM (argLine)")
                .containsAll(List.of(argLine.split("\\s+")));
    }

    @Test
    @DisplayName("every task of every chapter has three levels of hints, shown collapsed at the end of the chapter's tasks")
    void everyTaskHasItsHints() throws IOException {
        for (var chapter : new Chapters(ROOT).all()) {
            var text = WorkbookScreen.Text.of(chapter);
            var hints = WorkbookHints.of(chapter.dir());
            assertThat(hints.keySet()).as("tasks with hints in chapters/%s/_hints.adoc (the tasks of its README)", chapter.id())
                    .containsExactlyElementsOf(text.tasks().keySet());
            for (var task : hints.entrySet()) {
                assertThat(task.getValue()).as("hints of %s, task %d", chapter.id(), task.getKey())
                        .extracting(WorkbookHints.Hint::level).containsExactly(1, 2, 3);
                assertThat(task.getValue()).as("the task titles in chapters/%s/_hints.adoc (as in its README)", chapter.id())
                        .allMatch(h -> h.taskTitle().equals(text.tasks().get(task.getKey())));
                assertThat(task.getValue()).as("hints of %s, task %d: none empty", chapter.id(), task.getKey())
                        .allMatch(h -> h.text().length() > 40);
            }
            // The site check keeps solution lines off chapter pages, but counts the chapter's own files as not the
            // solution's, so it cannot see hints. Level 3 sketches the answer and shares a few of its lines (a loop
            // header, a catch); a hint that quoted most of the solution would be the solution on the chapter page.
            var solution = solutionOnlyLines(chapter.id());
            var quoted = new java.util.TreeSet<>(solution);
            quoted.retainAll(Files.readAllLines(chapter.dir().resolve("_hints.adoc")).stream().map(String::strip).toList());
            assertThat(quoted.size())
                    .as("lines of solutions/%s (of %d found nowhere in its exercise, tests or text) that "
                            + "chapters/%s/_hints.adoc quotes — a hint comes near the answer, it is not the answer: %s",
                            chapter.id(), solution.size(), chapter.id(), quoted)
                    .isLessThanOrEqualTo(solution.size() / 4);
            assertThat(Files.readString(chapter.dir().resolve("README.adoc")))
                    .as("chapters/%s/README.adoc: its hints, collapsed (include::_hints.adoc[] in a [%%collapsible] block)",
                            chapter.id())
                    .containsPattern("\\[%collapsible]\\n====\\ninclude::_hints\\.adoc\\[]\\n====");
        }
    }

    /// Code lines of a chapter's solution (long enough to be more than a brace) that its exercise, lesson, tests and
    /// text — all but the hints — do not have.
    private static java.util.Set<String> solutionOnlyLines(String id) throws IOException {
        var elsewhere = new java.util.HashSet<String>();
        for (Path dir : List.of(ROOT.resolve("exercises").resolve(id), ROOT.resolve("chapters").resolve(id))) {
            try (var files = Files.walk(dir)) {
                for (Path f : files.filter(Files::isRegularFile).filter(f -> !f.endsWith("_hints.adoc")).toList()) {
                    Files.readAllLines(f).stream().map(String::strip).forEach(elsewhere::add);
                }
            }
        }
        var only = new java.util.TreeSet<String>();
        for (Path f : WorkbookGrader.sources(ROOT.resolve("solutions").resolve(id))) {
            Files.readAllLines(f).stream().map(String::strip)
                    .filter(l -> l.length() >= 20 && !l.startsWith("//") && !l.startsWith("*") && !l.startsWith("import "))
                    .filter(l -> !elsewhere.contains(l))
                    .forEach(only::add);
        }
        return only;
    }

    private static Element child(Element parent, String tag) {
        for (var node = parent.getFirstChild(); node != null; node = node.getNextSibling()) {
            if (node instanceof Element e && e.getTagName().equals(tag)) {
                return e;
            }
        }
        throw new AssertionError("pom.xml has no <" + tag + "> in <" + parent.getTagName() + ">");
    }

    private static String text(Element parent, String tag) {
        var nodes = parent.getElementsByTagName(tag);
        return nodes.getLength() == 0 ? "" : nodes.item(0).getTextContent().strip();
    }
}
