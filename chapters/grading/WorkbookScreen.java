import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/// What the workbook shows: the progress of every chapter, one chapter's verdict, compile errors, hints. Colour only
/// on a terminal, and never with `NO_COLOR` set; the same text, plain, when piped.
final class WorkbookScreen {

    /// A chapter as its text presents it: `Chapter 2: bind — giving the socket a name`, and its tasks by number.
    record Text(Chapters.Chapter chapter, String title, Map<Integer, String> tasks) {

        private static final Pattern TASK = Pattern.compile("^=+ Task (\\d+): (.+)$");

        static Text of(Chapters.Chapter chapter) {
            Path readme = chapter.dir().resolve("README.adoc");
            String title = chapter.id();
            var tasks = new TreeMap<Integer, String>();
            try {
                for (String line : Files.readAllLines(readme)) {
                    if (line.startsWith("= ") && title.equals(chapter.id())) {
                        title = line.substring(2).strip();
                    }
                    Matcher m = TASK.matcher(line);
                    if (m.matches()) {
                        tasks.putIfAbsent(Integer.parseInt(m.group(1)), m.group(2).strip());
                    }
                }
            } catch (IOException e) {
                // a chapter without its text still has an id to show
            }
            return new Text(chapter, title, tasks);
        }

        String task(int number) {
            return number == Integer.MAX_VALUE ? "Tests without a task"
                    : "Task " + number + ": " + tasks.getOrDefault(number, "(not in the chapter text)");
        }

        String readme() {
            return "chapters/" + chapter.id() + "/README.adoc";
        }
    }

    private final boolean colour;
    private final int width;

    WorkbookScreen(boolean colour, int width) {
        this.colour = colour;
        this.width = Math.max(60, Math.min(width, 140));
    }

    /// Colour when the output is a terminal and `NO_COLOR` is not set (https://no-color.org).
    static boolean colourWanted() {
        String noColor = System.getenv("NO_COLOR");
        var console = System.console();
        return (noColor == null || noColor.isEmpty()) && console != null && console.isTerminal()
                && !"dumb".equals(System.getenv("TERM"));
    }

    /// The terminal's width (from `stty`), or 100 when the output is not a terminal.
    static int terminalWidth() {
        var console = System.console();
        if (console == null || !console.isTerminal()) {
            return 100;
        }
        try {
            Process p = new ProcessBuilder("stty", "size").redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/tty")))
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes()).strip();
            if (p.waitFor(1, TimeUnit.SECONDS) && out.matches("\\d+ \\d+")) {
                return Integer.parseInt(out.split(" ")[1]);
            }
        } catch (IOException e) {
            return 100;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 100;
    }

    // --- styles ------------------------------------------------------------------------------------------------

    boolean colour() {
        return colour;
    }

    String bold(String s) {
        return style("1", s);
    }

    String dim(String s) {
        return style("2", s);
    }

    String green(String s) {
        return style("32", s);
    }

    String red(String s) {
        return style("31", s);
    }

    String yellow(String s) {
        return style("33", s);
    }

    String cyan(String s) {
        return style("36", s);
    }

    private String style(String code, String s) {
        return colour && !s.isEmpty() ? "\u001b[" + code + "m" + s + "\u001b[0m" : s;
    }

    /// Clears the screen before a redraw (only on a terminal; piped, a line separates one verdict from the next).
    String clear() {
        return colour ? "\u001b[H\u001b[2J\u001b[3J" : "\n" + "─".repeat(Math.min(width, 100)) + "\n";
    }

    // --- the progress of every chapter -------------------------------------------------------------------------

