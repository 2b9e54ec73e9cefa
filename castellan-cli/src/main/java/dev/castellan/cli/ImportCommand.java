package dev.castellan.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.Engine;
import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleIndex;
import dev.castellan.engine.TupleKey;
import dev.castellan.server.api.Body;
import dev.castellan.server.directory.PendingIdentities;
import dev.castellan.store.DirectoryStore;
import dev.castellan.store.Identity;
import dev.castellan.store.PendingStore;
import dev.castellan.store.PendingTuple;
import dev.castellan.store.Store;
import dev.castellan.store.StoredModel;
import dev.castellan.store.WriteResult;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code castellan import FILE}: loads tuples from JSON lines or CSV into a store in one stream,
 * checking each against the store's latest model, with progress output.
 */
@Command(
    name = "import",
    mixinStandardHelpOptions = true,
    description = {
      "Bulk-load tuples from JSON lines (.jsonl) or CSV (.csv) into a store.",
      "Each tuple is checked against the store's latest model; tuples already present are"
          + " skipped.",
      "A JSON line may name a person by \"identity\" ({\"kind\",\"namespace\",\"value\"})"
          + " instead of \"user\": a person the directory knows is written as"
          + " user:<directory id>, an unknown one is held until the directory knows them"
          + " (see --source).",
      "The embedded store (--data) can be open in one process only: stop the server first, or use"
          + " PostgreSQL (--pg-url)."
    },
    footerHeading = "%nExamples:%n",
    footer = {
      "  castellan import tuples.jsonl --store 01J... --data ./data",
      "  castellan import tuples.csv --store 01J... --pg-url \"$CASTELLAN_PG_URL\"",
      "  castellan import drive-shares.jsonl --store 01J... --data ./data --source drive"
    })
