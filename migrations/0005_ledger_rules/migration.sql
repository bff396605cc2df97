-- Ledger rules under real Dodo traffic (docs/decisions/009-payouts-follow-the-payment.md): refunds and
-- disputes reach payouts, verified-but-unusable deliveries are kept, checkouts are matched, held compiles
-- come back, period caps count shares, and payout schedules sweep accrued balances per window.

CREATE TYPE payment_dispute_state AS ENUM ('NONE', 'OPEN', 'WON', 'LOST');
CREATE TYPE review_decision AS ENUM ('INCLUDE', 'EXCLUDE');
CREATE TYPE payout_schedule AS ENUM ('INSTANT', 'HOURLY', 'DAILY', 'WEEKLY');
-- Not used in this migration (a value added in a transaction is usable only after it commits).
ALTER TYPE balance_entry_kind ADD VALUE IF NOT EXISTS 'CLAWBACK_REVERSED';
ALTER TYPE payout_run_kind ADD VALUE IF NOT EXISTS 'ACCRUAL';

-- ------------------------------------------------------------------ what Dodo reported, and what we made of it

-- Dodo types a dispute's currency as any string: kept (upper-cased by the parser), bounded.
ALTER TABLE disputes DROP CONSTRAINT disputes_currency_check;
ALTER TABLE disputes ADD CONSTRAINT disputes_currency_text CHECK (length(currency) BETWEEN 1 AND 16);

-- Dodo's own creation time orders refunds and lost disputes when together they would take back more
-- than was captured; review_reason is why one is excluded from the payout basis (needs review), and the
-- operator's decision on it.
ALTER TABLE refunds
  ADD COLUMN dodo_created_at  timestamptz(6),
  ADD COLUMN is_partial       boolean,
  ADD COLUMN review_reason    text CHECK (review_reason IS NULL OR length(review_reason) BETWEEN 1 AND 64),
  ADD COLUMN review_decision  review_decision,
  ADD COLUMN reviewed_by      text,
  ADD COLUMN reviewed_at      timestamptz(6),
  ADD CONSTRAINT refunds_decision_reviewed CHECK ((review_decision IS NULL) = (reviewed_at IS NULL));
ALTER TABLE disputes
  ADD COLUMN dodo_created_at  timestamptz(6),
  ADD COLUMN review_reason    text CHECK (review_reason IS NULL OR length(review_reason) BETWEEN 1 AND 64),
  ADD COLUMN review_decision  review_decision,
  ADD COLUMN reviewed_by      text,
  ADD COLUMN reviewed_at      timestamptz(6),
  ADD CONSTRAINT disputes_decision_reviewed CHECK ((review_decision IS NULL) = (reviewed_at IS NULL));

-- A payment's payout basis, folded from its events by the webhook (app/ledger/payment-assessment.ts):
-- the settlement amount net of what was refunded or lost, what holds its payout, its dispute state, and
-- the checkout check's verdict (needs review until an operator releases it).
ALTER TABLE payments
  ADD COLUMN dodo_checkout_session_id text,
  ADD COLUMN net_settlement_minor     bigint CHECK (net_settlement_minor >= 0),
  ADD COLUMN payout_hold              text CHECK (payout_hold IS NULL OR length(payout_hold) BETWEEN 1 AND 64),
  ADD COLUMN dispute_state            payment_dispute_state NOT NULL DEFAULT 'NONE',
  ADD COLUMN review_reason            text CHECK (review_reason IS NULL OR length(review_reason) BETWEEN 1 AND 200),
  ADD COLUMN review_released_at       timestamptz(6),
  ADD COLUMN review_released_by       text,
  ADD CONSTRAINT payments_net_within_settlement CHECK (net_settlement_minor IS NULL OR net_settlement_minor <= settlement_amount_minor);
-- Payments recorded before this migration: their succeeded refunds (charge currency) converted by the
-- payment's own ratio, rounded toward the customer; the next event of a payment recomputes it whole.
UPDATE payments SET net_settlement_minor = greatest(0, settlement_amount_minor - CASE WHEN total_amount_minor = 0 THEN 0
       ELSE ceil(refunded_amount_minor::numeric * settlement_amount_minor / total_amount_minor)::bigint END)
WHERE status = 'SUCCEEDED' AND settlement_amount_minor IS NOT NULL;

