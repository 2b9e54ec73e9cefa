package dev.castellan.server.tls;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.PSSParameterSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A server identity read from PEM files with the JDK alone: the certificate chain and the private
 * key it was issued for. Every way the files can be wrong is a {@link CastellanException} whose
 * one-line message names the flag, the file and the fix; an expired or not yet valid certificate is
 * a warning (clients will refuse it, but stopping would not renew it).
 *
 * @param chain the certificates, server certificate first
 * @param key its private key
 * @param warnings what should be fixed soon, one line each
 * @param sha256 a hash of both files' bytes, to notice a change
 */
record PemIdentity(
    List<X509Certificate> chain, PrivateKey key, List<String> warnings, String sha256) {
  static final String CERT_FLAG = "--tls-cert";
  static final String KEY_FLAG = "--tls-key";

  /** PEM files of a chain or a key are a few KiB; anything much larger is the wrong file. */
  static final int MAX_FILE_BYTES = 1 << 20;

  private static final String TO_PKCS8 = "openssl pkey -in KEY.pem -out key-pkcs8.pem";

  private static final Pattern BLOCK =
      Pattern.compile(
          "-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END ([A-Z0-9 ]+)-----", Pattern.DOTALL);

  // Algorithm identifiers (the OID's content bytes) of the key types TLS servers use.
  private static final byte[] RSA = HexFormat.of().parseHex("2a864886f70d010101");
  private static final byte[] RSA_PSS = HexFormat.of().parseHex("2a864886f70d01010a");
  private static final byte[] EC = HexFormat.of().parseHex("2a8648ce3d0201");
  private static final byte[] ED25519 = HexFormat.of().parseHex("2b6570");
  private static final byte[] ED448 = HexFormat.of().parseHex("2b6571");

  PemIdentity {
    chain = List.copyOf(chain);
    warnings = List.copyOf(warnings);
  }

  /** Never the key: a record's default text would print it wherever this lands in a log. */
  @Override
  public String toString() {
    return "PemIdentity["
        + subject()
        + ", "
        + chain.size()
        + " certificates, sha256 "
        + sha256
        + "]";
  }

  /** The subject of the server certificate, for logs. */
  String subject() {
    return chain.getFirst().getSubjectX500Principal().getName();
  }

  /** Reads and checks both files; {@code now} decides what counts as expired. */
  static PemIdentity read(Path certFile, Path keyFile, Instant now) {
    byte[] certBytes = readFile(certFile, CERT_FLAG);
    byte[] keyBytes = readFile(keyFile, KEY_FLAG);
    List<Block> certBlocks = blocks(certBytes, certFile, CERT_FLAG);
    List<Block> keyBlocks = blocks(keyBytes, keyFile, KEY_FLAG);

    List<X509Certificate> chain = certificates(certBlocks, certFile, keyBlocks);
    PrivateKey key = privateKey(keyBlocks, keyFile, certBlocks);
    matchKey(chain, key, certFile, keyFile);

    List<String> warnings = new ArrayList<>();
    for (int i = 0; i < chain.size(); i++) {
      X509Certificate cert = chain.get(i);
      String which =
          (i == 0 ? "the certificate " : "the chain's certificate ")
              + cert.getSubjectX500Principal().getName()
              + " in "
              + CERT_FLAG
              + " "
              + certFile;
      if (cert.getNotAfter().toInstant().isBefore(now)) {
        warnings.add(
            which
                + " expired on "
                + cert.getNotAfter().toInstant()
                + "; clients will refuse it: renew it (it is reloaded without a restart)");
      } else if (cert.getNotBefore().toInstant().isAfter(now)) {
        warnings.add(
            which
                + " is not valid before "
                + cert.getNotBefore().toInstant()
                + "; clients will refuse it until then: check this machine's clock");
      }
    }
    readableByOthers(keyFile)
        .ifPresent(
            mode ->
                warnings.add(
                    KEY_FLAG
                        + " "
                        + keyFile
                        + " can be read by every user of this machine ("
                        + mode
                        + "); restrict it: chmod 600 "
                        + keyFile));
    return new PemIdentity(chain, key, warnings, sha256(certBytes, keyBytes));
  }

  // ---- files and PEM blocks

  private record Block(String label, List<String> headers, byte[] der) {}

  private static byte[] readFile(Path file, String flag) {
    try {
      if (Files.isDirectory(file)) {
        throw invalid(flag + " " + file + " is a directory; give the path of a PEM file");
      }
      long size = Files.size(file);
      if (size > MAX_FILE_BYTES) {
        throw invalid(
            flag
                + " "
                + file
                + " has "
                + size
                + " bytes, more than a PEM "
                + (flag.equals(CERT_FLAG) ? "certificate chain" : "key")
                + " ever needs ("
                + MAX_FILE_BYTES
                + "); is it the right file?");
      }
      return Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw invalid(flag + " " + file + " does not exist; give the path of a PEM file");
    } catch (AccessDeniedException e) {
      throw invalid(
          flag
              + " "
              + file
              + " cannot be read by this user (permission denied); make it readable by the user"
              + " running Castellan");
    } catch (IOException e) {
      throw invalid(flag + " " + file + " cannot be read: " + e.getMessage());
    }
  }

  private static List<Block> blocks(byte[] bytes, Path file, String flag) {
    String text = new String(bytes, StandardCharsets.ISO_8859_1);
    List<Block> blocks = new ArrayList<>();
    Matcher m = BLOCK.matcher(text);
    while (m.find()) {
      String label = m.group(1);
      if (!label.equals(m.group(3))) {
        throw invalid(
            flag
                + " "
                + file
                + ": the PEM block BEGIN "
                + label
                + " ends with END "
                + m.group(3)
                + "; the file is damaged, export it again");
      }
      List<String> headers = new ArrayList<>();
      StringBuilder base64 = new StringBuilder();
      for (String line : m.group(2).split("\\R")) {
        if (line.contains(":")) {
          headers.add(line.strip()); // RFC 1421 headers, e.g. Proc-Type: 4,ENCRYPTED
        } else {
          base64.append(line.strip());
        }
      }
      byte[] der;
      try {
        der = Base64.getDecoder().decode(base64.toString());
      } catch (IllegalArgumentException e) {
        throw invalid(
            flag
                + " "
                + file
                + ": the PEM block BEGIN "
                + label
                + " is not valid base64; the file is damaged, export it again");
      }
      blocks.add(new Block(label, headers, der));
    }
    return blocks;
  }

  // ---- certificates

  private static List<X509Certificate> certificates(
      List<Block> blocks, Path certFile, List<Block> keyBlocks) {
    CertificateFactory factory;
    try {
      factory = CertificateFactory.getInstance("X.509");
    } catch (CertificateException e) {
      throw new IllegalStateException("the JDK has no X.509 support", e);
    }
    List<X509Certificate> chain = new ArrayList<>();
    for (Block block : blocks) {
      if (!block.label().equals("CERTIFICATE")) {
        continue; // a combined file may hold the key too
      }
      try {
        chain.add(
            (X509Certificate) factory.generateCertificate(new ByteArrayInputStream(block.der())));
      } catch (CertificateException e) {
        throw invalid(
            CERT_FLAG
                + " "
                + certFile
                + ": certificate "
                + (chain.size() + 1)
                + " is not a valid X.509 certificate; export the chain again in PEM");
      }
    }
    if (chain.isEmpty()) {
      boolean swapped =
          blocks.stream().anyMatch(b -> b.label().contains("PRIVATE KEY"))
              && keyBlocks.stream().anyMatch(b -> b.label().equals("CERTIFICATE"));
      throw invalid(
          CERT_FLAG
              + " "
              + certFile
              + " holds no PEM certificate (-----BEGIN CERTIFICATE-----); "
              + (swapped
                  ? "it holds a private key: are " + CERT_FLAG + " and " + KEY_FLAG + " swapped?"
                  : "give the certificate chain in PEM, server certificate first"));
    }
    return chain;
  }

  // ---- the private key

  private static PrivateKey privateKey(List<Block> blocks, Path keyFile, List<Block> certBlocks) {
    List<Block> keys = blocks.stream().filter(b -> b.label().endsWith("PRIVATE KEY")).toList();
    if (keys.isEmpty()) {
      boolean swapped =
          blocks.stream().anyMatch(b -> b.label().equals("CERTIFICATE"))
              && certBlocks.stream().anyMatch(b -> b.label().endsWith("PRIVATE KEY"));
      throw invalid(
          KEY_FLAG
              + " "
              + keyFile
              + " holds no PEM private key (-----BEGIN PRIVATE KEY-----); "
              + (swapped
                  ? "it holds a certificate: are " + CERT_FLAG + " and " + KEY_FLAG + " swapped?"
                  : "give the unencrypted private key in PEM"));
    }
    if (keys.size() > 1) {
      throw invalid(
          KEY_FLAG
              + " "
              + keyFile
              + " holds "
              + keys.size()
              + " private keys; keep only the key of the certificate in "
              + CERT_FLAG);
    }
    Block block = keys.getFirst();
    boolean encrypted =
        block.label().equals("ENCRYPTED PRIVATE KEY")
            || block.headers().stream().anyMatch(h -> h.contains("ENCRYPTED"));
    if (encrypted) {
      throw invalid(
          KEY_FLAG
              + " "
              + keyFile
              + " is encrypted with a passphrase, which Castellan does not ask for; decrypt it"
              + " into a file only Castellan's user can read: "
              + TO_PKCS8.replace("KEY.pem", keyFile.toString()));
    }
    byte[] pkcs8 =
        switch (block.label()) {
          case "PRIVATE KEY" -> block.der();
          case "RSA PRIVATE KEY" -> pkcs8(der(0x06, RSA), new byte[] {0x05, 0x00}, block.der());
          case "EC PRIVATE KEY" -> pkcs8(der(0x06, EC), curveOf(block.der(), keyFile), block.der());
          default ->
              throw invalid(
                  KEY_FLAG
                      + " "
                      + keyFile
                      + " is a "
                      + block.label()
                      + ", a form Castellan does not read; convert it to PKCS#8: "
                      + TO_PKCS8.replace("KEY.pem", keyFile.toString()));
        };
    String algorithm = algorithmOf(pkcs8, keyFile);
    try {
      return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
    } catch (InvalidKeySpecException | java.security.NoSuchAlgorithmException e) {
      throw invalid(
          KEY_FLAG
              + " "
              + keyFile
              + ": the "
              + block.label()
              + " block is not a valid "
              + algorithm
              + " key; export it again, or convert it: "
              + TO_PKCS8.replace("KEY.pem", keyFile.toString()));
    }
  }

  /** The key type named in a PKCS#8 structure's AlgorithmIdentifier. */
  private static String algorithmOf(byte[] pkcs8, Path keyFile) {
    byte[] oid;
    try {
      Der info = Der.read(pkcs8, 0, pkcs8.length);
      List<Der> parts = info.children();
      oid = parts.get(1).children().getFirst().content();
    } catch (RuntimeException e) {
      throw invalid(
          KEY_FLAG
              + " "
              + keyFile
              + ": the private key is not valid PKCS#8; export it again, or convert it: "
              + TO_PKCS8.replace("KEY.pem", keyFile.toString()));
    }
    if (Arrays.equals(oid, RSA)) {
      return "RSA";
    } else if (Arrays.equals(oid, EC)) {
      return "EC";
    } else if (Arrays.equals(oid, RSA_PSS)) {
      return "RSASSA-PSS";
    } else if (Arrays.equals(oid, ED25519)) {
      return "Ed25519";
    } else if (Arrays.equals(oid, ED448)) {
      return "Ed448";
    }
    throw invalid(
        KEY_FLAG
            + " "
            + keyFile
            + " is a key of a type TLS servers do not use (algorithm "
            + HexFormat.of().formatHex(oid)
            + "); use an RSA (2048 bits or more) or an EC (P-256) key");
  }

  /** The named curve of a SEC1 {@code ECPrivateKey}: its {@code [0] parameters} element. */
  private static byte[] curveOf(byte[] sec1, Path keyFile) {
    try {
      for (Der part : Der.read(sec1, 0, sec1.length).children()) {
        if (part.tag() == 0xA0) {
          Der curve = part.children().getFirst();
          if (curve.tag() == 0x06) {
            return curve.encoded();
          }
        }
      }
    } catch (RuntimeException e) {
      throw invalid(
          KEY_FLAG
              + " "
              + keyFile
              + ": the EC PRIVATE KEY block is not a valid SEC1 key; export it again, or convert"
              + " it: "
              + TO_PKCS8.replace("KEY.pem", keyFile.toString()));
    }
    throw invalid(
        KEY_FLAG
            + " "
            + keyFile
            + ": the EC PRIVATE KEY block does not name its curve; convert it to PKCS#8: "
            + TO_PKCS8.replace("KEY.pem", keyFile.toString()));
  }

  /** PKCS#8 {@code PrivateKeyInfo} around a traditional (PKCS#1 or SEC1) key. */
  private static byte[] pkcs8(byte[] algorithm, byte[] parameters, byte[] key) {
    return der(
        0x30,
        new byte[] {0x02, 0x01, 0x00}, // version 0
        der(0x30, algorithm, parameters),
        der(0x04, key));
  }

  // ---- key and certificate belong together

  private static void matchKey(
      List<X509Certificate> chain, PrivateKey key, Path certFile, Path keyFile) {
    if (signs(key, chain.getFirst().getPublicKey())) {
      return;
    }
    for (int i = 1; i < chain.size(); i++) {
      if (signs(key, chain.get(i).getPublicKey())) {
        throw invalid(
            CERT_FLAG
                + " "
                + certFile
                + ": the key in "
                + KEY_FLAG
                + " belongs to certificate "
                + (i + 1)
                + " of the chain ("
                + chain.get(i).getSubjectX500Principal().getName()
                + "); put the server certificate first, then its issuers");
      }
    }
    throw invalid(
        KEY_FLAG
            + " "
            + keyFile
            + " is not the private key of the certificate in "
            + CERT_FLAG
            + " "
            + certFile
            + " ("
            + chain.getFirst().getSubjectX500Principal().getName()
            + "); give the key this certificate was issued for");
  }

  /** Whether {@code key} makes signatures that {@code publicKey} verifies: the two are a pair. */
  private static boolean signs(PrivateKey key, PublicKey publicKey) {
    if (!sameFamily(key.getAlgorithm(), publicKey.getAlgorithm())) {
      return false;
    }
    try {
      byte[] challenge = new byte[32];
      new SecureRandom().nextBytes(challenge);
      Signature signer = signature(key.getAlgorithm());
      signer.initSign(key);
      signer.update(challenge);
      byte[] signed = signer.sign();
      Signature verifier = signature(key.getAlgorithm());
      verifier.initVerify(publicKey);
      verifier.update(challenge);
      return verifier.verify(signed);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  private static boolean sameFamily(String a, String b) {
    return family(a).equals(family(b));
  }

  private static String family(String algorithm) {
    return switch (algorithm) {
      case "Ed25519", "Ed448", "EdDSA" -> "EdDSA";
      default -> algorithm;
    };
  }

  private static Signature signature(String keyAlgorithm) throws GeneralSecurityException {
    return switch (family(keyAlgorithm)) {
      case "RSA" -> Signature.getInstance("SHA256withRSA");
      case "EC" -> Signature.getInstance("SHA256withECDSA");
      case "EdDSA" -> Signature.getInstance("EdDSA");
      case "RSASSA-PSS" -> {
        Signature pss = Signature.getInstance("RSASSA-PSS");
        pss.setParameter(new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 32, 1));
        yield pss;
      }
      default -> throw new java.security.NoSuchAlgorithmException(keyAlgorithm);
    };
  }

  // ---- small things

  private static java.util.Optional<String> readableByOthers(Path file) {
    try {
      var permissions = Files.getPosixFilePermissions(file);
      if (permissions.contains(PosixFilePermission.OTHERS_READ)) {
        return java.util.Optional.of(
            java.nio.file.attribute.PosixFilePermissions.toString(permissions));
      }
    } catch (IOException | UnsupportedOperationException e) {
      // not a POSIX file system: nothing to say
    }
    return java.util.Optional.empty();
  }

  private static String sha256(byte[] first, byte[] second) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      digest.update(first);
      digest.update((byte) 0);
      digest.update(second);
      return HexFormat.of().formatHex(digest.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static CastellanException invalid(String message) {
    return new CastellanException(ErrorCode.VALIDATION_ERROR, message);
  }

  /** DER: a tag, a definite length and the content bytes. */
  private static byte[] der(int tag, byte[]... parts) {
    ByteArrayOutputStream content = new ByteArrayOutputStream();
    for (byte[] part : parts) {
      content.writeBytes(part);
    }
    int length = content.size();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(tag);
    if (length < 0x80) {
      out.write(length);
    } else {
      int bytes = length < 0x100 ? 1 : length < 0x10000 ? 2 : length < 0x1000000 ? 3 : 4;
      out.write(0x80 | bytes);
      for (int i = bytes - 1; i >= 0; i--) {
        out.write(length >>> (8 * i));
      }
    }
    out.writeBytes(content.toByteArray());
    return out.toByteArray();
  }

  /** One DER element within {@code buf}: just enough of a reader to find OIDs in a key. */
  private record Der(byte[] buf, int tag, int from, int start, int end) {
    static Der read(byte[] buf, int offset, int limit) {
      if (offset + 2 > limit) {
        throw new IllegalArgumentException("truncated DER");
      }
      int tag = buf[offset] & 0xff;
      int first = buf[offset + 1] & 0xff;
      int pos = offset + 2;
      int length;
      if (first < 0x80) {
        length = first;
      } else {
        int count = first & 0x7f;
        if (count == 0 || count > 3 || pos + count > limit) {
          throw new IllegalArgumentException("bad DER length");
        }
        length = 0;
        for (int i = 0; i < count; i++) {
          length = (length << 8) | (buf[pos++] & 0xff);
        }
      }
      if (length > limit - pos) {
        throw new IllegalArgumentException("truncated DER");
      }
      return new Der(buf, tag, offset, pos, pos + length);
    }

    List<Der> children() {
      List<Der> children = new ArrayList<>();
      int pos = start;
      while (pos < end) {
        Der child = read(buf, pos, end);
        children.add(child);
        pos = child.end();
      }
      return children;
    }

    byte[] content() {
      return Arrays.copyOfRange(buf, start, end);
    }

    byte[] encoded() {
      return Arrays.copyOfRange(buf, from, end);
    }
  }
}
