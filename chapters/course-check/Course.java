import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/// The course's tree as the course check reads it: the repository, its chapter folders, and the files in them.
final class Course {

    /// The repository: Maven runs the course check from its top folder.
    static final Path ROOT = Path.of("").toAbsolutePath();

    private Course() {
    }

    /// `chapters/NN-name/` folders, in order.
    static List<Path> chapters() {
        return new Chapters(ROOT).all().stream().map(Chapters.Chapter::dir).toList();
    }

    /// A path as a message names it: relative to the repository.
    static String label(Path p) {
        return ROOT.relativize(p).toString();
    }

    /// The files directly in `dir` whose names end with `suffix`, sorted.
    static List<Path> files(Path dir, String suffix) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(suffix)).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /// Every .java file below `dir`, sorted.
    static List<Path> javaFiles(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(f -> f.toString().endsWith(".java")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /// The .java files below `dir`, relative to it (none if it is missing).
    static List<String> names(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        return javaFiles(dir).stream().map(f -> dir.relativize(f).toString()).toList();
    }

    static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
