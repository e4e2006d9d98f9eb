"""Error codes of the accounts package (people, staff, citizen-ID binding), declared once via `define()`."""

from __future__ import annotations

from core.errors import define

CITIZEN_ID_INVALID = define("CITIZEN_ID_INVALID", 422, "身份证号码有误，请核对后重新填写")
PHONE_INVALID = define("PHONE_INVALID", 422, "手机号码有误，请核对后重新填写")

# -- tokens and login sessions (accounts/tokens.py, accounts/sessions.py) ----------------------------------
# Distinct codes so the client knows what to do: TOKEN_EXPIRED → refresh silently; the others → log in again.
TOKEN_INVALID = define("TOKEN_INVALID", 401, "登录凭证无效，请重新登录")
TOKEN_EXPIRED = define("TOKEN_EXPIRED", 401, "登录已过期，请重新登录")
REFRESH_TOKEN_REUSED = define("REFRESH_TOKEN_REUSED", 401, "登录凭证已失效，为保障账号安全，请重新登录")
SESSION_REVOKED = define("SESSION_REVOKED", 401, "您已退出登录，请重新登录")

# -- citizen-ID binding (accounts/binding.py) --------------------------------------------------------------
CITIZEN_ID_TAKEN = define("CITIZEN_ID_TAKEN", 409, "该身份证号码已被其他账号绑定；如非本人操作，请联系客服")
CITIZEN_ID_ALREADY_BOUND = define("CITIZEN_ID_ALREADY_BOUND", 409, "您的账号已绑定其他身份证号码，如需更换请联系客服")
CITIZEN_ID_NAME_MISMATCH = define("CITIZEN_ID_NAME_MISMATCH", 422, "姓名与身份证号码不一致，请核对后重新填写")
CITIZEN_ID_NOT_FOUND = define("CITIZEN_ID_NOT_FOUND", 422, "未查到该身份证号码的户籍信息，请核对后重新填写")
CITIZEN_ID_ATTEMPTS_EXCEEDED = define("CITIZEN_ID_ATTEMPTS_EXCEEDED", 429, "今日实名认证次数已用完，请明天再试")
POPULATION_UNAVAILABLE = define("POPULATION_UNAVAILABLE", 503, "实名核验服务暂时不可用，请稍后再试")

# -- login (accounts/identity.py) ---------------------------------------------------------------------------
WECHAT_CODE_INVALID = define("WECHAT_CODE_INVALID", 401, "微信登录已失效，请重新进入小程序后再试")
WECHAT_HIGH_RISK = define("WECHAT_HIGH_RISK", 403, "当前微信账号存在风险，暂不能登录，请使用短信验证码登录")
RATE_LIMITED_WECHAT = define("RATE_LIMITED_WECHAT", 429, "登录太频繁，请稍后再试")
WECHAT_UNAVAILABLE = define("WECHAT_UNAVAILABLE", 503, "微信服务繁忙，请稍后再试")
OAUTH_STATE_INVALID = define("OAUTH_STATE_INVALID", 400, "授权已过期或无效，请重新打开页面")
OAUTH_REDIRECT_NOT_ALLOWED = define("OAUTH_REDIRECT_NOT_ALLOWED", 422, "回跳地址不在允许的范围内")
ACCOUNT_DISABLED = define("ACCOUNT_DISABLED", 403, "账号已停用，如有疑问请联系客服")
