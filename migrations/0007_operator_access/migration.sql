-- Operator access (issue #13): sessions that expire when idle, invitations and the one-time setup link
-- (tokens stored as sha256, never the token), and the sign-in attempts the rate limiter counts, in the
-- database so that every web process sees the same counts.

-- One e-mail, one operator, whatever the organization: the sign-in form asks for nothing else, so an
-- address in two organizations would make a login ambiguous.
CREATE UNIQUE INDEX operators_email_lower_key ON operators (lower(email));

-- Idle expiry: a session not used for the idle timeout is over even before its absolute expires_at.
ALTER TABLE operator_sessions
  ADD COLUMN last_seen_at timestamptz(6) NOT NULL DEFAULT now(),
  ADD COLUMN ip_address   text CHECK (length(ip_address) <= 100),
  ADD COLUMN user_agent   text CHECK (length(user_agent) <= 300);

CREATE TABLE operator_invitations (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id  uuid NOT NULL REFERENCES organizations(id),
  email            text NOT NULL CHECK (position('@' in email) > 1 AND length(email) <= 254),
  role             operator_role NOT NULL,
  token_hash       text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  invited_by_id    uuid NOT NULL REFERENCES operators(id),
  expires_at       timestamptz(6) NOT NULL,
  accepted_at      timestamptz(6),
  accepted_operator_id uuid REFERENCES operators(id),
  revoked_at       timestamptz(6),
  created_at       timestamptz(6) NOT NULL DEFAULT now(),
  CHECK (accepted_at IS NULL OR revoked_at IS NULL)
);
CREATE INDEX operator_invitations_organization_id_idx ON operator_invitations (organization_id, created_at);

-- The first admin's link, printed by a server that finds no operator at all. Single use: used_at.
CREATE TABLE setup_tokens (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  token_hash  text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  expires_at  timestamptz(6) NOT NULL,
  used_at     timestamptz(6),
  created_at  timestamptz(6) NOT NULL DEFAULT now()
);

-- Sign-in attempts, by account (the normalised e-mail typed, whether or not such an operator exists, so
-- the count tells nothing about who has an account) and by client address.
CREATE TYPE login_attempt_scope AS ENUM ('ACCOUNT', 'ADDRESS');
CREATE TABLE login_attempts (
  id          bigserial PRIMARY KEY,
  scope       login_attempt_scope NOT NULL,
  key         text NOT NULL CHECK (length(key) BETWEEN 1 AND 320),
  succeeded   boolean NOT NULL,
  created_at  timestamptz(6) NOT NULL DEFAULT now()
);
CREATE INDEX login_attempts_scope_key_created_at_idx ON login_attempts (scope, key, created_at);
