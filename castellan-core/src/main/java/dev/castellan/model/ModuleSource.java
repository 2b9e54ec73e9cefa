package dev.castellan.model;

import java.util.Objects;

/**
 * Where a part of a modular model (schema 1.2) comes from: the {@code module} it was declared in
 * and the {@code file} of the {@code fga.mod} contents holding it. OpenFGA keeps both in the
 * model's JSON metadata ({@code module}, {@code source_info.file}); {@link #NONE} for parts of an
 * ordinary model.
 */
public record ModuleSource(String module, String file) {

  /** Not from a module. */
  public static final ModuleSource NONE = new ModuleSource("", "");

  public ModuleSource {
    Objects.requireNonNull(module, "module");
    Objects.requireNonNull(file, "file");
  }

  /** Whether this names a module or a file. */
  public boolean isPresent() {
    return !module.isEmpty() || !file.isEmpty();
  }

  /** This source with {@code file} as its file. */
  public ModuleSource inFile(String file) {
    return new ModuleSource(module, file);
  }
}
