"""The Tornado HTTP layer only: app factory, base handler (JSON, errors, request id), one module of handlers per
resource, the OpenAPI document and the docs page. No business rules live here: handlers parse, call a service,
and render."""
