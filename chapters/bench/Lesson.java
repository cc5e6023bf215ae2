import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/// What every lesson says the same way: its numbered steps, a kernel setting, and a port's rows of the TCP table.
/// Where Linux's /proc is missing, it says what it would have shown instead of printing something it did not read.
public final class Lesson {

    private static int steps;

    private Lesson() {
    }

    /// Starts the next numbered step: `3. connect() returned, accept() not called yet`.
    public static void step(String what) {
        IO.println("\n" + (++steps) + ". " + what);
    }

    /// A kernel setting under /proc/sys/net, e.g. `sysctl("core/somaxconn")` (tabs shown as dashes, as in port ranges).
    public static String sysctl(String name) {
        Path file = Path.of("/proc/sys/net", name);
        try {
            // line by line: a /proc/sys file claims size 0, and Files.readString would return only its first byte
            return Files.readAllLines(file).getFirst().strip().replace('\t', '-');
        } catch (IOException | RuntimeException e) {
            return "(unknown here: no " + file + ")";
        }
    }

    /// Prints the TCP table's rows whose local or remote port is `port`: a listener, its connections, and the
    /// clients connected to it.
    public static void table(int port) {
        IO.println(rows(port));
    }

    /// The same rows as text (indented, one per line).
    public static String rows(int port) {
        if (!ProcNetTcp.available()) {
            return "  (here the TCP table would show port " + port + "'s rows: it needs Linux's /proc/net/tcp)";
        }
        return "  /proc/net/tcp{,6}, port " + port + ":\n" + ProcNetTcp.show(ProcNetTcp.snapshot().stream()
                .filter(e -> e.local().getPort() == port || e.remote().getPort() == port).toList());
    }
}
