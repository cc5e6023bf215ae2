///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//SOURCES ../bench/Lesson.java
//SOURCES ../bench/ProcNetTcp.java
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC

// Chapter 8, live: the side that closes first keeps TIME_WAIT for 60 s; what that blocks, and how to move it.
// (The JAVA_OPTIONS above: a script of two seconds starts sooner without the optimizing JIT and a parallel GC.)

final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
final List<Path> TABLES = Stream.of("/proc/net/tcp", "/proc/net/tcp6").map(Path::of).filter(Files::isReadable).toList();

void main() throws Exception {
    if (TABLES.isEmpty()) {
        IO.println("This lesson reads /proc/net/tcp, which only Linux has; the calls still run, the table is not shown.");
    }
    // Port 0 bound without SO_REUSEADDR is a port no socket holds, not even a TIME_WAIT row left by an earlier run
    // of this lesson, so every row shown here is this run's. The listener then takes it with Java's default
    // (SO_REUSEADDR on): the restart below needs it on the old socket too.
    int port;
    try (var probe = new ServerSocket()) {
        probe.setReuseAddress(false);
        probe.bind(new InetSocketAddress(LOOPBACK, 0));
        port = probe.getLocalPort();
    }
    var first = new ServerSocket(port, 50, LOOPBACK);
    Lesson.step("listen() on 127.0.0.1:" + port + " (Java turned SO_REUSEADDR on: " + first.getReuseAddress() + ")");

    Lesson.step("A client connects; the server answers nothing and closes first");
    // tag::server-closes-first[]
    var client = new Socket(LOOPBACK, port);
    var accepted = first.accept();
    accepted.close(); // the server hangs up first: it is the active closer
    IO.println("  client read() = " + client.getInputStream().read() + "   (-1: the server's FIN)");
    client.close();   // the client answers with its own FIN: the passive close
    // end::server-closes-first[]
    await("the server's side in TIME_WAIT", port, rows -> count(rows, e -> e.local().getPort() == port) == 1);
    timers(port); // the TIME_WAIT row has local port = the server's port: the server closed first

    Lesson.step("The server stops: its LISTEN row goes, its TIME_WAIT row stays (60 s, whatever the program does)");
    first.close();
    timers(port);

    Lesson.step("Restart on port " + port + ": without SO_REUSEADDR, then with it (Java's default)");
    // tag::restart[]
    try (var strict = new ServerSocket()) {
        strict.setReuseAddress(false);
        strict.bind(new InetSocketAddress(LOOPBACK, port));
        IO.println("  bind without SO_REUSEADDR: succeeded?!");
    } catch (BindException e) {
        IO.println("  bind without SO_REUSEADDR: " + e); // EADDRINUSE: the TIME_WAIT row still holds the port
    }
    var server = new ServerSocket(port, 1000, LOOPBACK); // SO_REUSEADDR on (Java's default): bind passes TIME_WAIT
    // end::restart[]
    // (backlog 1000: the 500 quick connects below never wait on a full accept queue, see Chapter 3)
    IO.println("  bind with SO_REUSEADDR: listening again on " + server.getLocalSocketAddress());
    timers(port);

    Lesson.step("Another client connects and, this time, closes first");
    // tag::client-closes-first[]
    client = new Socket(LOOPBACK, port);
    accepted = server.accept();
    client.close();   // now the client hangs up first: it is the active closer
    IO.println("  server read() = " + accepted.getInputStream().read() + "   (-1: the client's FIN)");
    accepted.close(); // the server answers with its own FIN: the passive close
    // end::client-closes-first[]
    var clientEnd = client.getLocalSocketAddress();
    var serverEnd = new InetSocketAddress(LOOPBACK, port);
    await("the client's side in TIME_WAIT", port, rows -> count(rows, e -> e.is(clientEnd, serverEnd)) == 1);
    timers(port); // the new TIME_WAIT row has remote port = the server's port: it belongs to the client

    Lesson.step("The anti-pattern: a client closes with SO_LINGER 0 to avoid TIME_WAIT");
    // tag::linger0[]
    client = new Socket(LOOPBACK, port);
    accepted = server.accept();
    client.setSoLinger(true, 0); // "no TIME_WAIT, please": close() now sends RST instead of FIN
    client.close();
    try {
        accepted.getInputStream().read();
    } catch (SocketException e) {
        IO.println("  server read() after the client's SO_LINGER 0 close: " + e);
    }
    accepted.close();
    // end::linger0[]
    timers(port); // no new row on either side: the connection was aborted (RST), not closed

    Lesson.step("500 short connections in a loop, each client closing first");
    // tag::loop[]
    Thread.ofVirtual().start(() -> {
        while (true) {
            try (var connection = server.accept()) {
                connection.getInputStream().readAllBytes(); // read to the client's EOF, then close: passive side
            } catch (IOException stopped) {
                return;
            }
        }
    });
    int n = 500;
    var clientPorts = new HashSet<Integer>();
    long t0 = System.nanoTime();
    for (int i = 0; i < n; i++) {
        try (var shortLived = new Socket(LOOPBACK, port)) {
            clientPorts.add(shortLived.getLocalPort());
            shortLived.getOutputStream().write('x'); // one tiny request, then the client hangs up first
        }
    }
    // end::loop[]
    double perSecond = n / ((System.nanoTime() - t0) / 1e9);
    // Wait for each client port of the loop to show a TIME_WAIT row. (Not "500 rows more": with tcp_tw_reuse a new
    // connection may take over the port of an older TIME_WAIT row, which then counts once for two connections.)
    var rows = await("a TIME_WAIT row for each of the " + clientPorts.size() + " client ports of the loop", port,
            r -> r.stream().filter(e -> e.state() == ProcNetTcp.State.TIME_WAIT && e.remote().getPort() == port)
                    .map(e -> e.local().getPort()).collect(Collectors.toSet()).containsAll(clientPorts));
    server.close();
    IO.println("  %.0f connections per second".formatted(perSecond));
    if (TABLES.isEmpty()) {
        IO.println("  (here the TCP table would show a TIME_WAIT row for each client port, and none on the server's)");
    } else {
        IO.println("  TIME_WAIT rows on the clients' side: %d, on the server's port: %d"
                .formatted(count(rows, e -> e.remote().getPort() == port), count(rows, e -> e.local().getPort() == port)));
        String[] range = Lesson.sysctl("ipv4/ip_local_port_range").split("-");
        int ports = Integer.parseInt(range[1]) - Integer.parseInt(range[0]) + 1;
        IO.println("  ip_local_port_range %s–%s = %,d ports, each held 60 s by a TIME_WAIT row: about %.0f new"
                .formatted(range[0], range[1], ports, ports / 60.0));
        IO.println("  connections per second to one server address and port; at this pace, gone in %.0f s"
                .formatted(ports / perSecond));

        Lesson.step("The knobs in /proc/sys/net/ipv4 (TIME_WAIT's own 60 s, TCP_TIMEWAIT_LEN, is compiled in: no knob)");
        for (var name : List.of("tcp_fin_timeout", "tcp_tw_reuse", "tcp_tw_reuse_delay", "tcp_max_tw_buckets",
                "tcp_rfc1337", "tcp_timestamps")) {
            IO.println("  %-20s %s".formatted(name, Lesson.sysctl("ipv4/" + name)));
        }
    }
}

