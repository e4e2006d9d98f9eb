"""Public office telephone numbers (咨询电话, 监督投诉电话, a department's front desk).

Only landlines (`0731-87654321`, extension allowed) and service hotlines (`12345`, `400-…`) are accepted, never a
mobile number: the catalogue is public and stored in clear, while every personal number in this system is
encrypted and masked. A member of staff's own mobile has no place in a guide.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_OFFICE_RE = re.compile(r"^(?:0\d{2,3}-\d{7,8}(?:-\d{1,6})?|12\d{3}|[48]00-\d{3}-\d{4})$")
_MOBILE_RE = re.compile(r"^(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}$")


def check_office_phone(value: str) -> str:
    """The number unchanged, or ValueError with a Chinese reason (shown as the field's errmsg)."""
    if _MOBILE_RE.match(value):
        raise ValueError("须填写办公固定电话或服务热线，不能填写手机号码")
    if not _OFFICE_RE.match(value):
        raise ValueError("电话格式应为 区号-号码（如 0731-87654321）或服务热线（如 12345、400-123-4567）")
    return value


OfficePhone = Annotated[str, AfterValidator(check_office_phone)]
