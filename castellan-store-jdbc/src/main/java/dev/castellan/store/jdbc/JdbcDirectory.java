package dev.castellan.store.jdbc;

import static dev.castellan.store.jdbc.Timestamps.getRequiredInstant;
import static dev.castellan.store.jdbc.Timestamps.setTimestamp;

import dev.castellan.store.DirectoryGroup;
import dev.castellan.store.DirectoryPage;
import dev.castellan.store.DirectoryQuery;
import dev.castellan.store.DirectoryQuery.And;
import dev.castellan.store.DirectoryQuery.Compare;
import dev.castellan.store.DirectoryQuery.Or;
import dev.castellan.store.DirectoryStore;
import dev.castellan.store.DirectoryUser;
import dev.castellan.store.GroupDraft;
import dev.castellan.store.Identity;
import dev.castellan.store.Ulids;
import dev.castellan.store.UserDraft;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The directory, in {@code directory_users}, {@code directory_user_emails}, {@code
 * directory_groups}, {@code directory_members} and {@code directory_identities}. Queries become SQL
 * with every value a parameter; uniqueness is the database's (a unique violation, SQLSTATE 23505,
 * is a {@code UNIQUENESS_CONFLICT}), and an update's version check is its {@code WHERE}.
 */
final class JdbcDirectory implements DirectoryStore {
  private static final String UNIQUE_VIOLATION = "23505";
  private static final String FOREIGN_KEY_VIOLATION = "23503";
  private static final int IN_CHUNK = 500;
  private static final String USER_COLUMNS =
      "x.id, x.user_name, x.external_id, x.display_name, x.active, x.resource, x.version,"
          + " x.created_at, x.updated_at";
  private static final String GROUP_COLUMNS =
      "x.id, x.display_name, x.external_id, x.version, x.created_at, x.updated_at";
  private static final Comparator<Identity> IDENTITY_ORDER =
      Comparator.comparing(Identity::kind)
          .thenComparing(Identity::namespace)
          .thenComparing(Identity::value);

  private final Transactions transactions;

  JdbcDirectory(Transactions transactions) {
    this.transactions = transactions;
  }

  private static String lower(String value) {
    return value.toLowerCase(Locale.ROOT);
  }

  // ------------------------------------------------------------------ users

  @Override
  public DirectoryUser createUser(UserDraft draft) {
    String id = Ulids.next();
    Instant now = Timestamps.now();
    transactions.run(
        connection -> {
          try (PreparedStatement insert =
              connection.prepareStatement(
                  "INSERT INTO directory_users (id, user_name, user_name_lower, external_id,"
                      + " display_name, display_name_lower, active, resource, version, created_at,"
                      + " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)")) {
            insert.setString(1, id);
            insert.setString(2, draft.userName());
            insert.setString(3, lower(draft.userName()));
            insert.setString(4, draft.externalId());
            insert.setString(5, draft.displayName());
            insert.setString(6, lower(draft.displayName()));
            insert.setBoolean(7, draft.active());
            insert.setString(8, draft.resourceJson());
            setTimestamp(insert, 9, now);
            setTimestamp(insert, 10, now);
            insert.executeUpdate();
          } catch (SQLException e) {
            throw uniqueOr(e, () -> DirectoryStore.userNameTaken(draft.userName()));
          }
          insertEmails(connection, id, draft.emails());
          return null;
        });
    return new DirectoryUser(
        id,
        draft.userName(),
        draft.externalId(),
        draft.displayName(),
        draft.active(),
        draft.emails(),
        draft.resourceJson(),
        1,
        now,
        now);
  }

  private static SQLException uniqueOr(
      SQLException e, java.util.function.Supplier<RuntimeException> conflict) {
    if (UNIQUE_VIOLATION.equals(e.getSQLState())) {
      throw conflict.get();
    }
    return e;
  }