    /// One bar per chapter — a cell per test, grouped by task — and, for the chapter in progress, what to do next.
    String progress(List<Text> chapters, Map<String, WorkbookGrader.Verdict> verdicts, WorkbookHints.Seen seen,
                    String tree) {
        var out = new StringBuilder();
        out.append(bold("Socket Workbook")).append(" · your progress in ").append(tree).append("/\n\n");
        Text current = chapters.stream().filter(c -> !verdicts.get(c.chapter().id()).done()).findFirst().orElse(null);
        int passed = 0, counted = 0;
        for (Text text : chapters) {
            var v = verdicts.get(text.chapter().id());
            passed += v.passed();
            counted += v.counted();
            String mark = v.done() ? green("✔") : text == current ? yellow("▶") : " ";
            String id = "%-13s".formatted(text.chapter().id());
            String bar = v.compiled() ? bar(v) : red("does not compile");
            String score = v.compiled() ? "%3d/%-3d".formatted(v.passed(), v.counted()) : "";
            String state = v.done() ? green("done") : v.compiled() && v.passed() == 0 && notStarted(v) ? dim("not started") : "";
            var hints = seen.of(text.chapter().id());
            String hinted = hints.isEmpty() ? "" : dim("  hints seen: " + hintsSeen(hints));
            out.append("  ").append(mark).append(' ').append(text == current ? bold(id) : id).append(' ')
                    .append(pad(bar, barWidth(verdicts.values()))).append("  ").append(score).append("  ").append(state)
                    .append(hinted).append('\n');
        }
        var uncompiled = chapters.stream().map(c -> c.chapter().id()).filter(id -> !verdicts.get(id).compiled()).toList();
        out.append("\n  ").append("%-13s".formatted("total")).append("   ")
                .append(" ".repeat(barWidth(verdicts.values()))).append("%3d/%-3d".formatted(passed, counted))
                .append(uncompiled.isEmpty() ? "" : dim("  without " + String.join(", ", uncompiled)
                        + ", which does not compile")).append('\n');
        if (current == null) {
            out.append('\n').append(green("Every chapter is done.")).append(" The reference solutions are in solutions/ "
                    + "(diff -r exercises solutions).\n");
            return out.toString();
        }
        var v = verdicts.get(current.chapter().id());
        out.append('\n').append("In progress: ").append(bold(current.title())).append(dim("  (" + current.readme() + ")"))
                .append('\n');
        if (!v.compiled()) {
            out.append(errors(v, 3));
        } else {
            v.next().ifPresent(next -> {
                int level = seen.of(current.chapter().id(), next.task());
                out.append("Next task:   ").append(bold(current.task(next.task()))).append('\n');
                out.append(failure(next, "  "));
                out.append(hintLine(current, next.task(), level, "  "));
            });
        }
        out.append('\n').append(dim("./jbang workbook watch   re-grade on every save     ./jbang workbook hint   "
                + "a hint for the next task")).append('\n');
        return out.toString();
    }

    private static boolean notStarted(WorkbookGrader.Verdict v) {
        return v.tests().stream().allMatch(t -> t.message().startsWith("not written yet"));
    }

    private static String hintsSeen(Map<Integer, Integer> hints) {
        var parts = new ArrayList<String>();
        hints.forEach((task, level) -> parts.add("task " + task + " " + "●".repeat(level)
                + "○".repeat(Math.max(0, WorkbookHints.LEVELS - level))));
        return String.join(", ", parts);
    }

    private String bar(WorkbookGrader.Verdict v) {
        var byTask = new LinkedHashMap<Integer, StringBuilder>();
        for (var t : v.tests()) {
            var cells = byTask.computeIfAbsent(t.task(), k -> new StringBuilder());
            cells.append(t.passed() ? green("█") : t.status().equals("skip") ? dim("·") : red("░"));
        }
        return String.join(" ", byTask.values().stream().map(StringBuilder::toString).toList());
    }

    private static int barWidth(java.util.Collection<WorkbookGrader.Verdict> verdicts) {
        int widest = "does not compile".length();
        for (var v : verdicts) {
            long tasks = v.tests().stream().map(WorkbookGrader.Test::task).distinct().count();
            widest = (int) Math.max(widest, v.tests().size() + Math.max(0, tasks - 1));
        }
        return widest;
    }

    /// Pads `s` to `width` visible characters (colour codes take no room).
    private static String pad(String s, int width) {
        int visible = s.replaceAll("\u001b\\[[0-9;]*m", "").length();
        return s + " ".repeat(Math.max(0, width - visible));
    }

    // --- one chapter's verdict ---------------------------------------------------------------------------------

