///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//SOURCES ../bench/Lesson.java
//SOURCES ../bench/ProcNetTcp.java
//SOURCES ../bench/Descriptors.java

// Chapter 7, live: FIN, RST and the half-close, watched from both ends of each connection in the TCP table.

/// Both ends of one loopback connection: the client's socket and the one the server accepted.
record Pair(Socket client, Socket server, SocketAddress clientEnd, SocketAddress serverEnd) {}

ServerSocket listener;
boolean linux = ProcNetTcp.available() && Descriptors.available();

void main() throws Exception {
    if (!linux) {
        IO.println("This lesson reads /proc/net/tcp and /proc/self/fd, which only Linux has: the calls run, the states stay hidden.");
    }
    listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());

    Lesson.step("Orderly close: the client calls close() first, so it is the active closer");
    // tag::orderly[]
    var orderly = pair();
    orderly.client().close();                                 // close(fd): FIN
    show(orderly, "FIN_WAIT2", "CLOSE_WAIT");                 // client inode=0: an orphan; server rx=1: the FIN, unread
    IO.println("  server read() = " + orderly.server().getInputStream().read() + "   (the peer's FIN: end of stream)");
    orderly.server().close();                                 // its own FIN: LAST_ACK until the client's ACK
    show(orderly, "TIME_WAIT", null);                         // on loopback LAST_ACK lasts one round trip
    // end::orderly[]

    Lesson.step("Half-close: the client sends a request, then shutdownOutput(): done sending, still reading");
    // tag::half-close[]
    var half = pair();
    half.client().getOutputStream().write("reverse me".getBytes());
    half.client().shutdownOutput();                           // shutdown(fd, SHUT_WR): FIN after the data
    show(half, "FIN_WAIT2", "CLOSE_WAIT");
    int asked = half.server().getInputStream().readAllBytes().length;
    IO.println("  server read %d bytes, then -1; it answers anyway: 100,000 bytes, then close()".formatted(asked));
    half.server().getOutputStream().write(new byte[100_000]);
    half.server().close();
    show(half, "TIME_WAIT", null);                            // before the client has read a byte of the reply
    IO.println("  client read() to -1: " + half.client().getInputStream().readAllBytes().length + " bytes");
    IO.println("  client write() after shutdownOutput(): " + attempt(() -> write(half.client())));
    half.client().close();
    // end::half-close[]

    Lesson.step("Abortive close: SO_LINGER 0, then close(): RST instead of FIN");
    // tag::abort[]
    var abortive = pair();
    abortive.client().setSoLinger(true, 0);
    abortive.client().close();
    IO.println("  server read(): " + attempt(abortive.server().getInputStream()::read));
    show(abortive, null, null);                               // no TIME_WAIT on either side: no row at all
    // end::abort[]
    abortive.server().close();

    Lesson.step("Closing with 1000 bytes unread: RST instead of FIN, unless java.net.Socket sends a FIN first");
    // tag::unread[]
    var channel = SocketChannel.open(listener.getLocalSocketAddress());
    var reset = new Pair(channel.socket(), listener.accept(), channel.getLocalAddress(), channel.getRemoteAddress());
    reset.server().getOutputStream().write(new byte[1000]);   // the client will never read these
    show(reset, rows -> rows.stream().anyMatch(e -> e.is(reset.clientEnd(), reset.serverEnd()) && e.rxQueue() == 1000));
    channel.close();                                          // close(fd), as in C: RST at once
    IO.println("  SocketChannel.close(): server read() " + attempt(reset.server().getInputStream()::read));
    var unread = pair();
    unread.server().getOutputStream().write(new byte[1000]);
    unread.client().close();                                  // the JDK: shutdown(SHUT_WR), then close(fd)
    IO.println("  Socket.close():        server read() " + attempt(unread.server().getInputStream()::read)
            + ", then write() " + attempt(() -> write(unread.server())));  // the FIN came first, then the RST
    // end::unread[]
    reset.server().close();
    unread.server().close();

    Lesson.step("Writing to a peer that is gone: the server closed; the client writes 1 KiB, five times");
    // tag::gone[]
    var gone = pair();
    gone.server().close();
    show(gone, "CLOSE_WAIT", "FIN_WAIT2");
    var outcomes = new LinkedHashMap<String, Integer>();
    for (int i = 0; i < 5; i++) {
        outcomes.merge(attempt(() -> write(gone.client())), 1, Integer::sum); // the first one is answered by RST
    }
    outcomes.forEach((outcome, times) -> IO.println("  %d x %s".formatted(times, outcome)));
    IO.println("  client read(): " + attempt(gone.client().getInputStream()::read));
    gone.client().close();
    // end::gone[]

    Lesson.step("A server that forgets to close: five clients come and go, and CLOSE_WAIT piles up");
    // tag::leak[]
    int sockets = linux ? Descriptors.socketInodes().size() : 0;
    var forgotten = new ArrayList<Socket>();
    for (int i = 0; i < 5; i++) {
        var client = new Socket(listener.getInetAddress(), listener.getLocalPort());
        var connection = listener.accept();
        forgotten.add(connection);
        Thread.ofVirtual().start(() -> attempt(() -> connection.getInputStream().readAllBytes())); // to -1; no close()
        client.close();                                       // the client leaves: FIN
    }
    showPort("CLOSE_WAIT", 5);
    if (linux) {
        IO.println("  socket descriptors: %d more than before".formatted(Descriptors.socketInodes().size() - sockets));
    }
    for (var connection : forgotten) {
        connection.close();                                   // the fix: close on every path
    }
    showPort("CLOSE_WAIT", 0);
    if (linux) {
        IO.println("  (each went LAST_ACK -> CLOSED; their clients, the active closers, are in TIME_WAIT on their own ports)");
    }
    // end::leak[]
    listener.close();
}

