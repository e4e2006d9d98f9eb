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

# -- staff accounts, staff login, scopes (accounts/staff*.py, accounts/scopes.py) ---------------------------
# One generic refusal for a wrong username or password: which of the two was wrong is not revealed.
STAFF_LOGIN_FAILED = define("STAFF_LOGIN_FAILED", 401, "用户名或密码错误")
STAFF_LOGIN_LOCKED = define("STAFF_LOGIN_LOCKED", 429, "登录失败次数过多，请 15 分钟后再试")
STAFF_LOGIN_TICKET_INVALID = define("STAFF_LOGIN_TICKET_INVALID", 401, "登录已超时，请重新输入用户名和密码")
PASSWORD_TOO_WEAK = define("PASSWORD_TOO_WEAK", 422, "密码不符合要求")
STAFF_USERNAME_TAKEN = define("STAFF_USERNAME_TAKEN", 409, "该用户名已被使用，请换一个")
STAFF_NOT_FOUND = define("STAFF_NOT_FOUND", 404, "没有找到该工作人员")
RESOURCE_NOT_FOUND = define("RESOURCE_NOT_FOUND", 404, "没有找到该记录")
STAFF_ONLY = define("STAFF_ONLY", 403, "此功能仅限工作人员使用，请用工作人员账号登录")
RESIDENT_ONLY = define("RESIDENT_ONLY", 403, "工作人员账号不能办理个人事项，请用本人微信或手机号登录")

# -- SMS login codes and phone binding (accounts/sms_codes.py, accounts/phone_accounts.py) --------------------
# 422, not 401: a wrong code is a form error, and in the signed-in flows (verify my phone, staff second factor)
# a 401 would tell the client its token is bad.
SMS_CODE_INVALID = define("SMS_CODE_INVALID", 422, "验证码错误，请重新输入")
SMS_CODE_EXPIRED = define("SMS_CODE_EXPIRED", 422, "验证码已失效，请重新获取")
SMS_CODE_TOO_MANY_TRIES = define("SMS_CODE_TOO_MANY_TRIES", 422, "验证码错误次数过多，已失效，请重新获取")
SMS_RESEND_TOO_SOON = define("SMS_RESEND_TOO_SOON", 429, "验证码发送太频繁，请稍后再试")
SMS_DAILY_LIMIT = define("SMS_DAILY_LIMIT", 429, "今日获取验证码次数已达上限，请明天再试")
SMS_UNAVAILABLE = define("SMS_UNAVAILABLE", 503, "短信服务暂时不可用，请稍后再试")
PHONE_TAKEN = define("PHONE_TAKEN", 409, "该手机号已绑定其他账号；如非本人操作，请联系客服")

# -- staff WeChat login and the forced password change (accounts/staff_wechat.py, accounts/staff_password.py) --
# 401, not 404: a login that cannot proceed; the WeChat holder learns only that their own WeChat is not bound.
STAFF_WECHAT_NOT_BOUND = define("STAFF_WECHAT_NOT_BOUND", 401,
                                "该微信尚未绑定工作人员账号：请先用用户名、密码和短信验证码登录，再在“我的账号”中绑定微信")
STAFF_WECHAT_TAKEN = define("STAFF_WECHAT_TAKEN", 409, "该微信已绑定其他工作人员账号；如非本人操作，请联系管理员")
STAFF_WECHAT_ALREADY_BOUND = define("STAFF_WECHAT_ALREADY_BOUND", 409, "您的账号已绑定另一个微信，请先解除绑定")
STAFF_WECHAT_BIND_NEEDS_SMS = define("STAFF_WECHAT_BIND_NEEDS_SMS", 403,
                                     "绑定微信须先用用户名、密码和短信验证码登录（微信登录后不能绑定）")
STAFF_WECHAT_NOT_ALLOWED = define("STAFF_WECHAT_NOT_ALLOWED", 403,
                                  "系统管理员账号不能使用微信登录，请用用户名、密码和短信验证码登录")
PASSWORD_CHANGE_REQUIRED = define("PASSWORD_CHANGE_REQUIRED", 403, "请先修改初始密码，再使用其他功能")
# 422, not 401 (see SMS_CODE_INVALID): the caller's token is fine, the form is wrong.
STAFF_OLD_PASSWORD_WRONG = define("STAFF_OLD_PASSWORD_WRONG", 422, "原密码不正确")
