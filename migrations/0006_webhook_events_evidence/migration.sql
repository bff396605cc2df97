-- webhook_events holds the raw evidence of what Dodo sent: the body, the headers, the id and time it was signed
-- with, when it arrived. Like the money records it is insert-only, for every role: only its processing columns
-- move: status, error and processed_at always; event_type and organization_id (what we read the body as) only
-- while the row is FAILED, when a replay classifies it again. A row is never deleted or truncated away.
-- SQLSTATE SF001, as for the other insert-only tables.
CREATE FUNCTION stableflow_guard_webhook_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'stableflow: DELETE on webhook_events refused: rows are insert-only, the evidence of what Dodo sent'
      USING ERRCODE = 'SF001';
  END IF;
  IF (NEW.id, NEW.webhook_id, NEW.webhook_timestamp, NEW.raw_body, NEW.headers, NEW.received_at)
       IS DISTINCT FROM (OLD.id, OLD.webhook_id, OLD.webhook_timestamp, OLD.raw_body, OLD.headers, OLD.received_at)
     OR (OLD.status <> 'FAILED'
         AND (NEW.event_type, NEW.organization_id) IS DISTINCT FROM (OLD.event_type, OLD.organization_id)) THEN
    RAISE EXCEPTION 'stableflow: UPDATE on webhook_events refused: what Dodo sent is insert-only; only the processing status moves'
      USING ERRCODE = 'SF001';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER webhook_events_insert_only BEFORE UPDATE OR DELETE ON webhook_events
  FOR EACH ROW EXECUTE FUNCTION stableflow_guard_webhook_event();
CREATE TRIGGER webhook_events_no_truncate BEFORE TRUNCATE ON webhook_events
  FOR EACH STATEMENT EXECUTE FUNCTION stableflow_refuse_mutation();
