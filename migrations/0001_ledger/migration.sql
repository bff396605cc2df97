-- The StableFlow ledger: every table of prisma/schema.prisma, with the constraints Prisma cannot express:
-- CHECKs on money and states, insert-only tables enforced by triggers, immutable used policy versions,
-- legal payout-run transitions, and one active policy version per organization.

CREATE TYPE operator_role AS ENUM ('ADMIN', 'OPERATOR', 'VIEWER');
CREATE TYPE checkout_status AS ENUM ('CREATED', 'REDIRECTED', 'FAILED', 'COMPLETED');
CREATE TYPE webhook_event_status AS ENUM ('RECEIVED', 'PROCESSED', 'IGNORED', 'FAILED');
CREATE TYPE payment_status AS ENUM ('PROCESSING', 'SUCCEEDED', 'FAILED', 'CANCELLED');
CREATE TYPE refund_status AS ENUM ('PENDING', 'SUCCEEDED', 'FAILED');
CREATE TYPE dispute_status AS ENUM ('OPENED', 'EXPIRED', 'ACCEPTED', 'CANCELLED', 'CHALLENGED', 'WON', 'LOST');
CREATE TYPE recipient_status AS ENUM ('ACTIVE', 'PAUSED', 'REMOVED');
CREATE TYPE wallet_kind AS ENUM ('ED25519', 'PDA_OWNER');
CREATE TYPE policy_version_status AS ENUM ('DRAFT', 'ACTIVE', 'RETIRED');
CREATE TYPE payout_rule_kind AS ENUM ('PERCENTAGE', 'FIXED');
CREATE TYPE balance_entry_kind AS ENUM ('ACCRUAL', 'ACCRUAL_PAID', 'CLAWBACK', 'CLAWBACK_NETTED');
CREATE TYPE payout_run_status AS ENUM ('READY', 'APPROVED', 'EXECUTING', 'SETTLED', 'PARTIAL', 'FAILED', 'CANCELLED');
CREATE TYPE payout_run_kind AS ENUM ('PAYMENT', 'SWEEP');
CREATE TYPE split_batch_status AS ENUM ('SIGNED', 'SENT', 'CONFIRMED', 'EXPIRED', 'FAILED');
CREATE TYPE approval_decision AS ENUM ('APPROVE', 'REJECT');
CREATE TYPE audit_actor AS ENUM ('SYSTEM', 'OPERATOR', 'WEBHOOK', 'CUSTOMER');

-- ------------------------------------------------------------------ organizations and operators

CREATE TABLE organizations (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at  timestamptz(6) NOT NULL DEFAULT now()
);

CREATE TABLE operators (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id  uuid NOT NULL REFERENCES organizations(id),
  email            text NOT NULL CHECK (position('@' in email) > 1),
  name             text NOT NULL,
  role             operator_role NOT NULL,
  password_hash    text NOT NULL,
  disabled_at      timestamptz(6),
  created_at       timestamptz(6) NOT NULL DEFAULT now(),
  CONSTRAINT operators_organization_id_email_key UNIQUE (organization_id, email)
);

CREATE TABLE operator_sessions (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  operator_id  uuid NOT NULL REFERENCES operators(id),
  token_hash   text NOT NULL UNIQUE,
  expires_at   timestamptz(6) NOT NULL,
  revoked_at   timestamptz(6),
  created_at   timestamptz(6) NOT NULL DEFAULT now()
);
CREATE INDEX operator_sessions_operator_id_idx ON operator_sessions (operator_id);

-- ------------------------------------------------------------------ checkout and Dodo events

CREATE TABLE products (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id  uuid NOT NULL REFERENCES organizations(id),
  dodo_product_id  text NOT NULL,
  name             text NOT NULL,
  description      text NOT NULL DEFAULT '',
  price_minor      bigint NOT NULL CHECK (price_minor >= 0),
  currency         text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  active           boolean NOT NULL DEFAULT true,
  created_at       timestamptz(6) NOT NULL DEFAULT now(),
  CONSTRAINT products_organization_id_dodo_product_id_key UNIQUE (organization_id, dodo_product_id)
);

