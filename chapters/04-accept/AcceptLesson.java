///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC
//SOURCES ../bench/Lesson.java
//SOURCES ../bench/ProcNetTcp.java
//SOURCES ../bench/Descriptors.java

// Chapter 4, live: accept() returns a new connected socket each time; the listening socket keeps listening.
// (The JVM options above only make this short run start faster: one quick compiler, one GC thread.)

import static java.nio.charset.StandardCharsets.UTF_8;

final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
final boolean linux = ProcNetTcp.available() && Descriptors.available();

void main() throws Exception {
    if (!linux) {
        IO.println("This lesson reads /proc/self/fd and /proc/net/tcp, which only Linux has; the calls below still run.");
    }
    var listener = new ServerSocket(0, 50, LOOPBACK);       // socket() + bind() + listen()
    int port = listener.getLocalPort();
    var clients = List.of(new Socket(LOOPBACK, port), new Socket(LOOPBACK, port), new Socket(LOOPBACK, port));
    Lesson.step("listen() on port " + port + ", three clients connect, nobody calls accept() yet");
    // The handshakes are done: three connections wait in the accept queue, with no descriptor (inode 0) yet.
    IO.println(linux ? ProcNetTcp.show(ProcNetTcp.onPort(port)) : "");

    Lesson.step("accept() three times  ↔  connfd = accept(listenfd, &addr, &len)");
    // tag::accept[]
    var accepted = new ArrayList<Socket>();
    for (int i = 0; i < 3; i++) {
        accepted.add(listener.accept());   // a new socket each time; the listener stays as it was
    }
    // end::accept[]
    if (linux) {
        long inode = ProcNetTcp.listenerOf(listener).orElseThrow().inode();
        IO.println("  listener  fd %2d -> socket:[%d]  127.0.0.1:%d".formatted(Descriptors.fdOf(inode), inode, port));
        for (var s : accepted) {
            long conn = ProcNetTcp.entryOf(s.getLocalSocketAddress(), s.getRemoteSocketAddress()).orElseThrow().inode();
            IO.println("  accepted  fd %2d -> socket:[%d]  %s -> %s".formatted(Descriptors.fdOf(conn), conn,
                    s.getLocalSocketAddress(), s.getRemoteSocketAddress()));
        }
        IO.println(ProcNetTcp.show(ProcNetTcp.onPort(port)));
    }

    Lesson.step("close the listener: new clients are refused, the accepted connections live on");
    // tag::close-listener[]
    listener.close();
    try {
        new Socket(LOOPBACK, port).close();
    } catch (ConnectException e) {
        IO.println("  a late client: " + e.getMessage() + "   (ECONNREFUSED: nothing listens on " + port + " any more)");
    }
    clients.get(0).getOutputStream().write("still here".getBytes(UTF_8));
    IO.println("  accepted socket 0 reads: " + new String(accepted.get(0).getInputStream().readNBytes(10), UTF_8));
    // end::close-listener[]
    IO.println(linux ? "  the server's rows on port %d by state: %s".formatted(port, census(port)) : "");
    for (var s : accepted) { s.close(); }
    for (var s : clients) { s.close(); }

    Lesson.step("accept() with SO_TIMEOUT 200 ms and nobody coming  ↔  poll(listenfd, POLLIN, 200), or SO_RCVTIMEO");
    // tag::timeout[]
    long waited = System.nanoTime();
    try (var quiet = new ServerSocket(0, 50, LOOPBACK)) {
        quiet.setSoTimeout(200);
        quiet.accept();
    } catch (SocketTimeoutException e) {
        IO.println("  %s after %d ms".formatted(e.getMessage(), (System.nanoTime() - waited) / 1_000_000));
    }
    // end::timeout[]

    Lesson.step("an iterative server (accept, serve until the client leaves, accept again) and one idle client");
    try (var iterative = new ServerSocket(0, 50, LOOPBACK)) {
        // tag::iterative[]
        Thread.ofPlatform().daemon().start(() -> {
            while (!iterative.isClosed()) {
                try (var s = iterative.accept()) {
                    s.getInputStream().transferTo(s.getOutputStream()); // serves this one client until it closes
                } catch (IOException e) {
                    // a reset client, or the listener closed: next round (or the end)
                }
            }
        });
        // end::iterative[]
        try (var idle = new Socket(LOOPBACK, iterative.getLocalPort());
             var second = new Socket(LOOPBACK, iterative.getLocalPort())) {
            IO.println("  idle client:   " + echo(idle, "hello", 300) + ", then it says nothing more");
            IO.println("  second client: " + echo(second, "me too?", 300) + "   (connected, but left in the accept queue)");
            IO.println(linux ? ProcNetTcp.show(ProcNetTcp.listenerOf(iterative).stream().toList()) : "");
        }
    }

    Lesson.step("a concurrent server: one virtual thread per connection; one idle client, then 300 busy ones");
    // tag::concurrent[]
    var server = new ServerSocket(0, 512, LOOPBACK);
    Set<Socket> open = ConcurrentHashMap.newKeySet();
    Thread.ofPlatform().name("accept-loop").start(() -> {
        while (!server.isClosed()) {
            try {
                var s = server.accept();   // the loop only accepts: it is back in accept() within microseconds
                open.add(s);
                Thread.ofVirtual().name("conn-", s.getPort()).start(() -> {
                    try (s) {
                        s.getInputStream().transferTo(s.getOutputStream());
                    } catch (IOException e) {
                        // this connection failed; the others and the loop carry on
                    }
                    open.remove(s);
                });
            } catch (IOException e) {
                // the listener was closed and the loop ends (the text says what else can fail here)
            }
        }
    });
    // end::concurrent[]
    int sport = server.getLocalPort();
    var idle = new Socket(LOOPBACK, sport);
    IO.println("  idle client: " + echo(idle, "hello", 1000) + ", then it says nothing more");
    long t0 = System.nanoTime();
    var outcomes = new ConcurrentSkipListMap<String, Integer>();
    try (var each = Executors.newVirtualThreadPerTaskExecutor()) {
        for (int i = 0; i < 300; i++) {
            String message = "client " + i;
            each.submit(() -> {
                try (var c = new Socket(LOOPBACK, sport)) {
                    outcomes.merge(switch (echo(c, message, 2000)) {
                        case Echoed(var reply) when reply.equals(message) -> "echoed";
                        case Echoed garbled -> "garbled";
                        case TimedOut t -> "timed out";
                        case Closed closed -> "closed";
                    }, 1, Integer::sum);
                } catch (IOException e) {
                    outcomes.merge(e.toString(), 1, Integer::sum);
                }
            });
        }
    }
    IO.println("  300 clients in %d ms: %s".formatted((System.nanoTime() - t0) / 1_000_000, outcomes));

    Lesson.step("stop: close the listener, then every connection still open");
    // tag::stop[]
    server.close();                 // no new connections; the accept loop wakes up with SocketException and ends
    for (var s : open) {
        s.close();                  // the idle client's connection: it would outlive the listener otherwise
    }
    // end::stop[]
    idle.setSoTimeout(1000);
    IO.println("  the idle client reads " + idle.getInputStream().read() + " (EOF: the server's FIN)");
    if (linux) { // the server closed first: its end waits in FIN_WAIT2 for the client's FIN, never in CLOSE_WAIT
        ProcNetTcp.awaitState(new InetSocketAddress(LOOPBACK, sport), idle.getLocalSocketAddress(),
                ProcNetTcp.State.FIN_WAIT2, Duration.ofSeconds(1));
        IO.println("  the server's rows on port %d by state: %s".formatted(sport, census(sport)));
    }
    idle.close();
}

/// How one exchange ended: the echo came back, nothing came within the bound, or the server closed.
sealed interface Outcome permits Echoed, TimedOut, Closed {}
record Echoed(String reply) implements Outcome {}
record TimedOut(long ms) implements Outcome {}
record Closed() implements Outcome {}

Outcome echo(Socket client, String message, int boundMs) throws IOException {
    byte[] sent = message.getBytes(UTF_8);
    client.setSoTimeout(boundMs);
    client.getOutputStream().write(sent);
    try {
        byte[] back = client.getInputStream().readNBytes(sent.length);
        return back.length < sent.length ? new Closed() : new Echoed(new String(back, UTF_8));
    } catch (SocketTimeoutException e) {
        return new TimedOut(boundMs);
    }
}

Map<ProcNetTcp.State, Long> census(int port) {
    return ProcNetTcp.onPort(port).stream().collect(Collectors.groupingBy(e -> e.state(), TreeMap::new, Collectors.counting()));
}
