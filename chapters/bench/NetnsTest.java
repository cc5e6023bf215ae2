import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/// The private network namespace: its sysctls are its own.
@Tag("bench")
class NetnsTest {

    private static final Path SOMAXCONN = Path.of("/proc/sys/net/core/somaxconn");

    @Test
    @DisplayName("somaxconn set inside a private namespace is seen there, and the machine's stays as it was")
    void sysctlsAreTheNamespacesOwn() throws Exception {
        assumeTrue(Netns.available(), "no right to make a network namespace here");
        String machine = Files.readAllLines(SOMAXCONN).getFirst();
        String other = machine.equals("77") ? "78" : "77";

        String inside = Netns.call(() -> {
            Netns.sysctl("net.core.somaxconn", other);
            return Files.readAllLines(SOMAXCONN).getFirst();
        });

        assertThat(inside).isEqualTo(other);
        assertThat(Files.readAllLines(SOMAXCONN).getFirst()).isEqualTo(machine);
    }

    @Test
    @DisplayName("sysctl() outside a private namespace is refused")
    void refusesTheMachinesOwnSysctls() {
        assertThatIllegalStateException().isThrownBy(() -> Netns.sysctl("net.core.somaxconn", "1"));
    }
}
