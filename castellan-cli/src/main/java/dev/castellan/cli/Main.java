package dev.castellan.cli;

import dev.castellan.CastellanException;
import dev.castellan.engine.CheckRequest;
import dev.castellan.engine.CheckResult;
import dev.castellan.engine.Engine;
import dev.castellan.engine.TupleIndex;
import dev.castellan.model.AuthorizationModel;
import dev.castellan.model.InvalidModelException;
import dev.castellan.model.ModelDsl;
import dev.castellan.model.ModelError;
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
    subcommands = {
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
    return new CommandLine(new Main())
        .setExecutionExceptionHandler(
            (e, cmd, parsed) -> {
              PrintWriter err = cmd.getErr();
              if (e instanceof InvalidModelException invalid) {
                for (ModelError error : invalid.errors()) {
                  err.println("error: " + error.describe());
                }
              } else if (e instanceof CastellanException ce) {
                err.println("error [" + ce.code().wireName() + "]: " + ce.getMessage());
              } else {
                err.println("error: " + e);
              }
              return 2;
            })
        .execute(args);
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  static AuthorizationModel readModel(Path file) throws java.io.IOException {
    String text = Files.readString(file);
    return text.stripLeading().startsWith("{") ? ModelJson.read(text) : ModelDsl.parse(text);
  }

  @Command(
      name = "model",
      description = "Validate, convert and test authorization models.",
      subcommands = {
        ModelCommand.Validate.class,
        ModelCommand.Transform.class,
        ModelCommand.Test.class
      })
  static final class ModelCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
      spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(
        name = "validate",
        description = "Check a model (DSL or JSON) against OpenFGA's rules.")
    static final class Validate implements Callable<Integer> {
      @CommandLine.Spec CommandLine.Model.CommandSpec spec;

      @Parameters(paramLabel = "FILE", description = "a .fga (DSL) or .json model")
      Path file;

      @Override
      public Integer call() throws Exception {
        String text = Files.readString(file);
        List<ModelError> errors =
            text.stripLeading().startsWith("{")
                ? ModelValidator.validate(ModelJson.read(text))
                : ModelValidator.validateDsl(text);
        if (errors.isEmpty()) {
          spec.commandLine().getOut().println(file + ": valid");
          return 0;
        }
        for (ModelError error : errors) {
          spec.commandLine()
              .getErr()
              .println(file + ":" + error.describe() + " [" + error.kind() + "]");
        }
        return 1;
      }
    }

    @Command(name = "transform", description = "Convert a model between the DSL and JSON.")
    static final class Transform implements Callable<Integer> {
      @CommandLine.Spec CommandLine.Model.CommandSpec spec;

      @Parameters(paramLabel = "FILE", description = "a .fga (DSL) or .json model")
      Path file;

      @Option(names = "--to", description = "json or dsl (default: the other form)")
      String to = "";

      @Override
      public Integer call() throws Exception {
        String text = Files.readString(file);
        boolean isJson = text.stripLeading().startsWith("{");
        AuthorizationModel model = isJson ? ModelJson.read(text) : ModelDsl.parse(text);
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
        description = "Run OpenFGA store test files (.fga.yaml), like `fga model test`.")
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
  }

  @Command(
      name = "check",
      description = "Check one relationship offline against a store file's model and tuples.")
  static final class CheckCommand implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--store", required = true, description = "a store file (.fga.yaml)")
    Path store;

    @Option(names = "--user", required = true, description = "e.g. user:anne")
    String user;

    @Option(names = "--relation", required = true, description = "e.g. viewer")
    String relation;

    @Option(names = "--object", required = true, description = "e.g. document:roadmap")
    String object;

    @Option(names = "--explain", description = "print why the check came out as it did")
    boolean explain;

    @Override
    public Integer call() {
      StoreFile file = StoreFile.read(store);
      TupleIndex index = TupleIndex.create();
      Engine engine = Engine.create(file.model(), index);
      file.tuples().forEach(engine::validateTuple);
      index.write(file.tuples());
      CheckResult result =
          engine.check(CheckRequest.of(object, relation, user).withExplain(explain));
      PrintWriter out = spec.commandLine().getOut();
      out.println(result.allowed() ? "allowed" : "denied");
      result.explanation().ifPresent(e -> out.print(e.render()));
      out.flush();
      return result.allowed() ? 0 : 1;
    }
  }
}
