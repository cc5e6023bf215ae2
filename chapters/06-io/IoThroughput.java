///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

// Chapter 6, a demo of its own (not part of the lesson or the tests): how fast one TCP connection on loopback
// moves bytes, by the size of the buffer each write()/read() hands the kernel. Moves 1 GiB per buffer size after
// a warm-up GiB (6 GiB in all), then, if iperf3 is installed, runs it for 5 s on a fresh port to compare.
// Takes about 5 s, or 15 s with iperf3.   Run: ./jbang chapters/06-io/IoThroughput.java

final InetSocketAddress ANY_LOOPBACK_PORT = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
final long GIB = 1L << 30;

void main() throws Exception {
    IO.println("Moving 1 GiB over loopback per buffer size (one connection, blocking NIO, direct buffers):");
    transfer(64 * 1024, GIB); // warm-up: the JIT compiles the loops, the kernel warms its caches
    var gbits = new TreeMap<Integer, Double>();
    for (int size : new int[] {8 << 10, 64 << 10, 128 << 10, 256 << 10, 1 << 20}) {
        double seconds = transfer(size, GIB);
        gbits.put(size, GIB * 8 / seconds / 1e9);
        IO.println("  %,9d-byte buffers: %5.1f Gbit/s  (%.2f s)".formatted(size, gbits.get(size), seconds));
    }
    double iperf = iperf3();
    if (iperf > 0) {
        IO.println("  iperf3, 5 s right after: %.1f Gbit/s. Java with iperf3's own 128 KiB writes: %.0f%% of it; best: %.0f%%"
                .formatted(iperf, 100 * gbits.get(128 << 10) / iperf, 100 * Collections.max(gbits.values()) / iperf));
    }
}

// tag::transfer[]
double transfer(int bufferSize, long total) throws Exception {
    try (var listener = ServerSocketChannel.open().bind(ANY_LOOPBACK_PORT);
         var sender = SocketChannel.open(listener.getLocalAddress());
         var receiver = listener.accept()) {
        var reading = Thread.ofPlatform().start(() -> {
            var buffer = ByteBuffer.allocateDirect(bufferSize); // direct: no copy through a temporary buffer
            try {
                while (receiver.read(buffer.clear()) >= 0) { }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        var buffer = ByteBuffer.allocateDirect(bufferSize);
        long t0 = System.nanoTime();
        for (long sent = 0; sent < total; ) {
            buffer.clear().limit((int) Math.min(bufferSize, total - sent));
            while (buffer.hasRemaining()) {
                sent += sender.write(buffer); // one write() system call per buffer
            }
        }
        sender.shutdownOutput(); // FIN: the reader sees -1 once it has every byte
        reading.join();
        return (System.nanoTime() - t0) / 1e9;
    }
}
// end::transfer[]

/// iperf3's receiver figure in Gbit/s for a 5 s run on a port the kernel just handed out, or 0 without iperf3.
double iperf3() throws Exception {
    int port;
    try (var probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        port = probe.getLocalPort();
    }
    Process server;
    try {
        server = new ProcessBuilder("iperf3", "-s", "-B", "127.0.0.1", "-p", "" + port)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    } catch (IOException notInstalled) {
        IO.println("  (iperf3 is not installed: no comparison; e.g. apt-get install iperf3)");
        return 0;
    }
    try {
        for (int attempt = 0; attempt < 20; attempt++) { // the server may not listen yet: then connect() is refused
            var client = new ProcessBuilder("iperf3", "-c", "127.0.0.1", "-p", "" + port, "-t", "5", "-f", "g")
                    .redirectErrorStream(true).start();
            String out = new String(client.getInputStream().readAllBytes());
            client.waitFor(30, TimeUnit.SECONDS);
            var receiver = Pattern.compile("([\\d.]+) Gbits/sec\\s+receiver").matcher(out);
            if (receiver.find()) {
                return Double.parseDouble(receiver.group(1));
            }
            Thread.sleep(100);
        }
        return 0;
    } finally {
        server.destroy();
    }
}