CREATE TABLE checkout_sessions (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id  uuid NOT NULL REFERENCES organizations(id),
  product_id       uuid REFERENCES products(id),
  quantity         integer NOT NULL DEFAULT 1 CHECK (quantity > 0),
  amount_minor     bigint NOT NULL CHECK (amount_minor >= 0),
  currency         text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  customer_email   text NOT NULL,
  customer_name    text NOT NULL,
  status           checkout_status NOT NULL DEFAULT 'CREATED',
  dodo_session_id  text UNIQUE,
  checkout_url     text,
  error            text,
  created_at       timestamptz(6) NOT NULL DEFAULT now(),
  updated_at       timestamptz(6) NOT NULL DEFAULT now()
);
CREATE INDEX checkout_sessions_organization_id_created_at_idx ON checkout_sessions (organization_id, created_at);

CREATE TABLE webhook_events (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id    uuid REFERENCES organizations(id),
  webhook_id         text NOT NULL UNIQUE CHECK (length(webhook_id) BETWEEN 1 AND 255),
  event_type         text NOT NULL,
  webhook_timestamp  timestamptz(6) NOT NULL,
  raw_body           text NOT NULL,
  headers            jsonb NOT NULL,
  status             webhook_event_status NOT NULL DEFAULT 'RECEIVED',
  error              text,
  received_at        timestamptz(6) NOT NULL DEFAULT now(),
  processed_at       timestamptz(6)
);
CREATE INDEX webhook_events_event_type_received_at_idx ON webhook_events (event_type, received_at);

CREATE TABLE payments (
  id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id          uuid NOT NULL REFERENCES organizations(id),
  dodo_payment_id          text NOT NULL UNIQUE,
  checkout_session_id      uuid REFERENCES checkout_sessions(id),
  status                   payment_status NOT NULL,
  total_amount_minor       bigint NOT NULL CHECK (total_amount_minor >= 0),
  currency                 text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  settlement_amount_minor  bigint CHECK (settlement_amount_minor >= 0),
  settlement_currency      text CHECK (settlement_currency ~ '^[A-Z]{3}$'),
  refunded_amount_minor    bigint NOT NULL DEFAULT 0 CHECK (refunded_amount_minor >= 0),
  customer_email           text,
  metadata                 jsonb NOT NULL DEFAULT '{}'::jsonb,
  last_event_at            timestamptz(6) NOT NULL,
  created_at               timestamptz(6) NOT NULL DEFAULT now(),
  updated_at               timestamptz(6) NOT NULL DEFAULT now(),
  CONSTRAINT payments_settlement_pair CHECK ((settlement_amount_minor IS NULL) = (settlement_currency IS NULL))
);
CREATE INDEX payments_organization_id_created_at_idx ON payments (organization_id, created_at);

CREATE TABLE refunds (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id  uuid NOT NULL REFERENCES organizations(id),
  dodo_refund_id   text NOT NULL UNIQUE,
  dodo_payment_id  text NOT NULL,
  payment_id       uuid REFERENCES payments(id),
  amount_minor     bigint NOT NULL CHECK (amount_minor >= 0),
  currency         text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status           refund_status NOT NULL,
  reason           text,
  last_event_at    timestamptz(6) NOT NULL,
  created_at       timestamptz(6) NOT NULL DEFAULT now(),
  updated_at       timestamptz(6) NOT NULL DEFAULT now()
);
CREATE INDEX refunds_dodo_payment_id_idx ON refunds (dodo_payment_id);