  private static void insertEmails(Connection connection, String userId, List<String> emails)
      throws SQLException {
    if (emails.isEmpty()) {
      return;
    }
    try (PreparedStatement insert =
        connection.prepareStatement(
            "INSERT INTO directory_user_emails (user_id, ordinal, email, email_lower)"
                + " VALUES (?, ?, ?, ?)")) {
      for (int i = 0; i < emails.size(); i++) {
        insert.setString(1, userId);
        insert.setInt(2, i);
        insert.setString(3, emails.get(i));
        insert.setString(4, lower(emails.get(i)));
        insert.addBatch();
      }
      insert.executeBatch();
    }
  }

  @Override
  public Optional<DirectoryUser> user(String id) {
    return transactions.run(
        connection -> users(connection, "x.id = ?", List.of(id), 1, 0).stream().findFirst());
  }

  @Override
  public List<DirectoryUser> users(List<String> ids) {
    DirectoryStore.checkBatch(ids);
    List<String> distinct = List.copyOf(new java.util.TreeSet<>(ids));
    if (distinct.isEmpty()) {
      return List.of();
    }
    String marks = String.join(", ", java.util.Collections.nCopies(distinct.size(), "?"));
    return transactions.run(
        connection -> users(connection, "x.id IN (" + marks + ")", distinct, distinct.size(), 0));
  }

  /** The users matching {@code where}, in id order, from {@code offset}, with their emails. */
  private static List<DirectoryUser> users(
      Connection connection, String where, List<String> params, int limit, int offset)
      throws SQLException {
    Map<String, DirectoryUser> byId =
        rows(
            connection,
            USER_COLUMNS,
            "directory_users",
            where,
            params,
            limit,
            offset,
            rs ->
                new DirectoryUser(
                    rs.getString(1),
                    rs.getString(2),
                    rs.getString(3),
                    rs.getString(4),
                    rs.getBoolean(5),
                    List.of(),
                    rs.getString(6),
                    rs.getLong(7),
                    getRequiredInstant(rs, 8),
                    getRequiredInstant(rs, 9)));
    Map<String, List<String>> emails =
        children(
            connection,
            "SELECT user_id, email FROM directory_user_emails WHERE user_id IN (%s)"
                + " ORDER BY user_id, ordinal",
            byId.keySet());
    List<DirectoryUser> out = new ArrayList<>(byId.size());
    for (DirectoryUser u : byId.values()) {
      out.add(
          new DirectoryUser(
              u.id(),
              u.userName(),
              u.externalId(),
              u.displayName(),
              u.active(),
              emails.getOrDefault(u.id(), List.of()),
              u.resourceJson(),
              u.version(),
              u.created(),
              u.lastModified()));
    }
    return out;
  }

  /** Reads one row of a result set. */
  @FunctionalInterface
  private interface RowReader<T> {
    T read(ResultSet rs) throws SQLException;
  }

  /**
   * The rows of {@code table} (alias {@code x}) matching {@code where}, in id order, from {@code
   * offset}, by their id (the first column); their child rows are read by the caller.
   */
  private static <T> Map<String, T> rows(
      Connection connection,
      String columns,
      String table,
      String where,
      List<String> params,
      int limit,
      int offset,
      RowReader<T> reader)
      throws SQLException {
    Map<String, T> byId = new LinkedHashMap<>();
    try (PreparedStatement select =
        connection.prepareStatement(
            "SELECT "
                + columns
                + " FROM "
                + table
                + " x WHERE "
                + where
                + " ORDER BY x.id LIMIT ? OFFSET ?")) {
      int i = bind(select, params);
      select.setInt(i++, limit);
      select.setInt(i, offset);
      try (ResultSet rs = select.executeQuery()) {
        while (rs.next()) {
          byId.put(rs.getString(1), reader.read(rs));
        }
      }
    }
    return byId;
  }

