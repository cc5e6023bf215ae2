import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/// A plausible mistake, kept as a patch beside the chapter's reference solution:
/// `solutions/NN-name/known-bad/<bug>.patch` (it holds answer lines, so it lives with the answers, not beside the
/// learner's tests).
///
/// The text above the first `---` line says what is wrong and why it is tempting, and names the graded tests that
/// must catch it in a line `Caught by: SocketsTest#opensAnIpv4StreamSocket, …`. The rest is a unified diff
/// (`diff -u solutions/NN-name/X.java known-bad-X.java`, paths relative to `solutions/NN-name/`), so the mistake is
/// read as exactly the lines it changes, and a patch that no longer applies to the solution fails loudly.
public record KnownBad(Path patch, String chapter, List<String> caughtBy) {

    private static final Pattern CAUGHT_BY = Pattern.compile("Caught by:\\s*(.+)");
    private static final Pattern HUNK = Pattern.compile("@@ -(\\d+)(?:,(\\d+))? \\+(\\d+)(?:,(\\d+))? @@.*");

    /// Every known-bad patch of every chapter under `solutions`.
    public static List<KnownBad> all(Path solutions) {
        try (Stream<Path> files = Files.walk(solutions, 3)) {
            return files.filter(f -> f.getParent().getFileName().toString().equals("known-bad")
                            && f.toString().endsWith(".patch"))
                    .sorted().map(KnownBad::read).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /// Reads a patch's header: its chapter (the folder above `known-bad/`) and the tests that must catch it.
    public static KnownBad read(Path patch) {
        var tests = new TreeSet<String>();
        for (String line : lines(patch)) {
            if (line.startsWith("--- ")) {
                break;
            }
            Matcher m = CAUGHT_BY.matcher(line);
            if (m.find()) {
                Arrays.stream(m.group(1).split("[,\\s]+")).filter(t -> t.contains("#")).forEach(tests::add);
            }
        }
        return new KnownBad(patch, patch.getParent().getParent().getFileName().toString(), List.copyOf(tests));
    }

    /// The bug's name: the patch file's name without `.patch`.
    public String name() {
        return patch.getFileName().toString().replaceFirst("\\.patch$", "");
    }

    /// Writes the patched copies of the solution files into `out` and returns them.
    public List<Path> applyTo(Path solution, Path out) {
        List<String> diff = lines(patch);
        var written = new ArrayList<Path>();
        int i = 0;
        while (i < diff.size()) {
            if (!diff.get(i).startsWith("--- ") || i + 1 >= diff.size() || !diff.get(i + 1).startsWith("+++ ")) {
                i++;
                continue;
            }
            String name = fileName(diff.get(i + 1));
            List<String> text = new ArrayList<>(lines(solution.resolve(name)));
            int shift = 0;
            i += 2;
            while (i < diff.size() && diff.get(i).startsWith("@@")) {
                Matcher h = HUNK.matcher(diff.get(i));
                if (!h.matches()) {
                    throw new IllegalArgumentException(patch + ": not a hunk header: " + diff.get(i));
                }
                int at = Integer.parseInt(h.group(1)) - 1 + shift + (h.group(2) != null && h.group(2).equals("0") ? 1 : 0);
                var before = new ArrayList<String>();
                var after = new ArrayList<String>();
                for (i++; i < diff.size() && !diff.get(i).startsWith("@@") && !diff.get(i).startsWith("--- "); i++) {
                    String line = diff.get(i);
                    char kind = line.isEmpty() ? ' ' : line.charAt(0);
                    String body = line.isEmpty() ? "" : line.substring(1);
                    switch (kind) {
                        case ' ' -> { before.add(body); after.add(body); }
                        case '-' -> before.add(body);
                        case '+' -> after.add(body);
                        default -> { } // "\ No newline at end of file"
                    }
                }
                if (at < 0 || at + before.size() > text.size() || !text.subList(at, at + before.size()).equals(before)) {
                    throw new IllegalStateException("%s no longer applies to %s at line %d: make the mistake again "
                            .formatted(patch, solution.resolve(name), at + 1)
                            + "on the current solution and regenerate the patch with diff -u");
                }
                text.subList(at, at + before.size()).clear();
                text.addAll(at, after);
                shift += after.size() - before.size();
            }
            try {
                Files.createDirectories(out);
                written.add(Files.write(out.resolve(name), text));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        if (written.isEmpty()) {
            throw new IllegalArgumentException(patch + " changes no file: it needs a unified diff (---/+++/@@)");
        }
        return written;
    }

    private static String fileName(String header) {
        String path = header.substring(4).split("\t")[0].trim();
        return Path.of(path).getFileName().toString();
    }

    private static List<String> lines(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
