///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//SOURCES ../bench/ProcNetTcp.java
//SOURCES ../bench/Wire.java

// Chapter 5 on the wire: the three-way handshake segment by segment, then a connect() whose every SYN is lost —
// once bounded by Java's connect timeout, once by the kernel's own retries. Runs in a private network namespace
// (./jbang connect-wire), about 10 s.

void main() throws Exception {
    // The namespace's own sysctls: 1 retransmission at the initial RTO, then 2 doubling ones (the defaults, 4 and 6,
    // take about 135 s to give up; nothing outside the namespace changes).
    try (var wire = Wire.open(Map.of("net.ipv4.tcp_syn_linear_timeouts", "1", "net.ipv4.tcp_syn_retries", "2"))) {
        IO.println(wire.why());
        var loopback = InetAddress.ofLiteral("127.0.0.1");

        try (var listener = new ServerSocket(0, 50, loopback)) {
            var server = new InetSocketAddress(loopback, listener.getLocalPort());
            step("The three-way handshake: SYN →, ← SYN-ACK, ACK →; then 5 bytes of data");
            var ladder = wire.ladder(server.getPort());
            ladder.server("listen()").states();
            ladder.client("connect()");
            var client = new Socket();
            client.connect(server, 2_000);
            ladder.client("connect() returned").states();
            var accepted = listener.accept();             // the handshake was over before accept() was called
            ladder.server("accept() returned");
            ladder.client("write(\"hello\")");
            client.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
            byte[] got = accepted.getInputStream().readNBytes(5);
            ladder.server("read() -> " + got.length + " bytes");
            ladder.print();
            if (wire.live()) IO.println("""
                      Each side chose its own ISN (initial sequence number) and the numbers above count from it, as
                      tcpdump does. The SYN used up sequence number 0, so the first data byte is number 1 and the
                      ACK of the SYN says "ack 1": next I expect byte 1.""");
            client.close();
            accepted.close();
        }

        if (!wire.canDrop()) {
            IO.println("\n(The steps that drop every SYN need the wire and nft; see the line at the top.)");
            return;
        }
        try (var listener = new ServerSocket(0, 50, loopback)) {
            var server = new InetSocketAddress(loopback, listener.getLocalPort());
            try (var lost = wire.dropSyns(server.getPort()).orElseThrow()) {
                step("Every SYN to :" + server.getPort() + " is dropped. connect() with Java's timeout, 1500 ms");
                var ladder = wire.ladder(server.getPort());
                ladder.note("nft drops " + lost.what());
                ladder.client("connect(timeout 1500 ms)");
                try (var client = new Socket()) {
                    client.connect(server, 1_500);        // connect(fd) + poll(fd, 1500 ms): Java gives up, not TCP
                } catch (IOException e) {
                    ladder.client("threw " + e);
                }
                ladder.print();

                step("The same with no timeout: the kernel retransmits the SYN, then gives up itself (ETIMEDOUT)");
                ladder = wire.ladder(server.getPort());
                ladder.note("nft drops " + lost.what());
                ladder.client("connect()");
                try (var client = new Socket()) {
                    client.connect(server);               // blocking connect(): returns when TCP decides
                } catch (IOException e) {
                    ladder.client("threw " + e);
                }
                ladder.print();
                IO.println("""
                          The SYN went out again after 1 s (tcp_syn_linear_timeouts = 1: at the initial RTO), then
                          after 1 s and 2 s (doubling: tcp_syn_retries = 2), and after 4 s more the kernel gave up
                          with ETIMEDOUT, which Java reports as ConnectException. With the defaults (4 and 6) that
                          takes about 135 s; a connect timeout of your own ends the wait when you choose.""");
            }
        }
    }
}

int steps = 0;

void step(String what) {
    IO.println("\n" + (++steps) + ". " + what);
}
