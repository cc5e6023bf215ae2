import java.net.InetSocketAddress;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static java.time.Duration.ofSeconds;
import static org.assertj.core.api.Assertions.assertThat;

/// The accept-queue knock, against a real listener with a tiny backlog.
@Tag("bench")
class AcceptQueueTest {

    @RegisterExtension
    final Lab lab = new Lab();

    @Test
    @DisplayName("a backlog-1 listener admits two knocks; the third SYN is dropped and counted")
    void admitsBacklogPlusOneThenDrops() throws Exception {
        var listener = lab.listener(1);
        var address = new InetSocketAddress(Lab.LOOPBACK, listener.getLocalPort());
        long before = AcceptQueue.listenOverflows();

        var first = lab.track(AcceptQueue.knock(address, ofSeconds(2)));
        var second = lab.track(AcceptQueue.knock(address, ofSeconds(2)));
        var third = lab.track(AcceptQueue.knock(address, ofSeconds(2)));

        assertThat(first.admitted()).isTrue();
        assertThat(second.admitted()).isTrue();
        assertThat(third.admitted()).isFalse();
        assertThat(ProcNetTcp.snapshot()).as("a client still in SYN_SENT towards the listener (Java shows no local "
                + "address for it yet)").anyMatch(e -> e.state() == ProcNetTcp.State.SYN_SENT && e.remote().equals(address));
        assertThat(AcceptQueue.listenOverflows()).isGreaterThan(before);
    }
}
