import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.nio.channels.FileChannel;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
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
}
