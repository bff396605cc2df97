-- Dodo's refunds have a `review` state, and may carry no amount or currency yet: record what Dodo
-- says rather than inventing a zero.
ALTER TYPE refund_status ADD VALUE IF NOT EXISTS 'REVIEW' AFTER 'PENDING';
ALTER TABLE refunds ALTER COLUMN amount_minor DROP NOT NULL;
ALTER TABLE refunds ALTER COLUMN currency DROP NOT NULL;
