import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/// The wire: every TCP segment on loopback, seen — and, where a story needs it, dropped or forged — from inside a
/// private network namespace that an ordinary user can make (`unshare --user --map-root-user --net`).
///
/// A scene calls [#open] first. Outside a namespace, `open` starts the same program again inside a fresh one and
/// exits with its status; inside, it brings `lo` up, sets the namespace's own TCP sysctls, and taps `lo` with an
/// `AF_PACKET` socket (FFM, no native code of our own). Where namespaces are not allowed it returns a wire that is
/// off, with the reason and the fix in one line, and the scene runs its other steps.
///
/// One decoded frame, as the tap sees it on `lo` (a 14-byte Ethernet header of zeros, then IPv4, then TCP):
/// ```
/// 000000000000 000000000000 0800 | 4500 003c ... 06 ... 7f000001 7f000001 | dafa 9a0d 02fcf1c5 00000000 a002 ffd7 ...
///                                  IPv4, TCP (06), 127.0.0.1 → 127.0.0.1     port 56058 → 39437, seq 50131397, SYN
/// ```
public final class Wire implements AutoCloseable {

    /// Set in the environment of the program that runs inside the namespace.
    static final String INSIDE = "WORKBOOK_WIRE_NAMESPACE";

    // TCP header flags (RFC 9293), in the order of their bits.
    public static final int FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16, URG = 32, ECE = 64, CWR = 128;

    private final String off;                 // why the wire is off, or null when it is live
    private final String nftOff;              // why segments cannot be dropped, or null
    private final List<String> notes;         // what the namespace set up (sysctls), for the scene to print
    private final Packets packets;            // the tap; null when off
    private final List<Seen> seen = new ArrayList<>();
    private final List<Drop> drops = new CopyOnWriteArrayList<>();
    private final Thread tap;
    private volatile boolean running = true;
    private volatile Instant drainedAt = Instant.MIN;
    private String nft;
    private boolean tableMade;

    private Wire(String off, String nftOff, List<String> notes, Packets packets) {
        this.off = off;
        this.nftOff = nftOff;
        this.notes = notes;
        this.packets = packets;
        this.tap = packets == null ? null : Thread.ofPlatform().daemon().name("wire-tap").start(this::capture);
    }

    // ------------------------------------------------------------------------------------------------ the namespace

    /// Runs the calling program inside a private network namespace with its own `lo` and these sysctls
    /// (e.g. `net.ipv4.tcp_syn_retries` → `1`), tapping `lo`. Call it first: outside a namespace it starts the
    /// program again inside one and never returns (the process exits with the inner run's status), unless
    /// namespaces are not allowed here — then the wire it returns is off, and [#why] says why and how to fix it.
    public static Wire open(Map<String, String> sysctls) {
        if (System.getenv(INSIDE) == null) {
            String why = unavailable();
            if (why != null) {
                return new Wire(why, why, List.of(), null);
            }
            var command = new ArrayList<>(List.of("unshare", "--user", "--map-root-user", "--net"));
            try {
                // this very command line, whole (ProcessHandle.Info may cut a long class path short)
                String self = new String(Files.readAllBytes(Path.of("/proc/self/cmdline")), StandardCharsets.UTF_8);
                command.addAll(Arrays.asList(self.split("\0")));
                command.set(4, ProcessHandle.current().info().command().orElse(command.get(4)));
                var inner = new ProcessBuilder(command).inheritIO();
                inner.environment().put(INSIDE, "1");
                System.exit(inner.start().waitFor());
            } catch (IOException e) {
                return new Wire("cannot start unshare: " + e.getMessage(), "", List.of(), null);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                System.exit(130);
            }
        }
        return inside(sysctls);
    }

    /// A wire that is off, as on a machine without namespaces: for decoding and drawing recorded segments.
    static Wire offline() {
        return new Wire("offline: decoding recorded segments only", "offline", List.of(), null);
    }

    /// Inside the namespace: `lo` up, sysctls set, `lo` tapped.
    static Wire inside(Map<String, String> sysctls) {
        try {
            Libc.loUp();
        } catch (IOException e) {
            return new Wire("cannot bring lo up in the namespace: " + e.getMessage(), "", List.of(), null);
        }
        var notes = new ArrayList<String>();
        sysctls.forEach((name, value) -> notes.add(sysctl(name, value)));
        Packets packets;
        try {
            packets = Packets.open();
        } catch (IOException e) {
            return new Wire("cannot tap lo with an AF_PACKET socket: " + e.getMessage(), "", notes, null);
        }
        var wire = new Wire(null, nftUnavailable(), notes, packets);
        wire.nft = findNft().orElse(null);
        return wire;
    }

    /// Sets a sysctl of this namespace (`net.ipv4.tcp_rfc1337` → `/proc/sys/net/ipv4/tcp_rfc1337`); says what it did.
    public static String sysctl(String name, String value) {
        if (System.getenv(INSIDE) == null) {
            // outside a namespace of our own this would change the whole machine
            return "%s not set: not inside the wire's own namespace".formatted(name);
        }
        Path file = Path.of("/proc/sys", name.split("\\."));
        try {
            String was = Files.readString(file).strip();
            Files.writeString(file, value);
            return "%s = %s (was %s)".formatted(name, value, was);
        } catch (IOException e) {
            return "%s not set: this kernel has no %s".formatted(name, file); // e.g. tcp_syn_linear_timeouts < 6.7
        }
    }