CREATE TABLE disputes (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id  uuid NOT NULL REFERENCES organizations(id),
  dodo_dispute_id  text NOT NULL UNIQUE,
  dodo_payment_id  text NOT NULL,
  payment_id       uuid REFERENCES payments(id),
  amount_minor     bigint NOT NULL CHECK (amount_minor >= 0),
  currency         text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status           dispute_status NOT NULL,
  stage            text,
  last_event_at    timestamptz(6) NOT NULL,
  created_at       timestamptz(6) NOT NULL DEFAULT now(),
  updated_at       timestamptz(6) NOT NULL DEFAULT now()
);
CREATE INDEX disputes_dodo_payment_id_idx ON disputes (dodo_payment_id);

-- ------------------------------------------------------------------ recipients and policies

CREATE TABLE recipients (
  id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id        uuid NOT NULL REFERENCES organizations(id),
  name                   text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  wallet_address         text NOT NULL CHECK (wallet_address ~ '^[1-9A-HJ-NP-Za-km-z]{32,44}$'),
  wallet_kind            wallet_kind NOT NULL DEFAULT 'ED25519',
  token_account          text NOT NULL CHECK (token_account ~ '^[1-9A-HJ-NP-Za-km-z]{32,44}$'),
  token_account_derived  boolean NOT NULL DEFAULT true,
  status                 recipient_status NOT NULL DEFAULT 'ACTIVE',
  wallet_verified_at     timestamptz(6),
  created_at             timestamptz(6) NOT NULL DEFAULT now(),
  updated_at             timestamptz(6) NOT NULL DEFAULT now(),
  CONSTRAINT recipients_organization_id_wallet_address_key UNIQUE (organization_id, wallet_address)
);

CREATE TABLE wallet_challenges (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  recipient_id  uuid NOT NULL REFERENCES recipients(id),
  message       text NOT NULL,
  expires_at    timestamptz(6) NOT NULL,
  used_at       timestamptz(6),
  created_at    timestamptz(6) NOT NULL DEFAULT now()
);
CREATE INDEX wallet_challenges_recipient_id_idx ON wallet_challenges (recipient_id);

CREATE TABLE payout_policies (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id  uuid NOT NULL REFERENCES organizations(id),
  name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at       timestamptz(6) NOT NULL DEFAULT now(),
  CONSTRAINT payout_policies_organization_id_name_key UNIQUE (organization_id, name)
);

CREATE TABLE payout_policy_versions (
  id                           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  policy_id                    uuid NOT NULL REFERENCES payout_policies(id),
  organization_id              uuid NOT NULL REFERENCES organizations(id),
  version                      integer NOT NULL CHECK (version > 0),
  status                       policy_version_status NOT NULL DEFAULT 'DRAFT',
  require_verified_recipients  boolean NOT NULL DEFAULT false,
  locked_at                    timestamptz(6),
  created_at                   timestamptz(6) NOT NULL DEFAULT now(),
  CONSTRAINT payout_policy_versions_policy_id_version_key UNIQUE (policy_id, version)
);
-- One active policy version per organization.
CREATE UNIQUE INDEX payout_policy_versions_one_active_per_org
  ON payout_policy_versions (organization_id) WHERE status = 'ACTIVE';

CREATE TABLE payout_rules (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  policy_version_id  uuid NOT NULL REFERENCES payout_policy_versions(id),
  recipient_id       uuid NOT NULL REFERENCES recipients(id),
  kind               payout_rule_kind NOT NULL,
  basis_points       integer CHECK (basis_points BETWEEN 1 AND 10000),
  fixed_amount       bigint CHECK (fixed_amount > 0),
  cap_per_payment    bigint CHECK (cap_per_payment >= 0),
  cap_per_period     bigint CHECK (cap_per_period >= 0),
  period_days        integer CHECK (period_days > 0),
  min_payout         bigint CHECK (min_payout >= 0),
  priority           integer NOT NULL DEFAULT 0,
  created_at         timestamptz(6) NOT NULL DEFAULT now(),
  CONSTRAINT payout_rules_kind_terms CHECK (
    (kind = 'PERCENTAGE' AND basis_points IS NOT NULL AND fixed_amount IS NULL) OR
    (kind = 'FIXED' AND fixed_amount IS NOT NULL AND basis_points IS NULL)),
  CONSTRAINT payout_rules_period_pair CHECK ((cap_per_period IS NULL) = (period_days IS NULL))
);
CREATE INDEX payout_rules_policy_version_id_idx ON payout_rules (policy_version_id);

