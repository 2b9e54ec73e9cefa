package dev.castellan.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.Tuple;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.function.Consumer;

/**
 * The tuples of an import body, read as it arrives: one JSON object a line, at most {@value
 * #MAX_LINE} bytes a line, at most {@code maxBytes} in all. Only one line and one read buffer are
 * held at a time, so the memory an import takes does not grow with its size.
 *
 * <p>Past {@code maxBytes} it throws {@link ErrorCode#REQUEST_TOO_LARGE} from {@link #hasNext} or
 * {@link #next}: whoever writes the tuples in batches then stops before writing the batch it was
 * filling.
 */
final class TupleLines implements Iterator<Tuple> {
  static final int MAX_LINE = 64 * 1024;

  private final InputStream in;
  private final long maxBytes;
  private final Consumer<Tuple> validate;
  private final byte[] buffer = new byte[64 * 1024];
  private byte[] line = new byte[1024];
  private int lineLength;
  private int position;
  private int limit;
  private long read;
  private long lineNumber;
  private boolean ready;
  private boolean ended;

  /**
   * @param validate checks each tuple against the store's model (throws to refuse it)
   */
  TupleLines(InputStream in, long maxBytes, Consumer<Tuple> validate) {
    this.in = in;
    this.maxBytes = maxBytes;
    this.validate = validate;
  }

  /** Lines read so far (blank ones included). */
  long lines() {
    return lineNumber;
  }

  @Override
  public boolean hasNext() {
    try {
      while (!ready && !ended) {
        if (!readLine()) {
          ended = true;
        } else if (!blank()) {
          ready = true;
        }
      }
      return ready;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public Tuple next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    ready = false;
    String where = "line " + lineNumber;
    JsonNode node;
    try {
      node = Body.JSON.readTree(line, 0, lineLength);
    } catch (IOException e) {
      throw Body.invalid(where + " is not valid JSON");
    } catch (NumberFormatException | ArithmeticException e) {
      throw Body.numberOutOfRange(where);
    }
    Tuple tuple = Body.tuple(node, where);
    validate.accept(tuple);
    return tuple;
  }

  /** Reads the next line into {@code line}; false at the end of the body. */
  private boolean readLine() throws IOException {
    lineLength = 0;
    boolean any = false;
    while (true) {
      if (position == limit && !fill()) {
        if (any) {
          lineNumber++;
        }
        return any;
      }
      any = true;
      int newline = -1;
      for (int i = position; i < limit; i++) {
        if (buffer[i] == '\n') {
          newline = i;
          break;
        }
      }
      int end = newline < 0 ? limit : newline;
      append(position, end - position);
      position = newline < 0 ? limit : newline + 1;
      if (newline >= 0) {
        lineNumber++;
        return true;
      }
    }
  }

  private void append(int from, int length) {
    if (lineLength + length > MAX_LINE) {
      throw Body.invalid("line " + (lineNumber + 1) + " is longer than 64 KiB");
    }
    if (lineLength + length > line.length) {
      line = java.util.Arrays.copyOf(line, Math.min(MAX_LINE, (lineLength + length) * 2));
    }
    System.arraycopy(buffer, from, line, lineLength, length);
    lineLength += length;
  }

  private boolean fill() throws IOException {
    int n = in.read(buffer);
    if (n < 0) {
      return false;
    }
    read += n;
    if (read > maxBytes) {
      throw tooLarge(maxBytes);
    }
    position = 0;
    limit = n;
    return true;
  }

  private boolean blank() {
    for (int i = 0; i < lineLength; i++) {
      byte b = line[i];
      if (b != ' ' && b != '\t' && b != '\r') {
        return false;
      }
    }
    return true;
  }

  /** The error for an import body over {@code maxBytes}. */
  static CastellanException tooLarge(long maxBytes) {
    return new CastellanException(
        ErrorCode.REQUEST_TOO_LARGE,
        "the import body is larger than "
            + maxBytes
            + " bytes (the server's import_max_bytes); split the file or raise the limit");
  }
}
