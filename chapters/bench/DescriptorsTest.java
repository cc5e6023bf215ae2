import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.util.HashSet;
import java.util.concurrent.TimeUnit;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.nio.channels.FileChannel;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;

/// The descriptor reader, against real sockets and files.
@Tag("bench")
class DescriptorsTest {

    @RegisterExtension
    final Lab lab = new Lab();

    @Test
    @DisplayName("a new socket adds one socket descriptor; closing it takes it away")
    void seesASocketComeAndGo() throws Exception {
        var before = Descriptors.socketInodes();
        var channel = SocketChannel.open();
        var during = Descriptors.socketInodes();
        assertThat(during).hasSize(before.size() + 1);
        channel.close();
        assertThat(Descriptors.socketInodes()).isEqualTo(before);
    }

    @Test
    @DisplayName("a file is a descriptor but not a socket")
    void tellsFilesFromSockets() throws Exception {
        var file = Files.createTempFile("bench", ".txt");
        int sockets = Descriptors.socketInodes().size();
        int all = Descriptors.count();
        try (var _ = FileChannel.open(file, StandardOpenOption.READ)) {
            assertThat(Descriptors.count()).isEqualTo(all + 1);
            assertThat(Descriptors.socketInodes()).hasSize(sockets);
        } finally {
            Files.delete(file);
        }
    }

    @Test
    @Timeout(20) // starts a JVM of its own
    @DisplayName("in a fresh JVM, the first socket opened is the one new socket descriptor (the JDK's own came earlier)")
    void seesTheFirstSocketOfAJvmAlone() throws Exception {
        var java = ProcessHandle.current().info().command().orElse("java");
        var child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), FirstSocket.class.getName())
                .redirectErrorStream(true).start();
        assertThat(child.waitFor(15, TimeUnit.SECONDS)).as("a JVM that opens one socket ends").isTrue();
        assertThat(new String(child.getInputStream().readAllBytes()).strip())
                .as("new socket:[inode] descriptors around the first SocketChannel.open() of a JVM (the JDK opens "
                        + "one of its own with it; Descriptors must have made that one exist before its snapshot)")
                .isEqualTo("1");
    }

    /// Prints how many socket descriptors a JVM's very first `SocketChannel.open()` adds, as Descriptors sees it.
    static final class FirstSocket {
        public static void main(String[] args) throws IOException {
            var before = Descriptors.socketInodes();
            try (var _ = SocketChannel.open()) {
                var added = new HashSet<>(Descriptors.socketInodes());
                added.removeAll(before);
                System.out.println(added.size());
            }
        }
    }
}
