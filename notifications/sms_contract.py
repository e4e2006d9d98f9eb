"""The message contract between whoever asks for a login code to be sent (accounts.sms_codes, on the API) and the
task that sends it (notifications.tasks_sms, in the worker): task name, queue and the cipher contexts.

The phone number and the code travel as FieldCipher tokens bound to these contexts, so neither sits in clear
in the Redis broker (or in a dump of it), and a token cannot be replayed into another field.
"""

from __future__ import annotations

SEND_LOGIN_CODE = "notifications.tasks_sms.send_login_code"
QUEUE = "urgent"  # a login code is useless after a few minutes: never behind bulk sends
PHONE_CONTEXT = "sms.phone"
CODE_CONTEXT = "sms.code"
