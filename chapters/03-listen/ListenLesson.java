///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//SOURCES ../bench/Lesson.java
//SOURCES ../bench/ProcNetTcp.java

// Chapter 3, live: the kernel completes handshakes into the accept queue with no accept() call; once the queue is
// full, connect() gets no answer and times out, until accept() makes room.

static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
static final Duration SHORT = Duration.ofMillis(300);

/// How one connect() ended.
sealed interface Dial permits Connected, TimedOut, Refused {}
record Connected(Socket socket, Duration took) implements Dial {}
record TimedOut(Duration took) implements Dial {}
record Refused(Duration took) implements Dial {}

boolean linux = ProcNetTcp.available();

void main() throws Exception {
    if (!linux) {
        IO.println("This lesson reads /proc/net/tcp and /proc/sys, which only Linux has; the calls below still run.");
    }
    Lesson.step("The kernel's settings for listening sockets (/proc/sys/net/...)");
    for (var knob : List.of("core/somaxconn: listen() lowers any larger backlog to this",
            "ipv4/tcp_syncookies: 1 = once more than the backlog wait half-open (SYN_RECV), answer with a cookie",
            "ipv4/tcp_max_syn_backlog: syncookies off: unproven peers' SYNs dropped once half-open ones near this",
            "ipv4/tcp_abort_on_overflow: 0 = a final ACK that finds the accept queue full is ignored, 1 = reset")) {
        var name = knob.substring(0, knob.indexOf(':'));
        IO.println("  %-26s = %-5s %s".formatted(name, Lesson.sysctl(name), knob.substring(name.length() + 2)));
    }
    long overflowsBefore = listenOverflows();

    // tag::listen[]
    var listener = new ServerSocket(0, 1, LOOPBACK); // socket + bind + listen(fd, 1); Java turns backlog 0 into 50
    int port = listener.getLocalPort();
    var address = new InetSocketAddress(LOOPBACK, port);
    // end::listen[]
    Lesson.step("listen(fd, 1)  ↔  new ServerSocket(0, 1, 127.0.0.1): port " + port + ", and nobody calls accept()");
    IO.println("  a LISTEN row, accept queue " + depth(port));

    Lesson.step("Three clients connect one by one, each with a connect timeout of " + SHORT.toMillis() + " ms");
    var clients = new ArrayList<Socket>();
    // tag::dial[]
    for (int i = 1; i <= 3; i++) {
        var outcome = dial(address, SHORT);
        if (outcome instanceof Connected c) {
            clients.add(c.socket());
        }
        IO.println("  client %d: %-50s accept queue now %s".formatted(i, describe(outcome), depth(port)));
    }
    // end::dial[]
    IO.println("  Backlog 1 holds 1 + 1 = 2 completed connections; client 3 got no answer: the kernel dropped its SYN.");
    IO.println("  The server ends have inode 0: no descriptor until accept() makes one.");
    Lesson.table(port);

    Lesson.step("A fourth client waits with a 2.5 s timeout while the queue is full");
    // tag::wait[]
    var waiting = CompletableFuture.supplyAsync(() -> dial(address, Duration.ofMillis(2_500)),
            task -> Thread.ofVirtual().name("waiting-client").start(task));
    if (linux) {
        ProcNetTcp.await("a client in SYN_SENT", rows -> rows.stream().anyMatch(
                e -> e.state() == ProcNetTcp.State.SYN_SENT && e.remote().getPort() == port), Duration.ofSeconds(2));
    }
    // end::wait[]
    if (linux) {
        IO.println("  Its SYN went unanswered: the client is SYN_SENT, and the server has no SYN_RECV row for it.");
    }
    Lesson.table(port);

    Lesson.step("accept()  ↔  listener.accept(): one connection leaves the queue, a slot frees up");
    // tag::accept[]
    long acceptedAt = System.nanoTime();
    var accepted = listener.accept();
    IO.println("  accepted %s; accept queue now %s".formatted(accepted.getRemoteSocketAddress(), depth(port)));
    var late = waiting.join();
    IO.println("  the waiting client: %s, %d ms after accept()".formatted(describe(late),
            Duration.ofNanos(System.nanoTime() - acceptedAt).toMillis()));
    // end::accept[]
    if (late instanceof Connected c) {
        clients.add(c.socket());
    }
    if (linux) { // the server's end of the late connection joins the queue once the client's ACK is in
        ProcNetTcp.awaitOnPort(port, "the late connection in the accept queue", rows -> rows.stream().anyMatch(
                e -> e.state() == ProcNetTcp.State.LISTEN && e.rxQueue() == 2), Duration.ofSeconds(2));
    }
    IO.println(linux ? "  Its SYN was sent again about 1 s after the first one and found the slot accept() freed: "
            + "accept queue now " + depth(port) + " again, full." : "  Its SYN was sent again and got in.");
    Lesson.table(port);

    Lesson.step("Backlog 0 and backlog 100000: what Java and the kernel make of them");
    // tag::zero[]
    try (var zero = new ServerSocket(0, 0, LOOPBACK); var huge = new ServerSocket(0, 100_000, LOOPBACK)) {
        var in = new ArrayList<Socket>();
        for (int i = 0; i < 51; i++) { // all at once: a 52nd would time out like client 3 above
            if (dial(new InetSocketAddress(LOOPBACK, zero.getLocalPort()), SHORT) instanceof Connected c) {
                in.add(c.socket());
            }
        }
        IO.println("  port %d, backlog 0: %d of 51 clients got in with no accept(): Java passed 50 to listen()"
                .formatted(zero.getLocalPort(), in.size()));
        IO.println("  port %d, backlog 100000: more than somaxconn allows".formatted(huge.getLocalPort()));
        if (linux) {
            ss(zero.getLocalPort(), huge.getLocalPort()); // on a LISTEN row, Recv-Q is the queue, Send-Q the backlog in force
        } else {
            IO.println("  (here `ss -ltn` would show each LISTEN row's queue and backlog in force: it needs Linux)");
        }
        for (var s : in) {
            s.close();
        }
    }
    // end::zero[]

    if (linux) {
        Lesson.step("Each dropped SYN was counted: TcpExt ListenOverflows in /proc/net/netstat");
        IO.println("  +%d since the start (machine-wide: other programs' overflows count too)"
                .formatted(listenOverflows() - overflowsBefore));
    }
    for (var s : clients) {
        s.close();
    }
    accepted.close();
    listener.close();
}

