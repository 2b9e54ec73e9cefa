package dev.castellan;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.engine.Engine;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The core's public surface is what other modules need, and the build says so: every public
 * top-level type of the compiled main code must be listed in {@code public-api.txt} (a module-info
 * cannot do it: CEL 0.14 splits packages across its jars, which the module path refuses).
 */
class PublicApiTest {

  static final String LIST = "castellan-core/src/test/resources/dev/castellan/public-api.txt";

  @Test
  void everyPublicTopLevelType_isListedAsApi_andEveryListedTypeIsPublic() throws Exception {
    Set<String> listed = new TreeSet<>();
    Set<String> packages = new TreeSet<>();
    for (String entry : readList()) {
      if (entry.endsWith(".*")) {
        packages.add(entry.substring(0, entry.length() - 2));
      } else {
        listed.add(entry);
      }
    }
    Set<String> publicTypes = publicTopLevelTypes();
    assertThat(publicTypes)
        .as("public types found in the compiled main code")
        .hasSizeGreaterThan(20);

    List<String> unlisted = new ArrayList<>();
    for (String type : publicTypes) {
      String pkg = type.substring(0, type.lastIndexOf('.'));
      if (!listed.contains(type) && !packages.contains(pkg)) {
        unlisted.add(type);
      }
    }
    assertThat(unlisted)
        .as(
            "castellan-core types that are public without being listed as API in %s. If another"
                + " module (or another package of the core) needs one, add its name to that file;"
                + " otherwise remove 'public' from it",
            LIST)
        .isEmpty();

    Set<String> stale = new TreeSet<>(listed);
    stale.removeAll(publicTypes);
    assertThat(stale)
        .as(
            "listed as API in %s but no longer a public top-level type of castellan-core: remove"
                + " them from the list",
            LIST)
        .isEmpty();
  }

  private static List<String> readList() throws IOException {
    List<String> entries = new ArrayList<>();
    try (InputStream in = PublicApiTest.class.getResourceAsStream("public-api.txt")) {
      assertThat(in).as(LIST).isNotNull();
      BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        String entry = line.strip();
        if (!entry.isEmpty() && !entry.startsWith("#")) {
          entries.add(entry);
        }
      }
    }
    return entries;
  }

  /** Public top-level classes, interfaces, records, enums and annotations of the main classes. */
  private static Set<String> publicTopLevelTypes()
      throws IOException, URISyntaxException, ClassNotFoundException {
    Path classes =
        Path.of(Engine.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    assertThat(classes).as("the core's main classes, as a directory").isDirectory();
    List<String> names;
    try (Stream<Path> files = Files.walk(classes)) {
      names =
          files
              .map(path -> classes.relativize(path).toString().replace('\\', '/'))
              .filter(name -> name.endsWith(".class") && !name.contains("$"))
              .filter(name -> !name.endsWith("package-info.class"))
              .filter(name -> !name.equals("module-info.class"))
              .map(name -> name.substring(0, name.length() - ".class".length()).replace('/', '.'))
              .toList();
    }
    Set<String> result = new TreeSet<>();
    for (String name : names) {
      Class<?> type = Class.forName(name, false, PublicApiTest.class.getClassLoader());
      if (Modifier.isPublic(type.getModifiers())) {
        result.add(name);
      }
    }
    return result;
  }
}
