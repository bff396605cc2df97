-- The operator API (issue #15): API keys (stored as the sha256 of a high-entropy secret, never the key), the
-- idempotency keys of POST requests (kept 24 hours), and API keys as approvers and audit actors.

CREATE TYPE api_key_scope AS ENUM ('READ', 'WRITE');

CREATE TABLE api_keys (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id  uuid NOT NULL REFERENCES organizations(id),
  name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  -- What logs, the console and `api-key revoke` name a key by: `sf_live_` or `sf_test_` and 8 characters
  -- of the key (48 bits: public, not enough to guess the rest).
  prefix           text NOT NULL UNIQUE CHECK (prefix ~ '^sf_(live|test)_[A-Za-z0-9]{8}$'),
  token_hash       text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  scope            api_key_scope NOT NULL,
  created_by_id    uuid REFERENCES operators(id),
  created_at       timestamptz(6) NOT NULL DEFAULT now(),
  last_used_at     timestamptz(6),
  revoked_at       timestamptz(6),
  revoked_by_id    uuid REFERENCES operators(id)
);
CREATE INDEX api_keys_organization_id_idx ON api_keys (organization_id, created_at);

-- One row per (key, Idempotency-Key), inserted before the request's effect: a concurrent duplicate finds
-- it and waits for the response rather than acting twice. The response is stored once it is known.
CREATE TABLE api_idempotency_keys (
  api_key_id        uuid NOT NULL REFERENCES api_keys(id),
  key               text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  method            text NOT NULL,
  path              text NOT NULL CHECK (length(path) <= 2000),
  -- sha256 of method, path and the request's canonical JSON body: the same key with another request is a 409.
  request_hash      text NOT NULL CHECK (request_hash ~ '^[0-9a-f]{64}$'),
  response_status   integer CHECK (response_status BETWEEN 100 AND 599),
  response_body     text,
  created_at        timestamptz(6) NOT NULL DEFAULT now(),
  completed_at      timestamptz(6),
  PRIMARY KEY (api_key_id, key),
  CHECK ((completed_at IS NULL) = (response_status IS NULL) AND (response_status IS NULL) = (response_body IS NULL))
);
CREATE INDEX api_idempotency_keys_created_at_idx ON api_idempotency_keys (created_at);

-- An API key is a principal of its own: an operator and a key, or two keys, are two approvals; one key twice is one.
ALTER TABLE payout_approvals
  DROP CONSTRAINT payout_approvals_actor,
  ADD COLUMN api_key_id uuid REFERENCES api_keys(id),
  ADD CONSTRAINT payout_approvals_actor CHECK (num_nonnulls(operator_id, api_key_id) + (CASE WHEN by_system THEN 1 ELSE 0 END) = 1);
CREATE UNIQUE INDEX payout_approvals_run_id_api_key_id_key ON payout_approvals (run_id, api_key_id) WHERE api_key_id IS NOT NULL;

ALTER TYPE audit_actor ADD VALUE 'API_KEY';
