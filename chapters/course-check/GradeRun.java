import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.junit.platform.engine.DiscoverySelector;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.engine.TestTag;
import org.junit.platform.launcher.core.LauncherFactory;

import static org.junit.platform.engine.discovery.ClassNameFilter.includeClassNamePatterns;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClasspathRoots;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod;
import static org.junit.platform.launcher.TagFilter.excludeTags;
import static org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder.request;

/// Runs graded tests in a JVM of its own, against whatever implementation classes come first on its class path.
/// That is how the course check grades the untouched exercises and each known-bad implementation.
///
/// `java -cp <impl classes>:<course test class path> GradeRun <results.tsv> [Class#method …]`
///
/// With no methods named, it runs every graded test. Each line of the results file is one test:
/// `status  Class#method  tags  stub  message`, where status is SUCCESSFUL, FAILED, ABORTED or SKIPPED (disabled
/// before it ran, as `@NeedsProc` tests are without /proc) and `stub` is true when the failure came from a stub's
/// "Task N: implement …" exception.
public final class GradeRun {

    public static void main(String[] args) throws IOException {
        Path out = Path.of(args[0]);
        List<DiscoverySelector> selectors = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            selectors.add(selectMethod(args[i]));
        }
        if (selectors.isEmpty()) {
            selectors.add(selectClasspathRoots(Set.of(Path.of("target/test-classes").toAbsolutePath())).getFirst());
        }
        LauncherDiscoveryRequest request = request().selectors(selectors)
                .filters(includeClassNamePatterns(".*Test"), excludeTags("bench", "course")).build();
        var lines = new ArrayList<String>();
        LauncherFactory.create().execute(request, new TestExecutionListener() {
            @Override
            public void executionSkipped(TestIdentifier id, String reason) {
                if (id.isTest() && id.getSource().orElse(null) instanceof MethodSource m) {
                    lines.add(String.join("\t", "SKIPPED", m.getClassName() + "#" + m.getMethodName(),
                            String.join(",", id.getTags().stream().map(TestTag::getName).sorted().toList()),
                            "false", reason.replaceAll("\\s+", " ")));
                }
            }

            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                if (id.isTest() && id.getSource().orElse(null) instanceof MethodSource m) {
                    Throwable t = result.getThrowable().orElse(null);
                    lines.add(String.join("\t", result.getStatus().name(), m.getClassName() + "#" + m.getMethodName(),
                            String.join(",", id.getTags().stream().map(TestTag::getName).sorted().toList()),
                            String.valueOf(fromStub(t)),
                            t == null ? "" : String.valueOf(t).replaceAll("\\s+", " ")));
                }
            }
        });
        Files.write(out, lines);
        // Code under test may leave threads behind (a server nobody stopped); they must not keep this JVM alive.
        System.exit(0);
    }

    private static boolean fromStub(Throwable t) {
        return t != null && Stub.in(t).isPresent();
    }
}
