///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//SOURCES ../bench/ProcNetTcp.java

// Chapter 8, live: the side that closes first keeps TIME_WAIT for 60 s; what that blocks, and how to move it.

final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
final boolean linux = ProcNetTcp.available();

void main() throws Exception {
    if (!linux) {
        IO.println("This lesson reads /proc/net/tcp, which only Linux has; the calls still run, the table is not shown.");
    }
    var first = new ServerSocket(0, 50, LOOPBACK);
    int port = first.getLocalPort();
    step("listen() on 127.0.0.1:" + port + " (Java turned SO_REUSEADDR on: " + first.getReuseAddress() + ")");
    table(port);

    step("A client connects; the server answers nothing and closes first");
    // tag::server-closes-first[]
    var client = new Socket(LOOPBACK, port);
    var accepted = first.accept();
    accepted.close(); // the server hangs up first: it is the active closer
    IO.println("  client read() = " + client.getInputStream().read() + "   (-1: the server's FIN)");
    client.close();   // the client answers with its own FIN: the passive close
    // end::server-closes-first[]
    await("the server's side in TIME_WAIT", rows -> count(rows, e -> e.local().getPort() == port) == 1);
    table(port); // the TIME_WAIT row has local port = the server's port: the server closed first

    step("The server stops: its LISTEN row goes, its TIME_WAIT row stays (60 s, whatever the program does)");
    first.close();
    table(port);
    countdown(port);

    step("Restart on port " + port + ": without SO_REUSEADDR, then with it (Java's default)");

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
    table(port);

    step("Another client connects and, this time, closes first");

    // tag::client-closes-first[]
    client = new Socket(LOOPBACK, port);
    accepted = server.accept();
    client.close();   // now the client hangs up first: it is the active closer
    IO.println("  server read() = " + accepted.getInputStream().read() + "   (-1: the client's FIN)");
    accepted.close(); // the server answers with its own FIN: the passive close
    // end::client-closes-first[]
    var clientEnd = client.getLocalSocketAddress();
    var serverEnd = new InetSocketAddress(LOOPBACK, port);
    await("the client's side in TIME_WAIT", rows -> count(rows, e -> e.is(clientEnd, serverEnd)) == 1);
    table(port); // the new TIME_WAIT row has remote port = the server's port: it belongs to the client

    step("The anti-pattern: a client closes with SO_LINGER 0 to avoid TIME_WAIT");

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
    table(port); // no new row on either side: the connection was aborted (RST), not closed

    step("500 short connections in a loop, each client closing first");

    // tag::loop[]
    int n = 500;
    Thread.ofVirtual().start(() -> {
        while (true) {
            try (var connection = server.accept()) {
                connection.getInputStream().readAllBytes(); // read to the client's EOF, then close: passive side
            } catch (IOException stopped) {
                return;
            }
        }
    });
    long t0 = System.nanoTime();
    for (int i = 0; i < n; i++) {
        try (var shortLived = new Socket(LOOPBACK, port)) {
            shortLived.getOutputStream().write('x'); // one tiny request, then the client hangs up first
        }
    }
    // end::loop[]
    double ms = (System.nanoTime() - t0) / 1e6;
    var rows = await(n + " more client-side TIME_WAIT rows", r -> count(r, e -> e.remote().getPort() == port) >= n + 1);
    IO.println("  %d connections in %.0f ms: %.0f per second".formatted(n, ms, n / ms * 1000));
    if (linux) {
        IO.println("  TIME_WAIT rows with remote port %d (clients' side): %d; with local port %d (server's side): %d"
                .formatted(port, count(rows, e -> e.remote().getPort() == port), port,
                        count(rows, e -> e.local().getPort() == port)));
        String[] range = knob("ip_local_port_range").split("\\s+");
        int ports = Integer.parseInt(range[1]) - Integer.parseInt(range[0]) + 1;
        IO.println("  ip_local_port_range %s–%s: %,d ephemeral ports; each TIME_WAIT row holds one for 60 s, so one"
                .formatted(range[0], range[1], ports));
        IO.println("  client can open about %,d connections per 60 s to one server address and port: %.0f per second"
                .formatted(ports, ports / 60.0));
        IO.println("  (at the pace above, the ports would run out in %.1f s)".formatted(ports / (n / ms * 1000)));
    }
    server.close();

    step("The knobs (/proc/sys/net/ipv4)");
    if (linux) {
        for (var name : List.of("tcp_fin_timeout", "tcp_tw_reuse", "tcp_tw_reuse_delay", "tcp_max_tw_buckets",
                "tcp_rfc1337", "tcp_timestamps")) {
            IO.println("  %-20s %s".formatted(name, knob(name)));
        }
        IO.println("  TIME_WAIT itself has no knob: TCP_TIMEWAIT_LEN, 60 s, is compiled into the kernel.");
        IO.println("  TIME_WAIT rows on this machine now: "
                + ProcNetTcp.snapshot().stream().filter(e -> e.state() == ProcNetTcp.State.TIME_WAIT).count()
                + " (this lesson's will be gone in 60 s; nothing here waits for them)");
    }
}

/// Polls the table (bounded) until `done` holds; off Linux there is no table, so there is nothing to wait for.
List<ProcNetTcp.Entry> await(String what, Predicate<List<ProcNetTcp.Entry>> done) {
    return linux ? ProcNetTcp.await(what, done, Duration.ofSeconds(3)) : List.of();
}

long count(List<ProcNetTcp.Entry> rows, Predicate<ProcNetTcp.Entry> which) {
    return rows.stream().filter(e -> e.state() == ProcNetTcp.State.TIME_WAIT && which.test(e)).count();
}

/// A kernel setting from /proc/sys/net/ipv4 (read by lines: Files.readString stops after one byte of a /proc file).
String knob(String name) throws IOException {
    var file = Path.of("/proc/sys/net/ipv4", name);
    return Files.isReadable(file) ? Files.readAllLines(file).getFirst().trim() : "(absent)";
}

/// The kernel's own countdown for the TIME_WAIT rows on `port`: column "tr:tm->when" of the raw table rows.
void countdown(int port) throws IOException {
    for (var file : linux ? List.of("/proc/net/tcp", "/proc/net/tcp6") : List.<String>of()) {
        for (var line : Files.readAllLines(Path.of(file))) {
            String[] f = line.trim().split("\\s+"); // sl, local, remote, st, tx:rx, tr:tm->when, ...
            if (f[3].equals("06") && f[1].endsWith(":%04X".formatted(port))) {
                long ticks = Long.parseLong(f[5].substring(3), 16); // timer 03 (TIME_WAIT), then 1/100 s left
                IO.println("  %s  %s %s  st=06  tr:tm->when=%s: %.1f s left"
                        .formatted(file, f[1], f[2], f[5], ticks / 100.0));
            }
        }
    }
}

/// Every row of the TCP table whose local or remote port is `port`.
void table(int port) {
    if (linux) {
        IO.println(ProcNetTcp.show(ProcNetTcp.snapshot().stream()
                .filter(e -> e.local().getPort() == port || e.remote().getPort() == port).toList()));
    }
}

int steps = 0;

void step(String what) {
    IO.println("\n" + (++steps) + ". " + what);
}
