package dev.castellan.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image tarball the build made, read as a container engine reads it, since no engine runs here:
 * the OCI layout and {@code docker load}'s manifest, the image config (entrypoint, user, port,
 * volume, environment), the files in the layers with their owners and modes. Then the scratch
 * image's own Java runtime, loader and libraries, unpacked from the layers, run the jar, start the
 * server and answer its health check, with no library taken from the build machine.
 */
class ImageTarballIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String RUNTIME = "opt/java/openjdk";
  private static final String JAR = "opt/castellan/castellan.jar";
  private static final String LOADER = "lib64/ld-linux-x86-64.so.2";
  private static final String LIBRARIES = "lib/x86_64-linux-gnu";
  private static final String DATA = "var/lib/castellan";
  private static final String TOKEN = "image-test-bootstrap-token-0123456789";
  private static final Pattern SERVING = Pattern.compile("serving on http://[^:]+:(\\d+)");

  /** One file, directory or link of a layer. */
  record Entry(String path, int mode, long uid, long gid, char type, String sha256, int layer) {
    boolean isDirectory() {
      return type == 'd';
    }

    boolean writableByOthers() {
      return (mode & 0002) != 0;
    }
  }

  @TempDir static Path work;

  private static Path oci;
  private static Path rootfs;
  private static JsonNode index;
  private static JsonNode manifest;
  private static JsonNode config;
  private static final Map<String, Entry> files = new LinkedHashMap<>();

  private static String property(String name) {
    String value = System.getProperty(name);
    assertThat(value).as("system property %s (set by the build)", name).isNotBlank();
    return value;
  }

  private static boolean scratch() {
    return Boolean.parseBoolean(System.getProperty("castellan.image.scratch"));
  }

  @BeforeAll
  static void unpack() throws Exception {
    oci = Files.createDirectory(work.resolve("oci"));
    rootfs = Files.createDirectory(work.resolve("rootfs"));
    try (TarArchiveInputStream tar =
        new TarArchiveInputStream(Files.newInputStream(Path.of(property("castellan.image.tar"))))) {
      for (TarArchiveEntry entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
        Path target = oci.resolve(entry.getName()).normalize();
        assertThat(target).startsWithRaw(oci);
        if (entry.isDirectory()) {
          Files.createDirectories(target);
        } else {
          Files.createDirectories(target.getParent());
          Files.copy(tar, target);
        }
      }
    }
    index = JSON.readTree(oci.resolve("index.json").toFile());
    manifest =
        JSON.readTree(blob(index.path("manifests").path(0).path("digest").asText()).toFile());
    config = JSON.readTree(blob(manifest.path("config").path("digest").asText()).toFile());
    int layer = 0;
    for (JsonNode descriptor : manifest.path("layers")) {
      unpackLayer(blob(descriptor.path("digest").asText()), layer++);
    }
  }

  private static Path blob(String digest) {
    assertThat(digest).matches("sha256:[0-9a-f]{64}");
    return oci.resolve("blobs/sha256/" + digest.substring("sha256:".length()));
  }

  /** Records a layer's entries and unpacks them into {@link #rootfs}, modes included. */
  private static void unpackLayer(Path blob, int layer) throws Exception {
    try (TarArchiveInputStream tar =
        new TarArchiveInputStream(new GZIPInputStream(Files.newInputStream(blob)))) {
      for (TarArchiveEntry entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
        String path = entry.getName().replaceAll("^\\./", "").replaceAll("/$", "");
        Path target = rootfs.resolve(path).normalize();
        assertThat(target).as("layer entry %s stays inside the image", path).startsWithRaw(rootfs);
        String sha256 = "";
        char type;
        if (entry.isDirectory()) {
          type = 'd';
          Files.createDirectories(target);
        } else if (entry.isFile()) {
          type = 'f';
          Files.createDirectories(target.getParent());
          byte[] bytes = tar.readAllBytes();
          sha256 = sha256(bytes);
          Files.write(target, bytes);
        } else {
          type = entry.isSymbolicLink() ? 'l' : '?';
        }
        if (type != '?' && type != 'l') {
          Files.setPosixFilePermissions(target, permissions(entry.getMode()));
        }
        files.put(
            path,
            new Entry(
                path,
                entry.getMode() & 07777,
                entry.getLongUserId(),
                entry.getLongGroupId(),
                type,
                sha256,
                layer));
      }
    }
  }

  private static Set<PosixFilePermission> permissions(int mode) {
    Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
    PosixFilePermission[] bits = PosixFilePermission.values(); // OWNER_READ ... OTHERS_EXECUTE
    for (int i = 0; i < 9; i++) {
      if ((mode & (0400 >> i)) != 0) {
        set.add(bits[i]);
      }
    }
    return set;
  }

  private static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  private static String sha256(InputStream in) throws Exception {
    MessageDigest digest = MessageDigest.getInstance("SHA-256");
    byte[] buffer = new byte[1 << 16];
    for (int n = in.read(buffer); n > 0; n = in.read(buffer)) {
      digest.update(buffer, 0, n);
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  private static List<String> strings(JsonNode array) {
    List<String> list = new ArrayList<>();
    array.forEach(node -> list.add(node.asText()));
    return list;
  }

  private static Map<String, String> environment() {
    Map<String, String> env = new LinkedHashMap<>();
    for (String pair : strings(config.path("config").path("Env"))) {
      int equals = pair.indexOf('=');
      env.put(pair.substring(0, equals), pair.substring(equals + 1));
    }
    return env;
  }

  @Test
  void theTarball_isOneOciImage_whoseBlobsMatchTheirDigests() throws Exception {
    assertThat(
            JSON.readTree(oci.resolve("oci-layout").toFile()).path("imageLayoutVersion").asText())
        .isEqualTo("1.0.0");
    assertThat(index.path("manifests")).hasSize(1);
    JsonNode image = index.path("manifests").path(0);
    assertThat(image.path("mediaType").asText())
        .isEqualTo("application/vnd.oci.image.manifest.v1+json");
    assertThat(image.path("annotations").path("org.opencontainers.image.ref.name").asText())
        .isEqualTo("castellan:" + property("castellan.version"));
    assertThat(manifest.path("config").path("mediaType").asText())
        .isEqualTo("application/vnd.oci.image.config.v1+json");

    try (Stream<Path> blobs = Files.list(oci.resolve("blobs/sha256"))) {
      for (Path blob : blobs.toList()) {
        try (InputStream in = Files.newInputStream(blob)) {
          assertThat(sha256(in))
              .as("blob %s", blob.getFileName())
              .isEqualTo(blob.getFileName().toString());
        }
      }
    }
    // What an engine checks on load: each layer's size, and its uncompressed digest (diff_id).
    List<String> diffIds = strings(config.path("rootfs").path("diff_ids"));
    assertThat(diffIds).hasSize(manifest.path("layers").size());
    int i = 0;
    for (JsonNode layer : manifest.path("layers")) {
      assertThat(layer.path("mediaType").asText())
          .isEqualTo("application/vnd.oci.image.layer.v1.tar+gzip");
      Path blob = blob(layer.path("digest").asText());
      assertThat(Files.size(blob)).isEqualTo(layer.path("size").asLong());
      try (InputStream in = new GZIPInputStream(Files.newInputStream(blob))) {
        assertThat("sha256:" + sha256(in)).isEqualTo(diffIds.get(i++));
      }
    }
  }

  @Test
  void dockerLoadsManifest_namesTheSameConfigLayersAndTag() throws Exception {
    JsonNode images = JSON.readTree(oci.resolve("manifest.json").toFile());

    assertThat(images).hasSize(1);
    JsonNode image = images.path(0);
    assertThat(image.path("Config").asText())
        .isEqualTo("blobs/sha256/" + manifest.path("config").path("digest").asText().substring(7));
    List<String> layers = new ArrayList<>();
    manifest
        .path("layers")
        .forEach(l -> layers.add("blobs/sha256/" + l.path("digest").asText().substring(7)));
    assertThat(strings(image.path("Layers"))).isEqualTo(layers);
    assertThat(strings(image.path("RepoTags")))
        .containsExactly("castellan:" + property("castellan.version"));
  }

  @Test
  void addingDockersManifestAgain_leavesTheTarballAsItWas() throws Exception {
    Path built = Path.of(property("castellan.image.tar"));
    Path copy = work.resolve("again.tar");
    Files.copy(built, copy);

    DockerLoadManifest.addTo(copy);

    assertThat(Files.mismatch(built, copy)).isEqualTo(-1L);
  }

  @Test
  void theConfig_servesOnPort8080_asANonRootUser_withItsDataInAVolume() {
    JsonNode container = config.path("config");

    assertThat(config.path("architecture").asText()).isEqualTo("amd64");
    assertThat(config.path("os").asText()).isEqualTo("linux");
    assertThat(strings(container.path("Entrypoint")))
        .startsWith("/" + RUNTIME + "/bin/java")
        .endsWith("-jar", "/" + JAR);
    assertThat(strings(container.path("Cmd"))).containsExactly("serve");
    String[] user = container.path("User").asText().split(":");
    assertThat(user).hasSize(2);
    assertThat(Integer.parseInt(user[0])).as("uid").isEqualTo(65532);
    assertThat(Integer.parseInt(user[1])).as("gid").isEqualTo(65532);
    assertThat(strings(fieldNames(container.path("ExposedPorts")))).containsExactly("8080/tcp");
    assertThat(strings(fieldNames(container.path("Volumes")))).containsExactly("/" + DATA);
    assertThat(container.path("WorkingDir").asText()).isEqualTo("/" + DATA);
    Map<String, String> env = environment();
    assertThat(env)
        .containsEntry("JAVA_HOME", "/" + RUNTIME)
        .containsEntry("CASTELLAN_DATA", "/" + DATA)
        .containsEntry("LANG", "C.UTF-8");
    assertThat(env.get("PATH")).startsWith("/" + RUNTIME + "/bin:");
    // reproducible: the creation time is the configured one, not the time of the build
    String created = property("castellan.image.created");
    assertThat(config.path("created").asText()).isEqualTo(created);
    assertThat(container.path("Labels").path("org.opencontainers.image.created").asText())
        .isEqualTo(created);
    assertThat(container.path("Labels").path("org.opencontainers.image.version").asText())
        .isEqualTo(property("castellan.version"));
    assertThat(container.path("Labels").path("org.opencontainers.image.title").asText())
        .isEqualTo("Castellan");
  }

  /**
   * Whether Jib made layer {@code layer} in this build: from its "jvm arg files" layer on, per the
   * config's history (a base image's layers come before it, and may have one of their own).
   */
  private static boolean builtHere(int layer) {
    int i = 0;
    int first = Integer.MAX_VALUE;
    for (JsonNode step : config.path("history")) {
      if (step.path("empty_layer").asBoolean(false)) {
        continue;
      }
      if (step.path("comment").asText().equals("jvm arg files")
          && step.path("created_by").asText().startsWith("jib-maven-plugin")) {
        first = i;
      }
      i++;
    }
    return layer >= first;
  }

  private static JsonNode fieldNames(JsonNode object) {
    var names = JSON.createArrayNode();
    object.fieldNames().forEachRemaining(names::add);
    return names;
  }

  @Test
  void theLayers_holdTheBuiltJar_ownedByRoot_writableOnlyWhereTheServerWrites() throws Exception {
    Entry jar = files.get(JAR);
    assertThat(jar).as("/" + JAR + " in the layers").isNotNull();
    try (InputStream built = Files.newInputStream(Path.of(property("castellan.cli.jar")))) {
      assertThat(jar.sha256()).as("the jar castellan-cli built").isEqualTo(sha256(built));
    }
    assertThat(jar.mode()).isEqualTo(0644);
    assertThat(files.get(DATA)).isNotNull().extracting(Entry::isDirectory).isEqualTo(true);

    // The layers this build made (a base image's own layers come first and are not ours to judge).
    List<Entry> ours = files.values().stream().filter(e -> builtHere(e.layer())).toList();
    for (Entry entry : ours) {
      assertThat(entry.uid()).as("owner of %s", entry.path()).isZero();
      assertThat(entry.gid()).as("group of %s", entry.path()).isZero();
      assertThat(entry.mode() & 07000).as("setuid/setgid/sticky on %s", entry.path()).isZero();
    }
    // The user 65532 can change nothing it runs: only its data and temporary directories.
    assertThat(ours.stream().filter(Entry::writableByOthers).map(Entry::path))
        .containsExactlyInAnyOrder(scratch() ? new String[] {"tmp", DATA} : new String[] {DATA});
  }

  @Test
  @EnabledIfSystemProperty(named = "castellan.image.scratch", matches = "true")
  void theScratchImage_bringsItsRuntimeLoaderLibrariesAndUser_inTheirOwnLayer() throws Exception {
    Entry java = files.get(RUNTIME + "/bin/java");
    assertThat(java).as("/" + RUNTIME + "/bin/java in the layers").isNotNull();
    assertThat(java.mode()).isEqualTo(0755);
    assertThat(files.get(LOADER)).isNotNull().extracting(Entry::mode).isEqualTo(0755);
    assertThat(files).containsKeys(LIBRARIES + "/libc.so.6", RUNTIME + "/lib/server/libjvm.so");
    assertThat(files.values()).noneMatch(e -> e.type() == 'l'); // a link could point anywhere
    // The runtime does not change with each release of the jar: a separate, cacheable layer.
    assertThat(java.layer()).isNotEqualTo(files.get(JAR).layer());
    assertThat(Files.readAllLines(rootfs.resolve("etc/passwd")))
        .contains("castellan:x:65532:65532:Castellan:/var/lib/castellan:/sbin/nologin");
    assertThat(Files.readString(rootfs.resolve(RUNTIME + "/release")))
        .contains("JAVA_VERSION=\"" + Runtime.version().feature());
  }

  private static JsonNode compose() throws IOException {
    return new ObjectMapper(new YAMLFactory())
        .readTree(Path.of(property("castellan.compose.file")).toFile())
        .path("services");
  }

  /** The health check of examples/docker-compose.yaml: a command line run inside the image. */
  private static List<String> composeHealthcheck() throws IOException {
    List<String> test = strings(compose().path("castellan").path("healthcheck").path("test"));
    assertThat(test).first().isEqualTo("CMD");
    return test.subList(1, test.size());
  }

  @Test
  void theComposeExample_runsThisImage_onPostgres_withHealthChecksForBoth() throws Exception {
    JsonNode services = compose();
    JsonNode castellan = services.path("castellan");
    List<String> entrypoint = strings(config.path("config").path("Entrypoint"));

    assertThat(castellan.path("image").asText())
        .isEqualTo("${CASTELLAN_IMAGE:-castellan:" + property("castellan.version") + "}");
    // the image's java and jar (the run on the image itself is in the server test below)
    assertThat(composeHealthcheck())
        .startsWith(entrypoint.getFirst())
        .endsWith("-jar", entrypoint.getLast(), "healthcheck");
    assertThat(castellan.path("environment").path("CASTELLAN_PG_URL").asText())
        .startsWith("jdbc:postgresql://postgres:5432/");
    assertThat(castellan.path("environment").path("CASTELLAN_BOOTSTRAP_TOKEN").asText())
        .startsWith("${CASTELLAN_BOOTSTRAP_TOKEN:?");
    assertThat(castellan.path("depends_on").path("postgres").path("condition").asText())
        .isEqualTo("service_healthy");
    assertThat(services.path("postgres").path("image").asText()).isEqualTo("postgres:15");
    assertThat(strings(services.path("postgres").path("healthcheck").path("test")))
        .startsWith("CMD", "pg_isready");
  }

  /** A command line of the image, run on the unpacked image through its loader and libraries. */
  private static List<String> inRootfs(List<String> words) {
    List<String> command = new ArrayList<>();
    command.add(rootfs.resolve(LOADER).toString());
    command.add("--library-path");
    command.add(rootfs.resolve(LIBRARIES).toString());
    for (String word : words) {
      command.add(word.startsWith("/") ? rootfs.resolve(word.substring(1)).toString() : word);
    }
    return command;
  }

  /** The entrypoint, run on the unpacked image through its own loader and libraries. */
  private static List<String> entrypoint(String... args) {
    List<String> command = inRootfs(strings(config.path("config").path("Entrypoint")));
    command.addAll(List.of(args));
    return command;
  }

  /** The image's environment, its data directory moved into the test's, plus the loader's log. */
  private static ProcessBuilder inImage(List<String> command, Path loaderLog) throws IOException {
    ProcessBuilder builder = new ProcessBuilder(command).directory(work.toFile());
    builder.environment().clear();
    builder.environment().putAll(environment());
    builder
        .environment()
        .put("CASTELLAN_DATA", Files.createDirectories(work.resolve("data")).toString());
    builder.environment().put("LD_DEBUG", "libs");
    builder.environment().put("LD_DEBUG_OUTPUT", loaderLog.toString());
    return builder;
  }

  /** Every library the loader initialised, from the files LD_DEBUG_OUTPUT wrote. */
  private static List<String> librariesLoaded(Path loaderLog) throws IOException {
    Pattern init = Pattern.compile("calling init: (\\S+)");
    List<String> loaded = new ArrayList<>();
    try (Stream<Path> logs = Files.list(loaderLog.getParent())) {
      for (Path log :
          logs.filter(p -> p.getFileName().toString().startsWith(loaderLog.getFileName() + "."))
              .toList()) {
        for (String line : Files.readAllLines(log)) {
          Matcher matcher = init.matcher(line);
          if (matcher.find()) {
            loaded.add(Path.of(matcher.group(1)).normalize().toString());
          }
        }
      }
    }
    return loaded;
  }

  private static CompletableFuture<String> drain(InputStream stream) {
    return CompletableFuture.supplyAsync(
        () -> {
          try (stream) {
            return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
  }

  @Test
  @EnabledIfSystemProperty(named = "castellan.image.scratch", matches = "true")
  void theImagesRuntime_runsTheJar_withOnlyTheImagesLibraries() throws Exception {
    Path loaderLog = Files.createDirectories(work.resolve("ld-version")).resolve("ld");
    Process process = inImage(entrypoint("--version"), loaderLog).redirectErrorStream(true).start();
    CompletableFuture<String> output = drain(process.getInputStream());

    assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("java --version ended").isTrue();
    assertThat(process.exitValue()).as(output.get()).isZero();
    assertThat(output.get()).isEqualTo("castellan " + property("castellan.version") + "\n");
    List<String> loaded = librariesLoaded(loaderLog);
    assertThat(loaded)
        .anyMatch(l -> l.endsWith("/libc.so.6"))
        .anyMatch(l -> l.endsWith("/libjvm.so"))
        .allMatch(l -> l.startsWith(rootfs.toString()), "inside the image " + rootfs);
  }

  @Test
  @EnabledIfSystemProperty(named = "castellan.image.scratch", matches = "true")
  void theServer_runsOnTheImagesRuntime_andTheComposeHealthcheckSaysServing() throws Exception {
    Path configFile = work.resolve("castellan.yaml");
    Files.writeString(configFile, "max_tuples_per_write: 50\nlog:\n  access: true\n");
    Path loaderLog = Files.createDirectories(work.resolve("ld-serve")).resolve("ld");
    ProcessBuilder builder =
        inImage(
            entrypoint(
                "serve", "--host", "127.0.0.1", "--port", "0", "--config", configFile.toString()),
            loaderLog);
    builder.environment().put("CASTELLAN_BOOTSTRAP_TOKEN", TOKEN);
    Process server = builder.redirectErrorStream(true).start();
    try {
      int port = awaitPort(server);
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
      HttpResponse<String> ready =
          http.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/readyz")).build(),
              HttpResponse.BodyHandlers.ofString());
      HttpResponse<String> created =
          http.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/stores"))
                  .header("Authorization", "Bearer " + TOKEN)
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"from-the-image\"}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());

      // The compose file's health check, as it runs in the container: its default URL is
      // 127.0.0.1 on $CASTELLAN_PORT (8080 in the container; here the test server's port).
      Path healthLog = Files.createDirectories(work.resolve("ld-health")).resolve("ld");
      ProcessBuilder healthcheck = inImage(inRootfs(composeHealthcheck()), healthLog);
      healthcheck.environment().put("CASTELLAN_PORT", String.valueOf(port));
      Process health = healthcheck.start();
      CompletableFuture<String> out = drain(health.getInputStream());
      CompletableFuture<String> err = drain(health.getErrorStream());
      assertThat(health.waitFor(120, TimeUnit.SECONDS)).as("healthcheck ended").isTrue();

      assertThat(ready.statusCode()).as(ready.body()).isEqualTo(200);
      assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
      assertThat(health.exitValue()).as(out.get() + err.get()).isZero();
      assertThat(out.get())
          .isEqualTo("healthy: http://127.0.0.1:" + port + "/healthz answered SERVING\n");
      assertThat(err.get()).isEmpty();
      assertThat(librariesLoaded(healthLog))
          .allMatch(l -> l.startsWith(rootfs.toString()), "inside the image " + rootfs);
    } finally {
      server.destroy();
      if (!server.waitFor(30, TimeUnit.SECONDS)) {
        server.destroyForcibly();
      }
    }
    try (Stream<Path> data = Files.list(work.resolve("data"))) {
      assertThat(data.map(p -> p.getFileName().toString())).contains("castellan.mv.db");
    }
    assertThat(librariesLoaded(loaderLog))
        .anyMatch(l -> l.endsWith("/libnet.so"))
        .allMatch(l -> l.startsWith(rootfs.toString()), "inside the image " + rootfs);
  }

  /** Reads the server's output until it says where it serves; keeps draining it afterwards. */
  private static int awaitPort(Process server) throws Exception {
    BufferedReader reader =
        new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
    StringBuilder seen = new StringBuilder();
    CompletableFuture<Integer> port =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                  seen.append(line).append('\n');
                  Matcher matcher = SERVING.matcher(line);
                  if (matcher.find()) {
                    return Integer.parseInt(matcher.group(1));
                  }
                }
                return -1;
              } catch (IOException e) {
                return -1;
              }
            });
    int found = port.get(180, TimeUnit.SECONDS);
    assertThat(found).as("the server started:\n%s", seen).isPositive();
    Thread.ofVirtual()
        .start(
            () -> {
              try {
                while (reader.readLine() != null) {
                  // keep the pipe from filling
                }
              } catch (IOException e) {
                // the server ended
              }
            });
    return found;
  }
}
