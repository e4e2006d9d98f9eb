"""Error codes of the storage package (documents uploaded by residents), declared once via `define()`."""

from __future__ import annotations

from core.errors import define

# Missing and someone else's document give the same code (accounts/scopes.py: residents must not learn ids).
DOCUMENT_NOT_FOUND = define("DOCUMENT_NOT_FOUND", 404, "文件不存在")
DOCUMENT_NOT_UPLOADED = define("DOCUMENT_NOT_UPLOADED", 409, "文件尚未上传完成，请上传后再确认")
DOCUMENT_NOT_READY = define("DOCUMENT_NOT_READY", 409, "文件尚未确认上传，暂不能下载")
DOCUMENT_REJECTED = define("DOCUMENT_REJECTED", 422, "文件未通过检查，请重新上传")
DOCUMENT_TYPE_NOT_ALLOWED = define("DOCUMENT_TYPE_NOT_ALLOWED", 422, "不支持该文件格式")
DOCUMENT_TOO_LARGE = define("DOCUMENT_TOO_LARGE", 422, "文件过大")
STORAGE_UNAVAILABLE = define("STORAGE_UNAVAILABLE", 503, "文件存储服务暂时不可用，请稍后再试")
DOCUMENT_QUOTA_EXCEEDED = define("DOCUMENT_QUOTA_EXCEEDED", 409, "待提交的文件过多，请先提交申请或删除不用的文件")
DOCUMENT_SLOTS_RATE_LIMITED = define("DOCUMENT_SLOTS_RATE_LIMITED", 429, "上传太频繁，请稍后再试")
DOCUMENT_ATTACHED = define("DOCUMENT_ATTACHED", 409, "文件已用于其他办件或材料")
FORM_NOT_FOUND = define("FORM_NOT_FOUND", 404, "该材料暂无空白表格或样表")
