///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//SOURCES ../bench/Lesson.java
//SOURCES ../bench/ProcNetTcp.java

// Chapter 5, live: the active open. connect() sends a SYN; what comes back — a SYN-ACK, an RST or nothing — decides.

// tag::dial[]
sealed interface Dial permits Connected, Refused, TimedOut, Failed {}
record Connected(Socket socket, long ms) implements Dial {}
record Refused(long ms) implements Dial {}                        // ECONNREFUSED: an RST answered the SYN
record TimedOut(long ms) implements Dial {}                       // nothing answered within our bound
record Failed(IOException error, long ms) implements Dial {}      // EHOSTUNREACH, ENETUNREACH, no IPv6, ...

Dial dial(InetSocketAddress to, Duration timeout) {
    var socket = new Socket();
    long start = System.nanoTime();
    try {
        socket.connect(to, (int) timeout.toMillis());             // connect(fd, to) + poll(fd, timeout)
        return new Connected(socket, msSince(start));
    } catch (SocketTimeoutException e) {
        return new TimedOut(msSince(start));
    } catch (ConnectException e) {
        return new Refused(msSince(start));
    } catch (IOException e) {
        return new Failed(e, msSince(start));
    }                                                             // (Java closes the socket when connect fails)
}
// end::dial[]

void main() throws Exception {
    boolean linux = ProcNetTcp.available();
    if (!linux) {
        IO.println("This lesson reads /proc/net/tcp, which only Linux has; the connects below still run.");
    }
    var loopback = InetAddress.ofLiteral("127.0.0.1");

    Lesson.step("getaddrinfo(\"localhost\")  ↔  InetAddress.getAllByName(\"localhost\"): one name, how many addresses?");
    IO.println("  localhost -> " + Arrays.toString(InetAddress.getAllByName("localhost"))
            + "   (a name may have several: ::1 and 127.0.0.1 where /etc/hosts lists both)");

    try (var listener = new ServerSocket(0, 1, loopback)) {
        var server = new InetSocketAddress(loopback, listener.getLocalPort());
        int port = server.getPort();
        Lesson.step("listen() on " + server + " with backlog 1 (Linux queues backlog + 1 = 2); nobody calls accept()");

        Lesson.step("connect() to it: SYN →, ← SYN-ACK, ACK →; the kernel picks the source port");
        var first = (Connected) dial(server, Duration.ofSeconds(1));
        IO.println("  connected in %d ms from %s: a port the kernel chose from ip_local_port_range (%s)".formatted(
                first.ms(), first.socket().getLocalSocketAddress(), linux ? Files.readAllLines(
                        Path.of("/proc/sys/net/ipv4/ip_local_port_range")).getFirst().replace('\t', '-') : "?"));
        Lesson.table(port);

        Lesson.step("bind() before connect(), and the source port is yours: the second connection fills the queue");
        int chosen = freePort(loopback);
        var second = new Socket();
        second.bind(new InetSocketAddress(loopback, chosen));
        second.connect(server, 1_000);
        IO.println("  bound to port %d, connected from %s".formatted(chosen, second.getLocalSocketAddress()));
        Lesson.table(port);

        // tag::outcomes[]
        Lesson.step("connect() to a port nothing holds, then to our listener with its queue full (timeout 200 ms)");
        var closed = new InetSocketAddress(loopback, freePort(loopback));
        for (var to : List.of(closed, server)) {
            IO.println("  connect(" + to + ") " + describe(dial(to, Duration.ofMillis(200))));
        }
        // end::outcomes[]

        Lesson.step("A non-blocking connect(): it returns at once, the socket waits in SYN_SENT");
        // tag::nonblocking[]
        var waiting = SocketChannel.open();
        waiting.configureBlocking(false);
        long start = System.nanoTime();
        boolean done = waiting.connect(server);                   // sends the SYN; EINPROGRESS → false
        var selector = Selector.open();
        waiting.register(selector, SelectionKey.OP_CONNECT);      // poll(fd, POLLOUT)
        IO.println("  connect() returned " + done + " after " + msSince(start) + " ms");
        if (linux) {
            Lesson.table(port);
            long synRecv = ProcNetTcp.onPort(port).stream().filter(e -> e.state() == ProcNetTcp.State.SYN_RECV).count();
            IO.println("  SYN_RECV rows on the server's side: %d (the queue is full: Linux dropped the SYN)".formatted(synRecv));
        }
        int ready = selector.select(200);                        // no SYN-ACK: the queue is still full
        IO.println("  select(OP_CONNECT, 200 ms) -> %d ready: still waiting".formatted(ready));

        var accepted = listener.accept();                         // frees a place in the accept queue
        ready = selector.select(3_000);                           // the kernel retransmits the SYN 1 s after the first
        IO.println("  accept() made room; select -> %d ready at %d ms, finishConnect() -> %s"
                .formatted(ready, msSince(start), waiting.finishConnect()));
        // end::nonblocking[]
        Lesson.table(port);

        Lesson.step("Connect timeout vs read timeout: connected in an instant, yet a read can still time out");
        first.socket().setSoTimeout(100);                         // SO_TIMEOUT bounds read(), not connect()
        try {
            IO.println("  read() -> " + first.socket().getInputStream().read());
        } catch (SocketTimeoutException e) {
            IO.println("  read(): " + e + " — the server accepted but sent nothing; the connection is fine");
        }
        if (linux) IO.println("  its row: " + ProcNetTcp.entryOf(first.socket().getLocalSocketAddress(), server).orElseThrow());
        for (var s : List.of(first.socket(), second, accepted, waiting, selector)) s.close();
    }

    try (var v4only = new ServerSocket(0, 50, loopback)) {        // listens on 127.0.0.1, not on ::1
        int port = v4only.getLocalPort();
        Lesson.step("One name, several addresses: try ::1, then 127.0.0.1, one after the other (the sequential fallback; "
                + "Happy Eyeballs, RFC 8305, would race them)");
        // tag::several[]
        for (var address : List.of(InetAddress.ofLiteral("::1"), loopback)) {
            var to = new InetSocketAddress(address, port);
            var result = dial(to, Duration.ofMillis(200));
            IO.println("  connect(" + to + ") " + describe(result));
            if (result instanceof Connected c) {
                c.socket().close();
                break;                                            // the first that completes the handshake wins
            }
        }
        // end::several[]
    }
}

String describe(Dial dial) {
    return switch (dial) {
        case Connected c -> "connected in " + c.ms() + " ms, from " + c.socket().getLocalSocketAddress();
        case Refused r -> "refused after " + r.ms() + " ms: an RST answered the SYN (ECONNREFUSED)";
        case TimedOut t -> "timed out after " + t.ms() + " ms: the SYN was dropped, nothing answered";
        case Failed f -> "failed after " + f.ms() + " ms: " + f.error();
    };
}

/// Rows of the TCP table on either end of `port`: the listener, the connections it queued, and their clients.

int freePort(InetAddress address) throws IOException {
    try (var probe = new ServerSocket(0, 1, address)) {
        return probe.getLocalPort();                              // closed at once: nothing holds it now
    }
}

long msSince(long start) {
    return (System.nanoTime() - start) / 1_000_000;
}
