package dev.castellan.model;

import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * Splits DSL source into words, punctuation and newlines on demand. Comments ({@code #} at the
 * start of a line or after whitespace) are skipped; a {@code #} right after a word is the userset
 * separator of {@code group#member}.
 */
final class DslLexer {

  enum Kind {
    WORD,
    PUNCT,
    NEWLINE,
    EOF
  }

  record Token(Kind kind, String text, int offset, int line, int column) {
    boolean is(String value) {
      return kind != Kind.NEWLINE && kind != Kind.EOF && text.equals(value);
    }

    boolean isWord(String value) {
      return kind == Kind.WORD && text.equals(value);
    }

    SourceSpan span() {
      int length = kind == Kind.EOF ? 0 : text.length();
      return new SourceSpan(line, line, column, column + length);
    }

    String describe() {
      return switch (kind) {
        case NEWLINE -> "end of line";
        case EOF -> "end of input";
        default -> "'" + text + "'";
      };
    }
  }

  private static final String PUNCTUATION = "[](),:#*{}<>";

  /** Whether {@code text} reads back as one word: not empty, no blank, no punctuation. */
  static boolean isWord(String text) {
    if (text.isEmpty()) {
      return false;
    }
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isWhitespace(c) || PUNCTUATION.indexOf(c) >= 0) {
        return false;
      }
    }
    return true;
  }

  private final String source;
  private final int[] lineStarts;
  private int position;
  private @Nullable Token lookahead;

  DslLexer(String source) {
    this.source = source;
    int lines = 1;
    for (int i = 0; i < source.length(); i++) {
      if (source.charAt(i) == '\n') {
        lines++;
      }
    }
    lineStarts = new int[lines];
    int line = 1;
    for (int i = 0; i < source.length(); i++) {
      if (source.charAt(i) == '\n') {
        lineStarts[line++] = i + 1;
      }
    }
  }

  String source() {
    return source;
  }

  Token peek() {
    if (lookahead == null) {
      lookahead = scan();
    }
    return lookahead;
  }

  Token next() {
    Token token = peek();
    lookahead = null;
    return token;
  }

  /** Offset just after the last token handed out; raw scanning (condition bodies) starts here. */
  int position() {
    return lookahead == null ? position : lookahead.offset();
  }

  /** Moves the cursor to {@code offset}, dropping any lookahead (after a raw scan). */
  void reset(int offset) {
    position = offset;
    lookahead = null;
  }

  int lineOf(int offset) {
    int index = Arrays.binarySearch(lineStarts, offset);
    return index >= 0 ? index : -index - 2;
  }

  int columnOf(int offset) {
    return offset - lineStarts[lineOf(offset)];
  }

  SourceSpan spanOf(int start, int end) {
    return new SourceSpan(lineOf(start), lineOf(end), columnOf(start), columnOf(end));
  }

  private Token scan() {
    while (position < source.length()) {
      char c = source.charAt(position);
      if (c == '\n') {
        return token(Kind.NEWLINE, position, position + 1);
      }
      if (Character.isWhitespace(c)) {
        position++;
        continue;
      }
      if (c == '#' && (position == 0 || Character.isWhitespace(source.charAt(position - 1)))) {
        while (position < source.length() && source.charAt(position) != '\n') {
          position++;
        }
        continue;
      }
      if (PUNCTUATION.indexOf(c) >= 0) {
        return token(Kind.PUNCT, position, position + 1);
      }
      int end = position;
      while (end < source.length()) {
        char d = source.charAt(end);
        if (Character.isWhitespace(d) || PUNCTUATION.indexOf(d) >= 0) {
          break;
        }
        end++;
      }
      return token(Kind.WORD, position, end);
    }
    return new Token(
        Kind.EOF, "", source.length(), lineOf(source.length()), columnOf(source.length()));
  }

  private Token token(Kind kind, int start, int end) {
    position = end;
    return new Token(kind, source.substring(start, end), start, lineOf(start), columnOf(start));
  }
}
