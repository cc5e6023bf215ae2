import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/// `watch`: grade a chapter, then again on every save under `exercises/`, in this one warm JVM.
///
/// What counts as a save is what the files say: their modification times and sizes, compared with the last look.
/// The operating system's file events (inotify on Linux, through `WatchService`) only wake the watch up to look
/// at once; without them — or with an editor that saves by writing a new file and renaming it — it looks every
/// 100 ms anyway, a few dozen `stat` calls, well inside the two seconds a verdict may take.
final class WorkbookWatch {

    /// Told of each verdict: its chapter, the verdict, why it was graded (`banner`, may be empty), and when the file
    /// that caused it was saved (epoch millis, 0 for the first grading).
    interface Show {
        void verdict(Chapters.Chapter chapter, WorkbookGrader.Verdict verdict, String banner, long savedAt);

        /// A save was seen and is being graded (shown while the tests run).
        default void grading(Chapters.Chapter chapter, Path saved) {
        }

        /// The grading itself failed (a file vanished mid-way, say): the watch goes on with the next save.
        default void failed(Chapters.Chapter chapter, RuntimeException e) {
        }
    }

    /// What a file looked like at one poll.
    private record Stamp(long modified, long size) {
    }

    private static final long POLL_MILLIS = 100;
    /// An editor may write a file in several steps: grade once it has been still this long.
    private static final long SETTLE_MILLIS = 30;

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
        try (WatchService events = events()) {
            Map<Path, Stamp> last = snapshot();
            Chapters.Chapter current = gradeAndShow(start, show, "", 0, true);
            while (!stopped) {
                await(events, POLL_MILLIS);
                Map<Path, Stamp> now = snapshot();
                if (now.equals(last)) {
                    continue;
                }
                // let the save finish: the same picture twice, SETTLE_MILLIS apart (for a second at most)
                long giveUp = System.nanoTime() + 1_000_000_000L;
                while (System.nanoTime() < giveUp) {
                    await(events, SETTLE_MILLIS);
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
                try {
                    current = gradeAndShow(chapter, show, "", savedAt, false);
                } catch (RuntimeException e) {
                    show.failed(chapter, e);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /// The OS's file events for every folder watched, or null where there are none to be had.
    private WatchService events() {
        try {
            WatchService service = watched.getFileSystem().newWatchService();
            register(service, watched);
            return service;
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    private static void register(WatchService service, Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> dirs = Files.walk(dir)) {
            for (Path d : dirs.filter(Files::isDirectory).toList()) {
                d.register(service, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
                        StandardWatchEventKinds.ENTRY_DELETE);
            }
        }
    }

    /// Waits up to `millis` for a file event (returning at once when one comes), then takes them all. Without file
    /// events, simply waits: the snapshot after it is what decides.
    private void await(WatchService events, long millis) throws InterruptedException {
        if (events == null) {
            Thread.sleep(millis);
            return;
        }
        for (WatchKey key = events.poll(millis, TimeUnit.MILLISECONDS); key != null; key = events.poll()) {
            for (WatchEvent<?> event : key.pollEvents()) {
                if (event.kind() == StandardWatchEventKinds.ENTRY_CREATE && key.watchable() instanceof Path dir
                        && event.context() instanceof Path name && Files.isDirectory(dir.resolve(name))) {
                    try {
                        register(events, dir.resolve(name)); // a new folder: watch it too
                    } catch (IOException e) {
                        // the next snapshot still sees what is in it
                    }
                }
            }
            key.reset();
        }
    }

    /// Grades `chapter` and shows it; once it is done (and following), moves on to the next chapter not done. At the
    /// start, a verdict from a moment ago of the very same files is as good as a new one (`remembered`).
    private Chapters.Chapter gradeAndShow(Chapters.Chapter chapter, Show show, String banner, long savedAt,
                                          boolean remembered) {
        var verdict = remembered ? grader.remembered(chapter).orElseGet(() -> grader.grade(chapter)) : grader.grade(chapter);
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
