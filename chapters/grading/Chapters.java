import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/// The course's chapters, found the one way everything else finds them: a folder `chapters/NN-name/` (two digits,
/// a dash, a lower-case name). Its name without the number is its tag: `./mvnw test -Dgroups=accept` or
/// `-Dgroups=04-accept` grades `chapters/04-accept/`.
public record Chapters(Path root) {

    /// A chapter folder's name: `04-accept`.
    public static final Pattern FOLDER = Pattern.compile("\\d\\d-[a-z0-9-]+");

    /// One chapter: `id` is its folder's name, `tag` the name without the number.
    public record Chapter(String id, String tag, Path dir) {
    }

    /// The chapters under `root/chapters`, in order.
    public List<Chapter> all() {
        Path chapters = root.resolve("chapters");
        if (!Files.isDirectory(chapters)) {
            return List.of();
        }
        try (Stream<Path> dirs = Files.list(chapters)) {
            return dirs.map(d -> d.getFileName().toString()).filter(n -> FOLDER.matcher(n).matches()).sorted()
                    .map(n -> new Chapter(n, n.substring(3), chapters.resolve(n))).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /// The chapter a file belongs to: the `NN-name` folder it sits in (`chapters/`, `exercises/` or `solutions/`).
    public static Optional<String> of(Path file) {
        for (Path dir = file.getParent(); dir != null && dir.getFileName() != null; dir = dir.getParent()) {
            if (FOLDER.matcher(dir.getFileName().toString()).matches()) {
                return Optional.of(dir.getFileName().toString());
            }
        }
        return Optional.empty();
    }
}
