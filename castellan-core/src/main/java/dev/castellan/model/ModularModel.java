package dev.castellan.model;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Modular models (OpenFGA schema 1.2): module files ({@code module name}, types, {@code extend
 * type}, conditions) combined into one model, as the files listed in an {@code fga.mod} manifest
 * are by OpenFGA's {@code fga model write/validate/test}.
 *
 * <p>The rules are OpenFGA's ({@code TransformModuleFilesToModel}): a type is declared once across
 * all files; {@code extend type} adds relations to a type declared in some file, never one it
 * already has; a condition is declared once; every file must be a module. The combined model
 * records where each type, extension relation and condition came from ({@link ModuleSource}), and
 * is then validated like any model, its errors pointing into the file that holds the cause.
 */
public final class ModularModel {

  /** The schema version of every modular model. */
  public static final String SCHEMA_VERSION = "1.2";

  /** One module file: its name as listed in {@code fga.mod} (e.g. {@code team/core.fga}). */
  public record SourceFile(String name, String contents) {
    public SourceFile {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(contents, "contents");
    }
  }

  /** A problem in one module file ({@code file} is empty when no one file holds the cause). */
  public record FileError(String file, ModelError error) {
    public FileError {
      Objects.requireNonNull(file, "file");
      Objects.requireNonNull(error, "error");
    }

    /** {@code file:line:column: message} with 1-based numbers, as editors expect. */
    public String describe() {
      return file.isEmpty() ? error.describe() : file + ":" + error.describe();
    }
  }

  /** Module files that do not combine into a valid model; carries every problem found. */
  public static final class InvalidModularModelException extends CastellanException {
    private static final long serialVersionUID = 1L;
    private final transient List<FileError> errors;

    InvalidModularModelException(List<FileError> errors) {
      super(ErrorCode.INVALID_AUTHORIZATION_MODEL, summarize(errors));
      this.errors = List.copyOf(errors);
    }

    public List<FileError> errors() {
      return errors;
    }

    private static String summarize(List<FileError> errors) {
      String all = errors.stream().map(FileError::describe).collect(Collectors.joining("; "));
      return errors.size() == 1 ? all : errors.size() + " errors: " + all;
    }
  }

  /** At most this many module files, so a manifest cannot make us parse without end. */
  public static final int MAX_FILES = 1_000;

  private ModularModel() {}

  /**
   * Combines module files, in the order given, into one schema 1.2 model and validates it.
   *
   * @throws InvalidModularModelException listing every problem, each with its file
   */
  public static AuthorizationModel combine(List<SourceFile> files) {
    return new Combiner().combine(files);
  }

  /**
   * The files of {@code model} whose types, relations and conditions come from more than one
   * module: OpenFGA refuses such a model ({@code multiple-modules-in-file}) because it could not be
   * written back as module files.
   */
  static List<ModelError> filesWithSeveralModules(AuthorizationModel model) {
    Map<String, Set<String>> modulesByFile = new LinkedHashMap<>();
    for (TypeDefinition type : model.typeDefinitions()) {
      track(modulesByFile, type.source());
      for (RelationDefinition relation : type.relations().values()) {
        track(modulesByFile, relation.source());
      }
    }
    for (Condition condition : model.conditions().values()) {
      track(modulesByFile, condition.source());
    }
    List<ModelError> errors = new ArrayList<>();
    modulesByFile.forEach(
        (file, modules) -> {
          if (modules.size() > 1) {
            errors.add(
                new ModelError(
                    "multiple-modules-in-file",
                    "file "
                        + file
                        + " would contain multiple module definitions ("
                        + String.join(", ", modules)
                        + ") when transforming to DSL. Only one module can be defined per file.",
                    file,
                    SourceSpan.NONE));
          }
        });
    return errors;
  }

  private static void track(Map<String, Set<String>> modulesByFile, ModuleSource source) {
    if (!source.file().isEmpty() && !source.module().isEmpty()) {
      modulesByFile.computeIfAbsent(source.file(), f -> new LinkedHashSet<>()).add(source.module());
    }
  }

  /** One combination: the parts found so far, and where each came from. */
  private static final class Combiner {
    private final List<FileError> errors = new ArrayList<>();
    private final DslParser.SourceMap sources = new DslParser.SourceMap();

    /** The file each source span was found in, to name it in validation errors. */
    private final Map<SourceSpan, String> fileOfSpan = new IdentityHashMap<>();

    private final Map<String, TypeDefinition> types = new LinkedHashMap<>();
    private final Map<String, Map<String, RelationDefinition>> relations = new LinkedHashMap<>();
    private final Map<String, Condition> conditions = new LinkedHashMap<>();

    private record Extension(SourceFile file, TypeDefinition type, DslParser.SourceMap sources) {}

