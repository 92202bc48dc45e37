"""Admin console for the duty map, the industry tree and enterprise posts, plus its custom pages.

Rules (see ``accounts/admin.py`` for the people and organisation side):

- only superusers and committee office staff (``permissions.can_change_duty_map``) change the duty
  map, the industries and the posts; department members view them;
- a duty row is never deleted, by anyone, and never edited: the change form only lets the end date
  be set or moved earlier (``services.duty_end``); a change of duty is "replace from a date"
  (``services.duty_replace``: the old row ends the day before, a new row starts); adding goes through
  ``services.duty_create``, whose refusal (an overlapping lead) is shown as a form error.

The Enterprise admin is registered by ``accounts`` (which knows no workflow); this package
unregisters it and registers a subclass with the industry and post inlines and an "explain chain"
button.

Custom pages hang off the duty changelist (``DutyAdmin.get_urls``): coverage/ and import/ belong to
``admin_coverage`` and ``admin_import`` (imported when called, so this package loads without them);
explain/ and history/<industry code>/ and <id>/replace/ are defined in ``views``.

Layout: ``industry`` (the industry tree), ``duty`` (the duty map and its URLs), ``views`` (explain,
duty history, replace), ``enterprise`` (the Enterprise admin with its industries, and posts).
Importing this package registers every model admin.
"""

from __future__ import annotations

from . import duty, enterprise, industry, views

__all__ = ["duty", "enterprise", "industry", "views"]
