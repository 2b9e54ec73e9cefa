package dev.castellan;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates OpenFGA's conformance data; tests fail, never skip, when it is missing. */
public final class Conformance {
  private Conformance() {}

  public static Path dir() {
    String configured = System.getProperty("castellan.conformance.dir");
    if (configured == null || configured.isBlank()) {
      throw new IllegalStateException(
          "system property castellan.conformance.dir is not set; run the tests through Maven");
    }
    Path dir = Path.of(configured).normalize();
    if (!Files.isDirectory(dir)) {
      throw new IllegalStateException("OpenFGA conformance data not found at " + dir);
    }
    return dir;
  }
}
