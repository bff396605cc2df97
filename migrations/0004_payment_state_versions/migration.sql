-- The version of each Dodo payment's folded state (its payment row, refunds and disputes). Every webhook
-- write of that state bumps it in the same statement, only if it is still the version the writer read:
-- the webhook's fast path reads, folds, and writes in one statement without a transaction or a lock, and
-- a writer that lost the race writes nothing and retries under the payment's lock
-- (app/models/webhook-events.server.ts). No row = version 0 = nothing of the payment recorded, which the
-- fast path also assumes for a payment's first event: so every payment already recorded gets its row.
CREATE TABLE payment_state_versions (
  dodo_payment_id text PRIMARY KEY CHECK (length(dodo_payment_id) BETWEEN 1 AND 255),
  version         bigint NOT NULL CHECK (version > 0),
  updated_at      timestamptz(6) NOT NULL DEFAULT now()
);

INSERT INTO payment_state_versions (dodo_payment_id, version)
SELECT dodo_payment_id, 1 FROM payments
UNION SELECT dodo_payment_id, 1 FROM refunds
UNION SELECT dodo_payment_id, 1 FROM disputes;