CREATE TABLE recipient_balance_entries (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id  uuid NOT NULL REFERENCES organizations(id),
  recipient_id     uuid NOT NULL REFERENCES recipients(id),
  kind             balance_entry_kind NOT NULL,
  amount           bigint NOT NULL CHECK (amount > 0),
  token_decimals   integer NOT NULL CHECK (token_decimals BETWEEN 0 AND 18),
  payment_id       uuid REFERENCES payments(id),
  payout_run_id    uuid,
  refund_id        uuid REFERENCES refunds(id),
  dispute_id       uuid REFERENCES disputes(id),
  memo             text,
  created_at       timestamptz(6) NOT NULL DEFAULT now()
);
CREATE INDEX recipient_balance_entries_recipient_id_created_at_idx ON recipient_balance_entries (recipient_id, created_at);

-- ------------------------------------------------------------------ payout runs and settlement

CREATE TABLE payout_runs (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id     uuid NOT NULL REFERENCES organizations(id),
  kind                payout_run_kind NOT NULL,
  payment_id          uuid UNIQUE REFERENCES payments(id),
  policy_version_id   uuid REFERENCES payout_policy_versions(id),
  status              payout_run_status NOT NULL DEFAULT 'READY',
  token_decimals      integer NOT NULL CHECK (token_decimals BETWEEN 0 AND 18),
  distributable       bigint NOT NULL CHECK (distributable >= 0),
  total_transfers     bigint NOT NULL CHECK (total_transfers >= 0),
  treasury_remainder  bigint NOT NULL CHECK (treasury_remainder >= 0),
  hold_reason         text,
  created_at          timestamptz(6) NOT NULL DEFAULT now(),
  updated_at          timestamptz(6) NOT NULL DEFAULT now(),
  CONSTRAINT payout_runs_payment_kind CHECK ((kind = 'PAYMENT') = (payment_id IS NOT NULL))
);
CREATE INDEX payout_runs_organization_id_status_idx ON payout_runs (organization_id, status);

ALTER TABLE recipient_balance_entries
  ADD CONSTRAINT recipient_balance_entries_payout_run_id_fkey FOREIGN KEY (payout_run_id) REFERENCES payout_runs(id);

CREATE TABLE payout_transfers (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  run_id         uuid NOT NULL REFERENCES payout_runs(id),
  recipient_id   uuid NOT NULL REFERENCES recipients(id),
  rule_id        uuid REFERENCES payout_rules(id),
  token_account  text NOT NULL CHECK (token_account ~ '^[1-9A-HJ-NP-Za-km-z]{32,44}$'),
  amount         bigint NOT NULL CHECK (amount > 0),
  corrects_id    uuid REFERENCES payout_transfers(id),
  created_at     timestamptz(6) NOT NULL DEFAULT now()
);
CREATE INDEX payout_transfers_run_id_idx ON payout_transfers (run_id);
CREATE INDEX payout_transfers_recipient_id_idx ON payout_transfers (recipient_id);

CREATE TABLE split_batches (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  run_id           uuid NOT NULL REFERENCES payout_runs(id),
  batch_index      integer NOT NULL CHECK (batch_index BETWEEN 0 AND 65535),
  recipient_count  integer NOT NULL CHECK (recipient_count > 0),
  total            bigint NOT NULL CHECK (total > 0),
  plan_hash        text NOT NULL CHECK (plan_hash ~ '^[0-9a-f]{64}$'),
  created_at       timestamptz(6) NOT NULL DEFAULT now(),
  CONSTRAINT split_batches_run_id_batch_index_key UNIQUE (run_id, batch_index)
);

