"""The checkout.session.completed actor."""

from workers.actors._declare import declare

checkout_session_completed = declare("checkout.session.completed")
