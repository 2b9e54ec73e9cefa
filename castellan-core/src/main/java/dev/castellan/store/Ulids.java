package dev.castellan.store;

import java.security.SecureRandom;

/**
 * ULIDs (26 Crockford base-32 characters: 48 bits of milliseconds, 80 random bits), as OpenFGA uses
 * for store and model ids. Monotonic within one process: ids made in the same millisecond still
 * sort in creation order.
 */
public final class Ulids {
  private static final char[] ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ".toCharArray();
  private static final SecureRandom RANDOM = new SecureRandom();
  private static long lastMillis;
  private static long randomHigh; // 16 bits
  private static long randomLow; // 64 bits

  private Ulids() {}

  public static synchronized String next() {
    long now = System.currentTimeMillis();
    if (now > lastMillis) {
      lastMillis = now;
      randomHigh = RANDOM.nextInt(1 << 16);
      randomLow = RANDOM.nextLong();
    } else if (++randomLow == 0) {
      randomHigh = (randomHigh + 1) & 0xFFFF; // practically never: 2^64 ids in one millisecond
    }
    char[] out = new char[26];
    long time = lastMillis;
    for (int i = 9; i >= 0; i--) {
      out[i] = ALPHABET[(int) (time & 31)];
      time >>>= 5;
    }
    // 80 random bits: 16 high + 64 low, written as 16 characters of 5 bits.
    long low = randomLow;
    long high = randomHigh;
    for (int i = 25; i >= 10; i--) {
      out[i] = ALPHABET[(int) (low & 31)];
      low = (low >>> 5) | ((high & 31) << 59);
      high >>>= 5;
    }
    return new String(out);
  }

  /** True for a well-formed ULID (26 characters of Crockford base 32, upper case). */
  public static boolean isValid(String id) {
    if (id == null || id.length() != 26 || id.charAt(0) > '7') {
      return false;
    }
    for (int i = 0; i < id.length(); i++) {
      if (new String(ALPHABET).indexOf(id.charAt(i)) < 0) {
        return false;
      }
    }
    return true;
  }
}
