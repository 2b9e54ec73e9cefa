package dev.castellan.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * {@code docs/conformance.md} names, for every difference from OpenFGA it lists, the test that
 * asserts it; a difference whose test is renamed or deleted would no longer be enforced.
 */
class ConformanceDocTest {

  @Test
  void everyListedDifference_namesATestThatExists() throws IOException {
    Path root = Path.of("..");
    String docs = Files.readString(root.resolve("docs/conformance.md"));
    int start = docs.indexOf("## Differences from OpenFGA");
    String section = docs.substring(start, docs.indexOf("\n## ", start + 1));
    Set<String> tests;
    try (Stream<Path> files = Files.walk(root)) {
      tests =
          files
              .filter(p -> p.toString().contains("src/test/java"))
              .map(p -> p.getFileName().toString())
              .filter(name -> name.endsWith("Test.java"))
              .map(name -> name.substring(0, name.length() - ".java".length()))
              .collect(Collectors.toSet());
    }
    // The table's rows after its header.
    var rows = section.lines().filter(line -> line.startsWith("| ")).skip(1).toList();
    assertThat(rows).as("differences listed").isNotEmpty();
    for (String row : rows) {
      String[] cells = row.split("\\|");
      String assertedBy = cells[cells.length - 1];
      Matcher named = Pattern.compile("`(\\w+Test)`").matcher(assertedBy);
      assertThat(named.find()).as("a test named for: %s", row).isTrue();
      named.reset();
      while (named.find()) {
        assertThat(tests).as(row).contains(named.group(1));
      }
    }
  }
}
