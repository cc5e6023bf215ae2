import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/// A graded test (or a whole test class) that can only be judged by reading Linux's `/proc`: the TCP table, the
/// process's descriptors, or a kernel setting that the code under test reads there itself. Where there is no
/// `/proc` (macOS, Windows), `Lab` skips it *before* any code runs, with the reason — it neither fails nor scores.
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.TYPE, ElementType.METHOD})
public @interface NeedsProc {
}
