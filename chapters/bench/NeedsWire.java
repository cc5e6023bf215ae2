import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/// A graded test (or a whole test class) that judges the segments on the wire, in a private network namespace
/// ([WireRun]). Where no such namespace can be made (no unprivileged user namespaces, no `unshare`, no /proc, not
/// Linux) — or, for `drops = true`, where `nft` is missing — it is skipped *before* any code runs, with the reason
/// and the fix in one line; the scorecard then leaves it out of the chapter's points (see docs/grading.adoc).
///
/// It tags the test `wire`, and bounds it at 10 s: a JVM of its own in a private namespace starts first (about half
/// a second, more on a busy machine), and a scene may wait out a connect timeout or two.
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.TYPE, ElementType.METHOD})
@ExtendWith(WireRun.Condition.class)
@Tag("wire")
@Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
public @interface NeedsWire {

    /// Whether the test drops segments (nftables in the namespace).
    boolean drops() default false;
}
