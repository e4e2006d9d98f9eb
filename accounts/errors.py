"""Error codes of the accounts package (people, staff, citizen-ID binding), declared once via `define()`."""

from __future__ import annotations

from core.errors import define

CITIZEN_ID_INVALID = define("CITIZEN_ID_INVALID", 422, "身份证号码有误，请核对后重新填写")
PHONE_INVALID = define("PHONE_INVALID", 422, "手机号码有误，请核对后重新填写")
