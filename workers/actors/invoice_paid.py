"""The invoice.paid actor."""

from workers.actors._declare import declare

invoice_paid = declare("invoice.paid")
