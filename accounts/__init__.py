"""People and organisations: the custom User, memberships, scoping selectors."""
