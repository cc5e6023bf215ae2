///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//SOURCES ../bench/Lesson.java
//SOURCES ../bench/ProcNetTcp.java
//SOURCES ../bench/FragmentingRelay.java

// Chapter 6, live: TCP carries bytes, not messages; buffers fill up; UDP keeps datagrams whole; Nagle meets
// delayed ACK. (Throughput by buffer size is a demo of its own: ./jbang chapters/06-io/IoThroughput.java)

final InetSocketAddress ANY_LOOPBACK_PORT = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);

void main() throws Exception {
    boolean linux = ProcNetTcp.available();
    if (!linux) {
        IO.println("This lesson reads /proc/net/tcp, which only Linux has; the sockets below still do their work.");
    }
    try (var listener = ServerSocketChannel.open().bind(ANY_LOOPBACK_PORT)) {
        Lesson.step("write() 1 MiB once; the receiver read()s with a 64 KiB buffer — directly, then through a relay that re-sends 1,000-byte pieces");
        IO.println("  direct:        " + oneWriteManyReads(listener, listener.getLocalAddress()));
        try (var relay = new FragmentingRelay(listener.getLocalAddress(), 1_000)) {
            IO.println("  through relay: " + oneWriteManyReads(listener, relay.address()));
        }

        Lesson.step("Non-blocking write() to a peer that never reads: how much goes in before write() returns 0?");
        fillBuffers(listener, 0, linux);
        fillBuffers(listener, 64 * 1024, false);
    }

    Lesson.step("UDP: sendto() 100, 1 and 5,000 bytes; recvfrom() three times");
    datagrams();

    Lesson.step("write 10 B, write 100 B, read a 1-byte reply: 10 exchanges each way (Nagle on unless said)");
    for (var way : Way.values()) {
        IO.println("  %-44s median %7.3f ms".formatted(way.label, medianExchangeMillis(way)));
    }
    IO.println("  (about 40 ms: Nagle holds the 100 B until the 10 B are ACKed; the server delays that ACK, hoping to\n"
            + "   send it with a reply — but it replies only once it has all 110 B. Each side waits for the other.)");
}

