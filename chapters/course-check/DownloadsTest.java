import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.sun.net.httpserver.HttpServer;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/// What the course downloads is checked before it is used, and each check bites: `./mvnw` refuses a Maven
/// distribution that is not the one it pins, Maven refuses an artifact that does not match its checksum, `./jbang`
/// refuses a jbang CLI with one byte changed. Every check runs on local copies under target/downloads-check, with
/// files served from this machine (a loopback HTTP server, a `file:` repository): no network is needed.
@Tag("course")
@Timeout(value = 2, unit = TimeUnit.MINUTES)
@DisplayName("What the course downloads")
class DownloadsTest {

    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static final Path WORK = ROOT.resolve("target/downloads-check");
    private static final Duration RUN_BOUND = Duration.ofSeconds(90);
    private static final String STAND_IN_RAN = "stand-in Maven ran";

    // The checks under test, as committed.
    private static final String DISTRIBUTION_URL = property(ROOT.resolve(".mvn/wrapper/maven-wrapper.properties"),
            "distributionUrl");
    private static final String JBANG_VERSION = variable(ROOT.resolve("jbang"), "jbang_version");
    private static final String JBANG_SHA256 = variable(ROOT.resolve("jbang"), "jbang_sha256");

    private static HttpServer server;
    private static final Queue<String> served = new ConcurrentLinkedQueue<>();
    private static byte[] standIn;
    private static Ran fetch;
    private static Path genuineJar;

    /// A finished child process: its exit status and what it printed.
    record Ran(String what, int exit, String out, String err) {
        String output() {
            return "%s exited %d; its output:%n%s%s".formatted(what, exit, out, err);
        }

        List<String> errLines() {
            return err.lines().filter(l -> !l.isBlank()).toList();
        }

        /// Every line printed, on either stream (jbang prints its version on stderr).
        List<String> lines() {
            return Stream.concat(out.lines(), err.lines()).map(String::strip).toList();
        }
    }

    @BeforeAll
    @Timeout(value = 5, unit = TimeUnit.MINUTES) // on a machine that never ran a lesson, Maven fetches jbang first
    static void serveAStandInMavenAndFetchJbang() throws IOException {
        WorkbookGrader.deleteTree(WORK);
        Files.createDirectories(WORK);
        standIn = standInDistribution();
        // The wrapper downloads with wget, curl or Java: serve it a distribution from this machine, on loopback.
        server = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0);
        server.createContext("/", exchange -> {
            served.add(exchange.getRequestURI().getPath());
            boolean distribution = exchange.getRequestURI().getPath().endsWith(fileName(DISTRIBUTION_URL));
            exchange.sendResponseHeaders(distribution ? 200 : 404, distribution ? standIn.length : -1);
            if (distribution) {
                exchange.getResponseBody().write(standIn);
            }
            exchange.close();
        });
        server.start();

