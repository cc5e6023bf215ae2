///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//SOURCES ../bench/ProcNetTcp.java
//SOURCES ../bench/Wire.java

// Chapter 6 on the wire: write, write, read — Nagle's algorithm holds the second small write until the first is
// acknowledged, and the peer's delayed ACK makes that about 40 ms; TCP_NODELAY sends it at once.
// Runs in a private network namespace (./jbang io-wire), under a second.

final InetAddress LOOPBACK = InetAddress.ofLiteral("127.0.0.1");

void main() throws Exception {
    try (var wire = Wire.open(Map.of())) {
        IO.println(wire.why());
        for (boolean noDelay : List.of(false, true)) {
            step(noDelay ? "The same with TCP_NODELAY: every write goes out at once"
                    : "Nagle on (the default): write 10 bytes, write 100 bytes, read the 1-byte reply");
            try (var listener = new ServerSocket(0, 50, LOOPBACK)) {
                var client = new Socket(LOOPBACK, listener.getLocalPort());
                var server = listener.accept();
                Thread.ofVirtual().name("server").start(() -> answer(server));
                client.setTcpNoDelay(noDelay);
                exchange(client, null);                            // the first exchange, not shown
                var ladder = wire.ladder(listener.getLocalPort());
                long took = exchange(client, ladder);
                ladder.print();
                IO.println("  write, write, read took %.1f ms".formatted(took / 1e6));
                client.close();
            }
        }
        IO.println("""

                  With Nagle on, the 100 bytes waited in the client's send buffer while the 10 bytes were
                  unacknowledged; the server held its ACK back (a delayed ACK, at least 40 ms on Linux) hoping to
                  send it along with a reply, but its reply needed those 100 bytes. TCP_NODELAY, or one write of
                  all 110 bytes (a gathering write), ends the stall.""");
    }
}

/// One request as two small writes, then the 1-byte reply; returns how long it took in nanoseconds.
long exchange(Socket client, Wire.Ladder ladder) throws IOException {
    long start = System.nanoTime();
    mark(ladder, "write(10 bytes)");
    client.getOutputStream().write(new byte[10]);
    mark(ladder, "write(100 bytes)");
    client.getOutputStream().write(new byte[100]);            // with Nagle: held while the 10 bytes are unacked
    int reply = client.getInputStream().read();
    mark(ladder, "read() -> " + reply);
    return System.nanoTime() - start;
}

/// The server: reads a whole 110-byte request, answers with one byte.
void answer(Socket server) {
    try (server) {
        while (server.getInputStream().readNBytes(110).length == 110) {
            server.getOutputStream().write(1);
        }
    } catch (IOException e) {
        // the client closed: the exchange is over
    }
}

void mark(Wire.Ladder ladder, String call) {
    if (ladder != null) {
        ladder.client(call);
    }
}

int steps = 0;

void step(String what) {
    IO.println("\n" + (++steps) + ". " + what);
}
