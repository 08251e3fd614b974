"""The charge.refunded actor."""

from workers.actors._declare import declare

charge_refunded = declare("charge.refunded")
