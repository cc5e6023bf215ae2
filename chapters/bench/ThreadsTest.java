import java.net.ServerSocket;
import java.util.concurrent.CountDownLatch;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;

/// The thread dump reader, against a platform and a virtual thread blocked in accept().
@Tag("bench")
class ThreadsTest {

    @RegisterExtension
    final Lab lab = new Lab();

    @Test
    @DisplayName("threads blocked in accept(), platform and virtual, are listed with their frames; closing the listener ends them")
    void listsPlatformAndVirtualThreads() throws Exception {
        ServerSocket listener = lab.listener();
        var started = new CountDownLatch(2);
        Runnable acceptOnce = () -> {
            started.countDown();
            try {
                listener.accept();
            } catch (Exception closed) {
                // the test closes the listener to end the thread
            }
        };
        var platform = Thread.ofPlatform().name("bench-platform").start(acceptOnce);
        var virtual = Thread.ofVirtual().name("bench-virtual").start(acceptOnce);
        started.await();

        var seen = Threads.running("ThreadsTest");

        assertThat(seen).extracting(Threads.Info::name).contains("bench-platform", "bench-virtual");
        var p = seen.stream().filter(t -> t.name().equals("bench-platform")).findFirst().orElseThrow();
        var v = seen.stream().filter(t -> t.name().equals("bench-virtual")).findFirst().orElseThrow();
        assertThat(p.virtual()).isFalse();
        assertThat(p.tid()).isEqualTo(platform.threadId());
        assertThat(p.cpuNanos()).isNotNegative();
        assertThat(v.virtual()).isTrue();
        assertThat(v.tid()).isEqualTo(virtual.threadId());
        assertThat(v.cpuNanos()).isEqualTo(-1);
        listener.close();
        platform.join();
        virtual.join();
        assertThat(Threads.running("ThreadsTest")).extracting(Threads.Info::name)
                .doesNotContain("bench-platform", "bench-virtual");
    }
}