    /// Why no private network namespace can be made here, with the fix, in one line; null when it can.
    public static String unavailable() {
        String os = System.getProperty("os.name");
        if (!os.toLowerCase().contains("linux")) {
            return "the wire needs Linux network namespaces and this is " + os
                    + ". Fix: run the scene in a Linux VM (e.g. WSL 2, Lima, a Linux container with user namespaces)";
        }
        if (findTool("unshare").isEmpty()) {
            return "the wire needs `unshare` (util-linux). Fix: sudo apt-get install util-linux (or your distribution's util-linux)";
        }
        String failure;
        try {
            var probe = new ProcessBuilder("unshare", "--user", "--map-root-user", "--net", "true")
                    .redirectErrorStream(true).start();
            if (!probe.waitFor(5, TimeUnit.SECONDS)) {
                probe.destroyForcibly();
                return "`unshare --user --map-root-user --net` did not answer within 5 s";
            }
            if (probe.exitValue() == 0) {
                return null;
            }
            failure = new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            failure = e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while trying unshare";
        }
        String prefix = "this user may not create a network namespace (`unshare --user --map-root-user --net`: "
                + failure + "). Fix: ";
        if ("1".equals(read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"))) {
            return prefix + "Ubuntu's AppArmor forbids unprivileged user namespaces: "
                    + "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0";
        }
        if ("0".equals(read("/proc/sys/kernel/unprivileged_userns_clone"))) {
            return prefix + "sudo sysctl -w kernel.unprivileged_userns_clone=1";
        }
        if ("0".equals(read("/proc/sys/user/max_user_namespaces"))) {
            return prefix + "sudo sysctl -w user.max_user_namespaces=15000";
        }
        return prefix + "this container forbids user namespaces; run the scenes on the host or in a VM "
                + "(Docker: --security-opt seccomp=unconfined)";
    }

    /// Why segments cannot be dropped here (no `nft`, or nf_tables refused), with the fix; null when they can.
    static String nftUnavailable() {
        var nft = findNft();
        if (nft.isEmpty()) {
            return "`nft` is not installed, so no segment can be dropped. Fix: sudo apt-get install nftables "
                    + "(Fedora: sudo dnf install nftables)";
        }
        var result = run(nft.get(), "list", "tables");
        return result.ok() ? null : "`nft list tables` failed in the namespace: " + result.output();
    }

    private static Optional<String> findNft() {
        return findTool("nft");
    }

    static Optional<String> findTool(String name) {
        // nft lives in /usr/sbin, which an ordinary user's PATH often lacks
        String path = System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/sbin:/usr/bin:/bin";
        return Stream.of(path.split(":")).filter(d -> !d.isEmpty()).map(d -> Path.of(d, name))
                .filter(Files::isExecutable).map(Path::toString).findFirst();
    }

    private static String read(String file) {
        try {
            return Files.readString(Path.of(file)).strip();
        } catch (IOException e) {
            return null;
        }
    }

    private record Ran(boolean ok, String output) {
    }

    private static Ran run(String... command) {
        try {
            var process = new ProcessBuilder(command).redirectErrorStream(true).start();
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return new Ran(false, String.join(" ", command) + ": no answer within 5 s");
            }
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return new Ran(process.exitValue() == 0, out);
        } catch (IOException e) {
            return new Ran(false, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Ran(false, "interrupted");
        }
    }

    /// True when the tap sees segments.
    public boolean live() {
        return off == null;
    }

    /// True when chosen segments can be dropped (the wire is live and `nft` works in the namespace).
    public boolean canDrop() {
        return off == null && nftOff == null;
    }

    /// One line for the scene to print: what the wire is (the namespace and its sysctls) or why it is off and the fix.
    public String why() {
        if (off != null) {
            return "The wire is off: " + off + ". The steps below still run, without their segments.";
        }
        var out = new StringBuilder("The wire: a private network namespace (only its own lo), tapped with AF_PACKET");
        if (!notes.isEmpty()) {
            out.append("; ").append(String.join(", ", notes));
        }
        if (nftOff != null) {
            out.append("\n").append("Drops are off: ").append(nftOff)
                    .append(". The steps that drop a segment are left out.");
        }
        return out.toString();
    }

    // ------------------------------------------------------------------------------------------------ the tap

    /// A segment as the tap saw it, and whether a drop rule swallowed it before the receiving TCP got it.
    public record Seen(Segment segment, String droppedBy) {
        public boolean dropped() {
            return droppedBy != null;
        }
    }

    private void capture() {
        try (var arena = Arena.ofConfined()) {
            var message = Packets.message(arena);
            while (running) {
                Packets.Frame frame = packets.receive(message, true);
                if (frame == null) {
                    drainedAt = Instant.now();     // the queue was empty at this instant
                    synchronized (this) {
                        notifyAll();
                    }
                    frame = packets.receive(message, false); // blocks up to SO_RCVTIMEO
                    if (frame == null) {
                        continue;
                    }
                }
                if (frame.outgoing()) {
                    continue;                      // on lo every frame shows twice: sent (OUTGOING) and received (HOST)
                }
                Segment s = decode(frame.bytes(), frame.bytes().length, frame.at());
                if (s != null) {
                    record(s);
                }
            }
        } finally {
            packets.close();
        }
    }

    private void record(Segment s) {
        String droppedBy = null;
        var spent = new ArrayList<Drop>();
        for (Drop d : drops) {
            if (d.matches.test(s)) {
                droppedBy = d.what;
                if (d.remaining > 0 && --d.remaining == 0) {
                    spent.add(d);
                }
            }
        }
        synchronized (this) {
            seen.add(new Seen(s, droppedBy));
            notifyAll();
        }
        // after the scene has heard of the drop: removing the rule takes a run of nft (milliseconds); until it is
        // gone a matching segment is still dropped, and marked so
        spent.forEach(Drop::close);
    }

    /// Every segment seen so far.
    public synchronized List<Seen> seen() {
        return List.copyOf(seen);
    }

    /// Waits until the tap has taken in every frame sent before now (bounded: 2 s).
    public void settle() {
        if (!live()) {
            return;
        }
        Instant asked = Instant.now();
        long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        synchronized (this) {
            while (!drainedAt.isAfter(asked) && System.nanoTime() < deadline) {
                try {
                    wait(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /// The first segment seen from now on (or already seen after `since`) that passes `which`; empty after `bound`.
    public Optional<Seen> await(Instant since, Predicate<Segment> which, Duration bound) {
        if (!live()) {
            return Optional.empty();
        }
        long deadline = System.nanoTime() + bound.toNanos();
        synchronized (this) {
            while (true) {
                for (Seen s : seen) {
                    if (!s.segment().at().isBefore(since) && which.test(s.segment())) {
                        return Optional.of(s);
                    }
                }
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) {
                    return Optional.empty();
                }
                try {
                    wait(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return Optional.empty();
                }
            }
        }
    }

    @Override
    public void close() {
        running = false;
        for (Drop d : drops) {
            d.close();
        }
        if (tap != null) {
            try {
                tap.join(1_000);                   // the tap's recv wakes within SO_RCVTIMEO
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ drop & inject

    /// A drop rule in the namespace's nftables `input` hook: the tap still sees the segment (it taps before the
    /// hook), the receiving TCP never does. Closing it (or reaching its count) removes it.
    public final class Drop implements AutoCloseable {
        final String what;
        final Predicate<Segment> matches;
        int remaining;                             // 0: every matching segment until closed
        private final String handle;

        private Drop(String what, Predicate<Segment> matches, int count, String handle) {
            this.what = what;
            this.matches = matches;
            this.remaining = count;
            this.handle = handle;
        }

        /// What this rule drops, in words.
        public String what() {
            return what;
        }

        @Override
        public void close() {
            if (drops.remove(this)) {
                run(nft, "delete", "rule", "inet", "workbook", "input", "handle", handle);
            }
        }
    }

    /// Drops segments: `nftMatch` tells nftables which (e.g. `tcp dport 4242 tcp flags & (syn|ack) == syn`),
    /// `matches` the same in Java (so the ladder can mark them), `count` how many (0: all, until closed).
    /// Empty where drops are off ([#canDrop]).
    public Optional<Drop> drop(String what, String nftMatch, Predicate<Segment> matches, int count) {
        if (!canDrop()) {
            return Optional.empty();
        }
        if (!tableMade) {
            // the input hook runs after the tap has seen a frame and before TCP gets it
            var made = run(nft, "add", "table", "inet", "workbook");
            if (made.ok()) {
                made = run(nft, "add chain inet workbook input { type filter hook input priority 0 ; policy accept ; }");
            }
            if (!made.ok()) {
                throw new IllegalStateException("nft could not make its table: " + made.output());
            }
            tableMade = true;
        }
        var command = new ArrayList<>(List.of(nft, "--echo", "--handle", "add", "rule", "inet", "workbook", "input"));
        command.addAll(Arrays.asList(nftMatch.split(" ")));
        command.addAll(List.of("counter", "drop"));
        var added = run(command.toArray(String[]::new));
        var handle = Pattern.compile("# handle (\\d+)").matcher(added.output());
        if (!added.ok() || !handle.find()) {
            throw new IllegalStateException("nft did not take the rule `" + nftMatch + "`: " + added.output());
        }
        var drop = new Drop(what, matches, count, handle.group(1));
        drops.add(drop);
        return Optional.of(drop);
    }

    /// Drops every SYN (without ACK) sent to `port`: the client's connect() hears nothing.
    public Optional<Drop> dropSyns(int port) {
        return drop("every SYN to :" + port, "tcp dport " + port + " tcp flags & (syn|ack) == syn",
                s -> s.to().getPort() == port && s.is(SYN) && !s.is(ACK), 0);
    }

    /// Drops the next `count` segments from `fromPort` to `toPort` that carry only ACK (no SYN, FIN, RST, data).
    public Optional<Drop> dropPureAcks(int fromPort, int toPort, int count) {
        return drop("the next pure ACK from :" + fromPort,
                "tcp sport " + fromPort + " tcp dport " + toPort + " tcp flags == ack",
                s -> s.from().getPort() == fromPort && s.to().getPort() == toPort && s.flags() == ACK
                        && s.length() == 0, count);
    }

    /// Puts one crafted IPv4 segment on `lo`, as if its source had sent it (a raw IP socket: the namespace's root
    /// may); the tap sees it like any other.
    public void inject(Segment segment) throws IOException {
        if (!live()) {
            throw new IOException("the wire is off: " + off);
        }
        packets.send(encode(segment));
    }

    /// A bare RST from `from` to `to` with sequence number `seq` (absolute): what an attacker, or an old duplicate,
    /// puts on the wire.
    public static Segment rst(InetSocketAddress from, InetSocketAddress to, long seq) {
        return new Segment(Instant.now(), from, to, RST, seq, 0, 0, 0, "", false);
    }

    // ------------------------------------------------------------------------------------------------ decode & encode

    /// One TCP segment: who sent it to whom, its flags, sequence and acknowledgement numbers (absolute), its
    /// window, payload length and, decoded, its options.
    public record Segment(Instant at, InetSocketAddress from, InetSocketAddress to, int flags, long seq, long ack,
                          int window, int length, String options, boolean ipv6) {

        /// True when every flag in `mask` is set.
        public boolean is(int mask) {
            return (flags & mask) == mask;
        }

        /// The flags as tcpdump prints them: `S`, `S.`, `.`, `P.`, `F.`, `R`.
        public String flagText() {
            var out = new StringBuilder();
            String[] letters = {"F", "S", "R", "P", ".", "U", "E", "W"};
            for (int bit = 0; bit < letters.length; bit++) {
                if ((flags & (1 << bit)) != 0) {
                    out.append(letters[bit]);
                }
            }
            return out.toString();
        }

        /// What a person calls it: SYN, SYN-ACK, ACK, data, FIN, RST.
        public String kind() {
            if (is(SYN)) {
                return is(ACK) ? "SYN-ACK" : "SYN";
            }
            if (is(RST)) {
                return "RST";
            }
            if (is(FIN)) {
                return length > 0 ? "data+FIN" : "FIN";
            }
            return length > 0 ? "data" : "ACK";
        }

        /// The sequence numbers this segment occupies: its data, plus one for a SYN and one for a FIN.
        public long span() {
            return length + (is(SYN) ? 1 : 0) + (is(FIN) ? 1 : 0);
        }
    }

    /// Decodes one frame from `lo` (Ethernet header, IPv4 or IPv6, TCP); null when it is not TCP.
    public static Segment decode(byte[] frame, int length, Instant at) {
        if (length < 14) {
            return null;
        }
        int type = u16(frame, 12), ip = 14, tcp, payload;
        boolean ipv6;
        InetAddress src, dst;
        if (type == 0x0800) {
            if ((frame[ip] & 0xF0) != 0x40 || (frame[ip + 9] & 0xFF) != 6) {
                return null;
            }
            int headerLength = (frame[ip] & 0x0F) * 4;
            tcp = ip + headerLength;
            payload = u16(frame, ip + 2) - headerLength;
            src = address(frame, ip + 12, 4);
            dst = address(frame, ip + 16, 4);
            ipv6 = false;
        } else if (type == 0x86DD) {
            if ((frame[ip + 6] & 0xFF) != 6) {
                return null;                       // extension headers or not TCP: the course's traffic has none
            }
            tcp = ip + 40;
            payload = u16(frame, ip + 4);
            src = address(frame, ip + 8, 16);
            dst = address(frame, ip + 24, 16);
            ipv6 = true;
        } else {
            return null;
        }
        if (tcp + 20 > length) {
            return null;
        }
        int offset = ((frame[tcp + 12] & 0xF0) >> 4) * 4;
        return new Segment(at, new InetSocketAddress(src, u16(frame, tcp)), new InetSocketAddress(dst, u16(frame, tcp + 2)),
                frame[tcp + 13] & 0xFF, u32(frame, tcp + 4), u32(frame, tcp + 8), u16(frame, tcp + 14),
                payload - offset, options(frame, tcp + 20, Math.min(tcp + offset, length)), ipv6);
    }

    /// TCP options as tcpdump prints them: `mss 65495,sackOK,TS val 1 ecr 0,nop,wscale 7`.
    static String options(byte[] b, int from, int to) {
        var out = new ArrayList<String>();
        int i = from;
        while (i < to) {
            int kind = b[i] & 0xFF;
            if (kind == 0) {
                out.add("eol");
                break;
            }
            if (kind == 1) {
                out.add("nop");
                i++;
                continue;
            }
            if (i + 1 >= to) {
                break;
            }
            int len = b[i + 1] & 0xFF;
            if (len < 2 || i + len > to) {
                out.add("bad option " + kind);
                break;
            }
            out.add(switch (kind) {
                case 2 -> "mss " + u16(b, i + 2);
                case 3 -> "wscale " + (b[i + 2] & 0xFF);
                case 4 -> "sackOK";
                case 5 -> "sack " + (len - 2) / 8;
                case 8 -> "TS val " + u32(b, i + 2) + " ecr " + u32(b, i + 6);
                default -> "option " + kind;
            });
            i += len;
        }
        return String.join(",", out);
    }

    /// The frame that puts `s` on `lo`: an Ethernet header of zeros, IPv4 (TTL 64, checksum), TCP (checksum),
    /// no options, `s.length()` zero bytes of payload.
    public static byte[] encode(Segment s) {
        if (s.ipv6()) {
            throw new IllegalArgumentException("only IPv4 segments can be injected");
        }
        byte[] f = new byte[14 + 20 + 20 + s.length()];
        put16(f, 12, 0x0800);
        int ip = 14, tcp = 34;
        f[ip] = 0x45;
        put16(f, ip + 2, 20 + 20 + s.length());
        f[ip + 6] = 0x40;                           // don't fragment
        f[ip + 8] = 64;
        f[ip + 9] = 6;
        System.arraycopy(s.from().getAddress().getAddress(), 0, f, ip + 12, 4);
        System.arraycopy(s.to().getAddress().getAddress(), 0, f, ip + 16, 4);
        put16(f, ip + 10, checksum(f, ip, 20, 0));
        put16(f, tcp, s.from().getPort());
        put16(f, tcp + 2, s.to().getPort());
        put32(f, tcp + 4, s.seq());
        put32(f, tcp + 8, s.ack());
        f[tcp + 12] = 0x50;
        f[tcp + 13] = (byte) s.flags();
        put16(f, tcp + 14, s.window());
        put16(f, tcp + 16, checksum(f, tcp, 20 + s.length(), pseudoHeader(f, ip)));
        return f;
    }

    /// True when the IPv4 header and TCP checksums of an encoded IPv4 frame are right. (Frames captured on `lo`
    /// often carry only part of their TCP checksum: on loopback the kernel leaves it unfinished.)
    static boolean checksumsHold(byte[] f) {
        int ip = 14, headerLength = (f[ip] & 0x0F) * 4, total = u16(f, ip + 2);
        return checksum(f, ip, headerLength, 0) == 0
                && checksum(f, ip + headerLength, total - headerLength, pseudoHeader(f, ip)) == 0;
    }

    private static long pseudoHeader(byte[] f, int ip) {
        int headerLength = (f[ip] & 0x0F) * 4;
        long sum = 0;
        for (int i = 12; i < 20; i += 2) {
            sum += u16(f, ip + i);                  // source and destination address
        }
        return sum + 6 + (u16(f, ip + 2) - headerLength);
    }

    private static int checksum(byte[] b, int from, int length, long sum) {
        for (int i = 0; i + 1 < length; i += 2) {
            sum += u16(b, from + i);
        }
        if ((length & 1) == 1) {
            sum += (b[from + length - 1] & 0xFF) << 8;
        }
        while ((sum >> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (int) (~sum & 0xFFFF);
    }

    private static int u16(byte[] b, int i) {
        return ((b[i] & 0xFF) << 8) | (b[i + 1] & 0xFF);
    }

    private static long u32(byte[] b, int i) {
        return ((long) u16(b, i) << 16) | u16(b, i + 2);
    }

    private static void put16(byte[] b, int i, int v) {
        b[i] = (byte) (v >> 8);
        b[i + 1] = (byte) v;
    }

    private static void put32(byte[] b, int i, long v) {
        put16(b, i, (int) (v >>> 16) & 0xFFFF);
        put16(b, i + 2, (int) v & 0xFFFF);
    }

    private static InetAddress address(byte[] b, int from, int length) {
        try {
            return InetAddress.getByAddress(Arrays.copyOfRange(b, from, from + length));
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    // ------------------------------------------------------------------------------------------------ the ladder

    /// A ladder diagram of one server port: the client on the left, the server on the right, one line per segment
    /// with a millisecond clock, between the socket calls that caused them and the TCP states they left.
    public Ladder ladder(int serverPort) {
        return new Ladder(serverPort);
    }

    public final class Ladder {
        static final int WIDTH = 84;
        private final int port;
        private final Instant start = Instant.now();
        private final List<Line> lines = new ArrayList<>();
        private final Map<String, Long> isn = new LinkedHashMap<>();
        private final Map<String, Instant> sent = new LinkedHashMap<>();
        private int printedSegments;
        private boolean header;

        private record Line(Instant at, String text) {
        }

        private Ladder(int port) {
            this.port = port;
        }

        /// A socket call (or what it returned) on the client's side.
        public Ladder client(String call) {
            lines.add(new Line(Instant.now(), call));
            return this;
        }

        /// A socket call (or what it returned) on the server's side.
        public Ladder server(String call) {
            lines.add(new Line(Instant.now(), " ".repeat(Math.max(2, WIDTH - call.length())) + call));
            return this;
        }

        /// A remark across the ladder.
        public Ladder note(String text) {
            lines.add(new Line(Instant.now(), "   · " + text));
            return this;
        }

        /// Both ends' TCP states from /proc/net/tcp, now.
        public Ladder states() {
            if (!ProcNetTcp.available()) {
                return this;
            }
            Instant at = Instant.now();            // when the table was read, not when reading it ended
            var table = ProcNetTcp.snapshot();      // one read, so both ends are seen at the same moment
            var rows = table.stream().filter(e -> e.local().getPort() == port).toList();
            var clients = table.stream().filter(e -> e.remote().getPort() == port).toList();
            String left = clients.isEmpty() ? "(no row)" : String.join(" ", clients.stream()
                    .map(e -> (clients.size() > 1 ? ":" + e.local().getPort() + " " : "") + e.state()).toList());
            String right = rows.isEmpty() ? "(no row)" : String.join(" ", rows.stream()
                    .map(e -> e.state() + (rows.size() > 1 && e.remote().getPort() != 0 ? " :" + e.remote().getPort() : "")).toList());
            left = "[" + left + "]";
            right = "[" + right + "]";
            lines.add(new Line(at, left + " ".repeat(Math.max(2, WIDTH - left.length() - right.length())) + right));
            return this;
        }

        /// Prints what happened since the last print, in time order: calls, segments, states.
        public void print() {
            settle();
            var segments = seen().stream()
                    .filter(s -> s.segment().from().getPort() == port || s.segment().to().getPort() == port)
                    .filter(s -> !s.segment().at().isBefore(start)).toList();
            var all = new ArrayList<Line>(lines);
            for (Seen s : segments.subList(Math.min(printedSegments, segments.size()), segments.size())) {
                all.add(new Line(s.segment().at(), draw(s)));
            }
            printedSegments = segments.size();
            lines.clear();
            all.sort((a, b) -> a.at().compareTo(b.at()));
            if (!header) {
                header = true;
                String right = "server :" + port;
                IO.println("      ms  client" + " ".repeat(WIDTH - 6 - right.length()) + right);
            }
            for (Line line : all) {
                IO.println("%8.1f  %s".formatted(Duration.between(start, line.at()).toNanos() / 1e6, line.text()));
            }
        }

        /// One segment as an arrow, with sequence and acknowledgement numbers relative to each side's ISN.
        String draw(Seen seen) {
            Segment s = seen.segment();
            boolean toServer = s.to().getPort() == port;
            String me = s.from().getPort() + ">" + s.to().getPort(), peer = s.to().getPort() + ">" + s.from().getPort();
            if (s.is(SYN)) {
                isn.put(me, s.seq());
            } else {
                // joined mid-connection (no SYN seen): count as if the ISN came just before the first number seen
                isn.putIfAbsent(me, (s.seq() - 1) & 0xFFFF_FFFFL);
                if (s.is(ACK)) {
                    isn.putIfAbsent(peer, (s.ack() - 1) & 0xFFFF_FFFFL);
                }
            }
            var text = new StringBuilder(s.kind()).append(" [").append(s.flagText()).append("]");
            long relSeq = (s.seq() - isn.get(me)) & 0xFFFF_FFFFL;
            text.append(" seq ").append(relSeq);
            if (s.length() > 0) {
                text.append(":").append(relSeq + s.length());
            }
            if (s.is(SYN)) {
                text.append(" (ISN ").append(s.seq()).append(")");
            }
            if (s.is(ACK)) {
                Long other = isn.get(peer);
                text.append(" ack ").append(other == null ? s.ack() : (s.ack() - other) & 0xFFFF_FFFFL);
            }
            text.append(" win ").append(s.window());
            if (s.length() > 0) {
                text.append(" len ").append(s.length());
            }
            String key = me + " " + s.flagText() + " " + s.seq() + " " + s.length();
            Instant before = sent.put(key, s.at());
            if (before != null && s.span() > 0) {
                text.append(" again, +").append(Duration.between(before, s.at()).toMillis()).append(" ms");
            } else if (s.is(SYN) && !s.options().isEmpty()) {
                // a timestamp's value changes every time and says little here: "TS" is enough
                text.append(" <").append(s.options().replaceAll("TS val \\d+ ecr \\d+", "TS").replace(",nop", ""))
                        .append(">");
            }
            String label = " " + text + " ";
            int pad = Math.max(3, WIDTH - 4 - label.length());
            String arrow = toServer
                    ? "──" + label + "─".repeat(pad) + (seen.dropped() ? "✗" : "►")
                    : (seen.dropped() ? "✗" : "◄") + "─".repeat(pad) + label + "──";
            return seen.dropped() ? arrow + " dropped" : arrow;
        }
    }

    // ------------------------------------------------------------------------------------------------ libc, by FFM

    /// The AF_PACKET socket on `lo`.
    static final class Packets {
        private final int fd;

        record Frame(byte[] bytes, boolean outgoing, Instant at) {
        }

        private Packets(int fd) {
            this.fd = fd;
        }

        static Packets open() throws IOException {
            int lo = Libc.ifIndex("lo");
            int fd = Libc.check(Libc.socket(Libc.AF_PACKET, Libc.SOCK_RAW, Libc.htons(Libc.ETH_P_ALL)), "socket(AF_PACKET)");
            try (var arena = Arena.ofConfined()) {
                Libc.check(Libc.bind(fd, Libc.sockaddrLl(arena, lo, Libc.ETH_P_ALL), 20), "bind(lo)");
                var timeout = arena.allocate(16);   // struct timeval: 50 ms, so the tap notices close() quickly
                timeout.set(JAVA_LONG, 0, 0);
                timeout.set(JAVA_LONG, 8, 50_000);
                Libc.check(Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_RCVTIMEO, timeout, 16), "setsockopt(SO_RCVTIMEO)");
                Libc.check(Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_TIMESTAMPNS, arena.allocateFrom(JAVA_INT, 1), 4),
                        "setsockopt(SO_TIMESTAMPNS)");
            }
            return new Packets(fd);
        }

        /// A struct msghdr for recvmsg with its buffers: the frame, the sender (struct sockaddr_ll, whose byte 10 is
        /// the packet type) and room for one control message, the kernel's timestamp (SCM_TIMESTAMPNS).
        static Message message(Arena arena) {
            var header = arena.allocate(56 + 16 + 24 + 64);
            var iov = header.asSlice(56, 16);
            var from = header.asSlice(72, 24);
            var control = header.asSlice(96, 64);
            var buffer = arena.allocate(65_600);
            iov.set(ADDRESS, 0, buffer);
            iov.set(JAVA_LONG, 8, buffer.byteSize());
            header.set(ADDRESS, 0, from);
            header.set(ADDRESS, 16, iov);
            header.set(JAVA_LONG, 24, 1);
            header.set(ADDRESS, 32, control);
            return new Message(header, buffer);
        }

        record Message(MemorySegment header, MemorySegment buffer) {
        }

        /// One frame, or null when none came (at once if `now`, else within SO_RCVTIMEO).
        Frame receive(Message m, boolean now) {
            var message = m.header();
            message.set(JAVA_INT, 8, 20);                       // msg_namelen
            message.set(JAVA_LONG, 40, 64);                     // msg_controllen
            long n = Libc.recvmsg(fd, message, now ? Libc.MSG_DONTWAIT : 0);
            if (n < 0) {
                return null;
            }
            var buffer = m.buffer().asSlice(0, n);
            var from = message.asSlice(72, 20);
            boolean outgoing = from.get(ValueLayout.JAVA_BYTE, 10) == Libc.PACKET_OUTGOING;
            // the kernel's time of arrival (SO_TIMESTAMPNS), so segments line up with the calls that caused them
            Instant at = Instant.now();
            var control = message.asSlice(96, 64);
            if (message.get(JAVA_LONG, 40) >= 32 && control.get(JAVA_INT, 8) == Libc.SOL_SOCKET
                    && control.get(JAVA_INT, 12) == Libc.SO_TIMESTAMPNS) {
                at = Instant.ofEpochSecond(control.get(JAVA_LONG, 16), control.get(JAVA_LONG, 24));
            }
            return new Frame(buffer.toArray(ValueLayout.JAVA_BYTE), outgoing, at);
        }

        /// Sends the IPv4 packet in `frame` (after its Ethernet header) through a raw IP socket: the kernel routes
        /// it like any locally sent packet, so `lo` delivers it to TCP. (Written straight onto `lo` with the
        /// AF_PACKET socket it would arrive without a route and be dropped as a martian: 127.0.0.1 from outside.)
        void send(byte[] frame) throws IOException {
            int raw = Libc.check(Libc.socket(Libc.AF_INET, Libc.SOCK_RAW, Libc.IPPROTO_RAW), "socket(AF_INET, SOCK_RAW)");
            try (var arena = Arena.ofConfined()) {
                var packet = arena.allocateFrom(ValueLayout.JAVA_BYTE, Arrays.copyOfRange(frame, 14, frame.length));
                var to = arena.allocate(16);                    // struct sockaddr_in: the destination address
                to.set(JAVA_SHORT, 0, (short) Libc.AF_INET);
                MemorySegment.copy(frame, 14 + 16, to, ValueLayout.JAVA_BYTE, 4, 4);
                long n = Libc.sendto(raw, packet, packet.byteSize(), 0, to, 16);
                if (n != packet.byteSize()) {
                    throw new IOException("sendto(SOCK_RAW) failed: " + Libc.lastError());
                }
            } finally {
                Libc.close(raw);
            }
        }

        void close() {
            Libc.close(fd);
        }
    }

    @SuppressWarnings("restricted") // calling libc (socket, bind, recvmsg, ioctl) is the only way to tap lo from Java
    static final class Libc {
        static final int AF_INET = 2, AF_PACKET = 17, SOCK_DGRAM = 2, SOCK_RAW = 3, IPPROTO_RAW = 255, ETH_P_ALL = 0x0003;
        static final int SOL_SOCKET = 1, SO_RCVTIMEO = 20, SO_TIMESTAMPNS = 35, MSG_DONTWAIT = 0x40, PACKET_OUTGOING = 4;
        static final long SIOCGIFFLAGS = 0x8913, SIOCSIFFLAGS = 0x8914;

        private static final Linker LINKER = Linker.nativeLinker();
        private static final MemoryLayout STATE = Linker.Option.captureStateLayout();
        private static final long ERRNO = STATE.byteOffset(MemoryLayout.PathElement.groupElement("errno"));
        private static final ThreadLocal<Integer> LAST = ThreadLocal.withInitial(() -> 0);
        private static final MethodHandle SOCKET = handle("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        private static final MethodHandle BIND = handle("bind", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
        private static final MethodHandle SETSOCKOPT = handle("setsockopt",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
        private static final MethodHandle RECVMSG = handle("recvmsg", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
        private static final MethodHandle SENDTO = handle("sendto",
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
        private static final MethodHandle IOCTL = handle("ioctl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), Linker.Option.firstVariadicArg(2));
        private static final MethodHandle CLOSE = handle("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        private static final MethodHandle IF_NAMETOINDEX = LINKER.downcallHandle(
                LINKER.defaultLookup().find("if_nametoindex").orElseThrow(), FunctionDescriptor.of(JAVA_INT, ADDRESS));
        private static final MethodHandle STRERROR = LINKER.downcallHandle(
                LINKER.defaultLookup().find("strerror").orElseThrow(), FunctionDescriptor.of(ADDRESS, JAVA_INT));

        private Libc() {
        }

        private static MethodHandle handle(String name, FunctionDescriptor f, Linker.Option... options) {
            var all = new ArrayList<>(List.of(options));
            all.add(Linker.Option.captureCallState("errno")); // the state segment comes first, see call()
            return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), f,
                    all.toArray(Linker.Option[]::new));
        }

        private static Object call(MethodHandle h, Object... args) {
            try (var arena = Arena.ofConfined()) {
                var state = arena.allocate(STATE);
                var all = new Object[args.length + 1];
                all[0] = state;
                System.arraycopy(args, 0, all, 1, args.length);
                Object result = h.invokeWithArguments(all);
                LAST.set(state.get(JAVA_INT, ERRNO));
                return result;
            } catch (Throwable e) {
                throw new IllegalStateException("libc call failed", e);
            }
        }

        static int socket(int domain, int type, int protocol) {
            return (int) call(SOCKET, domain, type, protocol);
        }

        static int bind(int fd, MemorySegment address, int length) {
            return (int) call(BIND, fd, address, length);
        }

        static int setsockopt(int fd, int level, int name, MemorySegment value, int length) {
            return (int) call(SETSOCKOPT, fd, level, name, value, length);
        }

        static long recvmsg(int fd, MemorySegment message, int flags) {
            return (long) call(RECVMSG, fd, message, flags);
        }

        static long sendto(int fd, MemorySegment buffer, long length, int flags, MemorySegment to, int toLength) {
            return (long) call(SENDTO, fd, buffer, length, flags, to, toLength);
        }

        static int ioctl(int fd, long request, MemorySegment argument) {
            return (int) call(IOCTL, fd, request, argument);
        }

        static void close(int fd) {
            call(CLOSE, fd);
        }

        static int ifIndex(String name) throws IOException {
            try (var arena = Arena.ofConfined()) {
                int index = (int) IF_NAMETOINDEX.invokeExact(arena.allocateFrom(name));
                if (index == 0) {
                    throw new IOException("no interface " + name);
                }
                return index;
            } catch (IOException e) {
                throw e;
            } catch (Throwable e) {
                throw new IllegalStateException(e);
            }
        }

        static int htons(int value) {
            return ((value & 0xFF) << 8) | ((value >> 8) & 0xFF);
        }

        /// struct sockaddr_ll for `lo`: family, protocol (network order), interface index; the rest zero.
        static MemorySegment sockaddrLl(Arena arena, int ifIndex, int protocol) {
            var a = arena.allocate(20);
            a.set(JAVA_SHORT, 0, (short) AF_PACKET);
            a.set(JAVA_SHORT, 2, (short) htons(protocol));
            a.set(JAVA_INT, 4, ifIndex);
            a.set(ValueLayout.JAVA_BYTE, 11, (byte) 6);
            return a;
        }

        /// `ip link set lo up`, as the ioctls SIOCGIFFLAGS and SIOCSIFFLAGS on struct ifreq.
        static void loUp() throws IOException {
            int fd = check(socket(AF_INET, SOCK_DGRAM, 0), "socket(AF_INET)");
            try (var arena = Arena.ofConfined()) {
                var ifreq = arena.allocate(40);
                ifreq.setString(0, "lo");
                check(ioctl(fd, SIOCGIFFLAGS, ifreq), "ioctl(SIOCGIFFLAGS)");
                ifreq.set(JAVA_SHORT, 16, (short) (ifreq.get(JAVA_SHORT, 16) | 1)); // IFF_UP
                check(ioctl(fd, SIOCSIFFLAGS, ifreq), "ioctl(SIOCSIFFLAGS)");
            } finally {
                close(fd);
            }
        }

        static int check(int result, String what) throws IOException {
            if (result < 0) {
                throw new IOException(what + ": " + lastError());
            }
            return result;
        }

        static String lastError() {
            int errno = LAST.get();
            try {
                return "errno " + errno + " (" + ((MemorySegment) STRERROR.invokeExact(errno)).reinterpret(256).getString(0) + ")";
            } catch (Throwable e) {
                return "errno " + errno;
            }
        }
    }
}
