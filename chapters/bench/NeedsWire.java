import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.extension.ExtendWith;

/// A graded test (or a whole test class) that judges the segments on the wire, in a private network namespace
/// ([WireRun]). Where no such namespace can be made (no unprivileged user namespaces, no `unshare`, no /proc, not
/// Linux) — or, for `drops = true`, where `nft` is missing — it is skipped *before* any code runs, with the reason
/// and the fix in one line; the scorecard then leaves it out of the chapter's points (see docs/grading.adoc).
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.TYPE, ElementType.METHOD})
@ExtendWith(WireRun.Condition.class)
public @interface NeedsWire {

    /// Whether the test drops segments (nftables in the namespace).
    boolean drops() default false;
}
