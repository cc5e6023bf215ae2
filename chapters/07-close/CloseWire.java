///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//SOURCES ../bench/ProcNetTcp.java
//SOURCES ../bench/Wire.java

// Chapter 7 on the wire: FIN, ACK, FIN, ACK; a half-close with data still flowing the other way; and the two ways
// a close becomes an RST (unread data, SO_LINGER 0). Runs in a private network namespace (./jbang close-wire).

final InetAddress LOOPBACK = InetAddress.ofLiteral("127.0.0.1");

void main() throws Exception {
    try (var wire = Wire.open(Map.of())) {
        IO.println(wire.why());

        step("An orderly close: the client closes first, the server reads EOF and closes too");
        try (var listener = new ServerSocket(0, 50, LOOPBACK)) {
            var ladder = wire.ladder(listener.getLocalPort());
            ladder.client("connect()");
            var client = new Socket(LOOPBACK, listener.getLocalPort());
            var server = listener.accept();
            ladder.note("connected").states();
            ladder.client("close()");
            client.close();                                        // FIN →
            ladder.states();
            int got = server.getInputStream().read();              // the FIN reads as EOF
            ladder.server("read() -> " + got);
            ladder.server("close()");
            server.close();                                        // ← FIN
            awaitState(listener.getLocalPort(), ProcNetTcp.State.TIME_WAIT);
            ladder.states();
            ladder.print();
        }

        step("A half-close: the client shuts down its output, and still reads the server's reply");
        try (var listener = new ServerSocket(0, 50, LOOPBACK)) {
            var ladder = wire.ladder(listener.getLocalPort());
            ladder.client("connect()");
            var client = new Socket(LOOPBACK, listener.getLocalPort());
            var server = listener.accept();
            ladder.client("write(\"request\")");
            client.getOutputStream().write("request".getBytes(StandardCharsets.US_ASCII));
            ladder.client("shutdownOutput()");
            client.shutdownOutput();                               // FIN →: done sending, still reading
            byte[] request = server.getInputStream().readAllBytes();   // up to the FIN
            ladder.server("readAllBytes() -> " + request.length + " bytes, then EOF").states();
            ladder.server("write(\"reply\")");
            server.getOutputStream().write("reply".getBytes(StandardCharsets.US_ASCII));
            ladder.server("close()");
            server.close();
            byte[] reply = client.getInputStream().readAllBytes();
            ladder.client("readAllBytes() -> " + reply.length + " bytes, then EOF").states();
            client.close();
            ladder.print();
        }

        step("Close with unread data: the server closes its channel without reading the request");
        try (var listener = ServerSocketChannel.open().bind(new InetSocketAddress(LOOPBACK, 0))) {
            int port = ((InetSocketAddress) listener.getLocalAddress()).getPort();
            var ladder = wire.ladder(port);
            ladder.client("connect()");
            var client = new Socket(LOOPBACK, port);
            var server = listener.accept();
            ladder.client("write(100 bytes)");
            client.getOutputStream().write(new byte[100]);
            awaitUnread(port, server);
            ladder.server("close() with 100 bytes unread");
            server.close();                                        // RST, not FIN: the data would be lost unseen
            try {
                ladder.client("read() -> " + client.getInputStream().read());
            } catch (IOException e) {
                ladder.client("read() threw " + e.getMessage());
            }
            ladder.states();
            client.close();
            ladder.print();
        }

        step("SO_LINGER 0: an abortive close");
        try (var listener = new ServerSocket(0, 50, LOOPBACK)) {
            var ladder = wire.ladder(listener.getLocalPort());
            ladder.client("connect()");
            var client = new Socket(LOOPBACK, listener.getLocalPort());
            var server = listener.accept();
            ladder.client("setSoLinger(true, 0); close()");
            client.setSoLinger(true, 0);
            client.close();                                        // RST at once, no FIN, no TIME_WAIT
            try {
                ladder.server("read() -> " + server.getInputStream().read());
            } catch (IOException e) {
                ladder.server("read() threw " + e.getMessage());
            }
            ladder.states();
            server.close();
            ladder.print();
        }
        IO.println("""

                  An orderly close is four segments (or three, when the second FIN rides on the ACK) and leaves
                  TIME_WAIT with the side that closed first. An RST is one segment: no FIN, no TIME_WAIT, and the
                  peer's next read throws "Connection reset".""");
    }
}

void awaitState(int port, ProcNetTcp.State state) {
    if (!ProcNetTcp.available()) return;                           // not Linux: no TCP table to wait on
    ProcNetTcp.await("a connection to :" + port + " in " + state,
            rows -> rows.stream().anyMatch(e -> e.remote().getPort() == port && e.state() == state), Duration.ofSeconds(2));
}

/// Waits until the server's socket holds the client's bytes unread (rx_queue in the TCP table).
void awaitUnread(int port, SocketChannel server) throws IOException {
    if (!ProcNetTcp.available()) return;                           // not Linux: no TCP table to wait on
    var remote = server.getRemoteAddress();
    ProcNetTcp.awaitOnPort(port, "100 bytes waiting in the server's receive queue",
            rows -> rows.stream().anyMatch(e -> e.remote().equals(remote) && e.rxQueue() == 100), Duration.ofSeconds(2));
}

int steps = 0;

void step(String what) {
    IO.println("\n" + (++steps) + ". " + what);
}