    /// A chapter's verdict: per task its tests as cells and its score; then the one test to fix next, with its
    /// message, where to edit, and how to get a hint.
    String verdict(Text text, WorkbookGrader.Verdict v, WorkbookHints.Seen seen) {
        var out = new StringBuilder();
        out.append(bold("Socket Workbook")).append(" · ").append(text.title()).append('\n').append('\n');
        if (!v.compiled()) {
            out.append("  ").append(red("✘ " + v.chapter() + " does not compile")).append(" — nothing was graded. ")
                    .append("javac says:\n\n");
            out.append(errors(v, 8));
            return out.toString();
        }
        var byTask = new TreeMap<Integer, List<WorkbookGrader.Test>>();
        v.tests().forEach(t -> byTask.computeIfAbsent(t.task(), k -> new ArrayList<>()).add(t));
        int titleWidth = byTask.keySet().stream().mapToInt(n -> text.task(n).length()).max().orElse(10);
        titleWidth = Math.min(titleWidth, width - 30);
        int cellsWidth = byTask.values().stream().mapToInt(List::size).max().orElse(1);
        for (var task : byTask.entrySet()) {
            List<WorkbookGrader.Test> tests = task.getValue();
            long ok = tests.stream().filter(WorkbookGrader.Test::passed).count();
            long counted = tests.stream().filter(t -> !t.status().equals("skip")).count();
            boolean done = ok == counted && counted == tests.size();
            var cells = new StringBuilder();
            tests.forEach(t -> cells.append(t.passed() ? green("█") : t.status().equals("skip") ? dim("·") : red("░")));
            out.append("  ").append(done ? green("✔") : red("✘")).append(' ')
                    .append(pad(cut(text.task(task.getKey()), titleWidth), titleWidth)).append("  ")
                    .append(pad(cells.toString(), cellsWidth)).append("  ").append("%d/%d".formatted(ok, counted))
                    .append('\n');
        }
        out.append('\n');
        if (v.done()) {
            out.append("  ").append(green(bold("✔ " + v.chapter() + " is done: " + v.passed() + "/" + v.counted()
                    + " graded tests pass."))).append('\n');
        } else {
            out.append("  ").append(v.chapter()).append(": ").append(v.passed()).append('/').append(v.counted())
                    .append(" graded tests pass").append('\n');
            v.next().ifPresent(next -> {
                out.append('\n').append(bold("Next — " + text.task(next.task()))).append('\n');
                out.append(failure(next, "  "));
                out.append(hintLine(text, next.task(), seen.of(v.chapter(), next.task()), "  "));
                // the task's other tests, in the order they ran: which pass already, which fail too
                var others = byTask.getOrDefault(next.task(), List.of()).stream().filter(t -> t != next).toList();
                if (!others.isEmpty()) {
                    out.append('\n').append("  ").append(dim("The other tests of task " + next.task() + ":")).append('\n');
                }
                for (var t : others) {
                    out.append("  ").append(t.passed() ? green("✔") : t.status().equals("skip") ? dim("–") : red("✘"))
                            .append(' ').append(dim(cut(t.name(), width - 4))).append('\n');
                }
            });
        }
        long skipped = v.tests().stream().filter(t -> t.status().equals("skip") && !t.wire()).count();
        if (skipped > 0) {
            out.append('\n').append("  ").append(dim(skipped + " tests were skipped: they read Linux's /proc, which this "
                    + "machine lacks. A chapter is done only when they pass: grade it on Linux (docs/setup.adoc).")).append('\n');
        }
        long wireSkipped = v.tests().stream().filter(WorkbookGrader.Test::wireSkip).count();
        if (wireSkipped > 0) {
            out.append('\n').append("  ").append(dim(wireSkipped + " tests on the wire were skipped: this machine cannot "
                    + "make a private network namespace. They neither count nor cost a point (docs/setup.adoc, the wire).")).append('\n');
        }
        printed(v).ifPresent(p -> out.append('\n').append("  ").append(dim(p)).append('\n'));
        return out.toString();
    }

    /// The test to fix: its sentence, its message, and where in the exercise to look.
    private String failure(WorkbookGrader.Test t, String indent) {
        var out = new StringBuilder();
        List<String> name = Scorecard.wrap(t.name(), width - indent.length() - 2);
        for (int i = 0; i < name.size(); i++) {
            out.append(indent).append(i == 0 ? red("✘ ") : "  ").append(bold(name.get(i))).append('\n');
        }
        for (String line : Scorecard.wrap(t.message(), width - indent.length() - 4)) {
            out.append(indent).append("  ").append(line).append('\n');
        }
        if (!t.location().isEmpty()) {
            out.append(indent).append("Edit ").append(cyan(t.location())).append('\n');
        }
        return out.toString();
    }

    private String hintLine(Text text, int task, int seenLevel, String indent) {
        var hints = WorkbookHints.of(text.chapter().dir()).getOrDefault(task, List.of());
        if (hints.isEmpty()) {
            return "";
        }
        String command = "./jbang workbook hint " + text.chapter().tag() + " " + task;
        String state = seenLevel == 0 ? hints.size() + " levels, none seen yet"
                : seenLevel >= hints.size() ? "all " + hints.size() + " levels seen"
                : "seen " + seenLevel + " of " + hints.size();
        return indent + "Stuck? " + cyan(command) + dim("  (" + state + ")") + '\n';
    }

