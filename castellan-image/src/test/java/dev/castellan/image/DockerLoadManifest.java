package dev.castellan.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Adds {@code manifest.json}, the index of a {@code docker save} archive, to the OCI image layout
 * tarball Jib writes, as {@code docker save} itself does since Docker 25. Docker's classic image
 * store reads only that file and rejects a bare OCI layout; podman and Docker's containerd store
 * read {@code index.json}. With both, {@code docker load -i} and {@code podman load -i} take the
 * same file.
 *
 * <p>Run by the build (exec:java) right after {@code jib:buildTar}. It lives with the tests because
 * Jib packs the module's main classes into the image, and this is build code, not Castellan's.
 */
public final class DockerLoadManifest {
  static final String MANIFEST_JSON = "manifest.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Small files (index, manifests, config) are read; layers are skipped over. */
  private static final long SMALL = 1 << 20;

  private static final int BLOCK = 512;

  private DockerLoadManifest() {}

  public static void main(String[] args) throws IOException {
    if (args.length != 1) {
      throw new IllegalArgumentException("usage: DockerLoadManifest <image tarball>");
    }
    addTo(Path.of(args[0]));
  }

  /**
   * Appends a {@code manifest.json} entry to {@code tarball} in place, replacing one added before.
   * Only the 512-byte headers are read (and the small JSON files), not the layers.
   */
  static void addTo(Path tarball) throws IOException {
    Map<String, byte[]> small = new HashMap<>();
    try (FileChannel tar =
        FileChannel.open(tarball, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      long offset = 0;
      while (true) {
        byte[] header = read(tar, offset, BLOCK);
        if (isZero(header)) {
          break; // the end-of-archive blocks
        }
        TarArchiveEntry entry = new TarArchiveEntry(header);
        if (!entry.isCheckSumOK()) {
          throw new IOException("not a tar header at byte " + offset + " of " + tarball);
        }
        if (entry.getName().equals(MANIFEST_JSON)) {
          break; // added by an earlier run: written again from here
        }
        long data = offset + BLOCK;
        if (entry.isFile() && entry.getSize() <= SMALL) {
          small.put(entry.getName(), read(tar, data, (int) entry.getSize()));
        }
        offset = data + (entry.getSize() + BLOCK - 1) / BLOCK * BLOCK;
      }
      byte[] tail = manifestEntry(dockerManifest(small));
      tar.write(ByteBuffer.wrap(tail), offset);
      tar.truncate(offset + tail.length);
    }
  }

  /** The entry's header and data, then the end-of-archive blocks. */
  private static byte[] manifestEntry(byte[] json) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream out = new TarArchiveOutputStream(bytes)) {
      TarArchiveEntry entry = new TarArchiveEntry(MANIFEST_JSON);
      entry.setSize(json.length);
      entry.setModTime(0); // as Jib's entries: the same inputs give the same file
      entry.setMode(0100644);
      out.putArchiveEntry(entry);
      out.write(json);
      out.closeArchiveEntry();
    }
    return bytes.toByteArray();
  }

  private static byte[] read(FileChannel tar, long offset, int length) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(length);
    while (buffer.hasRemaining()) {
      if (tar.read(buffer, offset + buffer.position()) < 0) {
        throw new IOException("the tarball ends inside an entry, at byte " + offset);
      }
    }
    return buffer.array();
  }

  private static boolean isZero(byte[] block) {
    for (byte b : block) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }

  /** {@code [{"Config": ..., "RepoTags": [...], "Layers": [...]}]} for the index's one image. */
  static byte[] dockerManifest(Map<String, byte[]> files) throws IOException {
    JsonNode index = JSON.readTree(required(files, "index.json"));
    JsonNode images = index.path("manifests");
    if (images.size() != 1) {
      throw new IOException("expected one image in index.json, found " + images.size());
    }
    JsonNode image = images.get(0);
    JsonNode manifest = JSON.readTree(required(files, blob(image.path("digest").asText())));
    ObjectNode entry = JSON.createObjectNode();
    entry.put("Config", blob(manifest.path("config").path("digest").asText()));
    ArrayNode tags = entry.putArray("RepoTags");
    String name = image.path("annotations").path("org.opencontainers.image.ref.name").asText("");
    if (!name.isEmpty()) {
      tags.add(name);
    }
    ArrayNode layers = entry.putArray("Layers");
    for (JsonNode layer : manifest.path("layers")) {
      layers.add(blob(layer.path("digest").asText()));
    }
    return JSON.writeValueAsBytes(JSON.createArrayNode().add(entry));
  }

  private static String blob(String digest) throws IOException {
    if (!digest.matches("sha256:[0-9a-f]{64}")) {
      throw new IOException("not a sha256 digest: '" + digest + "'");
    }
    return "blobs/sha256/" + digest.substring("sha256:".length());
  }

  private static byte[] required(Map<String, byte[]> files, String name) throws IOException {
    byte[] bytes = files.get(name);
    if (bytes == null) {
      throw new IOException("the image tarball has no " + name);
    }
    return bytes;
  }
}
