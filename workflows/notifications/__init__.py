"""Notifications: the in-app inbox, the outbox with unique keys, channel backends and delivery."""
