import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/// A chapter's hints, `chapters/NN-name/_hints.adoc`: per task three levels — a nudge; the concept and the call to
/// use; nearly the answer — and which levels a learner has seen (`target/workbook/hints-seen.properties`).
///
/// The file is AsciiDoc, so the course site shows the same hints (collapsed, at the end of the chapter's tasks):
/// ```
/// [discrete]
/// === Task 1: Open a socket
///
/// .Hint 1: a nudge
/// [%collapsible]
/// =====
/// The text of the hint.
/// =====
/// ```
final class WorkbookHints {

    /// One hint: its task (number and title, as in the chapter text), its level (1–3), the level's name, its text.
    record Hint(int task, String taskTitle, int level, String kind, String text) {
    }

    static final int LEVELS = 3;

    private static final Pattern TASK = Pattern.compile("^=+ Task (\\d+): (.+)$");
    private static final Pattern LEVEL = Pattern.compile("^\\.Hint (\\d): (.+)$");
    private static final Pattern DELIMITER = Pattern.compile("^={4,}$");

    private WorkbookHints() {
    }

    /// The hints of a chapter, task by task, each task's levels in order (empty if it has no hints file).
    static Map<Integer, List<Hint>> of(Path chapterDir) {
        Path file = chapterDir.resolve("_hints.adoc");
        var hints = new TreeMap<Integer, List<Hint>>();
        if (!Files.isRegularFile(file)) {
            return hints;
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int task = 0;
        String taskTitle = "";
        for (int i = 0; i < lines.size(); i++) {
            Matcher t = TASK.matcher(lines.get(i));
            if (t.matches()) {
                task = Integer.parseInt(t.group(1));
                taskTitle = t.group(2).strip();
                continue;
            }
            Matcher l = LEVEL.matcher(lines.get(i));
            if (!l.matches() || task == 0) {
                continue;
            }
            // the block after the title (and its [%collapsible] line): from one delimiter line to the same again
            int open = i + 1;
            while (open < lines.size() && !DELIMITER.matcher(lines.get(open)).matches()) {
                open++;
            }
            int close = open + 1;
            while (close < lines.size() && !lines.get(close).equals(lines.get(open))) {
                close++;
            }
            if (open >= lines.size()) {
                break;
            }
            String text = String.join("\n", lines.subList(open + 1, Math.min(close, lines.size()))).strip();
            hints.computeIfAbsent(task, k -> new ArrayList<>())
                    .add(new Hint(task, taskTitle, Integer.parseInt(l.group(1)), l.group(2).strip(), text));
            i = close;
        }
        return hints;
    }

    /// The levels seen so far, remembered per chapter and task.
    static final class Seen {
        private final Path file;
        private final Properties levels = new Properties();

        Seen(Path file) {
            this.file = file;
            if (Files.isRegularFile(file)) {
                try (Reader in = Files.newBufferedReader(file)) {
                    levels.load(in);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }

        /// The highest level of `task` in `chapter` seen so far, 0 if none.
        int of(String chapter, int task) {
            try {
                return Integer.parseInt(levels.getProperty(chapter + ".task" + task, "0"));
            } catch (NumberFormatException e) {
                return 0;
            }
        }

        /// Per task of `chapter`, the highest level seen (tasks with none left out).
        Map<Integer, Integer> of(String chapter) {
            var seen = new TreeMap<Integer, Integer>();
            for (String key : levels.stringPropertyNames()) {
                if (key.startsWith(chapter + ".task")) {
                    try {
                        int level = Integer.parseInt(levels.getProperty(key));
                        seen.put(Integer.parseInt(key.substring(chapter.length() + 5)), level);
                    } catch (NumberFormatException e) {
                        // a hand-edited line: ignore it
                    }
                }
            }
            return seen;
        }

        void saw(String chapter, int task, int level) {
            if (level <= of(chapter, task)) {
                return;
            }
            levels.setProperty(chapter + ".task" + task, String.valueOf(level));
            try {
                Files.createDirectories(file.getParent());
                try (Writer out = Files.newBufferedWriter(file)) {
                    levels.store(out, "Socket Workbook: the hint levels seen, per chapter and task");
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
