"""The one adapter for WeChat HTTP APIs (code2session, access token, OAuth, subscribe/template messages) and
official-account message crypto. Nothing else talks to WeChat."""
