package dev.castellan.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.castellan.server.auth.IssuerSettings.GroupMatch;
import dev.castellan.server.auth.IssuerSettings.Provisioning;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The {@code issuers:} list of a config file: what it means, and errors that say how to fix. */
class IssuerSettingsTest {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private static List<IssuerSettings> parse(String yaml) throws Exception {
    JsonNode root = YAML.readTree(yaml);
    return IssuerSettings.parse(root.get("issuers"), "castellan.yaml");
  }

  private static void refused(String yaml, String message) {
    assertThatThrownBy(() -> parse(yaml))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(message);
  }

  @Test
  void aFullEntry_readsEveryKey() throws Exception {
    IssuerSettings okta =
        parse(
                """
                issuers:
                  - name: okta
                    issuer: https://example.okta.com/oauth2/default
                    audience: castellan
                    jwks-uri: https://example.okta.com/oauth2/default/v1/keys
                    default-namespace: true
                    subject-claim: uid
                    groups-claim: groups
                    group-match: external-id
                    roles-claim: realm_access.roles
                    role-mappings:
                      Castellan.Developer: developer
                    admin-values: {claim: groups, values: [castellan-admins]}
                    auditor-values: {claim: groups, values: [compliance, audit]}
                    provisioning: scim-only
                """)
            .get(0);
    assertThat(okta.name()).isEqualTo("okta");
    assertThat(okta.audience()).isEqualTo("castellan");
    assertThat(okta.jwksUri()).endsWith("/v1/keys");
    assertThat(okta.defaultNamespace()).isTrue();
    assertThat(okta.subjectClaim()).isEqualTo("uid");
    assertThat(okta.groupMatch()).isEqualTo(GroupMatch.EXTERNAL_ID);
    assertThat(okta.rolesClaim()).isEqualTo("realm_access.roles");
    assertThat(okta.roleMappings()).isEqualTo(Map.of("Castellan.Developer", "developer"));
    assertThat(okta.admin().values()).containsExactly("castellan-admins");
    assertThat(okta.auditor().values()).containsExactly("compliance", "audit");
    assertThat(okta.provisioning()).isEqualTo(Provisioning.SCIM_ONLY);
  }

  @Test
  void defaults_areTheBehaviourOfBefore_inTheIssuersOwnNamespace() throws Exception {
    IssuerSettings minimal =
        parse("issuers:\n  - {name: entra, issuer: 'https://login.example/tenant/v2.0'}\n").get(0);
    assertThat(minimal.defaultNamespace()).isFalse();
    assertThat(minimal.subjectClaim()).isEqualTo("sub");
    assertThat(minimal.groupMatch()).isEqualTo(GroupMatch.NAME);
    // Every token is a directory user now (ADR 0023): jit by default; none is deprecated.
    assertThat(minimal.provisioning()).isEqualTo(Provisioning.JIT);
    assertThat(minimal.roleMappings()).isEmpty();
    assertThat(minimal.audience()).isEmpty();
  }

  @Test
  void mistakes_stopStartup_namingTheEntryAndTheFix() {
    refused(
        "issuers:\n  - {name: Okta, issuer: 'https://a.example'}\n",
        "castellan.yaml: issuers[0]: an issuer's name is 1 to 32 of a-z, 0-9 and '-'");
    refused("issuers:\n  - {name: okta}\n", "issuers[0]: 'issuer' is required");
    refused("issuers:\n  - {name: okta, issuer: 'ftp://a.example'}\n", "must be an http(s) URL");
    refused(
        "issuers:\n  - {name: okta, issuer: 'https://a.example', group_match: name}\n",
        "unknown setting 'group_match'; known: [admin-values,");
    refused(
        "issuers:\n  - {name: okta, issuer: 'https://a.example', group-match: displayName}\n",
        "'group-match' is one of [name, display-name, external-id], got 'displayName'");
    refused(
        "issuers:\n  - {name: okta, issuer: 'https://a.example', group-match: display-name}\n",
        "group-match display-name needs groups-claim");
    refused(
        "issuers:\n  - {name: okta, issuer: 'https://a.example', provisioning: yes-please}\n",
        "'provisioning' is one of [none, jit, scim-only]");
    refused(
        "issuers:\n  - {name: okta, issuer: 'https://a.example', role-mappings: {a: b}}\n",
        "role-mappings need roles-claim");
    refused(
        "issuers:\n  - {name: okta, issuer: 'https://a.example', admin-values: [x]}\n",
        "admin-values: expected {claim: groups, values: [castellan-admins]}");
    refused(
        "issuers:\n  - {name: okta, issuer: 'https://a.example', jwks-uri: 'http://a.example/k'}\n",
        "the jwks-uri of an https issuer must be https too");
    refused(
        "issuers:\n"
            + "  - {name: okta, issuer: 'https://a.example'}\n"
            + "  - {name: okta, issuer: 'https://b.example'}\n",
        "two issuers are named 'okta'");
    refused(
        "issuers:\n"
            + "  - {name: a, issuer: 'https://a.example'}\n"
            + "  - {name: b, issuer: 'https://a.example'}\n",
        "the issuer https://a.example is listed twice");
    refused(
        "issuers:\n"
            + "  - {name: a, issuer: 'https://a.example', default-namespace: true}\n"
            + "  - {name: b, issuer: 'https://b.example', default-namespace: true}\n",
        "at most one issuer has default-namespace: true");
    refused("issuers: {name: a}\n", "issuers is a list of mappings");
  }

  @Test
  void moreIssuersThanTheLimit_areRefused() {
    StringBuilder yaml = new StringBuilder("issuers:\n");
    for (int i = 0; i <= IssuerSettings.MAX_ISSUERS; i++) {
      yaml.append("  - {name: i")
          .append(i)
          .append(", issuer: 'https://i")
          .append(i)
          .append(".example'}\n");
    }
    refused(yaml.toString(), "at most " + IssuerSettings.MAX_ISSUERS + " issuers");
  }

  @Test
  void theSingleIssuerFlags_andAListedIssuer_mayNotBothKeepTheDefaultNamespace() {
    assertThatThrownBy(
            () ->
                new JwtAuthenticator(
                    JwtSettings.oidc("https://a.example", ""),
                    List.of(
                        new IssuerSettings(
                            "b",
                            "https://b.example",
                            "",
                            "",
                            true,
                            "sub",
                            "",
                            GroupMatch.NAME,
                            "",
                            Map.of(),
                            IssuerSettings.ClaimValues.NONE,
                            IssuerSettings.ClaimValues.NONE,
                            Provisioning.NONE)),
                    null,
                    java.time.Clock.systemUTC()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at most one issuer has default-namespace: true");
  }
}
