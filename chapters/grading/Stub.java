import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/// The stub contract. Every unwritten method in `exercises/` throws
/// `UnsupportedOperationException("Task N: implement Class.method (see <chapter text>, '<task title>')")`.
/// The scorecard shows such a failure as "not written yet: Task N …", and the course check requires every graded
/// test to fail *because of* it on the untouched exercises — so a test that a stub fails for another reason (or
/// passes) is a defect the build names.
public final class Stub {

    /// What a stub's message says, up to and including the "(see …)" part.
    public static final Pattern MESSAGE = Pattern.compile("Task \\d+: implement [^\\n(]*(\\([^)\\n]*\\))?");

    private Stub() {
    }

    /// The stub message behind `thrown`, found in its causes and suppressed exceptions (an assertion may wrap it).
    public static Optional<String> in(Throwable thrown) {
        for (Throwable t = thrown; t != null; t = t.getCause()) {
            Matcher m = t.getMessage() == null ? null : MESSAGE.matcher(t.getMessage());
            if (m != null && m.find()) {
                return Optional.of(m.group());
            }
            for (Throwable s : t.getSuppressed()) {
                Optional<String> found = in(s);
                if (found.isPresent()) {
                    return found;
                }
            }
        }
        return Optional.empty();
    }
}