Dial dial(InetSocketAddress to, Duration timeout) {
    var socket = new Socket();
    long t0 = System.nanoTime();
    try {
        socket.connect(to, (int) timeout.toMillis());
        return new Connected(socket, Duration.ofNanos(System.nanoTime() - t0));
    } catch (IOException e) { // Socket.connect has closed the socket: nothing to tidy
        var took = Duration.ofNanos(System.nanoTime() - t0);
        return e instanceof SocketTimeoutException ? new TimedOut(took) : new Refused(took);
    }
}

String describe(Dial outcome) {
    return switch (outcome) {
        case Connected c -> "connected in %d ms".formatted(c.took().toMillis());
        case TimedOut t -> "no answer: SocketTimeoutException after %d ms".formatted(t.took().toMillis());
        case Refused r -> "refused after %d ms (nothing listens)".formatted(r.took().toMillis());
    };
}

String depth(int port) {
    return !linux ? "(needs /proc)" : ProcNetTcp.onPort(port).stream().filter(e -> e.state() == ProcNetTcp.State.LISTEN)
            .map(e -> String.valueOf(e.rxQueue())).findFirst().orElse("?");
}

void ss(int... ports) throws Exception {
    var filter = Arrays.stream(ports).mapToObj(p -> "sport = :" + p).collect(Collectors.joining(" or ", "( ", " )"));
    try {
        var ss = new ProcessBuilder("ss", "-ltn", filter).redirectErrorStream(true).start();
        ss.inputReader().lines().forEach(line -> IO.println("  ss| " + line));
        ss.waitFor();
    } catch (IOException e) {
        IO.println("  (ss is not installed here: it would show each listener's backlog as Send-Q)");
    }
}

long listenOverflows() {
    try { // two lines per group: "TcpExt: <names>", then "TcpExt: <values>"
        var lines = Files.readAllLines(Path.of("/proc/net/netstat")).stream().filter(l -> l.startsWith("TcpExt:")).toList();
        var names = List.of(lines.get(0).split("\\s+"));
        return Long.parseLong(lines.get(1).split("\\s+")[names.indexOf("ListenOverflows")]);
    } catch (IOException | RuntimeException e) {
        return 0; // not Linux, or a kernel that names it differently
    }
}
