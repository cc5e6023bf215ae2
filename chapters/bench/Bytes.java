import java.util.Random;

/// Test data for streams: bytes whose order shows when a chunk is lost, repeated or reordered.
public final class Bytes {

    private Bytes() {
    }

    /// `size` bytes with no period short enough to hide a lost or reordered chunk; the same size gives the same bytes.
    public static byte[] pattern(int size) {
        byte[] bytes = new byte[size];
        for (int i = 0; i < size; i++) {
            bytes[i] = (byte) (i * 31 + (i >> 8));
        }
        return bytes;
    }

    /// `size` random bytes, the same for the same seed.
    public static byte[] random(int size, long seed) {
        var bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    /// The bytes in reverse order.
    public static byte[] reversed(byte[] bytes) {
        byte[] out = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = bytes[bytes.length - 1 - i];
        }
        return out;
    }
}