-- A verified redelivery under a known webhook-id with other bytes: the first stays authoritative, each
-- different body is kept once, for an operator.
CREATE TABLE webhook_event_conflicts (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  webhook_id   text NOT NULL REFERENCES webhook_events(webhook_id),
  body_sha256  text NOT NULL CHECK (body_sha256 ~ '^[0-9a-f]{64}$'),
  raw_body     text NOT NULL,
  headers      jsonb NOT NULL,
  received_at  timestamptz(6) NOT NULL DEFAULT now(),
  CONSTRAINT webhook_event_conflicts_body_key UNIQUE (webhook_id, body_sha256)
);
CREATE INDEX webhook_events_failed_idx ON webhook_events (received_at) WHERE status = 'FAILED';

-- ------------------------------------------------------------------ payout runs follow the payment

-- One LIVE run per payment: a run cancelled after a refund or a lost dispute makes way for its successor.
ALTER TABLE payout_runs DROP CONSTRAINT payout_runs_payment_id_key;
CREATE UNIQUE INDEX payout_runs_one_live_per_payment ON payout_runs (payment_id)
  WHERE payment_id IS NOT NULL AND status <> 'CANCELLED';
CREATE INDEX payout_runs_payment_id_idx ON payout_runs (payment_id);
ALTER TABLE payout_runs DROP CONSTRAINT payout_runs_payment_kind;
-- ACCRUAL: a payment's shares accrued for a scheduled sweep (it never transfers anything).
ALTER TABLE payout_runs ADD CONSTRAINT payout_runs_payment_kind CHECK ((kind::text IN ('PAYMENT', 'ACCRUAL')) = (payment_id IS NOT NULL));

CREATE TABLE payout_windows (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id  uuid NOT NULL REFERENCES organizations(id),
  schedule         payout_schedule NOT NULL CHECK (schedule <> 'INSTANT'),
  time_zone        text NOT NULL,
  starts_at        timestamptz(6) NOT NULL,
  ends_at          timestamptz(6) NOT NULL,
  closed_at        timestamptz(6),
  sweep_run_id     uuid,
  attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error       text CHECK (last_error IS NULL OR length(last_error) <= 2000),
  available_at     timestamptz(6) NOT NULL DEFAULT now(),
  created_at       timestamptz(6) NOT NULL DEFAULT now(),
  CONSTRAINT payout_windows_once UNIQUE (organization_id, schedule, starts_at),
  CHECK (ends_at > starts_at),
  CHECK (sweep_run_id IS NULL OR closed_at IS NOT NULL)
);
-- Windows waiting for their close, in due order.
CREATE INDEX payout_windows_due ON payout_windows (ends_at) WHERE closed_at IS NULL;

