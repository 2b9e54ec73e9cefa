package dev.castellan.server.tls;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPrivateKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Self-signed certificates made in the test with the JDK's keytool (no openssl needed), written as
 * PEM in the forms servers meet: PKCS#8, PKCS#1 ({@code RSA PRIVATE KEY}) and SEC1 ({@code EC
 * PRIVATE KEY} with its curve, as {@code openssl ecparam -genkey} writes it).
 */
final class TestCertificates {
  private TestCertificates() {}

  record Pair(X509Certificate certificate, PrivateKey key) {
    String certificatePem() {
      return pem("CERTIFICATE", encoded(certificate));
    }

    String pkcs8Pem() {
      return pem("PRIVATE KEY", key.getEncoded());
    }

    /** The traditional form: the PKCS#1 or SEC1 structure that PKCS#8 wraps. */
    String traditionalPem() {
      if (key instanceof ECPrivateKey ec) {
        // SEC1 ECPrivateKey { version 1, privateKey, [0] namedCurve prime256v1 }
        byte[] scalar = unsigned(ec.getS(), 32);
        byte[] sec1 =
            concat(
                HexFormat.of().parseHex("3031020101" + "0420"),
                scalar,
                HexFormat.of().parseHex("a00a06082a8648ce3d030107"));
        return pem("EC PARAMETERS", HexFormat.of().parseHex("06082a8648ce3d030107"))
            + pem("EC PRIVATE KEY", sec1);
      }
      return pem("RSA PRIVATE KEY", innerKey(key.getEncoded()));
    }

    void write(Path certFile, Path keyFile) throws IOException {
      Files.writeString(certFile, certificatePem());
      Files.writeString(keyFile, pkcs8Pem());
    }

    /** A client's trust in exactly this certificate. */
    SSLContext trustingIt() throws Exception {
      return trusting(this);
    }
  }

  static SSLContext trusting(Pair... pairs) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    for (int i = 0; i < pairs.length; i++) {
      trust.setCertificateEntry("ca" + i, pairs[i].certificate());
    }
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, tmf.getTrustManagers(), null);
    return context;
  }

  // keytool is a JVM start and a key generation: make each kind once per test JVM.
  private static final java.util.Map<String, Pair> MADE = new java.util.HashMap<>();

  /** An RSA 2048 certificate for localhost; {@code n} tells different ones apart. */
  static Pair rsa(int n) throws Exception {
    return made("rsa" + n, "RSA", null, 30);
  }

  /** An EC P-256 certificate for localhost. */
  static Pair ec() throws Exception {
    return made("ec", "EC", null, 30);
  }

  /** A certificate whose validity ended yesterday. */
  static Pair expired() throws Exception {
    return made("expired", "RSA", "-3d", 2);
  }

  private static synchronized Pair made(
      String name, String algorithm, String startDate, int validityDays) throws Exception {
    Pair pair = MADE.get(name);
    if (pair == null) {
      pair = generate(algorithm, startDate, validityDays);
      MADE.put(name, pair);
    }
    return pair;
  }

  /** keytool -genkeypair into a PKCS#12 file, then read back; valid for localhost and 127.0.0.1. */
  private static Pair generate(String algorithm, String startDate, int validityDays)
      throws Exception {
    Path dir = Files.createTempDirectory("castellan-test-certificate");
    Path store = dir.resolve("server.p12");
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair",
                "-alias",
                "server",
                "-keyalg",
                algorithm,
                "-dname",
                "CN=localhost",
                "-ext",
                "SAN=dns:localhost,ip:127.0.0.1",
                "-validity",
                Integer.toString(validityDays),
                "-keystore",
                store.toString(),
                "-storetype",
                "PKCS12",
                "-storepass",
                "changeit",
                "-keypass",
                "changeit",
                "-noprompt"));
    if (algorithm.equals("EC")) {
      command.addAll(List.of("-groupname", "secp256r1"));
    } else {
      command.addAll(List.of("-keysize", "2048"));
    }
    if (startDate != null) {
      command.addAll(List.of("-startdate", startDate));
    }
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output;
    try (InputStream in = process.getInputStream()) {
      output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
      throw new IllegalStateException("keytool failed: " + output);
    }
    KeyStore keyStore = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(store)) {
      keyStore.load(in, "changeit".toCharArray());
    }
    Files.delete(store);
    Files.delete(dir);
    return new Pair(
        (X509Certificate) keyStore.getCertificate("server"),
        (PrivateKey) keyStore.getKey("server", "changeit".toCharArray()));
  }

  static String pem(String label, byte[] der) {
    return "-----BEGIN "
        + label
        + "-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END "
        + label
        + "-----\n";
  }

  private static byte[] encoded(X509Certificate certificate) {
    try {
      return certificate.getEncoded();
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The OCTET STRING of a PKCS#8 PrivateKeyInfo: SEQUENCE { version, algorithm, key }. */
  private static byte[] innerKey(byte[] pkcs8) {
    int[] outer = header(pkcs8, 0);
    int pos = outer[0];
    for (int i = 0; i < 2; i++) { // skip version and algorithm
      int[] h = header(pkcs8, pos);
      pos = h[0] + h[1];
    }
    int[] octets = header(pkcs8, pos);
    return Arrays.copyOfRange(pkcs8, octets[0], octets[0] + octets[1]);
  }

  /** {content offset, content length} of the DER element at {@code pos}. */
  private static int[] header(byte[] der, int pos) {
    int first = der[pos + 1] & 0xff;
    if (first < 0x80) {
      return new int[] {pos + 2, first};
    }
    int count = first & 0x7f;
    int length = 0;
    for (int i = 0; i < count; i++) {
      length = (length << 8) | (der[pos + 2 + i] & 0xff);
    }
    return new int[] {pos + 2 + count, length};
  }

  private static byte[] unsigned(BigInteger value, int size) {
    byte[] bytes = value.toByteArray();
    byte[] out = new byte[size];
    int copy = Math.min(bytes.length, size);
    System.arraycopy(bytes, bytes.length - copy, out, size - copy, copy);
    return out;
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] part : parts) {
      out.writeBytes(part);
    }
    return out.toByteArray();
  }
}
