-- With the store id first, a planner with stale statistics (a table that grew fast since its
-- last ANALYZE) took "all tuples of the store" through this index for key lookups, scanning the
-- whole store on every write. Leading with the user keeps lookups by user fast and leaves the
-- primary key as the only index a full-key lookup can use.
DROP INDEX tuples_by_user;
CREATE INDEX tuples_by_user ON tuples (user_key, store_id);
