"""The customer.subscription.deleted actor."""

from workers.actors._declare import declare

customer_subscription_deleted = declare("customer.subscription.deleted")
