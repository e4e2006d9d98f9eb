"""People and staff: login sessions, citizen-ID binding, tokens, roles and scopes."""
