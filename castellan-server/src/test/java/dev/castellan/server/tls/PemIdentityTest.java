package dev.castellan.server.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.castellan.CastellanException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PEM certificate chains and keys read with the JDK alone: every form a server meets loads, and
 * every way the files can be wrong stops startup with one line naming the flag and the fix.
 */
class PemIdentityTest {
  @TempDir static Path dir;
  private static TestCertificates.Pair rsa;
  private static TestCertificates.Pair ec;
  private static TestCertificates.Pair other;
  private static TestCertificates.Pair expired;

  @BeforeAll
  static void generate() throws Exception {
    rsa = TestCertificates.rsa(1);
    ec = TestCertificates.ec();
    other = TestCertificates.rsa(2);
    expired = TestCertificates.expired();
  }

  private static Path file(String name, String content) throws Exception {
    Path file = dir.resolve(name);
    Files.writeString(file, content);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    return file;
  }

  private static PemIdentity read(String cert, String key) throws Exception {
    return PemIdentity.read(file("cert.pem", cert), file("key.pem", key), Instant.now());
  }

  private static AbstractThrowableAssert<?, ?> refused(String cert, String key) {
    return assertThatThrownBy(() -> read(cert, key))
        .isInstanceOf(CastellanException.class)
        .satisfies(
            e -> assertThat(e.getMessage()).doesNotContain("\n").doesNotContain("Exception"));
  }

  @Test
  void rsaAndEcKeys_inPkcs8_load_withTheirChain() throws Exception {
    PemIdentity fromRsa = read(rsa.certificatePem(), rsa.pkcs8Pem());
    assertThat(fromRsa.chain()).containsExactly(rsa.certificate());
    assertThat(fromRsa.key().getAlgorithm()).isEqualTo("RSA");
    assertThat(fromRsa.warnings()).isEmpty();

    PemIdentity fromEc = read(ec.certificatePem(), ec.pkcs8Pem());
    assertThat(fromEc.key().getAlgorithm()).isEqualTo("EC");
    assertThat(fromEc.key().getEncoded()).isEqualTo(ec.key().getEncoded());
  }

  @Test
  void traditionalKeys_pkcs1AndSec1WithItsParameters_loadToTheSameKey() throws Exception {
    assertThat(rsa.traditionalPem()).startsWith("-----BEGIN RSA PRIVATE KEY-----");
    PemIdentity pkcs1 = read(rsa.certificatePem(), rsa.traditionalPem());
    assertThat(pkcs1.key().getEncoded()).isEqualTo(rsa.key().getEncoded());

    assertThat(ec.traditionalPem())
        .startsWith("-----BEGIN EC PARAMETERS-----")
        .contains("-----BEGIN EC PRIVATE KEY-----");
    PemIdentity sec1 = read(ec.certificatePem(), ec.traditionalPem());
    assertThat(((java.security.interfaces.ECPrivateKey) sec1.key()).getS())
        .isEqualTo(((java.security.interfaces.ECPrivateKey) ec.key()).getS());
  }

  @Test
  void oneCombinedFile_servesAsBothCertificateAndKey() throws Exception {
    Path both = file("both.pem", rsa.pkcs8Pem() + rsa.certificatePem());
    PemIdentity identity = PemIdentity.read(both, both, Instant.now());
    assertThat(identity.chain()).containsExactly(rsa.certificate());
  }

  @Test
  void aChain_keepsItsOrder_andTheKeyMustBelongToTheFirst() throws Exception {
    PemIdentity chain = read(rsa.certificatePem() + other.certificatePem(), rsa.pkcs8Pem());
    assertThat(chain.chain()).containsExactly(rsa.certificate(), other.certificate());

    refused(other.certificatePem() + rsa.certificatePem(), rsa.pkcs8Pem())
        .hasMessageStartingWith("--tls-cert ")
        .hasMessageContaining("belongs to certificate 2 of the chain")
        .hasMessageContaining("put the server certificate first");
  }

  @Test
  void aKeyOfAnotherCertificate_isRefused() {
    refused(rsa.certificatePem(), other.pkcs8Pem())
        .hasMessageStartingWith("--tls-key ")
        .hasMessageContaining("is not the private key of the certificate in --tls-cert")
        .hasMessageContaining("CN=localhost")
        .hasMessageContaining("give the key this certificate was issued for");
    refused(rsa.certificatePem(), ec.pkcs8Pem())
        .hasMessageContaining("is not the private key of the certificate");
  }

