-- Outbox of payout-run compiles: the webhook's transaction records "compile this payment" and commits it
-- with the payment; a worker compiles it afterwards (docs/decisions/004-payout-compile-outbox.md).
CREATE TABLE payout_run_requests (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations(id),
  -- one request per payment: concurrent or repeated succeeded events cannot ask twice
  payment_id      uuid NOT NULL UNIQUE REFERENCES payments(id),
  created_at      timestamptz(6) NOT NULL DEFAULT now(),
  -- the worker does not look at it before this time (backoff after a failure)
  available_at    timestamptz(6) NOT NULL DEFAULT now(),
  attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error      text CHECK (last_error IS NULL OR length(last_error) <= 2000),
  completed_at    timestamptz(6),
  -- null on a completed request: the compiler held the payment (its reason is audited)
  payout_run_id   uuid REFERENCES payout_runs(id),
  CHECK (payout_run_id IS NULL OR completed_at IS NOT NULL),
  CHECK (completed_at IS NULL OR completed_at >= created_at)
);

-- The worker's queue: pending requests in due order, small because completed ones leave it.
CREATE INDEX payout_run_requests_pending ON payout_run_requests (available_at, created_at) WHERE completed_at IS NULL;
