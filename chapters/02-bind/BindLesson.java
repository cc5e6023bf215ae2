///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC
//SOURCES ../bench/Lesson.java
//SOURCES ../bench/ProcNetTcp.java

// Chapter 2, live: bind() gives a socket its name — an address and a port — and the kernel decides who may share it.
// (The JVM options above only make this short run start faster: one quick compiler, one GC thread.)

import static java.net.StandardProtocolFamily.INET;
import static java.net.StandardProtocolFamily.INET6;
import static java.net.StandardSocketOptions.SO_REUSEADDR;
import static java.net.StandardSocketOptions.SO_REUSEPORT;

final InetAddress loopback = InetAddress.getLoopbackAddress();
final boolean linux = ProcNetTcp.available();

void main() throws Exception {
    if (!linux) {
        IO.println("This lesson reads /proc/net/tcp and /proc/sys, which only Linux has; the calls below still run.");
    }
    Lesson.step("bind(127.0.0.1, port 0), then listen()  ↔  ServerSocketChannel.open(INET).bind(address)");
    // tag::port-zero[]
    var listener = ServerSocketChannel.open(INET);      // socket(AF_INET, SOCK_STREAM, 0)
    listener.bind(new InetSocketAddress(loopback, 0));   // bind(127.0.0.1, port 0) and listen(): one call in Java
    int port = portOf(listener);
    // end::port-zero[]
    IO.println("  port 0 means \"any free port\": the kernel chose " + port + ", from ip_local_port_range "
            + Lesson.sysctl("ipv4/ip_local_port_range"));
    Lesson.table(port);

    Lesson.step("A second bind() to 127.0.0.1:" + port + " while the first socket listens there");
    // tag::eaddrinuse[]
    try (var second = ServerSocketChannel.open(INET)) {
        second.bind(new InetSocketAddress(loopback, port));
    } catch (BindException e) {
        IO.println("  BindException: " + e.getMessage() + "   (errno EADDRINUSE, 98)");
    }
    // end::eaddrinuse[]

    Lesson.step("bind() without listen()  ↔  SocketChannel.bind: the port is held, nobody is served");
    // tag::bind-only[]
    try (var boundOnly = SocketChannel.open(INET)) {
        boundOnly.bind(new InetSocketAddress(loopback, 0)); // bind(2), and no listen(2)
        IO.println("  bound to " + boundOnly.getLocalAddress() + "; a client dialling it: " + dial(loopback, portOf(boundOnly)));
        Lesson.table(portOf(boundOnly)); // only bound: in no TCP state the table lists
    }
    // end::bind-only[]

    Lesson.step("Loopback vs wildcard: listeners on 127.0.0.1, 0.0.0.0 (AF_INET) and :: (AF_INET6), each dialled three ways");
    // tag::wildcard[]
    var anyV4 = ServerSocketChannel.open(INET).bind(new InetSocketAddress(InetAddress.getByName("0.0.0.0"), 0));
    var anyV6 = ServerSocketChannel.open(INET6).bind(new InetSocketAddress(InetAddress.getByName("::"), 0));
    for (var server : List.of(listener, anyV4, anyV6)) {
        IO.println("  listening on " + server.getLocalAddress());
        for (var to : List.of("127.0.0.1", "127.0.0.2", "::1")) {
            IO.println("      client -> %-10s %s".formatted(to, dial(InetAddress.getByName(to), portOf(server))));
        }
    }
    // end::wildcard[]
    if (linux) { // one snapshot; each row says which file it is in (tcp6 shows IPv4 peers as ::ffff:127.0.0.1)
        var rows = ProcNetTcp.snapshot();
        for (var server : List.of(listener, anyV4, anyV6)) {
            rows.stream().filter(e -> e.local().getPort() == portOf(server))
                    .forEach(e -> IO.println("  %-64s in %s".formatted(e, e.ipv6Table() ? "tcp6" : "tcp")));
        }
    }

    Lesson.step("SO_REUSEADDR as Java sets it on a new socket (Linux)");
    try (var ss = new ServerSocket(); var ssc = ServerSocketChannel.open(); var s = new Socket(); var sc = SocketChannel.open()) {
        IO.println("  ServerSocket %s, ServerSocketChannel %s (the JDK turns it on for listeners); Socket %s, SocketChannel %s"
                .formatted(ss.getReuseAddress(), ssc.getOption(SO_REUSEADDR), s.getReuseAddress(), sc.getOption(SO_REUSEADDR)));
    }

    Lesson.step("Who may bind a port in use? What is already there (its state, its options) against the new listener's options");
    // tag::time-wait[]
    int restartPort = timeWaitOnServerPort(Set.of(SO_REUSEADDR)); // the old server: Java's default, SO_REUSEADDR only
    Lesson.table(restartPort); // one TIME_WAIT row, and no listener any more
    IO.println("  a new listener on port %d with SO_REUSEADDR: %s; with SO_REUSEPORT only: %s".formatted(restartPort,
            bindBeside(restartPort, Set.of(SO_REUSEADDR)), bindBeside(restartPort, Set.of(SO_REUSEPORT))));
    // end::time-wait[]
    // tag::reuse-table[]
    var tries = List.of(Set.<SocketOption<Boolean>>of(), Set.of(SO_REUSEADDR), Set.of(SO_REUSEPORT));
    IO.println("  %-36s%-14s%-14s%s".formatted("socket already on the port", "new: neither", "SO_REUSEADDR", "SO_REUSEPORT"));
    for (var existing : List.of(new Existing(Held.LISTEN, Set.of(SO_REUSEADDR)), new Existing(Held.LISTEN, Set.of(SO_REUSEPORT)),
            new Existing(Held.BOUND_ONLY, Set.of(SO_REUSEADDR)), new Existing(Held.TIME_WAIT, Set.of()),
            new Existing(Held.TIME_WAIT, Set.of(SO_REUSEADDR)), new Existing(Held.TIME_WAIT, Set.of(SO_REUSEPORT)))) {
        var open = new ArrayList<NetworkChannel>();          // a live listener or a bound socket stays while we try
        int taken = occupy(existing, open);
        var outcomes = tries.stream().map(options -> bindBeside(taken, options)).toList();
        IO.println("  %-36s%-14s%-14s%s".formatted(existing, outcomes.get(0), outcomes.get(1), outcomes.get(2)));
        for (var socket : open) {
            socket.close();
        }
    }
    // end::reuse-table[]
    IO.println("  No conflict when both have SO_REUSEADDR and the old socket does not listen, or both have SO_REUSEPORT.");

    Lesson.step("SO_REUSEPORT: two live listeners on one port; 10 clients connect, nobody accepts");
    // tag::reuseport[]
    var one = ServerSocketChannel.open(INET).setOption(SO_REUSEPORT, true).bind(new InetSocketAddress(loopback, 0));
    var two = ServerSocketChannel.open(INET).setOption(SO_REUSEPORT, true).bind(one.getLocalAddress());
    // end::reuseport[]
    int shared = portOf(one);
    for (int i = 0; i < 10; i++) {
        dial(loopback, shared);
    }
    Predicate<ProcNetTcp.Entry> listens = e -> e.local().getPort() == shared && e.state() == ProcNetTcp.State.LISTEN;
    Predicate<ProcNetTcp.Entry> clients = e -> e.remote().getPort() == shared && e.local().getPort() != shared;
    if (linux) { // each LISTEN row's accept-queue count shows where the kernel put the 10 handshakes
        var rows = ProcNetTcp.await("10 queued connections", r -> r.stream().filter(listens)
                .mapToLong(ProcNetTcp.Entry::rxQueue).sum() == 10, Duration.ofSeconds(2));
        IO.println(ProcNetTcp.show(rows.stream().filter(listens).toList()));
    }
    // tag::reuseport-close[]
    one.close(); // what waits in its queue is not handed to the other listener (unless net.ipv4.tcp_migrate_req = 1)
    // end::reuseport-close[]
    if (linux) { // a reset client's socket leaves the table; those queued on the other listener stay ESTABLISHED
        var rows = ProcNetTcp.await("the connections queued on the closed listener reset", r -> r.stream().filter(clients)
                .count() == r.stream().filter(listens).mapToLong(ProcNetTcp.Entry::rxQueue).sum(), Duration.ofSeconds(2));
        long kept = rows.stream().filter(clients).count();
        IO.println("  one listener closed: %d of the 10 clients were reset (their rows are gone), the %d queued on the other remain;"
                .formatted(10 - kept, kept) + " tcp_migrate_req = " + Lesson.sysctl("ipv4/tcp_migrate_req"));
    }
    two.close();

    Lesson.step("Client side: bind() before connect() chooses the source address and port");
    // tag::client-bind[]
    var client = new Socket();
    client.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.2"), 0)); // or a port of your choosing
    client.connect(new InetSocketAddress(loopback, port), 1_000);
    // end::client-bind[]
    IO.println("  connected from " + client.getLocalSocketAddress() + " to " + client.getInetAddress().getHostAddress()
            + ":" + client.getPort() + " (unbound, it would leave from 127.0.0.1 and an ephemeral port)");

    Lesson.step("Ports below 1024");
    String user = System.getProperty("user.name");
    IO.println("  net.ipv4.ip_unprivileged_port_start = " + Lesson.sysctl("ipv4/ip_unprivileged_port_start") + "; running as "
            + user + (user.equals("root") ? ", so bind(80) would succeed here"
            : ", so bind(80) fails with EACCES: BindException \"Permission denied\""));
} // the sockets still open close as the process exits