final class ImportCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Mixin StoreOptions storeOptions = new StoreOptions();

  @Parameters(paramLabel = "FILE", description = "tuples: one JSON object per line, or CSV")
  Path file;

  @Option(names = "--store", required = true, description = "the store id to import into")
  String storeId;

  @Option(names = "--batch", description = "tuples per transaction (default 5000)")
  int batchSize = 5_000;

  @Option(
      names = "--source",
      description =
          "where rows naming identities come from (drive, slack, ...), to list or drop the rows"
              + " held for unknown people by source (default cli)")
  String source = "cli";

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    if (!Files.isReadable(file)) {
      throw new CliFailure(
          Files.exists(file) ? CliFailure.FILE_UNREADABLE : CliFailure.FILE_NOT_FOUND,
          (Files.exists(file) ? "cannot read " : "no such file: ") + file);
    }
    try (Store store = storeOptions.open()) {
      if (store.getStore(storeId).isEmpty()) {
        throw new CastellanException(
            ErrorCode.STORE_ID_NOT_FOUND,
            "no store " + storeId + " in the " + storeOptions.describe());
      }
      StoredModel model = store.requireLatestModel(storeId);
      Engine validator = Engine.create(model.model(), TupleIndex.create());
      PendingTuple.checkSource(source);
      Held held = new Held(store.pendingStore(), storeId);
      long start = System.nanoTime();
      try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
        boolean csv =
            file.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".csv");
        Iterator<Tuple> tuples =
            csv
                ? new CsvTuples(reader)
                : new JsonLineTuples(
                    reader, new Identities(store.directoryStore(), validator, source, held::add));
        Iterator<Tuple> checked =
            new Iterator<>() {
              @Override
              public boolean hasNext() {
                return tuples.hasNext();
              }

              @Override
              public Tuple next() {
                Tuple tuple = tuples.next();
                validator.validateTuple(tuple);
                return tuple;
              }
            };
        WriteResult result =
            store.importTuples(
                storeId,
                checked,
                batchSize,
                count -> {
                  out.printf("  %,d tuples%n", count);
                  out.flush();
                });
        held.flush();
        double seconds = (System.nanoTime() - start) / 1e9;
        out.printf(
            "imported %,d tuples in %.1f s (%,.0f tuples/s); store revision %d%n",
            result.written(),
            seconds,
            result.written() / Math.max(seconds, 1e-9),
            result.revision());
        if (held.seen() > 0) {
          out.printf(
              "held %,d rows for people the directory does not know yet (%,d new); they are"
                  + " written when the directory knows them (a server applies them at start)%n",
              held.seen(), held.added());
        }
      }
    }
    return 0;
  }

  /** Rows held for unknown identities, written to the store a batch at a time. */
  private static final class Held {
    private final PendingStore pending;
    private final String storeId;
    private final List<PendingTuple> batch = new ArrayList<>();
    private long seen;
    private long added;

    Held(PendingStore pending, String storeId) {
      this.pending = pending;
      this.storeId = storeId;
    }

    void add(PendingTuple row) {
      batch.add(row);
      seen++;
      if (batch.size() == PendingStore.MAX_BATCH) {
        flush();
      }
    }

    void flush() {
      if (!batch.isEmpty()) {
        added += pending.hold(storeId, List.copyOf(batch));
        batch.clear();
      }
    }

    long seen() {
      return seen;
    }

    long added() {
      return added;
    }
  }

  /**
   * How a line naming an {@code identity} is read, as the server's imports read it (ADR 0024):
   * checked against the model as a tuple of a {@code user:} placeholder, then written as the active
   * directory user the identity names, or held (for nobody yet, or a deactivated user).
   */
  private record Identities(
      DirectoryStore directory, Engine validator, String source, Consumer<PendingTuple> hold) {

    /** The tuple to write for {@code tuple} (its user a placeholder), or empty once held. */
    Optional<Tuple> resolve(Tuple tuple, Identity identity) {
      Tuple placeholder = withUser(tuple, "user:" + PendingIdentities.PLACEHOLDER_ID);
      try {
        validator.validateTuple(placeholder);
      } catch (CastellanException e) {
        throw new CastellanException(
            e.code(), "(its identity checked as a user:<directory id>) " + e.getMessage());
      }
      Optional<String> user = PendingIdentities.recipient(directory, identity);
      if (user.isPresent()) {
        return Optional.of(withUser(tuple, PendingIdentities.subject(user.get())));
      }
      hold.accept(
          new PendingTuple(
              tuple.key().object(),
              tuple.key().relation(),
              tuple.condition(),
              tuple.conditionContext(),
              identity,
              source));
      return Optional.empty();
    }

    private static Tuple withUser(Tuple tuple, String user) {
      return new Tuple(
          new TupleKey(tuple.key().object(), tuple.key().relation(), user),
          tuple.condition(),
          tuple.conditionContext(),
          tuple.expiresAt());
    }
  }

  /**
   * {"object": "doc:1", "relation": "viewer", "user": "user:a", "condition": {...}}, or with
   * {"identity": {"kind": "email", "value": "ann@example.com"}} in place of "user".
   */
  private static final class JsonLineTuples implements Iterator<Tuple> {
    private final BufferedReader reader;
    private final Identities identities;
    private Tuple ready;
    private long number;

    JsonLineTuples(BufferedReader reader, Identities identities) {
      this.reader = reader;
      this.identities = identities;
    }

    @Override
    public boolean hasNext() {
      try {
        while (ready == null) {
          String read = reader.readLine();
          if (read == null) {
            return false;
          }
          number++;
          if (!read.isBlank()) {
            ready = parse(read).orElse(null); // a held line yields no tuple: read on
          }
        }
        return true;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    public Tuple next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      Tuple tuple = ready;
      ready = null;
      return tuple;
    }

    private Optional<Tuple> parse(String text) {
      try {
        JsonNode node = Body.JSON.readTree(text);
        JsonNode key = node.has("tuple_key") ? node.get("tuple_key") : node;
        Identity identity = null;
        if (key.has("identity")) {
          if (key.has("user")) {
            throw new CastellanException(
                ErrorCode.VALIDATION_ERROR, "names both a 'user' and an 'identity'");
          }
          JsonNode id = key.get("identity");
          identity =
              new Identity(
                  id.path("kind").asText(""),
                  id.path("namespace").asText(""),
                  id.path("value").asText(""));
          key =
              ((com.fasterxml.jackson.databind.node.ObjectNode) key.deepCopy())
                  .put("user", "user:" + PendingIdentities.PLACEHOLDER_ID);
        }
        String condition = "";
        Map<String, Object> context = Map.of();
        JsonNode conditionNode = key.get("condition");
        if (conditionNode != null && conditionNode.isObject()) {
          condition = conditionNode.path("name").asText("");
          // As the server reads it: numbers exact, and refused outside the range of a double.
          context = Body.context(conditionNode.get("context"), "condition.context");
        }
        Instant expires =
            key.hasNonNull("expires_at") ? Instant.parse(key.get("expires_at").asText()) : null;
        Tuple tuple =
            new Tuple(
                new TupleKey(text(key, "object"), text(key, "relation"), text(key, "user")),
                condition,
                context,
                expires);
        return identity == null ? Optional.of(tuple) : identities.resolve(tuple, identity);
      } catch (CastellanException e) {
        throw new CastellanException(e.code(), "line " + number + ": " + e.getMessage());
      } catch (NumberFormatException | ArithmeticException e) {
        throw new CastellanException(
            ErrorCode.VALIDATION_ERROR,
            "line "
                + number
                + ": holds a number outside the range of a double (its exponent is out of range)");
      } catch (IOException | RuntimeException e) {
        throw new CastellanException(
            ErrorCode.VALIDATION_ERROR, "line " + number + ": not a tuple: " + e.getMessage());
      }
    }

    private String text(JsonNode node, String field) {
      JsonNode value = node.get(field);
      if (value == null || !value.isTextual() || value.asText().isEmpty()) {
        throw new IllegalArgumentException("'" + field + "' is missing");
      }
      return value.asText();
    }
  }

  /**
   * CSV with a header: either {@code object,relation,user} or the columns of {@code fga tuple write
   * --file}: user_type, user_id, user_relation, relation, object_type, object_id, condition_name
   * (condition context is not supported in CSV; use JSON lines).
   */
  private static final class CsvTuples implements Iterator<Tuple> {
    private final BufferedReader reader;
    private final List<String> header;
    private String line;
    private long number = 1;

    CsvTuples(BufferedReader reader) throws IOException {
      this.reader = reader;
      String first = reader.readLine();
      if (first == null) {
        throw new CastellanException(ErrorCode.VALIDATION_ERROR, "the CSV file is empty");
      }
      header = List.of(first.trim().split("\\s*,\\s*"));
      if (!(header.containsAll(List.of("object", "relation", "user"))
          || header.containsAll(
              List.of("user_type", "user_id", "relation", "object_type", "object_id")))) {
        throw new CastellanException(
            ErrorCode.VALIDATION_ERROR,
            "the CSV header must name object,relation,user or user_type,user_id,relation,"
                + "object_type,object_id");
      }
    }

    @Override
    public boolean hasNext() {
      try {
        while (line == null) {
          String read = reader.readLine();
          if (read == null) {
            return false;
          }
          number++;
          if (!read.isBlank()) {
            line = read;
          }
        }
        return true;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    public Tuple next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      String[] cells = line.split(",", -1);
      line = null;
      if (cells.length != header.size()) {
        throw new CastellanException(
            ErrorCode.VALIDATION_ERROR,
            "line " + number + ": " + cells.length + " cells, the header has " + header.size());
      }
      Map<String, String> row = new LinkedHashMap<>();
      for (int i = 0; i < cells.length; i++) {
        row.put(header.get(i), cells[i].trim());
      }
      if (row.containsKey("object")) {
        return Tuple.of(row.get("object"), row.get("relation"), row.get("user"));
      }
      String user = row.get("user_type") + ":" + row.get("user_id");
      String userRelation = row.getOrDefault("user_relation", "");
      if (!userRelation.isEmpty()) {
        user += "#" + userRelation;
      }
      String object = row.get("object_type") + ":" + row.get("object_id");
      String condition = row.getOrDefault("condition_name", "");
      return new Tuple(new TupleKey(object, row.get("relation"), user), condition, Map.of());
    }
  }
}
