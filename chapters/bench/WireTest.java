import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/// The wire: the decoder on frames recorded on `lo` (IPv4, IPv6, SYN options), the ladder's relative numbers, a
/// forged segment's checksums; then, where a private network namespace can be made, the live tap, drop and inject.
@Tag("bench")
class WireTest {

    @RegisterExtension
    final Lab lab = new Lab();

    // A handshake and 5 bytes, recorded by the tap on lo in a namespace (Linux 6.18): client 56058, server 39437.
    static final String SYN = "00000000000000000000000008004500003c616540004006db547f0000017f000001dafa9a0d02fcf1c5"
            + "00000000a002ffd7fe3000000204ffd70402080a70a29932000000000103030a";
    static final String SYN_ACK = "00000000000000000000000008004500003c0000400040063cba7f0000017f0000019a0ddafae0bc3bfc"
            + "02fcf1c6a012ffcbfe3000000204ffd70402080a2f714cb070a299320103030a";
    static final String ACK = "000000000000000000000000080045000034616640004006db5b7f0000017f000001dafa9a0d02fcf1c6"
            + "e0bc3bfd80100040fe2800000101080a70a299322f714cb0";
    static final String DATA = "000000000000000000000000080045000039616740004006db557f0000017f000001dafa9a0d02fcf1c6"
            + "e0bc3bfd80180040fe2d00000101080a70a299422f714cb068656c6c6f";
    // The SYN of a connection from [::1]:60594 to [::1]:41465.
    static final String SYN6 = "00000000000000000000000086dd600f347f00280640000000000000000000000000000000010000000000"
            + "0000000000000000000001ecb2a1f9db17ecf300000000a002ffc4003000000204ffc40402080a7dc18f48000000000103030a";

    static Wire.Segment decode(String hex) {
        byte[] frame = HexFormat.of().parseHex(hex);
        return Wire.decode(frame, frame.length, Instant.EPOCH);
    }

    @Test
    @DisplayName("an IPv4 SYN decodes to its ports, its ISN, its window and its options")
    void decodesAnIpv4Syn() throws Exception {
        var syn = decode(SYN);
        var loopback = InetAddress.getByName("127.0.0.1");
        assertThat(syn.from()).isEqualTo(new InetSocketAddress(loopback, 56058));
        assertThat(syn.to()).isEqualTo(new InetSocketAddress(loopback, 39437));
        assertThat(syn.flagText()).as("tcpdump's flags of a SYN").isEqualTo("S");
        assertThat(syn.kind()).isEqualTo("SYN");
        assertThat(syn.seq()).as("the client's ISN").isEqualTo(50_131_397L);
        assertThat(syn.window()).isEqualTo(65495);
        assertThat(syn.length()).isZero();
        assertThat(syn.span()).as("sequence numbers a SYN uses up").isEqualTo(1);
        assertThat(syn.options()).isEqualTo("mss 65495,sackOK,TS val 1889704242 ecr 0,nop,wscale 10");
        assertThat(syn.ipv6()).isFalse();
    }

    @Test
    @DisplayName("the SYN-ACK acknowledges the client's ISN + 1 and brings the server's own ISN")
    void synAckAcknowledgesTheIsnPlusOne() {
        var syn = decode(SYN);
        var synAck = decode(SYN_ACK);
        assertThat(synAck.flagText()).isEqualTo("S.");
        assertThat(synAck.kind()).isEqualTo("SYN-ACK");
        assertThat(synAck.ack()).as("ack of the SYN: the next number the server expects").isEqualTo(syn.seq() + 1);
        assertThat(synAck.seq()).as("the server's ISN").isEqualTo(3_770_432_508L);
        assertThat(synAck.options()).contains("mss 65495", "sackOK", "TS val 795954352 ecr 1889704242", "wscale 10");
    }

    @Test
    @DisplayName("a data segment's length is the IP length less both headers; a pure ACK has none")
    void dataLengthIsIpLengthLessHeaders() {
        var data = decode(DATA);
        assertThat(data.flagText()).isEqualTo("P.");
        assertThat(data.kind()).isEqualTo("data");
        assertThat(data.length()).as("bytes of \"hello\"").isEqualTo(5);
        assertThat(data.options()).as("options after the SYN: timestamps only").isEqualTo("nop,nop,TS val 1889704258 ecr 795954352");
        var ack = decode(ACK);
        assertThat(ack.kind()).isEqualTo("ACK");
        assertThat(ack.length()).isZero();
        assertThat(ack.span()).isZero();
    }

