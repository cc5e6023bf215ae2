///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//SOURCES ../bench/ProcNetTcp.java
//SOURCES ../bench/Wire.java

// Chapter 8 on the wire: why TIME_WAIT exists. The active closer's last ACK is lost; the passive closer, stuck in
// LAST_ACK, sends its FIN again, and only a TIME_WAIT socket can still answer it. Then TIME_WAIT assassination:
// a forged RST kills a TIME_WAIT row unless tcp_rfc1337 = 1. Runs in a private network namespace
// (./jbang time-wait-wire), about a second.

final InetAddress LOOPBACK = InetAddress.ofLiteral("127.0.0.1");

void main() throws Exception {
    try (var wire = Wire.open(Map.of())) {
        IO.println(wire.why());
        if (!wire.live()) {
            IO.println("\nWithout the wire this scene has nothing to show; ./jbang time-wait shows the states.");
            return;
        }

        step("The client closes first; its last ACK (the answer to the server's FIN) is dropped");
        if (wire.canDrop()) {
            lostAck(wire);
        } else {
            IO.println("  (left out: dropping a segment needs nft; see the line at the top)");
        }
        for (String rfc1337 : List.of("0", "1")) {
            assassinate(wire, rfc1337);
        }
    }
}

/// The lost last ACK: the server re-sends its FIN, the client's TIME_WAIT answers it.
void lostAck(Wire wire) throws IOException {
    try (var listener = new ServerSocket(0, 50, LOOPBACK)) {
        int port = listener.getLocalPort();
        var ladder = wire.ladder(port);
        var pair = connect(listener, ladder);
        Socket client = pair[0], server = pair[1];
        int clientPort = client.getLocalPort();
        try (var lost = wire.dropPureAcks(clientPort, port, 1).orElseThrow()) {
            Instant start = Instant.now();
            ladder.note("nft drops " + lost.what());
            ladder.client("close()");
            client.close();                                   // FIN →: the client is the active closer
            ladder.server("read() -> " + server.getInputStream().read() + " (EOF)");
            ladder.server("close()");
            server.close();                                   // ← FIN; the client's ACK of it is lost
            var dropped = wire.await(start, s -> s.from().getPort() == clientPort && s.flags() == Wire.ACK,
                    Duration.ofSeconds(2)).orElseThrow();
            ladder.note("the last ACK was lost").states();
            // The server's retransmission timer (RTO, 200 ms at least) fires: FIN again.
            var refin = wire.await(dropped.segment().at().plusNanos(1),
                    s -> s.from().getPort() == port && s.is(Wire.FIN), Duration.ofSeconds(3)).orElseThrow();
            wire.await(refin.segment().at(), s -> s.from().getPort() == clientPort && s.flags() == Wire.ACK,
                    Duration.ofSeconds(1)).orElseThrow();            // TIME_WAIT's ACK, this time delivered
            ProcNetTcp.awaitOnPort(port, "the server's LAST_ACK to end",
                    rows -> rows.stream().noneMatch(e -> e.state() == ProcNetTcp.State.LAST_ACK), Duration.ofSeconds(1));
            ladder.note("the FIN came again; TIME_WAIT answered it").states();
        }
        ladder.print();
        IO.println("""
                  The server sat in LAST_ACK until its FIN was acknowledged. Had the client's socket been gone
                  (no TIME_WAIT), the re-sent FIN would have met no connection and been answered with an RST;
                  the server's close would have ended in a reset instead of a clean close. TIME_WAIT lasts
                  2×MSL (60 s on Linux) so that it outlives every retransmission of that FIN.""");
    }
}

/// TIME_WAIT assassination: a forged, in-window RST into a TIME_WAIT connection.
void assassinate(Wire wire, String rfc1337) throws IOException {
    step("TIME_WAIT assassination with tcp_rfc1337 = " + rfc1337 + ": an RST forged into a TIME_WAIT connection");
    IO.println("  " + Wire.sysctl("net.ipv4.tcp_rfc1337", rfc1337));
    try (var listener = new ServerSocket(0, 50, LOOPBACK)) {
        int port = listener.getLocalPort();
        var ladder = wire.ladder(port);
        var pair = connect(listener, ladder);
        Socket client = pair[0], server = pair[1];
        var clientEnd = (InetSocketAddress) client.getLocalSocketAddress();
        var serverEnd = (InetSocketAddress) client.getRemoteSocketAddress();
        Instant start = Instant.now();
        ladder.client("close()");
        client.close();
        server.getInputStream().read();
        ladder.server("close()");
        server.close();
        var fin = wire.await(start, s -> s.from().getPort() == port && s.is(Wire.FIN), Duration.ofSeconds(1))
                .orElseThrow();
        ProcNetTcp.awaitState(clientEnd, serverEnd, ProcNetTcp.State.TIME_WAIT, Duration.ofSeconds(1));
        ladder.states();
        // In window: exactly the sequence number TIME_WAIT expects next from the server (its FIN + 1).
        var rst = Wire.rst(serverEnd, clientEnd, (fin.segment().seq() + 1) & 0xFFFF_FFFFL);
        ladder.note("a forged RST from the server's address and port, seq = its FIN + 1");
        Instant sent = Instant.now();
        wire.inject(rst);
        wire.await(sent, s -> s.is(Wire.RST), Duration.ofSeconds(1)).orElseThrow();
        if (rfc1337.equals("0")) {
            ProcNetTcp.await("the TIME_WAIT row to vanish", rows -> rows.stream()
                    .noneMatch(e -> e.is(clientEnd, serverEnd)), Duration.ofSeconds(1));
        }
        ladder.states();
        ladder.print();
        var row = ProcNetTcp.entryOf(clientEnd, serverEnd);
        IO.println(row.isPresent()
                ? "  The row is still TIME_WAIT: with tcp_rfc1337 = 1 the kernel ignores an RST in TIME_WAIT (RFC 1337)."
                : "  The TIME_WAIT row is gone, 59 s early: the 4-tuple is free for a new connection, which old"
                + "\n  duplicates of the killed one may now corrupt. That is the hazard RFC 1337 names.");
    }
}

/// A connected pair, client first, with the handshake on the ladder.
Socket[] connect(ServerSocket listener, Wire.Ladder ladder) throws IOException {
    ladder.client("connect()");
    var client = new Socket(LOOPBACK, listener.getLocalPort());
    var server = listener.accept();
    ladder.server("accept() returned").states();
    return new Socket[] {client, server};
}

int steps = 0;

void step(String what) {
    IO.println("\n" + (++steps) + ". " + what);
}
