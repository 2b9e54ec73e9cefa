package dev.castellan.cli;

import dev.castellan.engine.CheckRequest;
import dev.castellan.engine.CheckResult;
import dev.castellan.engine.Engine;
import dev.castellan.engine.TupleIndex;
import dev.castellan.model.AuthorizationModel;
import dev.castellan.model.ModelDsl;
import dev.castellan.model.ModelJson;
import dev.castellan.model.ModelValidator;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The {@code castellan} command line. */
@Command(
    name = "castellan",
    mixinStandardHelpOptions = true,
    version = "castellan 0.1.0-SNAPSHOT",
    description = "Authorization server for AI platforms (OpenFGA-compatible).",
    footerHeading = "%nExamples:%n",
    footer = {
      "  castellan serve --demo          ./data, port 8080, a demo store to try",
      "  castellan help keys create      how to make an API key",
      "  castellan check --file store.fga.yaml --user user:anne --relation viewer \\",
      "      --object doc:1              one check against a store file, offline",
      "",
      "Errors are one line, 'error[code]: message', with exit status 2 (1 is a",
      "negative answer: denied, a failed test); CASTELLAN_DEBUG=1 shows the details."
    },
    subcommands = {
      CommandLine.HelpCommand.class,
      ServeCommand.class,
      ImportCommand.class,
      KeysCommand.class,
      RbacCommand.class,
      TokenCommand.class,
      AuditCommand.class,
      Main.ModelCommand.class,
      Main.CheckCommand.class,
      HealthcheckCommand.class
    })