    @Test
    @DisplayName("an IPv6 SYN from ::1 decodes like an IPv4 one")
    void decodesAnIpv6Syn() throws Exception {
        var syn = decode(SYN6);
        var loopback = InetAddress.getByName("::1");
        assertThat(syn.ipv6()).isTrue();
        assertThat(syn.from()).isEqualTo(new InetSocketAddress(loopback, 60594));
        assertThat(syn.to()).isEqualTo(new InetSocketAddress(loopback, 41465));
        assertThat(syn.kind()).isEqualTo("SYN");
        assertThat(syn.seq()).isEqualTo(3_675_778_291L);
        assertThat(syn.options()).as("the MSS over IPv6: 20 bytes less than over IPv4, for the longer header")
                .startsWith("mss 65476,sackOK,TS val");
    }

    @Test
    @DisplayName("a frame that is not TCP, or too short, is no segment")
    void notTcpIsNoSegment() {
        byte[] udp = HexFormat.of().parseHex(SYN);
        udp[14 + 9] = 17;                                   // IPv4 protocol field: UDP
        assertThat(Wire.decode(udp, udp.length, Instant.EPOCH)).isNull();
        byte[] arp = HexFormat.of().parseHex(SYN);
        arp[12] = 0x08;
        arp[13] = 0x06;
        assertThat(Wire.decode(arp, arp.length, Instant.EPOCH)).isNull();
        assertThat(Wire.decode(arp, 10, Instant.EPOCH)).isNull();
    }

    @Test
    @DisplayName("a forged RST carries right IPv4 and TCP checksums and decodes back to itself")
    void forgedRstHasRightChecksums() throws Exception {
        var loopback = InetAddress.getByName("127.0.0.1");
        var rst = Wire.rst(new InetSocketAddress(loopback, 42971), new InetSocketAddress(loopback, 39072), 3_437_546_723L);
        byte[] frame = Wire.encode(rst);
        assertThat(HexFormat.of().formatHex(frame))
                .as("the frame tcpdump -vv reads as 127.0.0.1.42971 > 127.0.0.1.39072: Flags [R], cksum 0xd799 (correct)")
                .isEqualTo("0000000000000000000000000800450000280000400040063cce7f0000017f000001a7db98a0cce4cce3"
                        + "0000000050040000d7990000");
        assertThat(Wire.checksumsHold(frame)).as("IPv4 header and TCP checksums").isTrue();
        frame[frame.length - 1] ^= 1;
        assertThat(Wire.checksumsHold(frame)).as("checksums after one bit flipped").isFalse();
        var back = Wire.decode(Wire.encode(rst), frame.length, Instant.EPOCH);
        assertThat(back.flagText()).isEqualTo("R");
        assertThat(back.seq()).isEqualTo(rst.seq());
        assertThat(back.from()).isEqualTo(rst.from());
        assertThat(back.to()).isEqualTo(rst.to());
    }

    @Test
    @DisplayName("the ladder counts each side's numbers from its ISN, shows the ISN once, and marks a drop")
    void ladderShowsRelativeNumbers() {
        var ladder = Wire.offline().ladder(39437);
        String syn = ladder.draw(new Wire.Seen(decode(SYN), null));
        String synAck = ladder.draw(new Wire.Seen(decode(SYN_ACK), null));
        String ack = ladder.draw(new Wire.Seen(decode(ACK), null));
        String data = ladder.draw(new Wire.Seen(decode(DATA), "test"));
        assertThat(syn).as("client to server: an arrow to the right")
                .startsWith("── SYN [S] seq 0 (ISN 50131397) win 65495 <mss 65495,sackOK,TS,wscale 10>").endsWith("►");
        assertThat(synAck).as("server to client: an arrow to the left")
                .startsWith("◄").contains("SYN-ACK [S.] seq 0 (ISN 3770432508) ack 1 ");
        assertThat(ack).contains("ACK [.] seq 1 ack 1 win 64 ").doesNotContain("ISN");
        assertThat(data).contains("data [P.] seq 1:6 ack 1 win 64 len 5").endsWith("✗ dropped");
        assertThat(ladder.draw(new Wire.Seen(decode(SYN), null))).as("the same SYN a second time")
                .contains("again, +0 ms");
    }

    @Test
    @DisplayName("an off wire says why in one line, and a scene's other steps still run")
    void offWireSaysWhy() {
        var off = Wire.offline();
        assertThat(off.live()).isFalse();
        assertThat(off.canDrop()).isFalse();
        assertThat(off.why()).startsWith("The wire is off: ").doesNotContain("\n");
        assertThat(off.dropSyns(1)).isEmpty();
        assertThat(off.await(Instant.EPOCH, s -> true, Duration.ofMillis(1))).isEmpty();
        off.settle();
        off.close();
    }

