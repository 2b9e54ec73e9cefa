package dev.castellan.server.rbac;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Random;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.pathmap.PathSpec;
import org.eclipse.jetty.http.pathmap.RegexPathSpec;
import org.eclipse.jetty.http.pathmap.UriTemplatePathSpec;
import org.eclipse.jetty.util.URIUtil;
import org.junit.jupiter.api.Test;

/**
 * Castellan's target normalizer against Jetty's own URI parser, over generated targets: whenever
 * Castellan accepts a target, Jetty parses it without any violation into the same path, query and
 * decoded path, and Jetty's path matching (UriTemplatePathSpec on the decoded path) picks the same
 * route, as does matching the raw path. No property-testing library is in the build; a seeded
 * {@link Random} makes every failure reproducible (the failing target is in the message).
 */
class RouteTableJettyPropertyTest {
  private static final long SEED = 20261207L;
  private static final int CASES = 25_000;

  private static final List<RbacPolicy.Route> ROUTES =
      List.of(
          new RbacPolicy.Route("POST", "/workflows/{id}/run", "run"),
          new RbacPolicy.Route("GET", "/workflows", "read"),
          new RbacPolicy.Route("POST", "/workflows", "create"),
          new RbacPolicy.Route("GET", "/workflows/{id}", "read"),
          new RbacPolicy.Route("DELETE", "/workflows/{id}", "delete"),
          new RbacPolicy.Route("*", "/files/**", "files"),
          new RbacPolicy.Route("GET", "/a:b/{x}/c@d", "odd"),
          new RbacPolicy.Route("PUT", "/report.v2.pdf", "report"),
          new RbacPolicy.Route("GET", "/", "root"));
  private static final RouteTable TABLE = new RouteTable(ROUTES);
  private static final List<PathSpec> JETTY_SPECS =
      ROUTES.stream().map(r -> jettySpec(r.path())).toList();

  private static final String[] WORDS = {
    "workflows", "run", "files", "a", "42", "report.v2.pdf", "Workflows", "a:b", "c@d", "x.y",
    "..a", "~u", "it's", "(1)", "a+b", "k=v", "$", "!", "*", "-_"
  };
  private static final String[] ODD = {
    ";",
    ";x=1",
    "\\",
    "#",
    "?",
    "[",
    "]",
    "{",
    "}",
    "|",
    "^",
    "`",
    "\"",
    "<",
    ">",
    " ",
    "\t",
    "\u0000",
    "\u007f",
    "\u00e9",
    "\u20ac",
    "\uff0f",
    "\ud83d\ude00",
    ",",
    "%",
    "/",
    "//",
    "."
  };
  private static final String[] BROKEN_ENCODINGS = {
    "%", "%G1", "%4", "%zz", "%u002e", "%U002F", "%%", "%C0%AF", "%E0%80%AF", "%C1%81", "%ED%A0%80",
    "%E2%82", "%C3", "%F4%90%80%80", "%FF", "%2541", "%252e", "%252F", "%25", "%00", "%0a", "%7F"
  };
  private static final int[] CODE_POINTS = {
    'a', ' ', '"', '<', '>', '[', ']', '^', '`', '{', '|', '}', '/', '\\', '.', '%', ';', '?', '#',
    0xe9, 0x20ac, 0xff0f, 0xff0e, 0xfb01, 0x2126, 0x1f600, 0x0301, 0x200b, 0x202e, 0xfeff, 0x00a0,
    0x3000, 0xe000, 0x0378, 0x4e2d, 0x00df, 0x0130, 0x212a
  };