  @Test
  void encryptedKeys_areRefused_withTheOpensslCommandThatDecryptsThem() {
    String pkcs8Encrypted = TestCertificates.pem("ENCRYPTED PRIVATE KEY", new byte[] {1, 2, 3});
    refused(rsa.certificatePem(), pkcs8Encrypted)
        .hasMessageStartingWith("--tls-key ")
        .hasMessageContaining("is encrypted")
        .hasMessageContaining("openssl pkey -in " + dir.resolve("key.pem"));
    String traditionalEncrypted =
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
            + "DEK-Info: AES-256-CBC,2A30859C289A319D4E0C6DDE5A021651\n\nAAAA\n"
            + "-----END RSA PRIVATE KEY-----\n";
    refused(rsa.certificatePem(), traditionalEncrypted).hasMessageContaining("is encrypted");
  }

  @Test
  void keyFormsCastellanDoesNotRead_nameTheConversion() {
    refused(rsa.certificatePem(), TestCertificates.pem("OPENSSH PRIVATE KEY", new byte[] {1}))
        .hasMessageContaining("a form Castellan does not read")
        .hasMessageContaining("openssl pkey -in ");
    // SEC1 without its curve (openssl -param_enc explicit or a stripped file)
    String noCurve =
        TestCertificates.pem(
            "EC PRIVATE KEY",
            java.util.HexFormat.of().parseHex("3025020101" + "0420" + "11".repeat(32)));
    refused(ec.certificatePem(), noCurve)
        .hasMessageContaining("does not name its curve")
        .hasMessageContaining("openssl pkey -in ");
  }

  @Test
  void swappedFiles_areRecognised() {
    refused(rsa.pkcs8Pem(), rsa.certificatePem())
        .hasMessageStartingWith("--tls-cert ")
        .hasMessageContaining("are --tls-cert and --tls-key swapped?");
  }

  @Test
  void missingEmptyDamagedOrOversizedFiles_nameTheFlagAndTheFile() throws Exception {
    Path key = file("good-key.pem", rsa.pkcs8Pem());
    Path missing = dir.resolve("nowhere.pem");
    assertThatThrownBy(() -> PemIdentity.read(missing, key, Instant.now()))
        .hasMessage("--tls-cert " + missing + " does not exist; give the path of a PEM file");
    assertThatThrownBy(() -> PemIdentity.read(dir, key, Instant.now()))
        .hasMessageContaining("--tls-cert " + dir + " is a directory");

    refused("", rsa.pkcs8Pem())
        .hasMessageContaining("holds no PEM certificate")
        .hasMessageContaining("server certificate first");
    refused(rsa.certificatePem(), "hello")
        .hasMessageStartingWith("--tls-key ")
        .hasMessageContaining("holds no PEM private key");
    refused("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", rsa.pkcs8Pem())
        .hasMessageContaining("is not valid base64");
    refused(TestCertificates.pem("CERTIFICATE", new byte[] {0x30, 0x03, 1, 2, 3}), rsa.pkcs8Pem())
        .hasMessageContaining("certificate 1 is not a valid X.509 certificate");
    refused(rsa.certificatePem(), TestCertificates.pem("PRIVATE KEY", new byte[] {0x30, 0x00}))
        .hasMessageContaining("is not valid PKCS#8");
    refused(rsa.certificatePem(), rsa.pkcs8Pem() + other.pkcs8Pem())
        .hasMessageContaining("holds 2 private keys");

    Path big = dir.resolve("big.pem");
    Files.write(big, new byte[PemIdentity.MAX_FILE_BYTES + 1]);
    assertThatThrownBy(() -> PemIdentity.read(big, key, Instant.now()))
        .hasMessageContaining("is it the right file?");
  }

  @Test
  void anExpiredCertificate_loads_withAWarningThatSaysToRenewIt() throws Exception {
    PemIdentity identity = read(expired.certificatePem(), expired.pkcs8Pem());
    assertThat(identity.warnings())
        .singleElement()
        .asString()
        .contains("CN=localhost in --tls-cert")
        .contains("expired on " + expired.certificate().getNotAfter().toInstant())
        .contains("renew it");

    PemIdentity early =
        PemIdentity.read(
            file("cert.pem", rsa.certificatePem()),
            file("key.pem", rsa.pkcs8Pem()),
            rsa.certificate().getNotBefore().toInstant().minusSeconds(3600));
    assertThat(early.warnings()).singleElement().asString().contains("is not valid before");
  }

  @Test
  void aKeyEveryUserCanRead_isWarnedAbout() throws Exception {
    Path cert = file("cert.pem", rsa.certificatePem());
    Path key = file("key.pem", rsa.pkcs8Pem());
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
    assertThat(PemIdentity.read(cert, key, Instant.now()).warnings())
        .singleElement()
        .asString()
        .contains("can be read by every user")
        .contains("chmod 600 " + key);
  }

  @Test
  void theKeyIsNeverInTheText() throws Exception {
    PemIdentity identity = read(rsa.certificatePem(), rsa.pkcs8Pem());
    String modulus =
        ((java.security.interfaces.RSAPrivateCrtKey) rsa.key()).getPrivateExponent().toString(16);
    assertThat(identity.toString()).contains("CN=localhost").doesNotContain(modulus);
  }
}