    @Test
    @Timeout(30)
    @DisplayName("in a private namespace the tap sees the handshake and a forged RST ends a TIME_WAIT (tcp_rfc1337 = 0)")
    void liveTapAndInject() throws Exception {
        String why = Wire.unavailable();
        assumeTrue(why == null, () -> "the wire is off here: " + why);
        String out = probe("tap");
        assertThat(out).as("the probe's run in a namespace").contains(
                "handshake: S S. .",
                "rst into TIME_WAIT: row gone");
    }

    @Test
    @Timeout(30)
    @DisplayName("in a private namespace nft drops the first data segment and TCP sends it again")
    void liveDrop() throws Exception {
        String why = Wire.unavailable();
        assumeTrue(why == null, () -> "the wire is off here: " + why);
        String out = probe("drop");
        assumeTrue(!out.contains("Drops are off:"), () -> out.lines().filter(l -> l.contains("Drops are off:")).findFirst().orElse(""));
        assertThat(out).as("the probe's run in a namespace").contains(
                "drop: dropped 1, sent again, read hello");
    }

    /// Runs [Probe] in a child JVM (which starts itself again in a namespace) and returns what it printed.
    static String probe(String what) throws IOException, InterruptedException {
        var java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        var command = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Probe.class.getName(), what));
        var child = new ProcessBuilder(command).redirectErrorStream(true).start();
        if (!child.waitFor(20, TimeUnit.SECONDS)) {
            child.destroyForcibly();
            child.waitFor(5, TimeUnit.SECONDS);
        }
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(child.exitValue()).as("exit status of the probe; it printed:%n%s", out).isZero();
        return out;
    }

    /// What the live tests run, inside a namespace: a few segments, one drop, one forged RST.
    static final class Probe {
        public static void main(String[] args) throws Exception {
            try (var wire = Wire.open(Map.of("net.ipv4.tcp_rfc1337", "0"))) {
                System.out.println(wire.why());
                if (!wire.live()) {
                    System.exit(2);
                }
                var loopback = InetAddress.getByName("127.0.0.1");
                try (var listener = new ServerSocket(0, 50, loopback)) {
                    int port = listener.getLocalPort();
                    var ladder = wire.ladder(port);
                    Instant start = Instant.now();
                    var client = new Socket(loopback, port);
                    var server = listener.accept();
                    var clientEnd = (InetSocketAddress) client.getLocalSocketAddress();
                    var serverEnd = (InetSocketAddress) client.getRemoteSocketAddress();
                    wire.await(start, s -> s.kind().equals("ACK"), Duration.ofSeconds(2)).orElseThrow();
                    System.out.println("handshake: " + String.join(" ", wire.seen().stream()
                            .filter(s -> !s.segment().at().isBefore(start)).map(s -> s.segment().flagText()).toList()));
                    if (args[0].equals("drop")) {
                        if (!wire.canDrop()) {
                            System.out.println(wire.why());
                            return;
                        }
                        int clientPort = clientEnd.getPort();
                        try (var drop = wire.drop("the first data segment", "tcp dport " + port + " tcp flags & psh == psh",
                                s -> s.to().getPort() == port && s.length() > 0, 1).orElseThrow()) {
                            ladder.note("nft drops " + drop.what());
                            Instant sent = Instant.now();
                            client.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
                            server.setSoTimeout(3_000);
                            String read = new String(server.getInputStream().readNBytes(5), StandardCharsets.US_ASCII);
                            wire.settle();
                            var data = wire.seen().stream().filter(s -> !s.segment().at().isBefore(sent)
                                    && s.segment().from().getPort() == clientPort && s.segment().length() > 0).toList();
                            System.out.println("drop: dropped " + data.stream().filter(Wire.Seen::dropped).count()
                                    + (data.size() > 1 && !data.getLast().dropped() ? ", sent again" : ", not sent again")
                                    + ", read " + read);
                        }
                    } else {
                        Instant closing = Instant.now();
                        client.close();
                        server.getInputStream().read();
                        server.close();
                        var fin = wire.await(closing, s -> s.from().getPort() == port && s.is(Wire.FIN),
                                Duration.ofSeconds(2)).orElseThrow();
                        ProcNetTcp.awaitState(clientEnd, serverEnd, ProcNetTcp.State.TIME_WAIT, Duration.ofSeconds(2));
                        Instant sent = Instant.now();
                        wire.inject(Wire.rst(serverEnd, clientEnd, (fin.segment().seq() + 1) & 0xFFFF_FFFFL));
                        wire.await(sent, s -> s.is(Wire.RST), Duration.ofSeconds(2)).orElseThrow();
                        ProcNetTcp.await("the TIME_WAIT row to vanish",
                                rows -> rows.stream().noneMatch(e -> e.is(clientEnd, serverEnd)), Duration.ofSeconds(2));
                        System.out.println("rst into TIME_WAIT: row gone");
                    }
                    ladder.print();
                }
            }
        }
    }
}