  @Test
  void whenCastellanAcceptsATarget_jettyReadsTheSamePath_andRoutesItTheSameWay() {
    Random random = new Random(SEED);
    int accepted = 0;
    int acceptedWithEncodings = 0;
    int jettyCleanButRefused = 0;
    for (int i = 0; i < CASES; i++) {
      String target = target(random);
      String method = method(random);
      RequestTarget read = RouteTable.normalize(target); // never throws, for any input
      if (!(read instanceof RequestTarget.Accepted a)) {
        assertThat(TABLE.match(method, target)).as(target).isEmpty();
        if (jettyClean(target)) {
          jettyCleanButRefused++;
        }
        continue;
      }
      accepted++;
      if (a.path().indexOf('%') >= 0) {
        acceptedWithEncodings++;
      }
      HttpURI uri = HttpURI.build().pathQuery(target);
      assertThat(uri.getViolations()).as(target).isEmpty();
      assertThat(uri.getFragment()).as(target).isNull();
      assertThat(uri.getPath()).as(target).isEqualTo(a.path());
      assertThat(Optional.ofNullable(uri.getQuery()).orElse("")).as(target).isEqualTo(a.query());
      assertThat(uri.getDecodedPath()).as(target).isEqualTo(a.decodedPath());
      assertThat(URIUtil.decodePath(a.path())).as(target).isEqualTo(a.decodedPath());
      assertThat(URIUtil.canonicalPath(a.path()))
          .as(target)
          .isEqualTo(URIUtil.canonicalPath(a.decodedPath()));
      assertThat(a.segments()).as(target).isEqualTo(segments(uri.getDecodedPath()));

      Optional<String> castellan = TABLE.match(method, a).map(RbacPolicy.Route::permission);
      assertThat(castellan)
          .as("%s %s", method, target)
          .isEqualTo(jettyRoute(method, uri.getDecodedPath()))
          .isEqualTo(jettyRoute(method, a.path()));
    }
    // Not vacuous: many targets pass, some of them with encodings.
    assertThat(accepted).isGreaterThan(CASES / 10);
    assertThat(acceptedWithEncodings).isGreaterThan(CASES / 100);
    System.out.printf(
        Locale.ROOT,
        "%d targets: %d accepted (%d with percent-encodings), %d refused although Jetty reads them"
            + " without a violation%n",
        CASES,
        accepted,
        acceptedWithEncodings,
        jettyCleanButRefused);
  }

  @Test
  void normalize_isTotal_onArbitraryStrings() {
    Random random = new Random(SEED + 1);
    for (int i = 0; i < CASES; i++) {
      char[] chars = new char[random.nextInt(40)];
      for (int j = 0; j < chars.length; j++) {
        chars[j] =
            random.nextInt(4) == 0 ? (char) random.nextInt(0x10000) : (char) random.nextInt(0x80);
      }
      String s = new String(chars);
      RequestTarget read = RouteTable.normalize(s);
      if (read instanceof RequestTarget.Accepted a) {
        assertThat(HttpURI.build().pathQuery(s).getDecodedPath()).isEqualTo(a.decodedPath());
      }
    }
  }

  // ------------------------------------------------------------------ Jetty's reading

  /** The route Jetty's path specs pick, first in table order, for a path (raw or decoded). */
  private static Optional<String> jettyRoute(String method, String path) {
    // Javalin (on Jetty) ignores one trailing slash, and so does the route table.
    String p =
        path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    for (int i = 0; i < ROUTES.size(); i++) {
      RbacPolicy.Route route = ROUTES.get(i);
      boolean methodMatches =
          route.method().equals("*")
              || route.method().equals(method)
              || (method.equals("HEAD") && route.method().equals("GET"));
      if (methodMatches && RouteTable.METHODS.contains(method) && JETTY_SPECS.get(i).matches(p)) {
        return Optional.of(route.permission());
      }
    }
    return Optional.empty();
  }

  private static PathSpec jettySpec(String template) {
    if (template.endsWith("/**")) {
      String prefix = template.substring(0, template.length() - 3);
      return new RegexPathSpec("^" + java.util.regex.Pattern.quote(prefix) + "(/[^/]+)+$");
    }
    return new UriTemplatePathSpec(template);
  }

