package dev.castellan.server;

import dev.castellan.engine.Tuple;
import dev.castellan.model.ModelDsl;
import dev.castellan.store.Store;
import dev.castellan.store.StoreInfo;
import dev.castellan.store.TupleWrite;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The {@code --demo} store: the four seeds in one model. AI workflow roles (who may run or delete a
 * workflow), a model registry with separation of duties (a model's maintainer may not approve its
 * production deployment) and a time-of-day condition, and documents in folders shared with a whole
 * organization (what a RAG retriever may show each user).
 */
public final class Demo {
  public static final String STORE_NAME = "demo";

  static final String MODEL =
      """
      model
        schema 1.1

      type user

      type group
        relations
          define member: [user, group#member]

      type organization
        relations
          define member: [user, group#member]
          define admin: [user]

      type role
        relations
          define assignee: [user, group#member]

      type workflow
        relations
          define org: [organization]
          define owner: [user]
          define runner: [user, role#assignee] or owner
          define viewer: [user, role#assignee] or runner or member from org
          define can_run: runner
          define can_delete: owner or admin from org

      type registry_model
        relations
          define org: [organization]
          define maintainer: [user, group#member]
          define approver: [user, role#assignee]
          define deployer: [user with during_business_hours, role#assignee]
          define reader: [user] or maintainer or member from org
          define can_approve: approver but not maintainer
          define can_deploy_to_production: deployer and can_approve

      type folder
        relations
          define parent: [folder]
          define viewer: [user, group#member, organization#member] or viewer from parent

      type document
        relations
          define parent: [folder]
          define viewer: [user, group#member, organization#member] or viewer from parent

      condition during_business_hours(hour_utc: int) {
        hour_utc >= 9 && hour_utc < 18
      }
      """;

  private Demo() {}

  /** Creates the demo store with its model and tuples, unless a store named demo exists. */
  public static String load(Store store) {
    for (StoreInfo info : store.allStores()) {
      if (info.name().equals(STORE_NAME)) {
        return info.id();
      }
    }
    String id = store.createStore(STORE_NAME).id();
    store.writeModel(id, ModelDsl.parse(MODEL));
    List<Tuple> tuples = new ArrayList<>();
    // Seed 000: AI workflow roles.
    tuples.add(Tuple.of("organization:acme", "member", "user:anne"));
    tuples.add(Tuple.of("organization:acme", "member", "user:bob"));
    tuples.add(Tuple.of("organization:acme", "member", "user:carol"));
    tuples.add(Tuple.of("organization:acme", "admin", "user:anne"));
    tuples.add(Tuple.of("role:workflow-runner", "assignee", "user:bob"));
    tuples.add(Tuple.of("workflow:summarize-tickets", "org", "organization:acme"));
    tuples.add(Tuple.of("workflow:summarize-tickets", "owner", "user:anne"));
    tuples.add(Tuple.of("workflow:summarize-tickets", "runner", "role:workflow-runner#assignee"));
    // Seed 001: a model registry with separation of duties.
    tuples.add(Tuple.of("group:ml-team", "member", "user:bob"));
    tuples.add(Tuple.of("group:ml-team", "member", "user:carol"));
    tuples.add(Tuple.of("role:release-manager", "assignee", "user:carol"));
    tuples.add(Tuple.of("role:release-manager", "assignee", "user:dave"));
    tuples.add(Tuple.of("registry_model:fraud-detector", "org", "organization:acme"));
    tuples.add(Tuple.of("registry_model:fraud-detector", "maintainer", "group:ml-team#member"));
    tuples.add(
        Tuple.of("registry_model:fraud-detector", "approver", "role:release-manager#assignee"));
    tuples.add(
        Tuple.conditional(
            "registry_model:fraud-detector",
            "deployer",
            "user:dave",
            "during_business_hours",
            Map.of()));
    // Seed 003: documents in folders, shared with the whole organization.
    tuples.add(Tuple.of("folder:handbook", "viewer", "organization:acme#member"));
    tuples.add(Tuple.of("folder:deals", "viewer", "user:anne"));
    tuples.add(Tuple.of("folder:deals-2026", "parent", "folder:deals"));
    tuples.add(Tuple.of("document:onboarding", "parent", "folder:handbook"));
    tuples.add(Tuple.of("document:q3-plan", "parent", "folder:deals-2026"));
    tuples.add(Tuple.of("document:pricing", "parent", "folder:deals-2026"));
    store.write(id, TupleWrite.of(tuples, List.of()));
    return id;
  }

  /**
   * Ready-to-paste commands for the demo store; {@code key} is an admin key, or a shell variable
   * such as {@code $CASTELLAN_KEY} that the caller prints a definition of.
   */
  public static String curlCommands(String base, String storeId, String key) {
    // Double quotes: when the key is shown as $CASTELLAN_KEY, the shell expands it.
    String auth = "-H \"Authorization: Bearer " + key + "\"";
    String check = "curl -s " + auth + " " + base + "/stores/" + storeId + "/check -d ";
    return String.join(
        "\n",
        "# May bob run the summarize-tickets workflow? (he holds the workflow-runner role)",
        check
            + "'{\"tuple_key\":{\"user\":\"user:bob\",\"relation\":\"can_run\",\"object\":\"workflow:summarize-tickets\"}}'",
        "# May carol delete it? (no: only its owner or an org admin) -- and why, with explain",
        check
            + "'{\"tuple_key\":{\"user\":\"user:carol\",\"relation\":\"can_delete\",\"object\":\"workflow:summarize-tickets\"},\"explain\":true}'",
        "# Separation of duties: carol maintains fraud-detector, so she may not approve it; dave may",
        check
            + "'{\"tuple_key\":{\"user\":\"user:carol\",\"relation\":\"can_approve\",\"object\":\"registry_model:fraud-detector\"}}'",
        "# dave may deploy to production during business hours only (a CEL condition)",
        check
            + "'{\"tuple_key\":{\"user\":\"user:dave\",\"relation\":\"can_deploy_to_production\",\"object\":\"registry_model:fraud-detector\"},\"context\":{\"hour_utc\":10}}'",
        "# Which documents may bob's RAG retriever show him? (org-wide sharing, folder inheritance)",
        "curl -s "
            + auth
            + " "
            + base
            + "/stores/"
            + storeId
            + "/list-objects -d '{\"type\":\"document\",\"relation\":\"viewer\",\"user\":\"user:bob\"}'",
        "");
  }
}