/// A fresh connection: the client connects, the server takes it off the accept queue.
Pair pair() throws IOException {
    var client = new Socket(listener.getInetAddress(), listener.getLocalPort());
    return new Pair(client, listener.accept(), client.getLocalSocketAddress(), client.getRemoteSocketAddress());
}

/// Waits until the client's and the server's end are in these states (null: no row), then prints both.
void show(Pair p, String client, String server) {
    show(p, rows -> in(rows, p.clientEnd(), p.serverEnd(), client) && in(rows, p.serverEnd(), p.clientEnd(), server));
}

void show(Pair p, Predicate<List<ProcNetTcp.Entry>> expected) {
    if (linux) {
        var rows = awaitQuietly(expected);
        IO.println("  client  " + row(rows, p.clientEnd(), p.serverEnd()));
        IO.println("  server  " + row(rows, p.serverEnd(), p.clientEnd()));
    }
}

String row(List<ProcNetTcp.Entry> rows, SocketAddress local, SocketAddress remote) {
    return rows.stream().filter(e -> e.is(local, remote)).findFirst().map(Object::toString)
            .orElse("(no row: the kernel has forgotten this end)");
}

boolean in(List<ProcNetTcp.Entry> rows, SocketAddress local, SocketAddress remote, String state) {
    var states = rows.stream().filter(e -> e.is(local, remote)).map(e -> e.state().name()).toList();
    return state == null ? states.isEmpty() : states.contains(state);
}

/// Waits until `count` rows on the listener's port are in `state`, then prints the port's rows.
void showPort(String state, int count) {
    if (linux) {
        int port = listener.getLocalPort();
        var rows = awaitQuietly(r -> r.stream()
                .filter(e -> e.local().getPort() == port && e.state().name().equals(state)).count() == count);
        IO.println(ProcNetTcp.show(rows.stream().filter(e -> e.local().getPort() == port).toList()));
    } else {
        IO.println("  (here the TCP table would show %d rows in %s on the server's port: it needs /proc/net/tcp)"
                .formatted(count, state));
    }
}

/// Waits on the TCP table (2 s at most); if the kernel never shows what was expected, goes on with what it shows.
List<ProcNetTcp.Entry> awaitQuietly(Predicate<List<ProcNetTcp.Entry>> expected) {
    try {
        return ProcNetTcp.await("the states this step expects", expected, Duration.ofSeconds(2));
    } catch (AssertionError notThisTime) {
        IO.println("  (not what this step expects, after 2 s; the table as it is:)");
        return ProcNetTcp.snapshot();
    }
}

/// Writes 1 KiB.
String write(Socket socket) throws IOException {
    socket.getOutputStream().write(new byte[1024]);
    return "1 KiB written";
}

/// What a read or write did: its result, or the exception it threw.
String attempt(Callable<Object> call) {
    try {
        return String.valueOf(call.call());
    } catch (Exception e) {
        return e.toString();
    }
}
