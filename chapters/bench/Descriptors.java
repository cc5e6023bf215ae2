import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeMap;
import java.util.SortedMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/// This process's open descriptors, as Linux shows them in `/proc/self/fd`.
///
/// Each entry is a link named after the descriptor number; a socket's link reads `socket:[48211]`, where 48211 is
/// the inode that also stands in the last column of its row in /proc/net/tcp. So `fd 7 -> socket:[48211]` and
/// `ProcNetTcp` row `… inode=48211` are the same socket, seen from the process and from the kernel's table.
///
/// The first socket a JVM opens brings a second one: the JDK keeps one `AF_UNIX` socket of its own for as long as
/// the process lives (it stands in for a descriptor being closed while another thread still uses it). A diff of two
/// snapshots taken around that first `open()` would show two new sockets, and the one that stays after `close()`
/// is the JDK's. So this class opens and closes one socket before anything can take its first snapshot: every diff
/// of [#socketInodes()] then shows exactly the sockets opened or closed between the two snapshots.
public final class Descriptors {

    private static final Path FDS = Path.of("/proc/self/fd");
    private static final Pattern SOCKET = Pattern.compile("socket:\\[(\\d+)]");

    static {
        try {
            SocketChannel.open().close(); // the JDK opens its own socket now, before any snapshot of ours
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open a socket at all", e);
        }
    }

    private Descriptors() {
    }

    /// Whether this machine shows descriptors in /proc (Linux does).
    public static boolean available() {
        return Files.isDirectory(FDS);
    }

    /// Every open descriptor and what it points to: `3 -> /usr/lib/jvm/…/modules`, `7 -> socket:[48211]`.
    public static SortedMap<Integer, String> list() {
        if (!available()) {
            throw new ProcNetTcp.Unavailable("needs Linux: there is no /proc/self/fd on " + System.getProperty("os.name"));
        }
        var fds = new TreeMap<Integer, String>();
        try (Stream<Path> links = Files.list(FDS)) {
            for (Path link : (Iterable<Path>) links::iterator) {
                try {
                    fds.put(Integer.parseInt(link.getFileName().toString()), Files.readSymbolicLink(link).toString());
                } catch (IOException gone) {
                    // closed between the listing and the look (the listing's own descriptor is one such)
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + FDS, e);
        }
        return fds;
    }

    /// How many descriptors the process holds.
    public static int count() {
        return list().size();
    }

    /// The inodes of the process's sockets (one per socket descriptor).
    public static Set<Long> socketInodes() {
        var inodes = new HashSet<Long>();
        for (String target : list().values()) {
            var m = SOCKET.matcher(target);
            if (m.matches()) {
                inodes.add(Long.parseLong(m.group(1)));
            }
        }
        return inodes;
    }

    /// The descriptor number that holds the socket with this inode, or -1 if the process holds none.
    public static int fdOf(long inode) {
        String target = "socket:[" + inode + "]";
        return list().entrySet().stream().filter(e -> e.getValue().equals(target))
                .mapToInt(e -> e.getKey()).findFirst().orElse(-1);
    }
}
