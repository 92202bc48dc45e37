"""REST API (/api/v1/) with an OpenAPI 3 schema: the same services as the web UI, scoped the same way."""