/// Polls the table (3 s at most) until the rows of `port` satisfy `done`; off Linux there is nothing to wait on.
List<ProcNetTcp.Entry> await(String what, int port, Predicate<List<ProcNetTcp.Entry>> done) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
    var rows = lines(port).stream().map(ProcNetTcp::parse).toList();
    while (!TABLES.isEmpty() && !done.test(rows)) {
        if (System.nanoTime() > deadline) {
            // A short message: the cause must still be readable when only the last lines of the output are kept.
            throw new IllegalStateException("waited 3 s for %s; the table shows %d rows of port %d, %d in TIME_WAIT; the first ten:%n%s"
                    .formatted(what, rows.size(), port, count(rows, e -> true), ProcNetTcp.show(rows.stream().limit(10).toList())));
        }
        Thread.sleep(5); // the kernel does not announce state changes: poll its table
        rows = lines(port).stream().map(ProcNetTcp::parse).toList();
    }
    return rows;
}

long count(List<ProcNetTcp.Entry> rows, Predicate<ProcNetTcp.Entry> which) {
    return rows.stream().filter(e -> e.state() == ProcNetTcp.State.TIME_WAIT && which.test(e)).count();
}

/// The raw lines of /proc/net/tcp and tcp6 with `port` at either end (only these are decoded: there may be thousands).
List<String> lines(int port) throws IOException {
    var lines = new ArrayList<String>();
    var hex = ":%04X".formatted(port); // ADDRESS:PORT, the port in plain hex
    for (var file : TABLES) {
        for (var line : Files.readAllLines(file)) {
            if (line.contains(hex + " ")) { // cheap test first; then the exact one on the address columns
                String[] f = line.trim().split("\\s+"); // sl, local, remote, st, tx:rx, tr:tm->when, ...
                if (f[1].endsWith(hex) || f[2].endsWith(hex)) {
                    lines.add(line);
                }
            }
        }
    }
    return lines;
}

/// Prints the rows of `port`; for a TIME_WAIT row also the kernel's countdown, column tr:tm->when ("03:0000174A":
/// timer 3, TIME_WAIT, with 0x174A hundredths of a second left).
/// The rows of `port` with what the TCP table says of each TIME_WAIT row's timer (`tr:tm->when`: time left).
void timers(int port) throws IOException {
    if (TABLES.isEmpty()) {
        IO.println("  (here the TCP table would show port " + port + "'s rows and their timers: it needs /proc/net/tcp)");
        return;
    }
    for (var line : lines(port)) {
        String when = line.trim().split("\\s+")[5];
        var row = ProcNetTcp.parse(line);
        IO.println("  " + row + (row.state() == ProcNetTcp.State.TIME_WAIT
                ? "  tr:tm->when=%s: %.1f s left".formatted(when, Long.parseLong(when.substring(3), 16) / 100.0) : ""));
    }
}

/// A kernel setting. Read by lines: Files.readString gets only the first byte of a /proc/sys file.