        // The jbang CLI as a learner's first lesson gets it: fetched through Maven into an empty cache.
        Path cache = WORK.resolve("jbang-fetched/cli");
        fetch = run("./jbang --version (empty cache)", ROOT, Map.of("JBANG_CLI_DIR", cache.toString()),
                ROOT.resolve("jbang").toString(), "--version");
        genuineJar = cache.resolve(jbangJarName());
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.stop(0);
        }
    }

    @Test
    @DisplayName("the wrapper pins the SHA-256 of the Maven distribution, ./jbang that of the jbang CLI")
    void bothDownloadsArePinned() {
        assertThat(property(ROOT.resolve(".mvn/wrapper/maven-wrapper.properties"), "distributionSha256Sum"))
                .as("distributionSha256Sum in .mvn/wrapper/maven-wrapper.properties (the SHA-256 of %s)",
                        fileName(DISTRIBUTION_URL))
                .matches("[0-9a-f]{64}");
        assertThat(JBANG_SHA256).as("jbang_sha256 in ./jbang (the SHA-256 of %s)", jbangJarName())
                .matches("[0-9a-f]{64}");
    }

    @Test
    @DisplayName("./mvnw installs and runs a Maven distribution whose SHA-256 is the one pinned")
    void wrapperRunsTheDistributionItPins() throws IOException {
        assertThat(onPath("unzip"))
                .as("`unzip` on the PATH: without it ./mvnw fetches the .tar.gz instead of the .zip, whose SHA-256"
                        + " is not the pinned one, and refuses it (install unzip)")
                .isTrue();
        Path copy = wrapperCopy("wrapper-right-sum", sha256(standIn));

        Ran ran = mvnw(copy);

        assertThat(ran.exit()).as(ran.output()).isZero();
        assertThat(ran.out()).as("what the installed distribution printed").contains(STAND_IN_RAN);
    }

    @Test
    @DisplayName("./mvnw refuses a Maven distribution when maven-wrapper.properties has a wrong sum, and never runs it")
    void wrapperRefusesAWrongSum() throws IOException {
        String right = sha256(standIn);
        String wrong = (right.charAt(0) == '0' ? "1" : "0") + right.substring(1);
        Path copy = wrapperCopy("wrapper-wrong-sum", wrong);

        Ran ran = mvnw(copy);

        assertRefused(copy, ran);
    }

    @Test
    @DisplayName("./mvnw as committed refuses any distribution but the Maven release it pins")
    void committedWrapperRefusesAnotherDistribution() throws IOException {
        Path copy = wrapperCopy("wrapper-as-committed", null);

        Ran ran = mvnw(copy);

        assertRefused(copy, ran);
    }

    @Test
    @DisplayName("Maven uses an artifact that matches the checksum its repository serves")
    void mavenUsesAnArtifactThatMatches() throws IOException {
        Ran ran = mavenResolving("maven-matching", false);

        assertThat(ran.exit()).as("a build that resolves an untouched artifact: " + ran.output()).isZero();
    }

    @Test
    @DisplayName("Maven stops the build when an artifact does not match its checksum (strict checksums, .mvn/maven.config)")
    void mavenRefusesAnArtifactThatDoesNotMatch() throws IOException {
        Ran ran = mavenResolving("maven-tampered", true);

        assertThat(ran.exit()).as("a build that resolves an artifact with one byte changed must fail: "
                + ran.output()).isNotZero();
        assertThat(ran.out()).as("Maven's reason (Maven's checksum policy must be strict, not a warning)")
                .contains("Checksum validation failed")
                .doesNotContain("BUILD SUCCESS");
        try (Stream<Path> files = Files.walk(WORK.resolve("maven-tampered/local-repo"))) {
            assertThat(files.filter(f -> f.toString().endsWith(".jar")))
                    .as("jars Maven kept in its local repository after the checksum failed").isEmpty();
        }
    }

    @Test
    @DisplayName("./jbang fetches the jbang CLI through Maven, checks its SHA-256, and runs it from the cache after")
    void jbangRunsTheCliItPins() throws IOException {
        assertThat(fetch.exit()).as(fetch.output()).isZero();
        assertThat(fetch.lines()).as("what `jbang --version` printed").contains(JBANG_VERSION);
        assertThat(sha256(Files.readAllBytes(genuineJar))).as("SHA-256 of the fetched %s", genuineJar)
                .isEqualTo(JBANG_SHA256);

        Ran again = run("./jbang --version (cached)", ROOT,
                Map.of("JBANG_CLI_DIR", genuineJar.getParent().toString()), ROOT.resolve("jbang").toString(),
                "--version");

        assertThat(again.exit()).as(again.output()).isZero();
        assertThat(again.lines()).as("what `jbang --version` printed from the cache").contains(JBANG_VERSION);
        assertThat(again.err()).as("./jbang's messages with the CLI cached").doesNotContain("fetching");
    }

    @Test
    @DisplayName("./jbang refuses a cached jbang CLI with one byte changed: deletes it, says so in one line, runs nothing")
    void jbangRefusesATamperedCache() throws IOException {
        Path cache = Files.createDirectories(fresh("jbang-tampered-cache").resolve("cli"));
        Path jar = cache.resolve(jbangJarName());
        Files.write(jar, oneByteChanged(Files.readAllBytes(genuineJar)));

        Ran ran = run("./jbang --version (tampered cache)", ROOT, Map.of("JBANG_CLI_DIR", cache.toString()),
                ROOT.resolve("jbang").toString(), "--version");

        assertThat(ran.exit()).as(ran.output()).isEqualTo(1);
        assertThat(ran.errLines()).as("./jbang's messages (one line: what happened and what to do)").hasSize(1);
        assertThat(ran.errLines().getFirst()).as("./jbang's message")
                .contains("SHA-256", JBANG_SHA256, "deleted", "run ./jbang again");
        assertThat(ran.lines()).as("lines printed (the tampered CLI must not run)").doesNotContain(JBANG_VERSION);
        assertThat(jar).as("the tampered jar in the cache").doesNotExist();
    }

    @Test
    @DisplayName("./jbang refuses a fetched jbang CLI with one byte changed: deletes it, caches nothing, runs nothing")
    void jbangRefusesATamperedDownload() throws IOException {
        // A copy of ./jbang beside a stand-in for ./mvnw that "fetches" the jar with one byte changed.
        Path dir = fresh("jbang-tampered-download");
        Path script = Files.copy(ROOT.resolve("jbang"), dir.resolve("jbang"), StandardCopyOption.COPY_ATTRIBUTES);
        Path tampered = Files.write(dir.resolve("tampered.jar"), oneByteChanged(Files.readAllBytes(genuineJar)));
        executable(Files.writeString(dir.resolve("mvnw"), """
                #!/bin/sh
                # stands in for ./mvnw dependency:copy: puts a jar with one byte changed where the jar was asked for
                for arg in "$@"; do
                  case "$arg" in -DoutputDirectory=*) out="${arg#-DoutputDirectory=}" ;; esac
                done
                cp '%s' "$out/%s"
                """.formatted(tampered, jbangJarName())));
        Path cache = dir.resolve("cli"), tmp = Files.createDirectories(dir.resolve("tmp"));

        Ran ran = run("./jbang --version (tampered download)", dir,
                Map.of("JBANG_CLI_DIR", cache.toString(), "TMPDIR", tmp.toString()), script.toString(), "--version");

        assertThat(ran.exit()).as(ran.output()).isEqualTo(1);
        assertThat(ran.errLines()).as("./jbang's messages").hasSize(2);
        assertThat(ran.errLines().getLast()).as("./jbang's message after the download (what happened, what to do)")
                .contains("SHA-256", JBANG_SHA256, "deleted", "run ./jbang again");
        assertThat(ran.lines()).as("lines printed (the tampered CLI must not run)").doesNotContain(JBANG_VERSION);
        assertThat(cache.resolve(jbangJarName())).as("the refused jar in the cache").doesNotExist();
        try (Stream<Path> left = Files.list(tmp)) {
            assertThat(left).as("what the refused download left behind in TMPDIR").isEmpty();
        }
    }

    // --- the wrapper ---

    /// A Maven distribution that is not Maven: its `bin/mvn` only says that it ran.
    private static byte[] standInDistribution() throws IOException {
        Path zip = WORK.resolve("stand-in").resolve(fileName(DISTRIBUTION_URL));
        Files.createDirectories(zip.getParent());
        String top = fileName(DISTRIBUTION_URL).replaceFirst("-bin\\.zip$", "");
        // POSIX permissions in the zip, so that unzip makes bin/mvn executable, as in the real distribution
        try (FileSystem fs = FileSystems.newFileSystem(zip, Map.of("create", "true", "enablePosixFileAttributes", "true"))) {
            Path mvn = fs.getPath(top, "bin", "mvn");
            Files.createDirectories(mvn.getParent());
            Files.writeString(mvn, "#!/bin/sh\necho '" + STAND_IN_RAN + " with:' \"$@\"\n");
            Files.setPosixFilePermissions(mvn, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return Files.readAllBytes(zip);
    }

    /// A copy of ./mvnw and the committed maven-wrapper.properties, its sum replaced by `sum` unless that is null.
    private static Path wrapperCopy(String name, String sum) throws IOException {
        Path dir = fresh(name);
        Files.copy(ROOT.resolve("mvnw"), dir.resolve("mvnw"), StandardCopyOption.COPY_ATTRIBUTES);
        Path properties = dir.resolve(".mvn/wrapper/maven-wrapper.properties");
        Files.createDirectories(properties.getParent());
        List<String> lines = Files.readAllLines(ROOT.resolve(".mvn/wrapper/maven-wrapper.properties"));
        Files.write(properties, sum == null ? lines : lines.stream()
                .map(l -> l.startsWith("distributionSha256Sum=") ? "distributionSha256Sum=" + sum : l).toList());
        return dir;
    }

    private static Ran mvnw(Path copy) {
        served.clear();
        return run("./mvnw -v (" + copy.getFileName() + ")", copy, Map.of(
                        "MAVEN_USER_HOME", copy.resolve("m2").toString(),
                        "MVNW_REPOURL", "http://127.0.0.1:" + server.getAddress().getPort() + "/maven2"),
                copy.resolve("mvnw").toString(), "-v");
    }

    private static void assertRefused(Path copy, Ran ran) throws IOException {
        assertThat(served).as("requests the wrapper made (it must fetch the distribution, then check it)")
                .anyMatch(path -> path.endsWith(fileName(DISTRIBUTION_URL)));
        assertThat(ran.exit()).as(ran.output()).isNotZero();
        assertThat(ran.err()).as("the wrapper's reason").contains("Failed to validate Maven distribution SHA-256");
        assertThat(ran.out()).as("what the refused distribution printed (it must not run)").doesNotContain(STAND_IN_RAN);
        try (Stream<Path> files = Files.walk(copy.resolve("m2"))) {
            assertThat(files.filter(f -> f.endsWith(Path.of("bin", "mvn"))))
                    .as("Maven installations the wrapper left in MAVEN_USER_HOME after refusing").isEmpty();
        }
    }

    // --- Maven's own downloads ---

    /// Builds a project with the course's .mvn/maven.config whose one build extension comes from a `file:`
    /// repository holding its checksums (SHA-256 and SHA-1, as Central serves them), one byte changed if `tampered`.
    private static Ran mavenResolving(String name, boolean tampered) throws IOException {
        Path dir = fresh(name), project = Files.createDirectories(dir.resolve("project"));
        Files.createDirectories(project.resolve(".mvn"));
        for (String config : List.of("maven.config", "jvm.config")) {
            if (Files.exists(ROOT.resolve(".mvn").resolve(config))) {
                Files.copy(ROOT.resolve(".mvn").resolve(config), project.resolve(".mvn").resolve(config));
            }
        }
        Path version = Files.createDirectories(dir.resolve("repo/check/artifact/1.0"));
        byte[] jar = emptyJar();
        Files.writeString(version.resolve("artifact-1.0.pom"), """
                <project><modelVersion>4.0.0</modelVersion>
                  <groupId>check</groupId><artifactId>artifact</artifactId><version>1.0</version></project>
                """);
        Files.write(version.resolve("artifact-1.0.jar"), tampered ? oneByteChanged(jar) : jar);
        for (String file : List.of("artifact-1.0.pom", "artifact-1.0.jar")) {
            byte[] original = file.endsWith(".jar") ? jar : Files.readAllBytes(version.resolve(file));
            Files.writeString(version.resolve(file + ".sha256"), sha256(original));
            Files.writeString(version.resolve(file + ".sha1"), digest("SHA-1", original));
        }
        Files.writeString(project.resolve("pom.xml"), """
                <project><modelVersion>4.0.0</modelVersion>
                  <groupId>check</groupId><artifactId>downloads</artifactId><version>1</version>
                  <pluginRepositories>
                    <pluginRepository><id>local-copy</id><url>%s</url></pluginRepository>
                  </pluginRepositories>
                  <build><extensions>
                    <extension><groupId>check</groupId><artifactId>artifact</artifactId><version>1.0</version></extension>
                  </extensions></build>
                </project>
                """.formatted(dir.resolve("repo").toUri()));
        Path settings = Files.writeString(dir.resolve("settings.xml"), "<settings/>\n"); // no mirror redirects it
        // Offline, but allowed to read the file: repository; a local repository of its own.
        return run("./mvnw validate (" + name + ")", project, Map.of(), ROOT.resolve("mvnw").toString(), "-B", "-o",
                "-Daether.offline.protocols=file", "-Dmaven.repo.local=" + dir.resolve("local-repo"),
                "-s", settings.toString(), "-f", project.resolve("pom.xml").toString(), "validate");
    }

    private static byte[] emptyJar() throws IOException {
        var bytes = new java.io.ByteArrayOutputStream();
        var manifest = new Manifest();
        manifest.getMainAttributes().putValue("Manifest-Version", "1.0");
        try (var jar = new JarOutputStream(bytes, manifest)) {
            jar.setComment("a build extension that is only checked, never used");
        }
        return bytes.toByteArray();
    }

    // --- helpers ---

    private static String jbangJarName() {
        return "jbang-cli-" + JBANG_VERSION + "-all.jar";
    }

    private static byte[] oneByteChanged(byte[] original) {
        byte[] copy = Arrays.copyOf(original, original.length);
        copy[copy.length / 2] ^= 0x01;
        return copy;
    }

    private static Ran run(String what, Path dir, Map<String, String> env, String... command) {
        try {
            Path log = Files.createDirectories(WORK.resolve("logs").resolve(what.replaceAll("[^A-Za-z0-9.-]+", "-")));
            var builder = new ProcessBuilder(command).directory(dir.toFile())
                    .redirectOutput(log.resolve("out").toFile()).redirectError(log.resolve("err").toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            Map<String, String> environment = builder.environment();
            // Loopback and local files only: no proxy in between, no Maven arguments from the caller's shell.
            List.of("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "MAVEN_ARGS",
                    "MVNW_VERBOSE").forEach(environment::remove);
            environment.put("no_proxy", "127.0.0.1,localhost");
            // The course's own launcher is under test, not a jbang the machine has installed.
            environment.put("PATH", String.join(java.io.File.pathSeparator, Arrays.stream(
                    environment.getOrDefault("PATH", "").split(java.io.File.pathSeparator))
                    .filter(p -> !p.isEmpty() && !Files.isExecutable(Path.of(p, "jbang"))).toList()));
            environment.putAll(env);
            Child ran = Child.run(builder, log.resolve("out"), RUN_BOUND);
            if (ran.killed()) {
                throw new AssertionError("%s did not finish within %d s; its output so far:%n%s%s".formatted(what,
                        RUN_BOUND.toSeconds(), Files.readString(log.resolve("out")), Files.readString(log.resolve("err"))));
            }
            return new Ran(what, ran.exit(), Files.readString(log.resolve("out")), Files.readString(log.resolve("err")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean onPath(String command) {
        return Arrays.stream(System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
                .anyMatch(p -> !p.isEmpty() && Files.isExecutable(Path.of(p, command)));
    }

    private static Path fresh(String name) throws IOException {
        Path dir = WORK.resolve(name);
        WorkbookGrader.deleteTree(dir);
        return Files.createDirectories(dir);
    }

    private static Path executable(Path file) throws IOException {
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        return file;
    }

    private static String sha256(byte[] bytes) {
        return digest("SHA-256", bytes);
    }

    private static String digest(String algorithm, byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm).digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String fileName(String url) {
        return url.substring(url.lastIndexOf('/') + 1);
    }

    /// A `key=value` line of a properties file.
    private static String property(Path file, String key) {
        return find(file, "(?m)^" + Pattern.quote(key) + "=(\\S*)\\s*$");
    }

    /// A `name=value` assignment in a shell script.
    private static String variable(Path file, String name) {
        return find(file, "(?m)^" + Pattern.quote(name) + "=(\\S+)$");
    }

    private static String find(Path file, String regex) {
        try {
            Matcher m = Pattern.compile(regex).matcher(Files.readString(file));
            return m.find() ? m.group(1) : "(none in " + ROOT.relativize(file) + ")";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
