"""The SQL the appliers send on the transaction's psycopg connection.

The hot path (every event runs it) sends plain SQL: SQLAlchemy's per-statement work (the
ORM's DML above all) cost more CPU than PostgreSQL's, and statements sent directly can share a
round trip (storage.db.pipelined). psycopg prepares each of them server-side once it has run a
few times on a connection.
"""

INSERT_ATTRIBUTION = """
INSERT INTO attributions (id, workspace_id, click_id, partner_id, program_id, livemode,
    checkout_session_id, customer_id, subscription_id, payment_intent_id, invoice_id, anchor_at,
    trial, attribution_source, stripe_account)
VALUES (%(id)s, %(workspace_id)s, %(click_id)s, %(partner_id)s, %(program_id)s, %(livemode)s,
    %(checkout_session_id)s, %(customer_id)s, %(subscription_id)s, %(payment_intent_id)s,
    %(invoice_id)s, %(anchor_at)s, %(trial)s, %(attribution_source)s, %(stripe_account)s)
ON CONFLICT (workspace_id, checkout_session_id) DO NOTHING
RETURNING id
"""
#: an attribution of a subscription that no checkout attributed (its first invoice did):
#: keyed by the subscription (migration 0005's partial unique index)
INSERT_SUBSCRIPTION_ATTRIBUTION = """
INSERT INTO attributions (id, workspace_id, click_id, partner_id, program_id, livemode,
    checkout_session_id, customer_id, subscription_id, payment_intent_id, invoice_id, anchor_at,
    trial, attribution_source, stripe_account)
VALUES (%(id)s, %(workspace_id)s, %(click_id)s, %(partner_id)s, %(program_id)s, %(livemode)s,
    NULL, %(customer_id)s, %(subscription_id)s, %(payment_intent_id)s,
    %(invoice_id)s, %(anchor_at)s, %(trial)s, %(attribution_source)s, %(stripe_account)s)
ON CONFLICT (workspace_id, subscription_id) WHERE checkout_session_id IS NULL DO NOTHING
RETURNING id
"""
ATTRIBUTION_OF_SUBSCRIPTION = """
SELECT id FROM attributions
WHERE workspace_id = %(ws)s AND subscription_id = %(subscription)s AND checkout_session_id IS NULL
"""
#: the checkout session joins its subscription's attribution (JoinAttribution)
JOIN_ATTRIBUTION = """
UPDATE attributions SET checkout_session_id = %(session)s
WHERE id = %(id)s AND workspace_id = %(ws)s AND checkout_session_id IS NULL
"""
ATTRIBUTION_OF_SESSION = """
SELECT id FROM attributions WHERE workspace_id = %(ws)s AND checkout_session_id = %(session)s
"""
CREDITED = """
SELECT a.program_id, a.partner_id, a.click_id, g.holding_days, a.attribution_source
FROM attributions a JOIN programs g ON g.id = a.program_id
WHERE a.id = %(id)s
"""
INSERT_COMMISSION = """
INSERT INTO commissions (id, workspace_id, program_id, partner_id, click_id, attribution_id, kind,
    month, status, reason, canceled_at, amount, original_amount, currency, sale_amount,
    sale_currency, livemode, business_key, checkout_session_id, subscription_id, invoice_id,
    payment_intent_id, charge_id, customer_id, service_period_start, hold_until, created_at,
    updated_at, attribution_source, stripe_account, presentment_amount, presentment_currency)
VALUES (%(id)s, %(workspace_id)s, %(program_id)s, %(partner_id)s, %(click_id)s,
    %(attribution_id)s, %(kind)s, %(month)s, %(status)s, %(reason)s, %(canceled_at)s,
    %(amount)s, %(original_amount)s, %(currency)s, %(sale_amount)s, %(sale_currency)s,
    %(livemode)s, %(business_key)s, %(checkout_session_id)s, %(subscription_id)s,
    %(invoice_id)s, %(payment_intent_id)s, %(charge_id)s, %(customer_id)s,
    %(service_period_start)s, %(hold_until)s, %(created_at)s, %(updated_at)s,
    %(attribution_source)s, %(stripe_account)s, %(presentment_amount)s, %(presentment_currency)s)
ON CONFLICT (workspace_id, business_key) DO NOTHING
RETURNING id
"""
#: INSERT_ATTRIBUTION, then INSERT_COMMISSION for the attribution (created now or found),
#: copying its click, partner, program and source, and holding for its program's days (in
#: seconds, as Python's timedelta(days=) does: no calendar arithmetic in the server's time
#: zone). Returns the attribution's id, whether it was created now, and the commission's id
#: if created.
ATTRIBUTE_AND_COMMISSION = """
WITH created AS (
    INSERT INTO attributions (id, workspace_id, click_id, partner_id, program_id, livemode,
        checkout_session_id, customer_id, subscription_id, payment_intent_id, invoice_id,
        anchor_at, trial, attribution_source, stripe_account)
    VALUES (%(id)s, %(workspace_id)s, %(click_id)s, %(partner_id)s, %(program_id)s,
        %(livemode)s, %(checkout_session_id)s, %(customer_id)s, %(subscription_id)s,
        %(payment_intent_id)s, %(invoice_id)s, %(anchor_at)s, %(trial)s, %(attribution_source)s,
        %(stripe_account)s)
    ON CONFLICT (workspace_id, checkout_session_id) DO NOTHING
    RETURNING id, program_id, partner_id, click_id, attribution_source
), attribution AS (
    SELECT id, program_id, partner_id, click_id, attribution_source FROM created
    UNION ALL
    SELECT id, program_id, partner_id, click_id, attribution_source FROM attributions
    WHERE workspace_id = %(workspace_id)s AND checkout_session_id = %(checkout_session_id)s
      AND NOT EXISTS (SELECT FROM created)
), commission AS (
    INSERT INTO commissions (id, workspace_id, program_id, partner_id, click_id, attribution_id,
        kind, month, status, reason, canceled_at, amount, original_amount, currency,
        sale_amount, sale_currency, livemode, business_key, checkout_session_id,
        subscription_id, invoice_id, payment_intent_id, charge_id, customer_id,
        service_period_start, hold_until, created_at, updated_at, attribution_source,
        stripe_account, presentment_amount, presentment_currency)
    SELECT %(c_id)s, %(c_workspace_id)s, a.program_id, a.partner_id, a.click_id, a.id,
        %(c_kind)s, %(c_month)s, %(c_status)s, %(c_reason)s, %(c_canceled_at)s, %(c_amount)s,
        %(c_original_amount)s, %(c_currency)s, %(c_sale_amount)s, %(c_sale_currency)s,
        %(c_livemode)s, %(c_business_key)s, %(c_checkout_session_id)s, %(c_subscription_id)s,
        %(c_invoice_id)s, %(c_payment_intent_id)s, %(c_charge_id)s, %(c_customer_id)s,
        %(c_service_period_start)s,
        %(c_now)s::timestamptz + make_interval(secs => g.holding_days * 86400),
        %(c_created_at)s, %(c_updated_at)s, a.attribution_source, %(c_stripe_account)s,
        %(c_presentment_amount)s, %(c_presentment_currency)s
    FROM attribution a JOIN programs g ON g.id = a.program_id
    ON CONFLICT (workspace_id, business_key) DO NOTHING
    RETURNING id
)
SELECT a.id, EXISTS (SELECT FROM created), (SELECT id FROM commission) FROM attribution a
"""