  /** Rows {@code (parent id, value)} of {@code sql} for the parents, in the query's order. */
  private static Map<String, List<String>> children(
      Connection connection, String sql, Set<String> parents) throws SQLException {
    Map<String, List<String>> out = new HashMap<>();
    List<String> ids = List.copyOf(parents);
    for (int from = 0; from < ids.size(); from += IN_CHUNK) {
      List<String> chunk = ids.subList(from, Math.min(ids.size(), from + IN_CHUNK));
      try (PreparedStatement select =
          connection.prepareStatement(
              String.format(Locale.ROOT, sql, placeholders(chunk.size())))) {
        bind(select, chunk);
        try (ResultSet rs = select.executeQuery()) {
          while (rs.next()) {
            out.computeIfAbsent(rs.getString(1), k -> new ArrayList<>()).add(rs.getString(2));
          }
        }
      }
    }
    return out;
  }

  private static String placeholders(int n) {
    return String.join(", ", java.util.Collections.nCopies(n, "?"));
  }

  /** Binds {@code params} from index 1; returns the next index. */
  private static int bind(PreparedStatement statement, List<String> params) throws SQLException {
    int i = 1;
    for (String param : params) {
      statement.setString(i++, param);
    }
    return i;
  }

  @Override
  public DirectoryUser updateUser(String id, long expectedVersion, UserDraft draft) {
    return transactions.run(
        connection -> {
          Instant now = Timestamps.now();
          try (PreparedStatement update =
              connection.prepareStatement(
                  "UPDATE directory_users SET user_name = ?, user_name_lower = ?, external_id = ?,"
                      + " display_name = ?, display_name_lower = ?, active = ?, resource = ?,"
                      + " version = version + 1, updated_at = ? WHERE "
                      + versionCondition(expectedVersion))) {
            update.setString(1, draft.userName());
            update.setString(2, lower(draft.userName()));
            update.setString(3, draft.externalId());
            update.setString(4, draft.displayName());
            update.setString(5, lower(draft.displayName()));
            update.setBoolean(6, draft.active());
            update.setString(7, draft.resourceJson());
            setTimestamp(update, 8, now);
            bindVersion(update, 9, id, expectedVersion);
            if (update.executeUpdate() == 0) {
              throw missingOrStale(connection, "directory_users", "user", id, expectedVersion);
            }
          } catch (SQLException e) {
            throw uniqueOr(e, () -> DirectoryStore.userNameTaken(draft.userName()));
          }
          try (PreparedStatement delete =
              connection.prepareStatement("DELETE FROM directory_user_emails WHERE user_id = ?")) {
            delete.setString(1, id);
            delete.executeUpdate();
          }
          insertEmails(connection, id, draft.emails());
          return users(connection, "x.id = ?", List.of(id), 1, 0).getFirst();
        });
  }

  private static String versionCondition(long expectedVersion) {
    return expectedVersion == ANY_VERSION ? "id = ?" : "id = ? AND version = ?";
  }

  private static void bindVersion(
      PreparedStatement statement, int index, String id, long expectedVersion) throws SQLException {
    statement.setString(index, id);
    if (expectedVersion != ANY_VERSION) {
      statement.setLong(index + 1, expectedVersion);
    }
  }

  /**
   * Why an update by id and version changed nothing: {@code NOT_FOUND} or {@code VERSION_MISMATCH}.
   */
  private static RuntimeException missingOrStale(
      Connection connection, String table, String what, String id, long expectedVersion)
      throws SQLException {
    try (PreparedStatement select =
        connection.prepareStatement("SELECT version FROM " + table + " WHERE id = ?")) {
      select.setString(1, id);
      try (ResultSet rs = select.executeQuery()) {
        return rs.next()
            ? DirectoryStore.stale(what, id, expectedVersion, rs.getLong(1))
            : DirectoryStore.notFound(what, id);
      }
    }
  }

