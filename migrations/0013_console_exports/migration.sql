-- Console exports and audit log (issue #13, docs/decisions/017-console-exports.md): the CSV exports read
-- payments and transfers of a date range in pages keyed by (created_at, id), and the audit log page filters
-- an organization's lines by action and actor, newest first. Without these indexes every page of a
-- 100,000-row transfer export would scan the whole table.
CREATE INDEX payout_transfers_created_at_id_idx ON payout_transfers (created_at, id);
CREATE INDEX payments_organization_id_created_at_id_idx ON payments (organization_id, created_at, id);
CREATE INDEX audit_log_organization_id_id_idx ON audit_log (organization_id, id);
