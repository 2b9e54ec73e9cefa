package dev.castellan.examples.workflows;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.server.CastellanServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The walkthrough's step 2, {@code examples/ai-workflow-api/run}, on a machine whose first {@code
 * java} is a Java 17 (the jar needs 21): the script must find a JDK 21+ itself, as {@code
 * ./castellan} does, rather than fail with {@code UnsupportedClassVersionError}. Runs after {@code
 * package}, on the jar the build just made, against a real Castellan with the example's policy.
 *
 * <p>The Java 17 is the machine's own ({@value #JDK17}) when it has one; otherwise a stand-in
 * {@code java} that reports version 17 and refuses the jar as Java 17 would. With JAVA_HOME unset
 * and a 17 on PATH, the script can only find a JDK 21+ under {@code /usr/lib/jvm}, as a newcomer's
 * machine has it: a machine whose only JDK 21+ is elsewhere fails here with the script's own
 * message ("no JDK 21 or newer found").
 */
class RunScriptIT {
  static final String JDK17 = "/usr/lib/jvm/java-17-openjdk-amd64";
  private static final Path SCRIPT = Path.of("run").toAbsolutePath();
  private static final Pattern LISTENING = Pattern.compile("workflow API on http://[^:]+:(\\d+)");
  private static final Pattern SPEC = Pattern.compile("java\\.specification\\.version = (\\d+)");
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static CastellanServer castellan;

  @BeforeAll
  static void start() {
    assertThat(SCRIPT).isExecutable();
    castellan = WorkflowApiMatrixTest.startCastellan(Path.of("rbac.yaml"));
  }

  @AfterAll
  static void stop() {
    if (castellan != null) {
      castellan.close();
    }
  }

