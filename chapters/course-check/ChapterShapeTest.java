import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;

/// The chapters keep the shape a newcomer relies on: each has its text, one lesson, graded tests tagged with it,
/// known-bads, and exercises that mirror the solutions; every list of chapters names the same ones; the code the
/// text quotes is tagged and nothing else is. These checks read files only, so they run in a second.
@Tag("course")
@DisplayName("The chapters' shape")
class ChapterShapeTest {

    private static final Path ROOT = Course.ROOT;

    @Test
    @DisplayName("every chapter has its text, one lesson and graded tests; exercises and solutions mirror each other")
    void everyChapterHasItsShape() throws IOException {
        List<Path> chapters = Course.chapters();
        assertThat(chapters).as("chapter folders chapters/NN-name").isNotEmpty();
        for (Path chapter : chapters) {
            String id = chapter.getFileName().toString();
            assertThat(chapter.resolve("README.adoc")).as("the text of " + id).isRegularFile();
            assertThat(Course.files(chapter, "Lesson.java")).as("the lesson script of " + id).hasSize(1);
            assertThat(Course.files(chapter, "Test.java")).as("graded test classes of " + id).isNotEmpty();
            assertThat(KnownBad.all(ROOT.resolve("solutions")).stream().filter(k -> k.chapter().equals(id)))
                    .as("known-bad implementations of %s (solutions/%s/known-bad/*.patch)", id, id)
                    .hasSizeGreaterThanOrEqualTo(2);
            assertThat(Course.names(ROOT.resolve("exercises").resolve(id)))
                    .as("files of exercises/%s (must be those of solutions/%s)", id, id)
                    .isNotEmpty()
                    .isEqualTo(Course.names(ROOT.resolve("solutions").resolve(id)));
        }
    }

    @Test
    @DisplayName("every chapter is named wherever the course lists its chapters, and nothing else is")
    void everyChapterIsListedEverywhere() throws IOException {
        String pom = Files.readString(ROOT.resolve("pom.xml"));
        String catalog = Files.readString(ROOT.resolve("jbang-catalog.json"));
        String index = Files.readString(ROOT.resolve("docs/index.adoc"));
        String readme = Files.readString(ROOT.resolve("README.md"));
        var ids = new Chapters(ROOT).all().stream().map(Chapters.Chapter::id).toList();
        for (Path chapter : Course.chapters()) {
            String id = chapter.getFileName().toString();
            String lesson = ROOT.relativize(Course.files(chapter, "Lesson.java").getFirst()).toString();
            assertThat(pom).as("pom.xml's chapter-sources and chapter-tests lists (Adding a chapter, step 4)")
                    .contains("<source>${impl}/" + id + "</source>", "<source>chapters/" + id + "</source>");
            assertThat(catalog).as("jbang-catalog.json: an alias for the lesson of %s", id)
                    .contains("\"script-ref\": \"" + lesson + "\"");
            assertThat(index).as("docs/index.adoc: the line of %s in the course's list", id)
                    .contains("link:../chapters/" + id + "/README.adoc[");
            assertThat(readme).as("README.md: the row of %s in the chapter table", id)
                    .contains("](chapters/" + id + "/README.adoc) |");
        }
        for (var named : List.of(
                Map.entry("pom.xml", Pattern.compile("<source>(?:\\$\\{impl}|chapters)/(\\d\\d-[a-z0-9-]+)</source>").matcher(pom)),
                Map.entry("jbang-catalog.json", Pattern.compile("\"chapters/(\\d\\d-[a-z0-9-]+)/").matcher(catalog)),
                Map.entry("docs/index.adoc", Pattern.compile("link:\\.\\./chapters/(\\d\\d-[a-z0-9-]+)/").matcher(index)),
                Map.entry("README.md", Pattern.compile("\\]\\(chapters/(\\d\\d-[a-z0-9-]+)/").matcher(readme)))) {
            var found = named.getValue().results().map(m -> m.group(1)).distinct().toList();
            assertThat(found).as("chapters that %s names (each must be a folder chapters/NN-name/)", named.getKey())
                    .isSubsetOf(ids);
        }
    }

    @Test
    @DisplayName("every tag:: in a chapter's code is quoted by its text, and solutions carry none")
    void everyTagIsQuoted() throws IOException {
        var marker = Pattern.compile("//\\s*tag::([\\w-]+)\\[]");
        var include = Pattern.compile("include::([\\w.-]+\\.java)\\[tags?=([\\w;,-]+)]");
        for (Path chapter : Course.chapters()) {
            var quoted = new java.util.HashSet<String>();
            for (Path text : Course.files(chapter, ".adoc")) {
                include.matcher(Files.readString(text)).results()
                        .forEach(m -> List.of(m.group(2).split("[;,]")).forEach(t -> quoted.add(m.group(1) + "#" + t)));
            }
            for (Path code : Course.files(chapter, ".java")) {
                var unquoted = marker.matcher(Files.readString(code)).results()
                        .map(m -> code.getFileName() + "#" + m.group(1)).filter(t -> !quoted.contains(t)).toList();
                assertThat(unquoted).as("tags in %s that %s/README.adoc never includes (remove them, or quote them)",
                        Course.label(code), Course.label(chapter)).isEmpty();
            }
        }
        assertThat(Course.javaFiles(ROOT.resolve("solutions")).stream()
                .filter(f -> marker.matcher(Course.read(f)).find())
                .map(Course::label))
                .as("solutions with tag:: markers (no chapter text quotes a solution: they are noise there)").isEmpty();
    }

    @Test
    @DisplayName("every graded test class is tagged with its chapter and registers the Lab")
    void everyGradedTestClassIsTaggedWithItsChapter() throws Exception {
        for (Path chapter : Course.chapters()) {
            String folder = chapter.getFileName().toString(), tag = folder.substring(3);
            for (Path test : Course.files(chapter, "Test.java")) {
                Class<?> type = Class.forName(test.getFileName().toString().replace(".java", ""));
                assertThat(Arrays.stream(type.getAnnotationsByType(Tag.class)).map(Tag::value))
                        .as("@Tag of %s (grades it with ./mvnw test -Dgroups=%s, or -Dgroups=%s)", type.getName(), tag,
                                folder)
                        .contains(tag, folder);
                assertThat(Arrays.stream(type.getDeclaredFields())
                        .filter(f -> f.getType() == Lab.class && f.isAnnotationPresent(RegisterExtension.class))
                        .map(Field::getName))
                        .as("a `@RegisterExtension final Lab lab = new Lab();` field in %s", type.getName())
                        .hasSize(1);
            }
        }
    }
}