    AuthorizationModel combine(List<SourceFile> files) {
      if (files.size() > MAX_FILES) {
        throw new InvalidModularModelException(
            List.of(
                new FileError(
                    "",
                    new ModelError(
                        "too-many-files",
                        "a modular model has at most " + MAX_FILES + " files, not " + files.size(),
                        "",
                        SourceSpan.NONE))));
      }
      List<Extension> extensions = new ArrayList<>();
      for (SourceFile file : files) {
        DslParser.Result parsed = DslParser.parse(file.contents());
        if (!parsed.errors().isEmpty()) {
          parsed.errors().forEach(e -> errors.add(new FileError(file.name(), e)));
          continue;
        }
        DslParser.SourceMap fileSources = parsed.sourceMap();
        if (fileSources.module.isEmpty()) {
          error(file, "file-not-module", "file is not a module", "", new SourceSpan(0, 0, 0, 0));
          continue;
        }
        remember(file, fileSources);
        for (TypeDefinition type : parsed.parsedModel().typeDefinitions()) {
          if (fileSources.extendedTypes.contains(type.name())) {
            extensions.add(new Extension(file, type, fileSources));
          } else if (types.containsKey(type.name())) {
            error(
                file,
                "duplicate-type",
                "duplicate type definition " + type.name(),
                type.name(),
                fileSources.of(type));
          } else {
            TypeDefinition declared =
                new TypeDefinition(
                    type.name(), type.relations(), type.source().inFile(file.name()));
            sources.spans.put(declared, fileSources.of(type));
            types.put(type.name(), declared);
            relations.put(type.name(), new LinkedHashMap<>(type.relations()));
          }
        }
        for (Condition condition : parsed.parsedModel().conditions().values()) {
          if (conditions.containsKey(condition.name())) {
            error(
                file,
                "duplicate-condition",
                "duplicate condition " + condition.name(),
                condition.name(),
                fileSources.of(condition));
          } else {
            Condition declared =
                new Condition(
                    condition.name(),
                    condition.parameters(),
                    condition.expression(),
                    condition.source().inFile(file.name()));
            sources.spans.put(declared, fileSources.of(condition));
            conditions.put(condition.name(), declared);
          }
        }
      }
      for (Extension extension : extensions) {
        extend(extension);
      }
      List<TypeDefinition> combined = new ArrayList<>();
      for (TypeDefinition type : types.values()) {
        TypeDefinition merged =
            new TypeDefinition(
                type.name(), Objects.requireNonNull(relations.get(type.name())), type.source());
        sources.spans.put(merged, sources.of(type));
        combined.add(merged);
      }
      AuthorizationModel model = new AuthorizationModel(SCHEMA_VERSION, combined, conditions);
      // Validated even after combination errors, as OpenFGA does: every problem in one run.
      for (ModelError error : ModelValidator.validate(model, sources)) {
        errors.add(new FileError(fileOfSpan.getOrDefault(error.span(), ""), error));
      }
      if (!errors.isEmpty()) {
        throw new InvalidModularModelException(errors);
      }
      return model;
    }

    private void extend(Extension extension) {
      String file = extension.file().name();
      TypeDefinition type = extension.type();
      Map<String, RelationDefinition> existing = relations.get(type.name());
      if (existing == null) {
        error(
            extension.file(),
            "extended-type-missing",
            "extended type " + type.name() + " does not exist",
            type.name(),
            extension.sources().of(type));
        return;
      }
      for (RelationDefinition relation : type.relations().values()) {
        if (existing.containsKey(relation.name())) {
          error(
              extension.file(),
              "duplicate-relation",
              "relation " + relation.name() + " already exists on type " + type.name(),
              relation.name(),
              extension.sources().of(relation));
          continue;
        }
        RelationDefinition added =
            new RelationDefinition(
                relation.name(),
                relation.rewrite(),
                relation.directlyRelatedTypes(),
                relation.source().inFile(file));
        sources.spans.put(added, extension.sources().of(relation));
        existing.put(relation.name(), added);
      }
    }

    /** Takes over a file's positions (keyed by the parts, which the combined model shares). */
    private void remember(SourceFile file, DslParser.SourceMap fileSources) {
      sources.spans.putAll(fileSources.spans);
      sources.tuplesetSpans.putAll(fileSources.tuplesetSpans);
      sources.conditionReferenceSpans.putAll(fileSources.conditionReferenceSpans);
      for (Map<Object, SourceSpan> spans :
          List.of(
              fileSources.spans, fileSources.tuplesetSpans, fileSources.conditionReferenceSpans)) {
        spans.values().forEach(span -> fileOfSpan.put(span, file.name()));
      }
    }

    private void error(
        SourceFile file, String kind, String message, String symbol, SourceSpan span) {
      errors.add(new FileError(file.name(), new ModelError(kind, message, symbol, span)));
    }
  }
}