  @Override
  public boolean deleteUser(String id) {
    return transactions.run(
        connection -> {
          try (PreparedStatement groups =
                  connection.prepareStatement(
                      "UPDATE directory_groups SET version = version + 1, updated_at = ? WHERE id"
                          + " IN (SELECT group_id FROM directory_members WHERE user_id = ?)");
              PreparedStatement delete =
                  connection.prepareStatement("DELETE FROM directory_users WHERE id = ?")) {
            setTimestamp(groups, 1, Timestamps.now());
            groups.setString(2, id);
            groups.executeUpdate();
            // Emails, memberships and identities go with the user (ON DELETE CASCADE).
            delete.setString(1, id);
            return delete.executeUpdate() > 0;
          }
        });
  }

  @Override
  public DirectoryPage<DirectoryUser> findUsers(DirectoryQuery query, int startIndex, int count) {
    DirectoryQuery.check(query, true);
    DirectoryStore.checkPage(startIndex, count);
    List<String> params = new ArrayList<>();
    String where = sql(query, params);
    return transactions.run(
        connection -> {
          int total = count(connection, "directory_users", where, params);
          List<DirectoryUser> items =
              count == 0 ? List.of() : users(connection, where, params, count, startIndex - 1);
          return new DirectoryPage<>(items, startIndex, total);
        });
  }

