"""Access tokens: short-lived EdDSA JWTs that a handler verifies without touching the database.

An access token says who (`sub`, the person id), with which roles, and from which login session (`sid`); it
lives `access_token_ttl_s` (15 minutes by default). Verification is strict on purpose, because every check we
leave to "the library default" is one an attacker gets to probe: the header must name the one algorithm we
sign with (so `none`, HS256-keyed-with-the-public-key and any other confusion is refused before a key is even
chosen), a `kid` known to the keyring, and our `typ`; then signature, `exp`/`nbf`/`iat` with a bounded leeway,
`iss`, `aud` and the presence and types of every claim we rely on. A signed token stays valid after logout
until it expires; handlers close that gap with the session check in `accounts.sessions`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from accounts.errors import TOKEN_EXPIRED, TOKEN_INVALID
from accounts.jwt_keys import ALGORITHM, JwtKeyring, keyring_from_settings
from config.settings import Settings
from core.errors import AppError
from core.ids import new_id

ACCESS_JWT_TYP = "at+jwt"  # RFC 9068: marks an access token, so no other JWT of ours can be passed off as one
MAX_TOKEN_CHARS = 4096  # ours are ~400; refuse megabyte "tokens" before parsing them
REQUIRED_CLAIMS = ("iss", "aud", "sub", "sid", "roles", "iat", "nbf", "exp", "jti")
# Tokens whose signature this process checked already: a phone sends the same token with every request for its
# lifetime, and the Ed25519 check was a tenth of a list read. The time claims are still checked on every use.
VERIFIED_KEPT = 8192


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a verified access token vouches for."""

    subject: str  # person (or staff) id
    roles: tuple[str, ...]
    session_id: str
    token_id: str
    issued_at: datetime
    expires_at: datetime
    kid: str


class AccessTokenService:
    """Issues and verifies access tokens with one keyring and one issuer/audience/TTL/leeway policy."""

    def __init__(
        self,
        keyring: JwtKeyring,
        *,
        issuer: str,
        audience: str,
        ttl: timedelta,
        leeway: timedelta,
    ) -> None:
        if ttl <= timedelta(0) or leeway < timedelta(0):
            raise ValueError("access token TTL must be positive and leeway not negative")
        self.keyring = keyring
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl
        self.leeway = leeway
        self._verified: OrderedDict[str, tuple[AccessClaims, float, float]] = OrderedDict()  # claims, nbf, exp

    @classmethod
    def from_settings(cls, settings: Settings) -> AccessTokenService:
        return cls(
            keyring_from_settings(settings),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            ttl=timedelta(seconds=settings.access_token_ttl_s),
            leeway=timedelta(seconds=settings.jwt_leeway_s),
        )

    def issue_access_token(
        self, subject: str, roles: Sequence[str], session_id: str, *, now: datetime | None = None
    ) -> str:
        """Sign a token for `subject` in `session_id` with the current key. `now` is for tests and replays."""
        if not subject or not session_id:
            raise ValueError("subject and session_id are required")
        if isinstance(roles, str) or not all(isinstance(role, str) for role in roles):
            raise TypeError("roles must be a sequence of str")
        issued = int((now or datetime.now(UTC)).timestamp())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "sid": session_id,
            "roles": list(roles),
            "iat": issued,
            "nbf": issued,
            "exp": issued + int(self.ttl.total_seconds()),
            "jti": new_id(),
        }
        headers = {"kid": self.keyring.current_kid, "typ": ACCESS_JWT_TYP}
        return jwt.encode(payload, self.keyring.signing_key, algorithm=ALGORITHM, headers=headers)

    def verify_access_token(self, token: str) -> AccessClaims:
        """The claims of a valid token; `AppError(TOKEN_EXPIRED)` past `exp` + leeway, else `TOKEN_INVALID`."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
            raise AppError(TOKEN_INVALID)
        known = self._verified.get(token)
        if known is not None:
            claims, not_before, expires = known
            now, leeway = time.time(), self.leeway.total_seconds()
            if now > expires + leeway:
                del self._verified[token]
                raise AppError(TOKEN_EXPIRED)
            if now >= not_before - leeway:
                self._verified.move_to_end(token)
                return claims
        claims, not_before = self._verify_signed(token)
        self._verified[token] = (claims, not_before, claims.expires_at.timestamp())
        if len(self._verified) > VERIFIED_KEPT:
            self._verified.popitem(last=False)
        return claims

    def _verify_signed(self, token: str) -> tuple[AccessClaims, float]:
        """Header, signature and every claim checked; the claims and the token's `nbf`."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise AppError(TOKEN_INVALID) from None
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or header.get("typ") != ACCESS_JWT_TYP or "crit" in header:
            raise AppError(TOKEN_INVALID)
        key = self.keyring.verification_key(kid) if isinstance(kid, str) else None
        if key is None:
            raise AppError(TOKEN_INVALID)
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={
                    "require": list(REQUIRED_CLAIMS),
                    "verify_signature": True,
                    "verify_exp": True,
                    "verify_nbf": True,
                    "verify_iat": True,
                    "verify_aud": True,
                    "verify_iss": True,
                },
            )
        except jwt.ExpiredSignatureError:
            raise AppError(TOKEN_EXPIRED) from None
        except jwt.InvalidTokenError:
            raise AppError(TOKEN_INVALID) from None
        return _claims(payload, kid), float(payload["nbf"])


def _claims(payload: dict[str, Any], kid: str) -> AccessClaims:
    """Type-check what the signature vouched for: a signed token with a wrong shape is still refused."""
    subject, session_id, token_id = payload["sub"], payload["sid"], payload["jti"]
    roles = payload["roles"]
    if not all(isinstance(value, str) and value for value in (subject, session_id, token_id)):
        raise AppError(TOKEN_INVALID)
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise AppError(TOKEN_INVALID)
    return AccessClaims(
        subject=subject,
        roles=tuple(roles),
        session_id=session_id,
        token_id=token_id,
        issued_at=datetime.fromtimestamp(payload["iat"], UTC),
        expires_at=datetime.fromtimestamp(payload["exp"], UTC),
        kid=kid,
    )