CREATE TABLE split_batch_items (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  batch_id     uuid NOT NULL REFERENCES split_batches(id),
  transfer_id  uuid NOT NULL UNIQUE REFERENCES payout_transfers(id),
  position     integer NOT NULL CHECK (position >= 0),
  CONSTRAINT split_batch_items_batch_id_position_key UNIQUE (batch_id, position)
);

CREATE TABLE split_batch_events (
  id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  batch_id                 uuid NOT NULL REFERENCES split_batches(id),
  status                   split_batch_status NOT NULL,
  signature                text,
  blockhash                text,
  last_valid_block_height  bigint CHECK (last_valid_block_height >= 0),
  slot                     bigint CHECK (slot >= 0),
  error                    text,
  created_at               timestamptz(6) NOT NULL DEFAULT now(),
  -- a batch is never marked sent without the signature that was persisted before sending
  CONSTRAINT split_batch_events_signed_has_signature CHECK (
    status NOT IN ('SIGNED', 'SENT', 'CONFIRMED') OR (signature IS NOT NULL AND blockhash IS NOT NULL))
);
CREATE INDEX split_batch_events_batch_id_created_at_idx ON split_batch_events (batch_id, created_at);
CREATE INDEX split_batch_events_signature_idx ON split_batch_events (signature);

CREATE TABLE payout_approvals (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  run_id       uuid NOT NULL REFERENCES payout_runs(id),
  operator_id  uuid NOT NULL REFERENCES operators(id),
  decision     approval_decision NOT NULL,
  comment      text,
  created_at   timestamptz(6) NOT NULL DEFAULT now(),
  CONSTRAINT payout_approvals_run_id_operator_id_key UNIQUE (run_id, operator_id)
);

CREATE TABLE audit_log (
  id               bigserial PRIMARY KEY,
  organization_id  uuid REFERENCES organizations(id),
  actor_type       audit_actor NOT NULL,
  actor_id         text,
  action           text NOT NULL CHECK (length(action) > 0),
  entity_type      text NOT NULL,
  entity_id        text NOT NULL,
  data             jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at       timestamptz(6) NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_entity_type_entity_id_idx ON audit_log (entity_type, entity_id);
CREATE INDEX audit_log_organization_id_created_at_idx ON audit_log (organization_id, created_at);

-- ------------------------------------------------------------------ rules the database enforces

-- Records of money movement are never edited: a correction is a new row pointing at the old one.
-- SQLSTATE SF001 lets the application map this to a typed error whatever the driver.
CREATE FUNCTION stableflow_refuse_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'stableflow: % on % refused: rows are insert-only, write a correcting row instead', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'SF001';
END
$$;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['payout_transfers', 'split_batches', 'split_batch_items', 'split_batch_events',
                           'payout_approvals', 'audit_log', 'recipient_balance_entries'] LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION stableflow_refuse_mutation()',
                   t || '_insert_only', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION stableflow_refuse_mutation()',
                   t || '_no_truncate', t);
  END LOOP;
END
$$;

-- A policy version that a run used never changes: only its status may move (ACTIVE -> RETIRED).
CREATE FUNCTION stableflow_guard_policy_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.locked_at IS NOT NULL THEN
      RAISE EXCEPTION 'stableflow: policy version % is used by a payout run and cannot be deleted', OLD.id USING ERRCODE = 'SF002';
    END IF;
    RETURN OLD;
  END IF;
  IF OLD.locked_at IS NOT NULL AND (
       NEW.policy_id, NEW.organization_id, NEW.version, NEW.require_verified_recipients, NEW.locked_at, NEW.created_at)
       IS DISTINCT FROM
       (OLD.policy_id, OLD.organization_id, OLD.version, OLD.require_verified_recipients, OLD.locked_at, OLD.created_at) THEN
    RAISE EXCEPTION 'stableflow: policy version % is used by a payout run and cannot change; create a new version', OLD.id
      USING ERRCODE = 'SF002';
  END IF;
  IF OLD.locked_at IS NOT NULL AND OLD.status = 'RETIRED' AND NEW.status <> 'RETIRED' THEN
    RAISE EXCEPTION 'stableflow: retired policy version % cannot be reactivated; create a new version', OLD.id
      USING ERRCODE = 'SF002';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER payout_policy_versions_guard BEFORE UPDATE OR DELETE ON payout_policy_versions
  FOR EACH ROW EXECUTE FUNCTION stableflow_guard_policy_version();

