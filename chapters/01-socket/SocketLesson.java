///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//SOURCES ../bench/ProcNetTcp.java
//SOURCES ../bench/Descriptors.java

// Chapter 1, live: a socket is a handle — a descriptor, a kind, some options — and nothing on the network yet.

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

void main() throws Throwable {
    boolean linux = ProcNetTcp.available() && Descriptors.available();
    if (!linux) {
        IO.println("This lesson reads /proc/self/fd and /proc/net/tcp, which only Linux has; the calls below still run.");
    }

    // tag::open[]
    var before = linux ? Descriptors.socketInodes() : Set.<Long>of();
    var tcp = SocketChannel.open(StandardProtocolFamily.INET); // socket(AF_INET, SOCK_STREAM, 0)
    // end::open[]
    step("socket(AF_INET, SOCK_STREAM, 0)  ↔  SocketChannel.open(StandardProtocolFamily.INET)");
    long inode = -1;
    if (linux) {
        var added = new HashSet<>(Descriptors.socketInodes());
        added.removeAll(before);
        inode = added.iterator().next();
        IO.println("  /proc/self/fd: fd %d -> socket:[%d]   (a new descriptor: that is all socket() makes)"
                .formatted(Descriptors.fdOf(inode), inode));
        long mine = inode;
        IO.println("  rows with inode %d in /proc/net/tcp and tcp6: %d   (no address, no peer: the kernel has nothing to list)"
                .formatted(inode, ProcNetTcp.snapshot().stream().filter(e -> e.inode() == mine).count()));
    }
    IO.println("  local address: " + tcp.getLocalAddress() + ", connected: " + tcp.isConnected());

    step("getsockopt for every option this TCP socket supports  ↔  supportedOptions() + getOption()");
    printOptions(tcp);

    step("setsockopt(SO_RCVBUF, 100000)  ↔  setOption(StandardSocketOptions.SO_RCVBUF, 100_000)");
    // tag::rcvbuf[]
    tcp.setOption(StandardSocketOptions.SO_RCVBUF, 100_000);
    IO.println("  Java reads back SO_RCVBUF = " + tcp.getOption(StandardSocketOptions.SO_RCVBUF));
    // Linux doubles what you set (room for its own bookkeeping) and the JDK halves what it reads,
    // so Java shows 100000 while the kernel holds 200000.
    // end::rcvbuf[]
    IO.println("  (the kernel itself holds twice that: Linux doubles SO_RCVBUF for bookkeeping; the JDK halves it back)");

    step("Other kinds: socket(AF_INET6, SOCK_DGRAM) and socket(AF_UNIX, SOCK_STREAM)");
    try (var udp = DatagramChannel.open(StandardProtocolFamily.INET6);
         var unix = SocketChannel.open(StandardProtocolFamily.UNIX)) {
        IO.println("  UDP over IPv6:  " + udp.supportedOptions().size() + " options, e.g. SO_BROADCAST=" + udp.getOption(StandardSocketOptions.SO_BROADCAST));
        IO.println("  Unix stream:    options " + unix.supportedOptions());
        try {
            udp.setOption(StandardSocketOptions.TCP_NODELAY, true);
        } catch (UnsupportedOperationException e) {
            IO.println("  TCP_NODELAY on the UDP socket: " + e.getMessage() + "   (UDP has no Nagle algorithm)");
        }
    }
    try {
        DatagramChannel.open(StandardProtocolFamily.UNIX);
    } catch (UnsupportedOperationException e) {
        IO.println("  socket(AF_UNIX, SOCK_DGRAM) in Java: " + e.getMessage() + "   (the kernel has it; Java's channels don't)");
    }

    step("A socket that is bound and listens has an address, and so a row in the table");
    try (var listener = ServerSocketChannel.open(StandardProtocolFamily.INET)) {
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
        IO.println("  bound and listening on " + listener.getLocalAddress());
        if (linux) {
            IO.println(ProcNetTcp.show(ProcNetTcp.rowsOf(listener)));
        }
    }

    step("close()  ↔  close(fd): the descriptor is released");
    tcp.close();
    if (linux) {
        IO.println("  descriptor holding socket:[%d] after close: %s".formatted(inode,
                Descriptors.fdOf(inode) < 0 ? "none (gone from /proc/self/fd)" : "fd " + Descriptors.fdOf(inode)));
    }

    step("Under the hood: SO_RCVLOWAT and SO_SNDLOWAT, which Java's API does not have, through libc (FFM)");
    underTheHood();
}