  private static boolean jettyClean(String target) {
    try {
      HttpURI uri = HttpURI.build().pathQuery(target);
      return !uri.hasViolations() && uri.getFragment() == null;
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static List<String> segments(String decodedPath) {
    String p =
        decodedPath.endsWith("/")
            ? decodedPath.substring(0, decodedPath.length() - 1)
            : decodedPath;
    return p.isEmpty() ? List.of() : Arrays.asList(p.substring(1).split("/", -1));
  }

  // ------------------------------------------------------------------ generators

  private static String method(Random random) {
    return switch (random.nextInt(12)) {
      case 0 -> "post";
      case 1 -> "";
      case 2 -> "PROPFIND";
      default ->
          List.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
              .get(random.nextInt(7));
    };
  }

  private static String target(Random random) {
    StringBuilder out = new StringBuilder();
    switch (random.nextInt(40)) {
      case 0 -> out.append("http://host"); // absolute form
      case 1 -> out.append("/"); // a leading "//"
      case 2 -> out.append("*"); // asterisk form
      case 3 -> out.append(WORDS[random.nextInt(WORDS.length)]); // relative
      default -> {}
    }
    int segments = random.nextInt(6);
    for (int i = 0; i < segments; i++) {
      out.append('/').append(segment(random));
    }
    if (segments == 0 || random.nextInt(8) == 0) {
      out.append('/');
    }
    if (random.nextInt(4) == 0) {
      out.append('?').append(query(random));
    }
    if (random.nextInt(20) == 0) {
      out.append('#').append(WORDS[random.nextInt(WORDS.length)]);
    }
    return out.toString();
  }

  private static String segment(Random random) {
    switch (random.nextInt(30)) {
      case 0 -> {
        return ".";
      }
      case 1 -> {
        return "..";
      }
      case 2 -> {
        return "%2e%2E";
      }
      case 3 -> {
        return "";
      }
      default -> {}
    }
    StringBuilder s = new StringBuilder();
    int atoms = 1 + random.nextInt(3);
    for (int i = 0; i < atoms; i++) {
      int kind = random.nextInt(21);
      if (kind < 9) {
        s.append(WORDS[random.nextInt(WORDS.length)]);
      } else if (kind == 20) {
        s.append(oneCharEncoded(WORDS[random.nextInt(WORDS.length)], random)); // "ru%6E"
      } else if (kind < 11) {
        s.append(ODD[random.nextInt(ODD.length)]);
      } else if (kind < 13) {
        s.append(BROKEN_ENCODINGS[random.nextInt(BROKEN_ENCODINGS.length)]);
      } else if (kind < 16) {
        s.append(encode(CODE_POINTS[random.nextInt(CODE_POINTS.length)], random));
      } else if (kind < 18) {
        s.append(encode(0x20 + random.nextInt(0x5f), random)); // any visible ASCII, encoded
      } else {
        s.append(encode(0x80 + random.nextInt(0x2ff80), random)); // any code point past ASCII
      }
    }
    return s.toString();
  }

  private static String query(Random random) {
    StringBuilder q = new StringBuilder();
    int parts = random.nextInt(4);
    for (int i = 0; i < parts; i++) {
      if (i > 0) {
        q.append(random.nextBoolean() ? '&' : ',');
      }
      q.append(WORDS[random.nextInt(WORDS.length)]);
      if (random.nextInt(3) == 0) {
        q.append(random.nextBoolean() ? "=/../admin" : "=%2F?x");
      }
    }
    return q.toString();
  }

  private static String oneCharEncoded(String word, Random random) {
    int at = random.nextInt(word.length());
    return word.substring(0, at) + encode(word.charAt(at), random) + word.substring(at + 1);
  }

  private static String encode(int codePoint, Random random) {
    if (Character.isSurrogate((char) codePoint) && codePoint < 0x10000) {
      return "%ED%A0%80";
    }
    byte[] bytes = new String(Character.toChars(codePoint)).getBytes(StandardCharsets.UTF_8);
    StringBuilder out = new StringBuilder();
    boolean lower = random.nextBoolean();
    for (byte b : bytes) {
      String hex = String.format(Locale.ROOT, "%%%02X", b & 0xff);
      out.append(lower ? hex.toLowerCase(Locale.ROOT) : hex);
    }
    return out.toString();
  }
}
