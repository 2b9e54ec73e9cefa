package dev.castellan.cli;

import dev.castellan.model.AuthorizationModel;
import dev.castellan.model.ModelDsl;
import dev.castellan.model.ModelError;
import dev.castellan.model.ModelJson;
import dev.castellan.model.ModelValidator;
import dev.castellan.model.ModularModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Model files named on the command line: a DSL file ({@code .fga}), OpenFGA's JSON, or the {@code
 * fga.mod} manifest of a modular model, whose {@code contents} files (relative to the manifest's
 * directory) are combined into one schema 1.2 model as OpenFGA's CLI does.
 */
final class ModelFiles {

  private ModelFiles() {}

  /** Whether {@code file} is a modular model's manifest: {@code fga.mod} or any {@code *.mod}. */
  static boolean isManifest(Path file) {
    Path name = file.getFileName();
    return name != null && name.toString().endsWith(".mod");
  }

  /**
   * Reads a model in any of the three forms; a manifest's model is combined and validated.
   *
   * @throws dev.castellan.model.InvalidModelException for a DSL or JSON file that does not parse
   * @throws FgaModFile.InvalidManifestException for a manifest that breaks OpenFGA's rules
   * @throws ModularModel.InvalidModularModelException for module files that do not combine
   */
  static AuthorizationModel read(Path file) {
    if (isManifest(file)) {
      return combine(file);
    }
    String text = Main.readText(file);
    return text.stripLeading().startsWith("{") ? ModelJson.read(text) : ModelDsl.parse(text);
  }

  /**
   * Every problem of a model file, one line each ({@code file:line:column: message [kind]}); empty
   * when the model is valid.
   */
  static List<String> problems(Path file) {
    List<String> lines = new ArrayList<>();
    if (isManifest(file)) {
      try {
        combine(file);
      } catch (FgaModFile.InvalidManifestException e) {
        e.errors().forEach(error -> lines.add(line(file.toString(), error)));
      } catch (ModularModel.InvalidModularModelException e) {
        for (ModularModel.FileError error : e.errors()) {
          lines.add(line(contentsPath(file, error.file()), error.error()));
        }
      }
      return lines;
    }
    String text = Main.readText(file);
    List<ModelError> errors =
        text.stripLeading().startsWith("{")
            ? ModelValidator.validate(ModelJson.read(text))
            : ModelValidator.validateDsl(text);
    errors.forEach(error -> lines.add(line(file.toString(), error)));
    return lines;
  }

  /** Where a contents file of {@code manifest} is, as the person named the manifest. */
  static String contentsPath(Path manifest, String contentsFile) {
    if (contentsFile.isEmpty()) {
      return manifest.toString();
    }
    Path dir = manifest.getParent();
    return dir == null ? contentsFile : dir.resolve(contentsFile).toString();
  }

  private static String line(String file, ModelError error) {
    return file + ":" + error.describe() + " [" + error.kind() + "]";
  }

  private static AuthorizationModel combine(Path manifest) {
    FgaModFile mod;
    try {
      mod = FgaModFile.parse(Main.readText(manifest));
    } catch (FgaModFile.InvalidManifestException e) {
      throw e.in(manifest.toString());
    }
    Path dir = manifest.toAbsolutePath().getParent().normalize();
    List<ModularModel.SourceFile> files = new ArrayList<>();
    for (FgaModFile.Property item : mod.files()) {
      Path path = dir.resolve(item.value()).normalize();
      if (!path.startsWith(dir)) {
        // The manifest rules refuse ../ and absolute paths; this guards what they might miss.
        throw new CliFailure(
            CliFailure.INVALID_FILE,
            manifest + ": contents item " + item.value() + " is outside the manifest's directory");
      }
      files.add(new ModularModel.SourceFile(item.value(), Main.readText(path)));
    }
    return ModularModel.combine(files);
  }
}
