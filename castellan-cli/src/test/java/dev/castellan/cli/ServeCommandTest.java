package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Settings of {@code castellan serve} read without starting a server. */
class ServeCommandTest {
  @Test
  void sizes_areBytesOrBinaryUnits_andAnythingElseNamesTheSetting() {
    assertThat(ServeCommand.bytes("67108864", "import_max_bytes")).isEqualTo(64L << 20);
    assertThat(ServeCommand.bytes("64MiB", "import_max_bytes")).isEqualTo(64L << 20);
    assertThat(ServeCommand.bytes("512 kib", "import_max_bytes")).isEqualTo(512L << 10);
    assertThat(ServeCommand.bytes("1GiB", "import_max_bytes")).isEqualTo(1L << 30);
    // As in -Xmx: the index memory budget is often given like the heap.
    assertThat(ServeCommand.bytes("512m", "index_memory_budget")).isEqualTo(512L << 20);
    assertThat(ServeCommand.bytes("2g", "index_memory_budget")).isEqualTo(2L << 30);
    assertThat(ServeCommand.bytes("64k", "index_memory_budget")).isEqualTo(64L << 10);
    for (String bad : new String[] {"64MB", "-1", "lots", "1.5MiB"}) {
      assertThatThrownBy(() -> ServeCommand.bytes(bad, "import_max_bytes"))
          .hasMessageContaining("import_max_bytes")
          .hasMessageContaining(bad);
    }
  }
}