public final class Main implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the CLI and returns its exit code (tests call this instead of {@link #main}). */
  static int run(String... args) {
    return commandLine().execute(args);
  }

  /** The command tree with Castellan's error reporting: one line, a stable code, no stack trace. */
  static CommandLine commandLine() {
    return new CommandLine(new Main())
        .setExecutionExceptionHandler((e, cmd, parsed) -> CliErrors.handle(e, cmd))
        .setParameterExceptionHandler(CliErrors::handleUsage);
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  static AuthorizationModel readModel(Path file) {
    return ModelFiles.read(file);
  }

  /** A text file named on the command line; a missing or unreadable one is a one-line error. */
  static String readText(Path file) {
    try {
      if (Files.isDirectory(file)) {
        throw new CliFailure(
            CliFailure.FILE_UNREADABLE, file + " is a directory; give the path of a file");
      }
      return Files.readString(file);
    } catch (java.nio.charset.MalformedInputException e) {
      throw new CliFailure(CliFailure.INVALID_FILE, file + " is not UTF-8 text", e);
    } catch (java.io.IOException e) {
      throw CliErrors.describe(e, "");
    }
  }

  @Command(
      name = "model",
      mixinStandardHelpOptions = true,
      description = "Validate, convert and test authorization models.",
      footerHeading = "%nExamples:%n",
      footer = {
        "  castellan model validate examples/models/rag.fga",
        "  castellan model validate fga.mod              a modular model (schema 1.2)",
        "  castellan model test examples/models/rag.fga.yaml",
        "  castellan model write --store ID fga.mod"
      },
      subcommands = {
        ModelCommand.Validate.class,
        ModelCommand.Transform.class,
        ModelCommand.Test.class,
        ModelCommand.Write.class
      })
  static final class ModelCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
      spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(
        name = "validate",
        mixinStandardHelpOptions = true,
        description = {
          "Check a model (DSL, JSON, or a modular model's fga.mod) against OpenFGA's rules.",
          "Exits 0 when it is valid, 1 listing each error with file:line:column."
        },
        footerHeading = "%nExamples:%n",
        footer = {
          "  castellan model validate examples/models/rag.fga",
          "  castellan model validate model.json",
          "  castellan model validate fga.mod    the module files its contents list, combined"
        })
    static final class Validate implements Callable<Integer> {
      @CommandLine.Spec CommandLine.Model.CommandSpec spec;

      @Parameters(paramLabel = "FILE", description = "a .fga (DSL) or .json model, or fga.mod")
      Path file;

      @Override
      public Integer call() throws Exception {
        List<String> problems = ModelFiles.problems(file);
        if (problems.isEmpty()) {
          spec.commandLine().getOut().println(file + ": valid");
          return 0;
        }
        problems.forEach(spec.commandLine().getErr()::println);
        return 1;
      }
    }

    @Command(
        name = "transform",
        mixinStandardHelpOptions = true,
        description = {
          "Convert a model between the DSL and JSON.",
          "An fga.mod manifest gives its combined modular model, JSON by default, with each",
          "part's module and file (OpenFGA's metadata; comments in the DSL)."
        },
        footerHeading = "%nExamples:%n",
        footer = {
          "  castellan model transform examples/models/rag.fga > rag.json     DSL to JSON",
          "  castellan model transform rag.json --to dsl",
          "  castellan model transform fga.mod > model.json    for POST .../authorization-models"
        })
    static final class Transform implements Callable<Integer> {
      @CommandLine.Spec CommandLine.Model.CommandSpec spec;

      @Parameters(paramLabel = "FILE", description = "a .fga (DSL) or .json model, or fga.mod")
      Path file;

      @Option(
          names = "--to",
          description = "json or dsl (default: the other form; json for fga.mod)")
      String to = "";

      @Override
      public Integer call() throws Exception {
        boolean isJson =
            !ModelFiles.isManifest(file) && readText(file).stripLeading().startsWith("{");
        AuthorizationModel model = ModelFiles.read(file);
        String target = to.isEmpty() ? (isJson ? "dsl" : "json") : to;
        switch (target) {
          case "json" -> spec.commandLine().getOut().println(ModelJson.write(model));
          case "dsl" -> {
            spec.commandLine().getOut().print(ModelDsl.write(model));
            spec.commandLine().getOut().flush();
          }
          default ->
              throw new CommandLine.ParameterException(
                  spec.commandLine(), "--to must be json or dsl, got '" + to + "'");
        }
        return 0;
      }
    }

    @Command(
        name = "test",
        mixinStandardHelpOptions = true,
        description = {
          "Run OpenFGA store test files (.fga.yaml), like `fga model test`.",
          "Exits 0 when every assertion passes, 1 otherwise."
        },
        footerHeading = "%nExamples:%n",
        footer = {
          "  castellan model test examples/models/rag.fga.yaml",
          "  castellan model test --verbose tests/*.fga.yaml"
        })
    static final class Test implements Callable<Integer> {
      @CommandLine.Spec CommandLine.Model.CommandSpec spec;

      @Parameters(paramLabel = "FILE", arity = "1..*", description = "store test files")
      List<Path> files;

      @Option(names = "--verbose", description = "print passing assertions too")
      boolean verbose;

      @Override
      public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        int passed = 0;
        int failed = 0;
        for (Path file : files) {
          List<StoreTestRunner.Outcome> outcomes = StoreTestRunner.run(StoreFile.read(file));
          for (StoreTestRunner.Outcome o : outcomes) {
            if (o.passed()) {
              passed++;
            } else {
              failed++;
            }
            if (!o.passed() || verbose) {
              out.printf(
                  "%s %s: %s: %s (%s)%n",
                  o.passed() ? "PASS" : "FAIL",
                  file.getFileName(),
                  o.test(),
                  o.assertion(),
                  o.detail());
            }
          }
        }
        out.println(passed + " passed, " + failed + " failed");
        return failed == 0 ? 0 : 1;
      }
    }

    @Command(
        name = "write",
        mixinStandardHelpOptions = true,
        description = {
          "Write a model (DSL, JSON, or a modular model's fga.mod) to a store, after checking it",
          "against OpenFGA's rules; prints the new authorization_model_id. Like `import`, it",
          "writes to the database (--data or --pg-url); over HTTP, POST the JSON of",
          "`castellan model transform` to /stores/{id}/authorization-models."
        },
        footerHeading = "%nExamples:%n",
        footer = {
          "  castellan model write --store 01HV... examples/models/rag.fga",
          "  castellan model write --store 01HV... --pg-url jdbc:postgresql://... fga.mod"
        })
    static final class Write implements Callable<Integer> {
      @CommandLine.Spec CommandLine.Model.CommandSpec spec;

      @CommandLine.Mixin StoreOptions storeOptions = new StoreOptions();

      @Parameters(paramLabel = "FILE", description = "a .fga (DSL) or .json model, or fga.mod")
      Path file;

      @Option(names = "--store", required = true, description = "the store id to write to")
      String storeId;

      @Override
      public Integer call() {
        AuthorizationModel model = ModelFiles.read(file);
        ModelValidator.requireValid(model);
        dev.castellan.condition.ConditionEvaluator.compile(model.conditions());
        try (dev.castellan.store.Store store = storeOptions.open()) {
          if (store.getStore(storeId).isEmpty()) {
            throw new dev.castellan.CastellanException(
                dev.castellan.ErrorCode.STORE_ID_NOT_FOUND,
                "no store " + storeId + " in the " + storeOptions.describe());
          }
          String id = store.writeModel(storeId, model);
          spec.commandLine().getOut().println(id);
        }
        return 0;
      }
    }
  }

  @Command(
      name = "check",
      mixinStandardHelpOptions = true,
      description = {
        "Check one relationship offline, against a store file.",
        "The store file (.fga.yaml) holds the model and the tuples, as `fga model test` reads it.",
        "Prints allowed (exit 0) or denied (exit 1)."
      },
      footerHeading = "%nExamples:%n",
      footer = {
        "  castellan check --file examples/models/rag.fga.yaml --user user:anne \\",
        "      --relation can_view --object document:q3-plan --explain",
        "  castellan check --file deploy.fga.yaml --user user:dave \\",
        "      --relation can_deploy --object model:fraud --context '{\"hour_utc\": 10}'"
      })
  static final class CheckCommand implements Callable<Integer> {
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
        new com.fasterxml.jackson.databind.ObjectMapper();

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(
        names = {"--file", "-f"},
        paramLabel = "FILE",
        description =
            "a store file (.fga.yaml): model, tuples and tests, as `fga model test` reads")
    Path file;

    /** The old name: elsewhere --store means a store id, so it is kept only as an alias. */
    @Option(names = "--store", paramLabel = "FILE", hidden = true)
    Path deprecatedStore;

    @Option(names = "--user", required = true, description = "e.g. user:anne")
    String user;

    @Option(names = "--relation", required = true, description = "e.g. viewer")
    String relation;

    @Option(names = "--object", required = true, description = "e.g. document:roadmap")
    String object;

    @Option(
        names = "--context",
        paramLabel = "JSON",
        description =
            "values for the conditions of a conditional model, a JSON object, e.g."
                + " '{\"hour_utc\": 10}' (tuple context wins, as in OpenFGA)")
    String context;

    @Option(names = "--explain", description = "print why the check came out as it did")
    boolean explain;

    @Override
    public Integer call() {
      if (file != null && deprecatedStore != null) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "give the store file once, with --file");
      }
      if (file == null && deprecatedStore == null) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "Missing required option: '--file=FILE'");
      }
      if (deprecatedStore != null) {
        spec.commandLine()
            .getErr()
            .println(
                "warning: 'castellan check --store FILE' is deprecated, use --file FILE (--store"
                    + " means a store id in the other commands)");
        spec.commandLine().getErr().flush();
        file = deprecatedStore;
      }
      java.util.Map<String, Object> values = parseContext();
      StoreFile store = StoreFile.read(file);
      TupleIndex index = TupleIndex.create();
      Engine engine = Engine.create(store.model(), index);
      store.tuples().forEach(engine::validateTuple);
      index.write(store.tuples());
      CheckResult result =
          engine.check(
              CheckRequest.of(object, relation, user).withContext(values).withExplain(explain));
      PrintWriter out = spec.commandLine().getOut();
      out.println(result.allowed() ? "allowed" : "denied");
      result.explanation().ifPresent(e -> out.print(e.render()));
      out.flush();
      return result.allowed() ? 0 : 1;
    }

    private java.util.Map<String, Object> parseContext() {
      if (context == null) {
        return java.util.Map.of();
      }
      try {
        com.fasterxml.jackson.databind.JsonNode node = JSON.readTree(context);
        if (node != null && node.isObject()) {
          @SuppressWarnings("unchecked")
          java.util.Map<String, Object> map = JSON.convertValue(node, java.util.Map.class);
          return map;
        }
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        // reported below, with an example
      }
      throw new CommandLine.ParameterException(
          spec.commandLine(),
          "--context must be a JSON object, e.g. '{\"hour_utc\": 10}', got '" + context + "'");
    }
  }
}