ALTER TABLE payout_runs
  -- the run this one replaces (cancelled after the payment's payout basis changed)
  ADD COLUMN supersedes_run_id  uuid REFERENCES payout_runs(id),
  ADD COLUMN cancel_reason      text CHECK (cancel_reason IS NULL OR length(cancel_reason) BETWEEN 1 AND 500),
  -- the window a sweep closes
  ADD COLUMN payout_window_id   uuid REFERENCES payout_windows(id),
  -- compile order within the database (created_at is the compile's clock, which a replay or test sets)
  ADD COLUMN seq                bigint GENERATED BY DEFAULT AS IDENTITY,
  ADD CONSTRAINT payout_runs_cancel_reason CHECK ((cancel_reason IS NULL) OR status = 'CANCELLED');
CREATE UNIQUE INDEX payout_runs_seq_key ON payout_runs (seq);
ALTER TABLE payout_windows ADD CONSTRAINT payout_windows_sweep_run_id_fkey FOREIGN KEY (sweep_run_id) REFERENCES payout_runs(id);
-- One live sweep per window: a window's close is idempotent in the database too.
CREATE UNIQUE INDEX payout_runs_one_live_sweep_per_window ON payout_runs (payout_window_id)
  WHERE payout_window_id IS NOT NULL AND status <> 'CANCELLED';

-- Figures fixed at compile time now include the links; hold_reason (what holds the run) may change.
CREATE OR REPLACE FUNCTION stableflow_guard_payout_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'stableflow: payout runs are never deleted; cancel the run instead' USING ERRCODE = 'SF001';
  END IF;
  IF (NEW.organization_id, NEW.kind, NEW.payment_id, NEW.policy_version_id, NEW.token_decimals,
      NEW.distributable, NEW.total_transfers, NEW.treasury_remainder, NEW.supersedes_run_id, NEW.payout_window_id, NEW.seq)
     IS DISTINCT FROM
     (OLD.organization_id, OLD.kind, OLD.payment_id, OLD.policy_version_id, OLD.token_decimals,
      OLD.distributable, OLD.total_transfers, OLD.treasury_remainder, OLD.supersedes_run_id, OLD.payout_window_id, OLD.seq) THEN
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

-- Clawbacks name the executed run they claw back from (CLAWBACK, and CLAWBACK_REVERSED when a payment's
-- payout basis rises again), so that each run's clawbacks are recorded as the difference to what is owed.
ALTER TABLE recipient_balance_entries ADD COLUMN source_run_id uuid REFERENCES payout_runs(id);
CREATE INDEX recipient_balance_entries_payout_run_id_idx ON recipient_balance_entries (payout_run_id) WHERE payout_run_id IS NOT NULL;
CREATE INDEX recipient_balance_entries_source_run_id_idx ON recipient_balance_entries (source_run_id) WHERE source_run_id IS NOT NULL;

-- What each period-capped rule allocated in a run (paid or accrued): what its period cap counts.
CREATE TABLE payout_rule_shares (
  run_id      uuid NOT NULL REFERENCES payout_runs(id),
  rule_id     uuid NOT NULL REFERENCES payout_rules(id),
  share       bigint NOT NULL CHECK (share > 0),
  created_at  timestamptz(6) NOT NULL,
  PRIMARY KEY (run_id, rule_id)
);
CREATE INDEX payout_rule_shares_rule_id_created_at_idx ON payout_rule_shares (rule_id, created_at);
CREATE TRIGGER payout_rule_shares_insert_only BEFORE UPDATE OR DELETE ON payout_rule_shares
  FOR EACH ROW EXECUTE FUNCTION stableflow_refuse_mutation();
CREATE TRIGGER payout_rule_shares_no_truncate BEFORE TRUNCATE ON payout_rule_shares
  FOR EACH STATEMENT EXECUTE FUNCTION stableflow_refuse_mutation();
CREATE TRIGGER webhook_event_conflicts_insert_only BEFORE UPDATE OR DELETE ON webhook_event_conflicts
  FOR EACH ROW EXECUTE FUNCTION stableflow_refuse_mutation();

-- ------------------------------------------------------------------ the outbox: held, dead, retried

-- hold_reason: why a completed request has no run (fixable: recompiled when the cause is fixed or on
-- release). dead_at: a request that failed max attempts; an operator retries it.
ALTER TABLE payout_run_requests
  ADD COLUMN hold_reason text CHECK (hold_reason IS NULL OR length(hold_reason) <= 2000),
  ADD COLUMN dead_at     timestamptz(6),
  ADD CONSTRAINT payout_run_requests_dead_pending CHECK (dead_at IS NULL OR completed_at IS NULL);
DROP INDEX payout_run_requests_pending;
CREATE INDEX payout_run_requests_pending ON payout_run_requests (available_at, created_at) WHERE completed_at IS NULL AND dead_at IS NULL;
-- A request is asked again whenever its payment's payout basis changes: completed_at goes back to NULL,
-- so the CHECK (completed_at >= created_at) of 0003 keeps holding.

-- ------------------------------------------------------------------ payout schedules

ALTER TABLE organizations ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 64);
ALTER TABLE payout_policy_versions ADD COLUMN payout_schedule payout_schedule NOT NULL DEFAULT 'INSTANT';

-- The schedule is part of a used version's terms: it never changes either.
CREATE OR REPLACE FUNCTION stableflow_guard_policy_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.locked_at IS NOT NULL THEN
      RAISE EXCEPTION 'stableflow: policy version % is used by a payout run and cannot be deleted', OLD.id USING ERRCODE = 'SF002';
    END IF;
    RETURN OLD;
  END IF;
  IF OLD.locked_at IS NOT NULL AND (
       NEW.policy_id, NEW.organization_id, NEW.version, NEW.require_verified_recipients, NEW.locked_at, NEW.created_at,
       NEW.payout_schedule)
       IS DISTINCT FROM
       (OLD.policy_id, OLD.organization_id, OLD.version, OLD.require_verified_recipients, OLD.locked_at, OLD.created_at,
        OLD.payout_schedule) THEN
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