CREATE FUNCTION stableflow_guard_policy_rule() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE locked boolean;
BEGIN
  SELECT locked_at IS NOT NULL INTO locked FROM payout_policy_versions
    WHERE id = CASE WHEN TG_OP = 'INSERT' THEN NEW.policy_version_id ELSE OLD.policy_version_id END;
  IF locked OR (TG_OP = 'UPDATE' AND NEW.policy_version_id IS DISTINCT FROM OLD.policy_version_id AND
                EXISTS (SELECT 1 FROM payout_policy_versions WHERE id = NEW.policy_version_id AND locked_at IS NOT NULL)) THEN
    RAISE EXCEPTION 'stableflow: the rules of a policy version used by a payout run cannot change; create a new version'
      USING ERRCODE = 'SF002';
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
CREATE TRIGGER payout_rules_guard BEFORE INSERT OR UPDATE OR DELETE ON payout_rules
  FOR EACH ROW EXECUTE FUNCTION stableflow_guard_policy_rule();

-- The first run that uses a policy version locks it, in the same transaction.
CREATE FUNCTION stableflow_lock_policy_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.policy_version_id IS NOT NULL THEN
    UPDATE payout_policy_versions SET locked_at = now() WHERE id = NEW.policy_version_id AND locked_at IS NULL;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER payout_runs_lock_policy_version AFTER INSERT ON payout_runs
  FOR EACH ROW EXECUTE FUNCTION stableflow_lock_policy_version();

-- Payout runs move only along the legal edges of their state machine; money figures never change after compile.
CREATE FUNCTION stableflow_guard_payout_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'stableflow: payout runs are never deleted; cancel the run instead' USING ERRCODE = 'SF001';
  END IF;
  IF (NEW.organization_id, NEW.kind, NEW.payment_id, NEW.policy_version_id, NEW.token_decimals,
      NEW.distributable, NEW.total_transfers, NEW.treasury_remainder)
     IS DISTINCT FROM
     (OLD.organization_id, OLD.kind, OLD.payment_id, OLD.policy_version_id, OLD.token_decimals,
      OLD.distributable, OLD.total_transfers, OLD.treasury_remainder) THEN
    RAISE EXCEPTION 'stableflow: the figures of payout run % are fixed at compile time', OLD.id USING ERRCODE = 'SF001';
  END IF;
  IF NEW.status <> OLD.status AND NOT (
       (OLD.status = 'READY'     AND NEW.status IN ('APPROVED', 'CANCELLED')) OR
       (OLD.status = 'APPROVED'  AND NEW.status IN ('EXECUTING', 'CANCELLED')) OR
       (OLD.status = 'EXECUTING' AND NEW.status IN ('SETTLED', 'PARTIAL', 'FAILED')) OR
       (OLD.status = 'PARTIAL'   AND NEW.status IN ('EXECUTING')) OR
       (OLD.status = 'FAILED'    AND NEW.status IN ('EXECUTING', 'CANCELLED'))) THEN
    RAISE EXCEPTION 'stableflow: payout run % cannot move from % to %', OLD.id, OLD.status, NEW.status USING ERRCODE = 'SF003';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER payout_runs_guard BEFORE UPDATE OR DELETE ON payout_runs
  FOR EACH ROW EXECUTE FUNCTION stableflow_guard_payout_run();
