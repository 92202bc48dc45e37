"""Workflow apps: each sub-package is one Django app (``workflows.<name>``, label ``<name>``)."""