void printOptions(NetworkChannel channel) throws IOException {
    var names = new TreeMap<String, Object>();
    for (SocketOption<?> option : channel.supportedOptions()) {
        try {
            names.put(option.name(), channel.getOption(option));
        } catch (IOException | UnsupportedOperationException e) {
            names.put(option.name(), "(" + e.getMessage() + ")");
        }
    }
    names.forEach((name, value) -> IO.println("  %-20s %s".formatted(name, value)));
}

// tag::ffm[]
// C: setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &value, sizeof value), called through java.lang.foreign.
@SuppressWarnings("restricted") // calling libc is the point here (run with --enable-native-access)
void underTheHood() throws Throwable {
    final int AF_INET = 2, SOCK_STREAM = 1, SOL_SOCKET = 1, SO_RCVLOWAT = 18, SO_SNDLOWAT = 19;
    var linker = Linker.nativeLinker();
    var libc = linker.defaultLookup();
    var errnoState = Linker.Option.captureCallState("errno");
    var stateLayout = Linker.Option.captureStateLayout();
    MethodHandle socket = linker.downcallHandle(libc.find("socket").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    MethodHandle setsockopt = linker.downcallHandle(libc.find("setsockopt").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ValueLayout.ADDRESS, JAVA_INT), errnoState);
    MethodHandle getsockopt = linker.downcallHandle(libc.find("getsockopt").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
    MethodHandle close = linker.downcallHandle(libc.find("close").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    MethodHandle strerror = linker.downcallHandle(libc.find("strerror").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.ADDRESS, JAVA_INT));

    try (var arena = Arena.ofConfined()) {
        int fd = (int) socket.invokeExact(AF_INET, SOCK_STREAM, 0);
        MemorySegment value = arena.allocateFrom(JAVA_INT, 100);
        MemorySegment state = arena.allocate(stateLayout);
        int rc = (int) setsockopt.invokeExact(state, fd, SOL_SOCKET, SO_RCVLOWAT, value, 4);
        MemorySegment readBack = arena.allocate(JAVA_INT);
        MemorySegment length = arena.allocateFrom(JAVA_INT, 4);
        int rc2 = (int) getsockopt.invokeExact(fd, SOL_SOCKET, SO_RCVLOWAT, readBack, length);
        IO.println("  fd %d: setsockopt(SO_RCVLOWAT, 100) = %d, getsockopt reads %d: a read() now waits for 100 bytes"
                .formatted(fd, rc, rc2 == 0 ? readBack.get(JAVA_INT, 0) : -1));

        int rc3 = (int) setsockopt.invokeExact(state, fd, SOL_SOCKET, SO_SNDLOWAT, arena.allocateFrom(JAVA_INT, 4096), 4);
        int errno = state.get(JAVA_INT, stateLayout.byteOffset(MemoryLayout.PathElement.groupElement("errno")));
        var message = ((MemorySegment) strerror.invokeExact(errno)).reinterpret(256).getString(0);
        IO.println("  setsockopt(SO_SNDLOWAT, 4096) = %d, errno %d (%s): Linux cannot change it".formatted(rc3, errno, message));
        int closed = (int) close.invokeExact(fd);
        IO.println("  close(%d) = %d".formatted(fd, closed));
    }
}
// end::ffm[]

int steps = 0;

void step(String what) {
    IO.println("\n" + (++steps) + ". " + what);
}
