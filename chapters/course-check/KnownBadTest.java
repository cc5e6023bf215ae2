import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

/// Known-bad patches: the header names the tests, the diff applies to the solution, or fails saying so.
@Tag("bench")
class KnownBadTest {

    private static final String PATCH = """
            Known bad: returns one too many.
            Caught by: CounterTest#countsExactly, CounterTest#startsAtZero

            --- a/Counter.java
            +++ b/Counter.java
            @@ -1,3 +1,3 @@
             class Counter {
            -    int next(int n) { return n + 1; }
            +    int next(int n) { return n + 2; }
             }
            """;

    @Test
    @DisplayName("a patch's header gives its chapter and the tests that must catch it")
    void readsTheHeader(@TempDir Path dir) throws Exception {
        Path patch = Files.createDirectories(dir.resolve("09-demo/known-bad")).resolve("off-by-one.patch");
        Files.writeString(patch, PATCH);

        var bug = KnownBad.read(patch);

        assertThat(bug.chapter()).isEqualTo("09-demo");
        assertThat(bug.name()).isEqualTo("off-by-one");
        assertThat(bug.caughtBy()).containsExactly("CounterTest#countsExactly", "CounterTest#startsAtZero");
        assertThat(KnownBad.all(dir)).containsExactly(bug);
    }

    @Test
    @DisplayName("applying a patch writes the solution with the mistake in it")
    void appliesToTheSolution(@TempDir Path dir) throws Exception {
        Path solution = Files.createDirectories(dir.resolve("solution"));
        Files.write(solution.resolve("Counter.java"), List.of("class Counter {", "    int next(int n) { return n + 1; }", "}"));
        Path patch = Files.writeString(dir.resolve("off-by-one.patch"), PATCH);

        var written = KnownBad.read(patch).applyTo(solution, dir.resolve("out"));

        assertThat(written).hasSize(1);
        assertThat(Files.readAllLines(written.getFirst()))
                .containsExactly("class Counter {", "    int next(int n) { return n + 2; }", "}");
    }

    @Test
    @DisplayName("a patch that no longer fits the solution fails loudly instead of testing something else")
    void refusesAStalePatch(@TempDir Path dir) throws Exception {
        Path solution = Files.createDirectories(dir.resolve("solution"));
        Files.write(solution.resolve("Counter.java"), List.of("class Counter {", "    int next(int n) { return ++n; }", "}"));
        Path patch = Files.writeString(dir.resolve("off-by-one.patch"), PATCH);

        assertThatIllegalStateException().isThrownBy(() -> KnownBad.read(patch).applyTo(solution, dir.resolve("out")))
                .withMessageContaining("no longer applies");
    }
}
