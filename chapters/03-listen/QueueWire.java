///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//SOURCES ../bench/ProcNetTcp.java
//SOURCES ../bench/Wire.java

// Chapter 3 on the wire: a full accept queue. The kernel completes two handshakes with nobody calling accept();
// the third client's SYN is dropped — no SYN-ACK, no SYN_RECV row — and sent again until accept() makes room.
// Runs in a private network namespace (./jbang listen-wire), about 2 s.

final InetAddress LOOPBACK = InetAddress.ofLiteral("127.0.0.1");

void main() throws Exception {
    try (var wire = Wire.open(Map.of())) {
        IO.println(wire.why());
        boolean linux = ProcNetTcp.available();                    // elsewhere: no TCP table to read
        try (var listener = new ServerSocket(0, 1, LOOPBACK)) {   // backlog 1: Linux queues backlog + 1 = 2
            int port = listener.getLocalPort();
            var ladder = wire.ladder(port);
            step("listen(backlog 1) on :" + port + "; two clients connect, nobody calls accept()");
            ladder.server("listen(backlog 1)");
            var first = new Socket(LOOPBACK, port);
            ladder.client("connect() returned: 1st");
            var second = new Socket(LOOPBACK, port);
            ladder.client("connect() returned: 2nd").states();
            ladder.print();
            if (linux) IO.println("  LISTEN row: " + ProcNetTcp.listenerOf(listener).orElseThrow());

            step("A third client: its SYN finds the accept queue full");
            long overflows = listenOverflows();
            var third = SocketChannel.open();
            third.configureBlocking(false);
            Instant start = Instant.now();
            ladder.client("connect(): 3rd, non-blocking");
            third.connect(new InetSocketAddress(LOOPBACK, port));   // SYN →; Linux drops it: no SYN-ACK
            var synSent = !linux ? List.<ProcNetTcp.Entry>of() : ProcNetTcp.await("the third client in SYN_SENT", rows -> rows.stream()
                    .anyMatch(e -> e.remote().getPort() == port && e.state() == ProcNetTcp.State.SYN_SENT), Duration.ofSeconds(1));
            ladder.states();
            // the client's retransmission timer (1 s) fires: the SYN again, dropped again
            var again = wire.await(start.plusMillis(500), s -> s.to().getPort() == port && s.is(Wire.SYN), Duration.ofSeconds(3));
            ladder.note("ListenOverflows: %d → %d (TcpExt in /proc/net/netstat)".formatted(overflows, listenOverflows()));
            ladder.server("accept()");
            var accepted = listener.accept();                         // one place free in the queue
            var selector = Selector.open();
            third.register(selector, SelectionKey.OP_CONNECT);
            int ready = selector.select(3_000);                      // the next retransmission gets in
            ladder.client("select() -> " + ready + ", finishConnect() -> " + third.finishConnect()).states();
            ladder.print();
            IO.println("  SYN_RECV rows while the queue was full: %d; the SYN was sent again %s".formatted(
                    synSent.stream().filter(e -> e.state() == ProcNetTcp.State.SYN_RECV).count(),
                    again.isPresent() ? "after " + Duration.between(start, again.get().segment().at()).toMillis() + " ms"
                            : "(not seen: the wire is off)"));
            IO.println("""

                      A full accept queue does not refuse: Linux drops the SYN (tcp_abort_on_overflow = 0) and
                      counts it in ListenOverflows. The client hears nothing and retransmits, at 1 s, 2 s, 3 s…
                      — so a connect() on a full queue is slow, not refused, and succeeds once accept() makes room.""");
            for (var s : List.of(first, second, accepted, third, selector)) s.close();
        }
    }
}

/// TcpExt ListenOverflows: SYNs (and handshakes) the kernel dropped because an accept queue was full.
long listenOverflows() {
    List<String> lines;
    try {
        lines = Files.readAllLines(Path.of("/proc/net/netstat"));
    } catch (IOException e) {
        return -1;                                                 // not Linux: no counters to read
    }
    for (int i = 0; i + 1 < lines.size(); i += 2) {
        var names = lines.get(i).split(" ");
        var values = lines.get(i + 1).split(" ");
        for (int k = 1; k < names.length; k++) {
            if (names[0].equals("TcpExt:") && names[k].equals("ListenOverflows")) {
                return Long.parseLong(values[k]);
            }
        }
    }
    return -1;
}

int steps = 0;

void step(String what) {
    IO.println("\n" + (++steps) + ". " + what);
}
