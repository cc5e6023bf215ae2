///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 -XX:+UseSerialGC
//SOURCES ../bench/Lesson.java
//SOURCES ../bench/ProcNetTcp.java
//SOURCES ../bench/Descriptors.java

// Chapter 1, live: a socket is a handle — a descriptor, a kind, some options — and nothing on the network yet.
// (The last two JVM options only make this short run start faster: one quick compiler, one GC thread.)

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.ByteOrder;

void main() throws Throwable {
    boolean linux = ProcNetTcp.available() && Descriptors.available();
    if (!linux) {
        IO.println("This lesson reads /proc/self/fd and /proc/net/tcp, which only Linux has; the calls below still run.");
    }

    // tag::open[]
    var before = linux ? Descriptors.socketInodes() : Set.<Long>of();
    var tcp = SocketChannel.open(StandardProtocolFamily.INET); // socket(AF_INET, SOCK_STREAM, 0)
    // end::open[]
    Lesson.step("socket(AF_INET, SOCK_STREAM, 0)  ↔  SocketChannel.open(StandardProtocolFamily.INET)");
    long inode = -1;
    if (linux) {
        // The JDK keeps a socket of its own, opened with the first socket of a JVM; Descriptors opened that one
        // before taking `before`, so the difference is the socket open() just made, and only that one.
        var added = new TreeSet<>(Descriptors.socketInodes());
        added.removeAll(before);
        if (added.size() == 1) {
            inode = added.getFirst();
            IO.println("  /proc/self/fd: fd %d -> socket:[%d]   (one new descriptor: that is all socket() makes)"
                    .formatted(Descriptors.fdOf(inode), inode));
            long mine = inode;
            IO.println("  rows with inode %d in /proc/net/tcp and tcp6: %d   (no address, no peer: the kernel has nothing to list)"
                    .formatted(inode, ProcNetTcp.snapshot().stream().filter(e -> e.inode() == mine).count()));
        } else {
            IO.println("  new socket descriptors: %s — not one, so which is this socket cannot be told".formatted(added));
        }
    }
    IO.println("  local address: " + tcp.getLocalAddress() + ", connected: " + tcp.isConnected());

    Lesson.step("getsockopt for every option this TCP socket supports  ↔  supportedOptions() + getOption()");
    printOptions(tcp);

    Lesson.step("setsockopt(SO_RCVBUF, n)  ↔  setOption(StandardSocketOptions.SO_RCVBUF, n): 100000, then 10000000");
    // tag::rcvbuf[]
    tcp.setOption(StandardSocketOptions.SO_RCVBUF, 100_000);
    IO.println("  asked for   100000, Java reads back " + tcp.getOption(StandardSocketOptions.SO_RCVBUF)
            + "   (the kernel holds 200000: Linux doubles what you set, the JDK halves what it reads)");
    tcp.setOption(StandardSocketOptions.SO_RCVBUF, 10_000_000);
    IO.println("  asked for 10000000, Java reads back " + tcp.getOption(StandardSocketOptions.SO_RCVBUF)
            + "   (the kernel clamped it to net.core.rmem_max first, then doubled that)");
    // end::rcvbuf[]
    if (linux) {
        IO.println("  net.core.rmem_max = " + Files.readAllLines(Path.of("/proc/sys/net/core/rmem_max")).getFirst());
    }

    Lesson.step("Other kinds: socket(AF_INET6, SOCK_DGRAM) and socket(AF_UNIX, SOCK_STREAM)");
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

    Lesson.step("A socket that is bound and listens has an address, and so a row in the table");
    try (var listener = ServerSocketChannel.open(StandardProtocolFamily.INET)) {
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
        IO.println("  bound and listening on " + listener.getLocalAddress());
        if (linux) {
            IO.println(ProcNetTcp.show(ProcNetTcp.rowsOf(listener)));
        }
    }

    Lesson.step("close()  ↔  close(fd): the descriptor is released");
    tcp.close();
    if (linux && inode >= 0) {
        int fd = Descriptors.fdOf(inode);
        IO.println("  descriptor holding socket:[%d] after close: %s".formatted(inode,
                fd < 0 ? "none (gone from /proc/self/fd)" : "fd " + fd + " (still open?!)"));
    }

    Lesson.step("Under the hood: SO_RCVLOWAT and SO_SNDLOWAT, which Java's API does not have, through libc (FFM)");
    if (linux) {
        underTheHood();
    } else {
        IO.println("  (this step calls libc with Linux's constants: it runs on Linux only)");
    }
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
        IO.println("  fd %d: setsockopt(SO_RCVLOWAT, 100) = %d, getsockopt reads %d"
                .formatted(fd, rc, rc2 == 0 ? readBack.get(JAVA_INT, 0) : -1));

        int rc3 = (int) setsockopt.invokeExact(state, fd, SOL_SOCKET, SO_SNDLOWAT, arena.allocateFrom(JAVA_INT, 4096), 4);
        int errno = state.get(JAVA_INT, stateLayout.byteOffset(MemoryLayout.PathElement.groupElement("errno")));
        var message = ((MemorySegment) strerror.invokeExact(errno)).reinterpret(256).getString(0);
        IO.println("  setsockopt(SO_SNDLOWAT, 4096) = %d, errno %d (%s): Linux cannot change it".formatted(rc3, errno, message));
        // end::ffm[]
        lowWaterMark(fd, linker, arena);
        int closed = (int) close.invokeExact(fd);
        IO.println("  close(%d) = %d".formatted(fd, closed));
    }
}

