import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/// `reset <chapter>`: a chapter's stubs as the course shipped them, from the clone's git history.
///
/// Where "as shipped" comes from: git, file by file. A course commit leaves a stub whole — every method throws
/// its "Task N: implement …" — while a learner's commit only ever removes such throws (a method written). So of
/// the versions of `exercises/NN-name/X.java` in the history (oldest first), the shipped one is the last that does
/// not merely lose stubs against the shipped one before it. This finds the stub whether the learner committed
/// their work or not, pulled course updates or not, and in a repository made from the course as a template (one
/// initial commit), where a remote's branch would hold the learner's own work. Not a git clone: a clear error.
final class WorkbookReset {

    /// A reset to be done: where the learner's files are kept, each stub's shipped text by path, and the files of
    /// the folder that the course never had (the learner's own: moved to the backup).
    record Plan(Path backup, Map<Path, String> shipped, List<Path> extra) {
    }

    private static final Pattern STUB = Pattern.compile("\"(Task \\d+: implement [^\"]*)\"");

    private final Path root;

    WorkbookReset(Path root) {
        this.root = root;
    }

    /// What a reset of `exercises/<chapter>` would write, and where it would keep the learner's files.
    Plan plan(String chapter, String tree) {
        if (!isGitClone()) {
            throw new IllegalStateException("""
                    reset takes the stubs from git, and %s is not a git clone (no .git, or no git command). \
                    Get the course with `git clone`, or copy %s/%s from a fresh download of it.""".formatted(root, tree, chapter));
        }
        String folder = tree + "/" + chapter;
        var shipped = new LinkedHashMap<Path, String>();
        for (String path : git("ls-tree", "-r", "--name-only", "HEAD", "--", folder + "/").lines().toList()) {
            if (!path.endsWith(".java")) {
                continue;
            }
            String text = shippedVersion(path);
            if (text != null) {
                shipped.put(root.resolve(path), text);
            }
        }
        if (shipped.isEmpty()) {
            throw new IllegalStateException("git's HEAD has no " + folder + "/*.java: nothing to reset it to");
        }
        var extra = new ArrayList<Path>();
        try (Stream<Path> files = Files.walk(root.resolve(folder))) {
            files.filter(Files::isRegularFile).filter(f -> !shipped.containsKey(f)).sorted().forEach(extra::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path backup = Path.of(System.getProperty("user.home"), ".socket-workbook", "backups",
                root.getFileName() + "-" + chapter + "-" + stamp);
        return new Plan(backup, shipped, extra);
    }

    /// Copies every file of the chapter's folder into the backup, then writes the shipped stubs and moves the
    /// learner's own extra files out (they are in the backup).
    void apply(Plan plan, String chapter, String tree) {
        Path folder = root.resolve(tree).resolve(chapter);
        try (Stream<Path> files = Files.walk(folder)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Path copy = plan.backup().resolve(folder.relativize(f).toString());
                Files.createDirectories(copy.getParent());
                Files.copy(f, copy, StandardCopyOption.COPY_ATTRIBUTES);
            }
            for (var file : plan.shipped().entrySet()) {
                Files.createDirectories(file.getKey().getParent());
                Files.writeString(file.getKey(), file.getValue(), StandardCharsets.UTF_8);
            }
            for (Path f : plan.extra()) {
                Files.delete(f);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /// The file differs from what it would be reset to (the working tree, committed or not).
    boolean changed(Path file, String shipped) {
        try {
            return !Files.isRegularFile(file) || !Files.readString(file).equals(shipped);
        } catch (IOException e) {
            return true;
        }
    }

    private String shippedVersion(String path) {
        List<String> commits = git("log", "--format=%H", "--reverse", "--", path).lines().toList();
        String shipped = null;
        Set<String> shippedStubs = Set.of();
        for (String commit : commits) {
            String text = gitOrNull("show", commit + ":" + path);
            if (text == null) {
                continue; // deleted in this commit
            }
            Set<String> stubs = stubs(text);
            boolean onlyLosesStubs = shipped != null && shippedStubs.containsAll(stubs) && stubs.size() < shippedStubs.size();
            if (!onlyLosesStubs) {
                shipped = text;
                shippedStubs = stubs;
            }
        }
        return shipped;
    }

    private static Set<String> stubs(String text) {
        var found = new TreeSet<String>();
        Matcher m = STUB.matcher(text);
        while (m.find()) {
            found.add(m.group(1));
        }
        return found;
    }

    /// The course's own clone: a `.git` at its root (not a repository the course was unpacked into).
    private boolean isGitClone() {
        if (!Files.exists(root.resolve(".git"))) {
            return false;
        }
        try {
            String top = gitOrNull("rev-parse", "--show-toplevel");
            return top != null && Path.of(top.strip()).toRealPath().equals(root.toRealPath());
        } catch (IOException | IllegalStateException noGit) {
            return false;
        }
    }

    private String git(String... args) {
        String out = gitOrNull(args);
        if (out == null) {
            throw new IllegalStateException("git " + String.join(" ", args) + " failed in " + root);
        }
        return out;
    }

    private String gitOrNull(String... args) {
        var command = new ArrayList<>(List.of("git", "-C", root.toString()));
        command.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return null;
            }
            return p.exitValue() == 0 ? new String(out, StandardCharsets.UTF_8) : null;
        } catch (IOException e) {
            throw new IllegalStateException("reset needs git, and no `git` command could be run: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
