import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;

/// `watch`: grade a chapter, then again on every save under `exercises/`, in this one warm JVM.
///
/// It looks at the files' modification times and sizes ten times a second rather than asking the OS to notify it:
/// that costs a few dozen `stat` calls, works the same on every system and with every editor (including those
/// that save by writing a new file and renaming it), and is well inside the two seconds a verdict may take.
final class WorkbookWatch {

    /// Told of each verdict: its chapter, the verdict, why it was graded (`banner`, may be empty), and when the file
    /// that caused it was saved (epoch millis, 0 for the first grading).
    interface Show {
        void verdict(Chapters.Chapter chapter, WorkbookGrader.Verdict verdict, String banner, long savedAt);

        /// A save was seen and is being graded (shown while the tests run).
        default void grading(Chapters.Chapter chapter, Path saved) {
        }
    }

    /// What a file looked like at one poll.
    private record Stamp(long modified, long size) {
    }

    private static final long POLL_MILLIS = 100;
    /// An editor may write a file in several steps: grade once it has been still this long.
    private static final long SETTLE_MILLIS = 40;

    private final WorkbookGrader grader;
    private final List<Chapters.Chapter> chapters;
    private final Path watched;
    private final boolean follow;
    private volatile boolean stopped;

    /// Watches `grader`'s tree; `follow`: when a chapter is done, go on to the next one not done.
    WorkbookWatch(WorkbookGrader grader, List<Chapters.Chapter> chapters, Path watched, boolean follow) {
        this.grader = grader;
        this.chapters = chapters;
        this.watched = watched;
        this.follow = follow;
    }

    void stop() {
        stopped = true;
    }

    /// Grades `start`, then every change, until {@link #stop()} (or the JVM's end, on Ctrl-C).
    void run(Chapters.Chapter start, Show show) throws InterruptedException {
        Map<Path, Stamp> last = snapshot();
        Chapters.Chapter current = gradeAndShow(start, show, "", 0);
        while (!stopped) {
            Thread.sleep(POLL_MILLIS); // a poll interval, not a wait for an event: nothing else tells us of a save
            Map<Path, Stamp> now = snapshot();
            if (now.equals(last)) {
                continue;
            }
            // let the save finish: the same picture twice, SETTLE_MILLIS apart (at most a second of waiting)
            for (int i = 0; i < 25; i++) {
                Thread.sleep(SETTLE_MILLIS);
                Map<Path, Stamp> again = snapshot();
                if (again.equals(now)) {
                    break;
                }
                now = again;
            }
            Path saved = changed(last, now);
            long savedAt = Optional.ofNullable(now.get(saved)).map(Stamp::modified).orElse(System.currentTimeMillis());
            last = now;
            Chapters.Chapter chapter = chapterOf(saved).orElse(current);
            show.grading(chapter, saved);
            current = gradeAndShow(chapter, show, "", savedAt);
        }
    }

    /// Grades `chapter` and shows it; once it is done (and following), moves on to the next chapter not done.
    private Chapters.Chapter gradeAndShow(Chapters.Chapter chapter, Show show, String banner, long savedAt) {
        var verdict = grader.grade(chapter);
        if (!verdict.done() || !follow) {
            show.verdict(chapter, verdict, banner, savedAt);
            return chapter;
        }
        for (var next : chapters.subList(chapters.indexOf(chapter) + 1, chapters.size())) {
            var v = grader.remembered(next).orElseGet(() -> grader.grade(next));
            if (!v.done()) {
                show.verdict(next, v, "✔ " + chapter.id() + " is done: " + verdict.passed() + "/" + verdict.counted()
                        + " — on to " + next.id(), savedAt);
                return next;
            }
        }
        show.verdict(chapter, verdict, "", savedAt);
        return chapter;
    }

    private Optional<Chapters.Chapter> chapterOf(Path file) {
        return Chapters.of(file).flatMap(id -> chapters.stream().filter(c -> c.id().equals(id)).findFirst());
    }

    /// The newest of the files that changed (or went away) between two polls.
    private static Path changed(Map<Path, Stamp> before, Map<Path, Stamp> after) {
        Path newest = null;
        long when = Long.MIN_VALUE;
        for (var e : after.entrySet()) {
            if (!Objects.equals(before.get(e.getKey()), e.getValue()) && e.getValue().modified() > when) {
                newest = e.getKey();
                when = e.getValue().modified();
            }
        }
        if (newest == null) {
            newest = before.keySet().stream().filter(p -> !after.containsKey(p)).findFirst().orElse(null);
        }
        return newest;
    }

    private Map<Path, Stamp> snapshot() {
        var stamps = new HashMap<Path, Stamp>();
        if (!Files.isDirectory(watched)) {
            return stamps;
        }
        try (Stream<Path> files = Files.walk(watched)) {
            for (Path f : files.toList()) {
                try {
                    if (Files.isRegularFile(f)) {
                        stamps.put(f, new Stamp(Files.getLastModifiedTime(f).toMillis(), Files.size(f)));
                    }
                } catch (NoSuchFileException gone) {
                    // removed between the listing and the look: the next poll sees it gone
                }
            }
        } catch (IOException | UncheckedIOException e) {
            // a folder renamed mid-walk: the next poll sees the new state
        }
        return stamps;
    }
}
