"""Dramatiq actors on Redis, with retries and dead-lettering, and the event log writer."""
