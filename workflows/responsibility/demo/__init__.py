"""Demo organisations of a 临汾-like city: regions, departments, the duty map, enterprises, posts, people.

The city and its 17 county-level divisions carry their real division codes and names (GB/T 2260,
public data); everything below them is fictional: township codes are plausible and flagged
``fictional``, enterprise names use the placeholder 字号 "某甲/某乙…", people and mobiles are invented.

Loading is idempotent by natural keys (region and department code, username, USCC, duty validity
start, post code): the second run creates nothing and leaves every row as it was. Duty rows are only
ever added, never edited, as everywhere else in the product.

Layout: ``data`` (the city as plain rows and generators), ``loader`` (``load_organisations``).
"""

from __future__ import annotations

from .data import (
    CITY,
    COUNTIES,
    DEMO_CHEMICAL_PLANT_USCC,
    DEMO_COAL_MINE_USCC,
    DEMO_ENTERPRISES,
    DEMO_POSTS,
    DUTY_MAP,
    LOGIN_MEMBERSHIPS,
    POSTS,
    TOWNSHIPS,
    DutySpec,
    EnterpriseSpec,
    demo_uscc,
    department_rows,
    duty_specs,
    enterprise_specs,
)
from .loader import load_organisations

__all__ = [
    "CITY",
    "COUNTIES",
    "DEMO_CHEMICAL_PLANT_USCC",
    "DEMO_COAL_MINE_USCC",
    "DEMO_ENTERPRISES",
    "DEMO_POSTS",
    "DUTY_MAP",
    "LOGIN_MEMBERSHIPS",
    "POSTS",
    "TOWNSHIPS",
    "DutySpec",
    "EnterpriseSpec",
    "demo_uscc",
    "department_rows",
    "duty_specs",
    "enterprise_specs",
    "load_organisations",
]
