"""The Alipay gateway's refusals in the simulator: code != 10000 with a sub_code, rendered signed with HTTP 200
(inside `<method>_response`, or `error_response` for the methods Alipay answers that way)."""

from __future__ import annotations


class AlipayError(Exception):
    """A gateway answer with code != 10000 (signed, HTTP 200)."""

    def __init__(self, code: str, msg: str, sub_code: str, sub_msg: str) -> None:
        super().__init__(f"{code} {sub_code}: {sub_msg}")
        self.code, self.msg, self.sub_code, self.sub_msg = code, msg, sub_code, sub_msg

    def body(self) -> dict[str, str]:
        return {"code": self.code, "msg": self.msg, "sub_code": self.sub_code, "sub_msg": self.sub_msg}


def invalid(sub_code: str, sub_msg: str) -> AlipayError:
    return AlipayError("40002", "Invalid Arguments", sub_code, sub_msg)


def business(sub_code: str, sub_msg: str) -> AlipayError:
    return AlipayError("40004", "Business Failed", sub_code, sub_msg)