// The server side closes first, so TIME_WAIT lands on the server's port; then the old listener goes away.
int timeWaitOnServerPort(Set<SocketOption<Boolean>> options) throws IOException {
    try (var old = withOptions(ServerSocketChannel.open(INET), options)) {
        old.bind(new InetSocketAddress(loopback, 0));
        try (var c = SocketChannel.open(old.getLocalAddress())) {
            old.accept().close();           // server: FIN first, so it will hold TIME_WAIT
            c.read(ByteBuffer.allocate(1)); // client: reads EOF, then closes
        }
        return portOf(old);
    }
}

/// What already holds a port: a listener, a socket bound without listening, or the TIME_WAIT of a server that closed first.
enum Held { LISTEN, BOUND_ONLY, TIME_WAIT }

record Existing(Held state, Set<SocketOption<Boolean>> options) {
    @Override
    public String toString() {
        return "%-11s %s".formatted(state == Held.BOUND_ONLY ? "bound only" : state,
                options.isEmpty() ? "neither" : options.iterator().next().name());
    }
}

/// Puts `existing` on a fresh loopback port and returns the port; a socket that must stay open goes into `open`.
int occupy(Existing existing, List<NetworkChannel> open) throws IOException {
    var any = new InetSocketAddress(loopback, 0);
    return switch (existing.state()) {
        case LISTEN -> portOf(keep(open, withOptions(ServerSocketChannel.open(INET), existing.options()).bind(any)));
        case BOUND_ONLY -> portOf(keep(open, withOptions(SocketChannel.open(INET), existing.options()).bind(any)));
        case TIME_WAIT -> timeWaitOnServerPort(existing.options());
    };
}