    private Optional<String> printed(WorkbookGrader.Verdict v) {
        try {
            if (Files.isRegularFile(v.printed()) && Files.size(v.printed()) > 0) {
                long lines = Files.readAllLines(v.printed()).size();
                return Optional.of("Your code printed %d line%s while the tests ran: %s".formatted(lines,
                        lines == 1 ? "" : "s", relative(v.printed())));
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    private static String relative(Path p) {
        Path cwd = Path.of("").toAbsolutePath();
        return p.startsWith(cwd) ? cwd.relativize(p).toString() : p.toString();
    }

    /// javac's errors as javac prints them: `file:line: error: message`, the line, a caret under the column.
    String errors(WorkbookGrader.Verdict v, int most) {
        var out = new StringBuilder();
        for (var e : v.errors().subList(0, Math.min(most, v.errors().size()))) {
            out.append(cyan(e.file() + ":" + e.line())).append(": ").append(red("error: "))
                    .append(e.message().lines().findFirst().orElse("")).append('\n');
            e.message().lines().skip(1).forEach(l -> out.append(l).append('\n'));
            if (!e.source().isEmpty()) {
                out.append(e.source()).append('\n');
                if (e.column() > 0) {
                    // the caret under the column, with the line's own tabs so that it lines up
                    var caret = new StringBuilder();
                    for (int i = 0; i < e.column() - 1 && i < e.source().length(); i++) {
                        caret.append(e.source().charAt(i) == '\t' ? '\t' : ' ');
                    }
                    out.append(caret).append(yellow("^")).append('\n');
                }
            }
        }
        if (v.errors().size() > most) {
            out.append(dim("… and %d more".formatted(v.errors().size() - most))).append('\n');
        }
        out.append(v.errors().size()).append(v.errors().size() == 1 ? " error" : " errors").append('\n');
        return out.toString();
    }

    // --- hints -------------------------------------------------------------------------------------------------

    /// The hints of one task up to `level`: the ones seen before, and the new one.
    String hints(Text text, List<WorkbookHints.Hint> hints, int level) {
        var out = new StringBuilder();
        out.append(bold(text.title())).append('\n');
        out.append(bold(text.task(hints.getFirst().task()))).append(dim("  (" + text.readme() + ")")).append("\n");
        for (var hint : hints) {
            if (hint.level() > level) {
                break;
            }
            out.append('\n').append(hint.level() == level ? yellow("Hint " + hint.level() + " of " + hints.size())
                    : dim("Hint " + hint.level() + " of " + hints.size())).append(dim(" · " + hint.kind())).append('\n');
            out.append(asciidoc(hint.text(), "  ")).append('\n');
        }
        if (level < hints.size()) {
            out.append('\n').append(dim("More: ./jbang workbook hint " + text.chapter().tag() + " "
                    + hints.getFirst().task() + "   (hint " + (level + 1) + " of " + hints.size() + ": "
                    + hints.get(level).kind() + ")")).append('\n');
        }
        return out.toString();
    }

    private static final Pattern LINK = Pattern.compile("(?:link:|xref:)(\\S+?)\\[([^\\]]*)\\]");

    /// The little AsciiDoc a hint uses, for a terminal: paragraphs and list items (re-wrapped to the width),
    /// `code`, *bold*, links, listings (as they are, indented).
    String asciidoc(String text, String indent) {
        var out = new StringBuilder();
        var paragraph = new StringBuilder();
        boolean listing = false;
        for (String line : text.lines().toList()) {
            if (line.equals("----")) {
                flush(paragraph, out, indent);
                listing = !listing;
                continue;
            }
            if (listing) {
                out.append(indent).append("  ").append(cyan(line)).append('\n');
                continue;
            }
            if (line.startsWith("[source") || line.startsWith("//")) {
                continue;
            }
            if (line.isBlank()) {
                flush(paragraph, out, indent);
                out.append('\n');
                continue;
            }
            if (line.startsWith("* ") && !paragraph.isEmpty()) {
                flush(paragraph, out, indent); // a new list item
            }
            paragraph.append(paragraph.isEmpty() ? "" : " ").append(line.replaceAll("\\s\\+$", "").strip());
        }
        flush(paragraph, out, indent);
        return out.toString().replaceAll("\n{3,}", "\n\n").stripTrailing();
    }

    private void flush(StringBuilder paragraph, StringBuilder out, String indent) {
        if (paragraph.isEmpty()) {
            return;
        }
        String shown = LINK.matcher(paragraph.toString()).replaceAll(r -> Matcher.quoteReplacement(
                r.group(2).isEmpty() ? r.group(1) : r.group(2) + " (" + r.group(1) + ")"));
        shown = shown.replaceAll("(?<![\\w`*])\\*([^*\\s][^*]*?)\\*(?![\\w`*])", colour ? "\u001b[1m$1\u001b[0m" : "$1");
        if (colour) {
            shown = shown.replaceAll("`([^`]+)`", "\u001b[36m$1\u001b[0m");
        }
        String bullet = shown.startsWith("* ") ? "• " : "";
        String body = bullet.isEmpty() ? shown : shown.substring(2);
        List<String> lines = Scorecard.wrap(body, width - indent.length() - bullet.length() - 2);
        for (int i = 0; i < lines.size(); i++) {
            out.append(indent).append(i == 0 ? bullet : " ".repeat(bullet.length())).append(lines.get(i)).append('\n');
        }
        paragraph.setLength(0);
    }

    private static String cut(String s, int most) {
        return s.length() <= most ? s : s.substring(0, Math.max(1, most - 1)) + "…";
    }
}
