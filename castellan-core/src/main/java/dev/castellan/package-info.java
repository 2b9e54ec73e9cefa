/** Errors shared by every module: {@link dev.castellan.CastellanException} and its codes. */
@NullMarked
package dev.castellan;

import org.jspecify.annotations.NullMarked;