// tag::rcvlowat[]
// The same descriptor, connected. A reader waits in poll(POLLIN) and then reads: the socket counts as readable only
// once 100 bytes are queued. (poll takes nothing, so it does not matter whether it starts before or after the first
// bytes arrive.)
@SuppressWarnings("restricted")
void lowWaterMark(int fd, Linker linker, Arena arena) throws Throwable {
    var libc = linker.defaultLookup();
    MethodHandle connect = linker.downcallHandle(libc.find("connect").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ValueLayout.ADDRESS, JAVA_INT));
    MethodHandle poll = linker.downcallHandle(libc.find("poll").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, ValueLayout.ADDRESS, JAVA_LONG, JAVA_INT));
    MethodHandle recv = linker.downcallHandle(libc.find("recv").orElseThrow(),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ValueLayout.ADDRESS, JAVA_LONG, JAVA_INT));
    try (var listener = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
        MemorySegment to = arena.allocate(16);                    // struct sockaddr_in
        to.set(ValueLayout.JAVA_SHORT, 0, (short) 2);             // sin_family = AF_INET
        to.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 2, (short) listener.getLocalPort());
        to.asSlice(4, 4).copyFrom(MemorySegment.ofArray(new byte[] {127, 0, 0, 1}));
        int rc = (int) connect.invokeExact(fd, to, 16);
        try (var server = listener.accept()) {
            IO.println("  connect(fd %d, 127.0.0.1:%d) = %d; a reader thread: poll(fd, POLLIN), then recv(fd, buf, 200, 0)"
                    .formatted(fd, listener.getLocalPort(), rc));
            var reader = new CompletableFuture<String>();
            Thread.ofPlatform().daemon().start(() -> {                // a native call holds its thread: not a virtual one
                try (var own = Arena.ofConfined()) {
                    var pollfd = own.allocate(8);                     // struct pollfd {int fd; short events, revents;}
                    pollfd.set(JAVA_INT, 0, fd);
                    pollfd.set(ValueLayout.JAVA_SHORT, 4, (short) 1); // POLLIN
                    int ready = (int) poll.invokeExact(pollfd, 1L, 3_000);
                    long n = (long) recv.invokeExact(fd, own.allocate(200), 200L, 0);
                    reader.complete("poll() = %d, then recv() = %d bytes".formatted(ready, n));
                } catch (Throwable e) {
                    reader.completeExceptionally(e);
                }
            });
            server.getOutputStream().write(new byte[50]);
            SocketAddress readerEnd = server.getRemoteSocketAddress(), serverEnd = server.getLocalSocketAddress();
            var rows = ProcNetTcp.awaitOnPort(((InetSocketAddress) readerEnd).getPort(), "50 bytes queued on fd " + fd,
                    r -> r.stream().anyMatch(e -> e.is(readerEnd, serverEnd) && e.rxQueue() == 50), Duration.ofSeconds(2));
            var mine = rows.stream().filter(e -> e.is(readerEnd, serverEnd)).findFirst().orElseThrow();
            try {
                IO.println("  50 bytes queued, and the reader woke?! " + reader.get(300, TimeUnit.MILLISECONDS));
            } catch (TimeoutException stillWaiting) {
                IO.println("  50 bytes queued (%s): the reader is still waiting 300 ms later".formatted(mine));
            }
            long t0 = System.nanoTime();
            server.getOutputStream().write(new byte[50]);
            IO.println("  50 more: the reader woke %.1f ms later: %s — at 100 bytes, the low-water mark"
                    .formatted((System.nanoTime() - t0) / 1e6, reader.get(2, TimeUnit.SECONDS)));
        }
    }
}
// end::rcvlowat[]