// tag::reads[]
String oneWriteManyReads(ServerSocketChannel listener, SocketAddress to) throws Exception {
    try (var sender = SocketChannel.open(to); var receiver = listener.accept()) {
        var message = ByteBuffer.allocate(1 << 20);
        Thread.ofVirtual().start(() -> {
            try {
                sender.write(message); // one write() call, 1,048,576 bytes
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        var sizes = new ArrayList<Integer>();
        var buffer = ByteBuffer.allocate(64 * 1024);
        for (int total = 0; total < message.capacity(); ) {
            int n = receiver.read(buffer.clear()); // returns what has arrived: 1..65,536 bytes, or -1 at EOF
            sizes.add(n);
            total += n;
        }
        // end::reads[]
        return "%d reads, %d to %d bytes each; the first ones: %s".formatted(sizes.size(),
                Collections.min(sizes), Collections.max(sizes), sizes.subList(0, Math.min(8, sizes.size())));
    }
}

// tag::fill[]
void fillBuffers(ServerSocketChannel listener, int bufferSize, boolean showTable) throws Exception {
    try (var client = SocketChannel.open()) {
        if (bufferSize > 0) {
            client.setOption(StandardSocketOptions.SO_SNDBUF, bufferSize);
            listener.setOption(StandardSocketOptions.SO_RCVBUF, bufferSize); // inherited by accepted sockets
        }
        client.connect(listener.getLocalAddress());
        try (var server = listener.accept()) {
            client.configureBlocking(false);
            var chunk = ByteBuffer.allocate(64 * 1024);
            long accepted = 0;
            int n, writes = 0, shortWrite = -1;
            while ((n = client.write(chunk.clear())) > 0) { // non-blocking: takes what fits, 0 when nothing does
                accepted += n;
                writes++;
                if (n < chunk.capacity() && shortWrite < 0) {
                    shortWrite = n;
                }
            }
            // end::fill[]
            IO.println("  %s: %,d bytes in %d writes, then write() returned 0%s".formatted(
                    bufferSize == 0 ? "default buffers" : "SO_SNDBUF = SO_RCVBUF = 64 KiB", accepted, writes,
                    shortWrite < 0 ? "" : " (a short write on the way: %,d of 65,536 bytes)".formatted(shortWrite)));
            if (showTable) {
                IO.println("  the bytes wait in the client's send queue (tx) and the server's receive queue (rx):");
                var rows = new ArrayList<>(ProcNetTcp.rowsOf(client));
                ProcNetTcp.entryOf(server.getLocalAddress(), server.getRemoteAddress()).ifPresent(rows::add);
                IO.println(ProcNetTcp.show(rows));
            }
            server.read(ByteBuffer.allocate(1 << 20));
            // Space again: a blocking writer would have slept until now — that is flow control.
            IO.println("  the server reads up to 1 MiB; write() now takes %,d bytes more".formatted(client.write(chunk.clear())));
        }
    }
}

// tag::udp[]
void datagrams() throws IOException {
    try (var a = DatagramChannel.open(StandardProtocolFamily.INET).bind(ANY_LOOPBACK_PORT);
         var b = DatagramChannel.open(StandardProtocolFamily.INET).bind(ANY_LOOPBACK_PORT)) {
        for (int size : new int[] {100, 1, 5_000}) {
            a.send(ByteBuffer.allocate(size), b.getLocalAddress());
        }
        var buffer = ByteBuffer.allocate(65_536);
        for (int i = 0; i < 3; i++) {
            b.receive(buffer.clear());
            IO.println("  recvfrom() #%d: %,5d B — one datagram, whole and alone".formatted(i + 1, buffer.position()));
        }
        a.send(ByteBuffer.allocate(100), b.getLocalAddress());
        var small = ByteBuffer.allocate(10);
        b.receive(small); // no error, no flag: the other 90 bytes are gone
        b.configureBlocking(false);
        IO.println("  100 B into a 10 B buffer: %d bytes kept, next recvfrom() finds %s".formatted(small.position(),
                b.receive(buffer.clear()) == null ? "nothing: the rest is lost" : "more?"));
        a.send(ByteBuffer.allocate(65_507), b.getLocalAddress());
        IO.println("  sendto() of 65,507 bytes (the IPv4 maximum): sent");
        try {
            a.send(ByteBuffer.allocate(65_508), b.getLocalAddress());
        } catch (IOException e) {
            IO.println("  sendto() of 65,508 bytes: " + e.getClass().getSimpleName() + ": " + e.getMessage() + " (EMSGSIZE)");
        }
    }
}
// end::udp[]

enum Way {
    TWO_WRITES("two write() calls"), NO_DELAY("two write() calls, TCP_NODELAY"), GATHERING("one gathering write (writev)");
    final String label;
    Way(String label) { this.label = label; }
}

// tag::nagle[]
double medianExchangeMillis(Way way) throws Exception {
    try (var listener = ServerSocketChannel.open().bind(ANY_LOOPBACK_PORT);
         var client = SocketChannel.open(listener.getLocalAddress());
         var server = listener.accept()) {
        client.setOption(StandardSocketOptions.TCP_NODELAY, way == Way.NO_DELAY);
        Thread.ofPlatform().daemon().start(() -> {
            try {
                var request = ByteBuffer.allocate(110);
                for (int i = 0; i < 10; i++) {
                    while (request.hasRemaining() && server.read(request) > 0) { } // the whole request, then reply
                    server.write(ByteBuffer.wrap(new byte[] {1}));
                    request.clear();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        var millis = new double[10];
        for (int i = 0; i < millis.length; i++) {
            long t0 = System.nanoTime();
            var header = ByteBuffer.allocate(10);
            var body = ByteBuffer.allocate(100);
            if (way == Way.GATHERING) {
                client.write(new ByteBuffer[] {header, body});
            } else {
                client.write(header);
                client.write(body);
            }
            client.read(ByteBuffer.allocate(1));
            millis[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(millis);
        return millis[millis.length / 2];
    }
}
// end::nagle[]
