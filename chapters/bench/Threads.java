import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.sun.management.HotSpotDiagnosticMXBean;

/// The threads of this JVM, virtual ones included, as a thread dump shows them, so a test can see which threads
/// still run a server's code after it was told to stop — and how much CPU a platform thread among them burns.
///
/// A virtual thread is not in `Thread.getAllStackTraces()`; the JDK's JSON thread dump
/// (`HotSpotDiagnosticMXBean.dumpThreads`, what `jcmd <pid> Thread.dump_to_file -format=json` writes) lists it,
/// with frames such as `"java.base\/java.net.ServerSocket.accept(ServerSocket.java:441)"`.
public final class Threads {

    private static final Pattern THREAD = Pattern.compile(
            "\"tid\": \"(\\d+)\",(.*?)\"name\": \"((?:[^\"\\\\]|\\\\.)*)\".*?\"state\": \"(\\w+)\".*?\"stack\": \\[(.*?)]",
            Pattern.DOTALL);
    private static final Pattern FRAME = Pattern.compile("\"((?:[^\"\\\\]|\\\\.)*)\"");

    /// One thread of the dump; `stack` lists its frames innermost first, as `Class.method(File.java:line)`.
    public record Info(long tid, String name, boolean virtual, String state, List<String> stack) {

        /// True when a frame of the stack is in `className` or a class nested in it (`Acceptor`, `Acceptor$1`, …).
        public boolean runs(String className) {
            return stack.stream().anyMatch(frame -> {
                String qualified = frame.substring(0, Math.max(0, frame.indexOf('('))); // module/Class.method
                String type = qualified.substring(qualified.lastIndexOf('/') + 1);
                type = type.substring(0, Math.max(0, type.lastIndexOf('.')));
                return type.equals(className) || type.startsWith(className + "$");
            });
        }

        /// CPU time this thread has used so far, in nanoseconds; -1 for a virtual thread (the JVM does not count it).
        public long cpuNanos() {
            return virtual ? -1 : ManagementFactory.getThreadMXBean().getThreadCpuTime(tid);
        }

        @Override
        public String toString() {
            return "%s thread \"%s\" (%s) at %s".formatted(virtual ? "virtual" : "platform", name, state,
                    String.join(" <- ", stack.subList(0, Math.min(4, stack.size()))));
        }
    }

    private Threads() {
    }

    /// Every live thread, platform and virtual.
    public static List<Info> all() {
        Path dump = null;
        try {
            dump = Files.createTempFile("threads", ".json");
            Files.delete(dump); // dumpThreads refuses to overwrite a file
            ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
                    .dumpThreads(dump.toString(), HotSpotDiagnosticMXBean.ThreadDumpFormat.JSON);
            return parse(Files.readString(dump));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot dump this JVM's threads", e);
        } finally {
            if (dump != null) {
                try {
                    Files.deleteIfExists(dump);
                } catch (IOException ignored) {
                    // a temporary file left behind is harmless
                }
            }
        }
    }

    /// The live threads with a frame in `className` or a class nested in it.
    public static List<Info> running(String className) {
        return all().stream().filter(t -> t.runs(className)).toList();
    }

    static List<Info> parse(String json) {
        var threads = new ArrayList<Info>();
        Matcher m = THREAD.matcher(json);
        while (m.find()) {
            var stack = new ArrayList<String>();
            Matcher frame = FRAME.matcher(m.group(5));
            while (frame.find()) {
                stack.add(frame.group(1).replace("\\/", "/"));
            }
            threads.add(new Info(Long.parseLong(m.group(1)), m.group(3), m.group(2).contains("\"virtual\": true"),
                    m.group(4), List.copyOf(stack)));
        }
        return threads;
    }
}