/// bind() and listen() on `port` with exactly these options (SO_REUSEADDR set both ways: Java turns it on for listeners).
String bindBeside(int port, Set<SocketOption<Boolean>> options) {
    try (var fresh = withOptions(ServerSocketChannel.open(INET), options)) {
        fresh.bind(new InetSocketAddress(loopback, port));
        return "binds";
    } catch (BindException e) {
        return "EADDRINUSE";
    } catch (IOException e) {
        return e.toString();
    }
}

<T extends NetworkChannel> T withOptions(T socket, Set<SocketOption<Boolean>> options) throws IOException {
    socket.setOption(SO_REUSEADDR, options.contains(SO_REUSEADDR));
    socket.setOption(SO_REUSEPORT, options.contains(SO_REUSEPORT));
    return socket;
}

NetworkChannel keep(List<NetworkChannel> open, NetworkChannel socket) {
    open.add(socket);
    return socket;
}

sealed interface Dial permits Connected, Refused {}
record Connected(Socket socket) implements Dial {}
record Refused(String why) implements Dial {}

String dial(InetAddress address, int port) throws IOException {
    var s = new Socket();
    Dial result;
    try {
        s.connect(new InetSocketAddress(address, port), 1_000);
        result = new Connected(s);
    } catch (ConnectException e) {
        s.close();
        result = new Refused(e.getMessage());
    }
    return switch (result) {
        case Connected c -> "connected, from " + c.socket().getLocalSocketAddress();
        case Refused r -> "refused: " + r.why() + " (ECONNREFUSED: an RST answered the SYN)";
    };
}

int portOf(NetworkChannel channel) { // getsockname(2)
    try {
        return ((InetSocketAddress) channel.getLocalAddress()).getPort();
    } catch (IOException e) {
        throw new UncheckedIOException(e);
    }
}