  private static int count(Connection connection, String table, String where, List<String> params)
      throws SQLException {
    try (PreparedStatement select =
        connection.prepareStatement("SELECT COUNT(*) FROM " + table + " x WHERE " + where)) {
      bind(select, params);
      try (ResultSet rs = select.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  // ------------------------------------------------------------------ the query as SQL

  /**
   * {@code query} as a condition on the row {@code x} (a user or a group); values go to {@code
   * params}, never into the text. Absent values are empty strings, which match nothing.
   */
  static String sql(DirectoryQuery query, List<String> params) {
    return switch (query) {
      case DirectoryQuery.All all -> "1 = 1";
      case And and -> "(" + sql(and.left(), params) + " AND " + sql(and.right(), params) + ")";
      case Or or -> "(" + sql(or.left(), params) + " OR " + sql(or.right(), params) + ")";
      case Compare compare -> compare(compare, params);
    };
  }

  private static String compare(Compare compare, List<String> params) {
    String value = compare.attribute().normalize(compare.value());
    return switch (compare.attribute()) {
      case USER_NAME -> single("x.user_name_lower", compare, value, params);
      case EXTERNAL_ID -> single("x.external_id", compare, value, params);
      case DISPLAY_NAME -> single("x.display_name_lower", compare, value, params);
      case EMAIL ->
          multi(
              "SELECT 1 FROM directory_user_emails e WHERE e.user_id = x.id AND ",
              "e.email_lower",
              compare,
              value,
              params);
      case MEMBER ->
          multi(
              "SELECT 1 FROM directory_members m WHERE m.group_id = x.id AND ",
              "m.user_id",
              compare,
              value,
              params);
    };
  }

  private static String single(String column, Compare compare, String value, List<String> params) {
    return switch (compare.operator()) {
      case NE -> "NOT (" + test(column, DirectoryQuery.Operator.EQ, value, params) + ")";
      case EQ, CO, SW, PR -> test(column, compare.operator(), value, params);
    };
  }

  private static String multi(
      String exists, String column, Compare compare, String value, List<String> params) {
    return switch (compare.operator()) {
      case NE ->
          "NOT EXISTS (" + exists + test(column, DirectoryQuery.Operator.EQ, value, params) + ")";
      case EQ, CO, SW, PR ->
          "EXISTS (" + exists + test(column, compare.operator(), value, params) + ")";
    };
  }

  /** A present value of {@code column} that passes {@code operator}. */
  private static String test(
      String column, DirectoryQuery.Operator operator, String value, List<String> params) {
    String present = column + " <> ''";
    switch (operator) {
      case PR -> {
        return present;
      }
      case EQ, NE -> {
        params.add(value);
        return "(" + present + " AND " + column + " = ?)";
      }
      case CO -> {
        params.add("%" + escapeLike(value) + "%");
        return "(" + present + " AND " + column + " LIKE ? ESCAPE '\\')";
      }
      case SW -> {
        params.add(escapeLike(value) + "%");
        return "(" + present + " AND " + column + " LIKE ? ESCAPE '\\')";
      }
    }
    throw new AssertionError(operator);
  }

  private static String escapeLike(String value) {
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_");
  }

  // ------------------------------------------------------------------ groups

  @Override
  public DirectoryGroup createGroup(GroupDraft draft) {
    String id = Ulids.next();
    Instant now = Timestamps.now();
    transactions.run(
        connection -> {
          try (PreparedStatement insert =
              connection.prepareStatement(
                  "INSERT INTO directory_groups (id, display_name, display_name_lower,"
                      + " external_id, version, created_at, updated_at)"
                      + " VALUES (?, ?, ?, ?, 1, ?, ?)")) {
            insert.setString(1, id);
            insert.setString(2, draft.displayName());
            insert.setString(3, lower(draft.displayName()));
            insert.setString(4, draft.externalId());
            setTimestamp(insert, 5, now);
            setTimestamp(insert, 6, now);
            insert.executeUpdate();
          }
          addMembers(connection, id, draft.members());
          return null;
        });
    return new DirectoryGroup(
        id, draft.displayName(), draft.externalId(), draft.members(), 1, now, now);
  }

  /** Adds users to a group (ids already in are skipped); every id must be a user. */
  private static void addMembers(Connection connection, String groupId, List<String> userIds)
      throws SQLException {
    for (int from = 0; from < userIds.size(); from += IN_CHUNK) {
      List<String> chunk = userIds.subList(from, Math.min(userIds.size(), from + IN_CHUNK));
      Set<String> missing = new LinkedHashSet<>(chunk);
      try (PreparedStatement select =
          connection.prepareStatement(
              "SELECT id FROM directory_users WHERE id IN (" + placeholders(chunk.size()) + ")")) {
        bind(select, chunk);
        try (ResultSet rs = select.executeQuery()) {
          while (rs.next()) {
            missing.remove(rs.getString(1));
          }
        }
      }
      if (!missing.isEmpty()) {
        throw DirectoryStore.notAUser(missing.iterator().next());
      }
      // The caller holds the group's row (inserted or updated), so no one else adds concurrently.
      try (PreparedStatement insert =
          connection.prepareStatement(
              "INSERT INTO directory_members (group_id, user_id) SELECT ?, ? WHERE NOT EXISTS"
                  + " (SELECT 1 FROM directory_members WHERE group_id = ? AND user_id = ?)")) {
        for (String userId : chunk) {
          insert.setString(1, groupId);
          insert.setString(2, userId);
          insert.setString(3, groupId);
          insert.setString(4, userId);
          insert.addBatch();
        }
        insert.executeBatch();
      } catch (SQLException e) {
        if (FOREIGN_KEY_VIOLATION.equals(e.getSQLState())) {
          throw new dev.castellan.CastellanException(
              dev.castellan.ErrorCode.VALIDATION_ERROR,
              "a member was deleted while the group changed; send the change again");
        }
        throw e;
      }
    }
  }

  @Override
  public Optional<DirectoryGroup> group(String id) {
    return transactions.run(
        connection -> groups(connection, "x.id = ?", List.of(id), 1, 0).stream().findFirst());
  }

  @Override
  public OptionalLong groupVersion(String id) {
    return transactions.run(
        connection -> {
          try (PreparedStatement select =
              connection.prepareStatement("SELECT version FROM directory_groups WHERE id = ?")) {
            select.setString(1, id);
            try (ResultSet rs = select.executeQuery()) {
              return rs.next() ? OptionalLong.of(rs.getLong(1)) : OptionalLong.empty();
            }
          }
        });
  }

  private static List<DirectoryGroup> groups(
      Connection connection, String where, List<String> params, int limit, int offset)
      throws SQLException {
    Map<String, DirectoryGroup> byId =
        rows(
            connection,
            GROUP_COLUMNS,
            "directory_groups",
            where,
            params,
            limit,
            offset,
            rs ->
                new DirectoryGroup(
                    rs.getString(1),
                    rs.getString(2),
                    rs.getString(3),
                    List.of(),
                    rs.getLong(4),
                    getRequiredInstant(rs, 5),
                    getRequiredInstant(rs, 6)));
    Map<String, List<String>> members =
        children(
            connection,
            "SELECT group_id, user_id FROM directory_members WHERE group_id IN (%s)",
            byId.keySet());
    List<DirectoryGroup> out = new ArrayList<>(byId.size());
    for (DirectoryGroup g : byId.values()) {
      out.add(
          new DirectoryGroup(
              g.id(),
              g.displayName(),
              g.externalId(),
              DirectoryStore.memberIds(members.getOrDefault(g.id(), List.of())),
              g.version(),
              g.created(),
              g.lastModified()));
    }
    return out;
  }

  @Override
  public DirectoryGroup updateGroup(String id, long expectedVersion, GroupDraft draft) {
    return transactions.run(
        connection -> {
          try (PreparedStatement update =
              connection.prepareStatement(
                  "UPDATE directory_groups SET display_name = ?, display_name_lower = ?,"
                      + " external_id = ?, version = version + 1, updated_at = ? WHERE "
                      + versionCondition(expectedVersion))) {
            update.setString(1, draft.displayName());
            update.setString(2, lower(draft.displayName()));
            update.setString(3, draft.externalId());
            setTimestamp(update, 4, Timestamps.now());
            bindVersion(update, 5, id, expectedVersion);
            if (update.executeUpdate() == 0) {
              throw missingOrStale(connection, "directory_groups", "group", id, expectedVersion);
            }
          }
          try (PreparedStatement delete =
              connection.prepareStatement("DELETE FROM directory_members WHERE group_id = ?")) {
            delete.setString(1, id);
            delete.executeUpdate();
          }
          addMembers(connection, id, draft.members());
          return groups(connection, "x.id = ?", List.of(id), 1, 0).getFirst();
        });
  }

  @Override
  public DirectoryGroup changeMembers(
      String id, long expectedVersion, List<String> add, List<String> remove) {
    List<String> added = DirectoryStore.memberIds(add);
    List<String> removed = DirectoryStore.memberIds(remove);
    return transactions.run(
        connection -> {
          try (PreparedStatement update =
              connection.prepareStatement(
                  "UPDATE directory_groups SET version = version + 1, updated_at = ? WHERE "
                      + versionCondition(expectedVersion))) {
            setTimestamp(update, 1, Timestamps.now());
            bindVersion(update, 2, id, expectedVersion);
            if (update.executeUpdate() == 0) {
              throw missingOrStale(connection, "directory_groups", "group", id, expectedVersion);
            }
          }
          addMembers(connection, id, added);
          if (!removed.isEmpty()) {
            try (PreparedStatement delete =
                connection.prepareStatement(
                    "DELETE FROM directory_members WHERE group_id = ? AND user_id = ?")) {
              for (String userId : removed) {
                delete.setString(1, id);
                delete.setString(2, userId);
                delete.addBatch();
              }
              delete.executeBatch();
            }
          }
          DirectoryGroup group = groups(connection, "x.id = ?", List.of(id), 1, 0).getFirst();
          if (group.members().size() > MAX_MEMBERS) {
            DirectoryStore.memberIds(group.members()); // throws, and the transaction rolls back
          }
          return group;
        });
  }

  @Override
  public boolean deleteGroup(String id) {
    return transactions.run(
        connection -> {
          try (PreparedStatement delete =
              connection.prepareStatement("DELETE FROM directory_groups WHERE id = ?")) {
            delete.setString(1, id);
            return delete.executeUpdate() > 0;
          }
        });
  }

  @Override
  public DirectoryPage<DirectoryGroup> findGroups(DirectoryQuery query, int startIndex, int count) {
    DirectoryQuery.check(query, false);
    DirectoryStore.checkPage(startIndex, count);
    List<String> params = new ArrayList<>();
    String where = sql(query, params);
    return transactions.run(
        connection -> {
          int total = count(connection, "directory_groups", where, params);
          List<DirectoryGroup> items =
              count == 0 ? List.of() : groups(connection, where, params, count, startIndex - 1);
          return new DirectoryPage<>(items, startIndex, total);
        });
  }

  @Override
  public List<String> groupsOf(String userId) {
    return transactions.run(
        connection -> {
          List<String> out = new ArrayList<>();
          try (PreparedStatement select =
              connection.prepareStatement(
                  "SELECT group_id FROM directory_members WHERE user_id = ?")) {
            select.setString(1, userId);
            try (ResultSet rs = select.executeQuery()) {
              while (rs.next()) {
                out.add(rs.getString(1));
              }
            }
          }
          return out.stream().sorted().toList();
        });
  }

  // ------------------------------------------------------------------ identities

  @Override
  public void link(String userId, Identity identity) {
    transactions.run(
        connection -> {
          try (PreparedStatement user =
              connection.prepareStatement("SELECT 1 FROM directory_users WHERE id = ?")) {
            user.setString(1, userId);
            try (ResultSet rs = user.executeQuery()) {
              if (!rs.next()) {
                throw DirectoryStore.notFound("user", userId);
              }
            }
          }
          Optional<String> owner = owner(connection, identity);
          if (owner.isPresent()) {
            if (owner.get().equals(userId)) {
              return null;
            }
            throw DirectoryStore.identityTaken(identity);
          }
          if (count(connection, "directory_identities", "x.user_id = ?", List.of(userId))
              >= MAX_IDENTITIES) {
            throw DirectoryStore.tooManyIdentities();
          }
          try (PreparedStatement insert =
              connection.prepareStatement(
                  "INSERT INTO directory_identities (kind, namespace, identity_value, user_id)"
                      + " VALUES (?, ?, ?, ?)")) {
            insert.setString(1, identity.kind());
            insert.setString(2, identity.namespace());
            insert.setString(3, identity.value());
            insert.setString(4, userId);
            insert.executeUpdate();
          } catch (SQLException e) {
            throw uniqueOr(e, () -> DirectoryStore.identityTaken(identity));
          }
          return null;
        });
  }

  private static Optional<String> owner(Connection connection, Identity identity)
      throws SQLException {
    try (PreparedStatement select =
        connection.prepareStatement(
            "SELECT user_id FROM directory_identities"
                + " WHERE kind = ? AND namespace = ? AND identity_value = ?")) {
      select.setString(1, identity.kind());
      select.setString(2, identity.namespace());
      select.setString(3, identity.value());
      try (ResultSet rs = select.executeQuery()) {
        return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
      }
    }
  }

  @Override
  public boolean unlink(String userId, Identity identity) {
    return transactions.run(
        connection -> {
          try (PreparedStatement delete =
              connection.prepareStatement(
                  "DELETE FROM directory_identities"
                      + " WHERE kind = ? AND namespace = ? AND identity_value = ? AND user_id = ?")) {
            delete.setString(1, identity.kind());
            delete.setString(2, identity.namespace());
            delete.setString(3, identity.value());
            delete.setString(4, userId);
            return delete.executeUpdate() > 0;
          }
        });
  }

  @Override
  public List<Identity> identities(String userId) {
    return transactions.run(
        connection -> {
          List<Identity> out = new ArrayList<>();
          try (PreparedStatement select =
              connection.prepareStatement(
                  "SELECT kind, namespace, identity_value FROM directory_identities"
                      + " WHERE user_id = ?")) {
            select.setString(1, userId);
            try (ResultSet rs = select.executeQuery()) {
              while (rs.next()) {
                out.add(new Identity(rs.getString(1), rs.getString(2), rs.getString(3)));
              }
            }
          }
          out.sort(IDENTITY_ORDER);
          return out;
        });
  }

  @Override
  public Optional<String> resolve(Identity identity) {
    return transactions.run(connection -> owner(connection, identity));
  }
}
