package dev.castellan.cli;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import dev.castellan.model.ModelError;
import dev.castellan.model.SourceSpan;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The {@code fga.mod} manifest of a modular model, as OpenFGA's tooling reads it:
 *
 * <pre>
 * schema: '1.2'
 * contents:
 *   - core.fga
 *   - team/project.fga
 * </pre>
 *
 * <p>{@link #parse} applies OpenFGA's rules and messages word for word (a string {@code schema}
 * equal to {@code 1.2}; {@code contents} a list of relative {@code .fga} paths, URL-decoded, with
 * no {@code ../} and no leading {@code /}), keeping the 0-based position of every value, which
 * {@link #toJson} prints in the layout of OpenFGA's {@code fga.mod} transformer.
 */
record FgaModFile(Property schema, Property contents, List<Property> files) {

  /** A manifest value and where it is: 0-based lines and columns, end column exclusive. */
  record Property(String value, SourceSpan span) {
    Property {
      Objects.requireNonNull(value, "value");
      Objects.requireNonNull(span, "span");
    }
  }

  /** A manifest that breaks OpenFGA's rules; every problem, with its position. */
  static final class InvalidManifestException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient List<ModelError> errors;
    private final String file;

    InvalidManifestException(List<ModelError> errors) {
      this(errors, "fga.mod");
    }

    private InvalidManifestException(List<ModelError> errors, String file) {
      super(
          String.join(
              "; ", errors.stream().map(ModelError::describe).toList().toArray(new String[0])),
          null,
          false,
          false);
      this.errors = List.copyOf(errors);
      this.file = file;
    }

    /** The same errors, of the manifest at {@code path}. */
    InvalidManifestException in(String path) {
      return new InvalidManifestException(errors, path);
    }

    List<ModelError> errors() {
      return errors;
    }

    /** The manifest's path as given on the command line ({@code fga.mod} until known). */
    String file() {
      return file;
    }
  }

  /** Manifests are short lists of file names; a larger one is refused before it is parsed. */
  static final int MAX_CHARS = 256 * 1024;

  FgaModFile {
    files = List.copyOf(files);
  }

  /**
   * Reads a manifest.
   *
   * @throws InvalidManifestException listing every problem
   */
  static FgaModFile parse(String text) {
    return new Reader(text).read();
  }

  /** The manifest as OpenFGA's transformer prints it: each value with its line and column. */
  ObjectNode toJson() {
    JsonNodeFactory nodes = JsonNodeFactory.instance;
    ObjectNode root = nodes.objectNode();
    root.set("schema", property(schema));
    ObjectNode contentsNode = property(contents);
    var list = contentsNode.putArray("value");
    files.forEach(f -> list.add(property(f)));
    root.set("contents", contentsNode);
    return root;
  }

  private static ObjectNode property(Property property) {
    ObjectNode node = JsonNodeFactory.instance.objectNode();
    node.put("value", property.value());
    SourceSpan span = property.span();
    node.putObject("line").put("start", span.startLine()).put("end", span.endLine());
    node.putObject("column").put("start", span.startColumn()).put("end", span.endColumn());
    return node;
  }

  /** One reading of a manifest; collects every error before failing. */
  private static final class Reader {
    private final String text;
    private final List<ModelError> errors = new ArrayList<>();

    Reader(String text) {
      this.text = text;
    }

    FgaModFile read() {
      if (text.length() > MAX_CHARS) {
        error("the manifest has " + text.length() + " characters; at most " + MAX_CHARS, NONE);
        throw new InvalidManifestException(errors);
      }
      Property schema = null;
      Property contents = null;
      List<Property> files = new ArrayList<>();
      try (YAMLParser parser = new YAMLFactory().createParser(text)) {
        if (parser.nextToken() != JsonToken.START_OBJECT) {
          error("the manifest must be a YAML mapping with schema and contents", NONE);
          throw new InvalidManifestException(errors);
        }
        for (JsonToken token = parser.nextToken();
            token != null && token != JsonToken.END_OBJECT;
            token = parser.nextToken()) {
          String name = parser.currentName();
          JsonToken value = parser.nextToken();
          if ("schema".equals(name)) {
            schema = schema(parser, value);
            if (schema == null) {
              schema = new Property("", NONE);
            }
          } else if ("contents".equals(name)) {
            contents = contents(parser, value, files);
          } else {
            parser.skipChildren();
          }
        }
      } catch (IOException e) {
        error(
            "the manifest is not valid YAML: " + e.getMessage().lines().findFirst().orElse(""),
            NONE);
        throw new InvalidManifestException(errors);
      }
      if (schema == null) {
        error("missing schema field", ORIGIN);
      }
      if (contents == null) {
        error("missing contents field", ORIGIN);
      }
      if (!errors.isEmpty()) {
        throw new InvalidManifestException(errors);
      }
      return new FgaModFile(schema, contents, files);
    }

    private Property schema(YAMLParser parser, JsonToken token) throws IOException {
      SourceSpan span = spanOf(parser);
      if (token != JsonToken.VALUE_STRING) {
        error("unexpected schema type, expected string got value " + parser.getText(), span);
        parser.skipChildren();
        return null;
      }
      if (!parser.getText().equals("1.2")) {
        error("unsupported schema version, fga.mod only supported in version `1.2`", span);
        return null;
      }
      return new Property(parser.getText(), span);
    }

    private Property contents(YAMLParser parser, JsonToken token, List<Property> files)
        throws IOException {
      if (token != JsonToken.START_ARRAY) {
        error(
            "unexpected contents type, expected list of strings got value " + parser.getText(),
            spanOf(parser));
        parser.skipChildren();
        return new Property("", NONE);
      }
      JsonLocation start = parser.currentTokenLocation();
      for (JsonToken item = parser.nextToken();
          item != null && item != JsonToken.END_ARRAY;
          item = parser.nextToken()) {
        SourceSpan span = spanOf(parser);
        String raw = parser.getText();
        if (item != JsonToken.VALUE_STRING) {
          error("unexpected contents item type, expected string got value " + raw, span);
          parser.skipChildren();
          continue;
        }
        String path;
        try {
          path = URLDecoder.decode(raw, StandardCharsets.UTF_8).replace('\\', '/');
        } catch (IllegalArgumentException e) {
          error("invalid contents item " + raw, span);
          continue;
        }
        if (path.contains("../") || path.startsWith("/")) {
          error("invalid contents item " + raw, span);
        } else if (!path.endsWith(".fga")) {
          error("contents items should use fga file extension, got " + path, span);
        } else {
          files.add(new Property(path, span));
        }
      }
      JsonLocation end = parser.currentTokenLocation();
      return new Property(
          "",
          new SourceSpan(
              start.getLineNr() - 1,
              end.getLineNr() - 1,
              start.getColumnNr() - 1,
              end.getColumnNr() - 1));
    }

    /**
     * Where the current scalar is in the text: from its first character (a quote included) to just
     * after its last, on its line.
     */
    private SourceSpan spanOf(YAMLParser parser) throws IOException {
      JsonLocation location = parser.currentTokenLocation();
      int line = location.getLineNr() - 1;
      int column = location.getColumnNr() - 1;
      int offset = (int) location.getCharOffset();
      int length = parser.getText() == null ? 0 : parser.getText().length();
      if (offset >= 0 && offset < text.length()) {
        char first = text.charAt(offset);
        if (first == '"' || first == '\'') {
          int close = closingQuote(offset, first);
          length = close < 0 ? length + 2 : close - offset + 1;
        }
      }
      return new SourceSpan(line, line, column, column + length);
    }

    /** The offset of the quote that ends the quoted scalar starting at {@code open}, or -1. */
    private int closingQuote(int open, char quote) {
      for (int i = open + 1; i < text.length() && text.charAt(i) != '\n'; i++) {
        char c = text.charAt(i);
        if (quote == '"' && c == '\\') {
          i++;
        } else if (c == quote) {
          if (quote == '\'' && i + 1 < text.length() && text.charAt(i + 1) == '\'') {
            i++;
          } else {
            return i;
          }
        }
      }
      return -1;
    }

    private void error(String message, SourceSpan span) {
      errors.add(new ModelError("invalid-fga-mod", message, "", span));
    }
  }

  private static final SourceSpan ORIGIN = new SourceSpan(0, 0, 0, 0);
  private static final SourceSpan NONE = ORIGIN;
}