  @Test
  void java17FirstOnPath_noJavaHome_theScriptRunsTheAppOnAJdk21AndItAnswers(@TempDir Path dir)
      throws Exception {
    String java17Bin = java17Bin(dir);
    ProcessBuilder builder = script(java17Bin, null, "--port", "0");
    // What the test claims: the `java` a plain `java -jar` would use is a 17.
    assertThat(specificationVersion(java17Bin + "/java")).isEqualTo(17);

    Process app = builder.start();
    BufferedReader reader =
        new BufferedReader(new InputStreamReader(app.getInputStream(), StandardCharsets.UTF_8));
    StringBuilder seen = new StringBuilder();
    int port = awaitPort(reader, seen);
    try {
      String output;
      synchronized (seen) {
        output = seen.toString();
      }
      assertThat(port).as(output).isPositive();
      assertThat(output)
          .contains("asking Castellan at http://127.0.0.1:" + castellan.port())
          .doesNotContain("UnsupportedClassVersionError")
          .doesNotContain("building"); // the jar of this build, not a nested one
      // The script execs the JVM: the process is the java it chose, a 21 or newer.
      Path jvm = Path.of("/proc", Long.toString(app.pid()), "exe").toRealPath();
      assertThat(specificationVersion(jvm.toString())).isGreaterThanOrEqualTo(21);

      String admin = WorkflowApiMatrixTest.tokenFor("alice", "admin");
      String viewer = WorkflowApiMatrixTest.tokenFor("victor", "viewer");
      HttpResponse<String> created = send(port, "POST", admin, "{\"name\":\"summarise\"}");
      assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
      // alice is the directory user her token resolves to: user:<directory id> (ADR 0023).
      assertThat(created.body())
          .containsPattern("\"msg\":\"Workflow created by user:[0-9A-Z]{26}\"");
      String owner =
          WorkflowApiMatrixTest.JSON
              .readTree(created.body())
              .path("workflow")
              .path("owner")
              .asText();
      HttpResponse<String> listed = send(port, "GET", admin, null);
      assertThat(listed.statusCode()).isEqualTo(200);
      assertThat(listed.body()).contains("\"name\":\"summarise\"", "\"owner\":\"" + owner + "\"");
      HttpResponse<String> refused = send(port, "POST", viewer, "{\"name\":\"x\"}");
      assertThat(refused.statusCode()).isEqualTo(403);
      assertThat(refused.body()).isEqualTo("{\"detail\":\"Insufficient permissions\"}");
      assertThat(send(port, "GET", null, null).statusCode()).isEqualTo(401);
    } finally {
      app.destroy(); // SIGTERM, to the JVM itself
      assertThat(app.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(app.exitValue()).as("a JVM ended by SIGTERM").isEqualTo(128 + 15);
  }

  @Test
  void javaHomeAJava17_isPassedOver_andTheAppsOwnErrorAndExitCodeComeThrough(@TempDir Path dir)
      throws Exception {
    String java17Bin = java17Bin(dir);
    String java17Home = Path.of(java17Bin).getParent().toString();
    Process app = script(java17Bin, java17Home, "--port", "eighty").start();
    String output = new String(app.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(app.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(app.exitValue()).as(output).isEqualTo(2);
    assertThat(output.strip()).isEqualTo("error: --port (or PORT) must be a number");
  }

  /**
   * {@code run args...} from a clean environment: PATH starting with {@code java17Bin}, JAVA_HOME
   * {@code javaHome} or unset, none of the app's variables; stdout and stderr together.
   */
  private static ProcessBuilder script(String java17Bin, String javaHome, String... args) {
    List<String> command =
        new java.util.ArrayList<>(
            List.of(SCRIPT.toString(), "--castellan-url", "http://127.0.0.1:" + castellan.port()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    Map<String, String> env = builder.environment();
    env.remove("JAVA_HOME");
    env.remove("CASTELLAN_URL");
    env.remove("PORT");
    env.remove("HOST");
    env.put("PATH", java17Bin + ":" + System.getenv("PATH"));
    if (javaHome != null) {
      env.put("JAVA_HOME", javaHome);
    }
    return builder;
  }

  /**
   * The machine's JDK 17 bin directory, or one with a stand-in {@code java} made in {@code dir}.
   */
  private static String java17Bin(Path dir) throws IOException {
    Path real = Path.of(JDK17, "bin");
    if (Files.isExecutable(real.resolve("java"))) {
      return real.toString();
    }
    Path bin = Files.createDirectories(dir.resolve("jdk-17/bin"));
    Path java = bin.resolve("java");
    Files.writeString(
        java,
        """
        #!/bin/sh
        # Stands in for a Java 17: reports version 17, and refuses class files of Java 21.
        for arg in "$@"; do
          if [ "$arg" = "-version" ]; then
            echo 'openjdk version "17.0.99" 2025-04-15' >&2
            echo '    java.specification.version = 17' >&2
            exit 0
          fi
        done
        echo 'Error: LinkageError occurred while loading main class dev.castellan.examples.workflows.Main' >&2
        echo '	java.lang.UnsupportedClassVersionError: class file version 65.0, this version of the Java Runtime only recognizes class file versions up to 61.0' >&2
        exit 1
        """);
    Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
    return bin.toString();
  }

  /** The major version {@code java -XshowSettings:properties -version} reports. */
  private static int specificationVersion(String java) throws Exception {
    Process process =
        new ProcessBuilder(java, "-XshowSettings:properties", "-version")
            .redirectErrorStream(true)
            .start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    process.waitFor(60, TimeUnit.SECONDS);
    Matcher matcher = SPEC.matcher(output);
    assertThat(matcher.find()).as(output).isTrue();
    return Integer.parseInt(matcher.group(1));
  }

  /**
   * The app's port once it says it listens, or -1 when its output ends first (or 2 minutes pass).
   * Its output goes on being read into {@code seen}, so the app never blocks on a full pipe.
   */
  private static int awaitPort(BufferedReader reader, StringBuilder seen) {
    CompletableFuture<Integer> port = new CompletableFuture<>();
    Thread.ofVirtual()
        .start(
            () -> {
              try {
                String line;
                while ((line = reader.readLine()) != null) {
                  synchronized (seen) {
                    seen.append(line).append('\n');
                  }
                  Matcher matcher = LISTENING.matcher(line);
                  if (matcher.find()) {
                    port.complete(Integer.parseInt(matcher.group(1)));
                  }
                }
              } catch (IOException e) {
                // the process ended
              }
              port.complete(-1);
            });
    try {
      return port.get(120, TimeUnit.SECONDS);
    } catch (Exception e) {
      return -1;
    }
  }

  private static HttpResponse<String> send(int port, String method, String token, String body)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/workflows"))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
