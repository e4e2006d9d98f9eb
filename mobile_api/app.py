"""The application factory: routes, settings, the OpenAPI document (built once at start-up)."""

from __future__ import annotations

import json
from typing import Any

from tornado.routing import URLSpec
from tornado.web import Application

from config.wiring import Dependencies
from mobile_api.base import NotFoundHandler
from mobile_api.handlers import (
    auth,
    auth_sms,
    cases,
    cases_staff,
    catalogue,
    catalogue_admin,
    catalogue_io,
    documents,
    forms,
    me,
    me_alipay,
    me_phone,
    notifications,
    notifications_admin,
    ratings,
    school_admin,
    school_fee_items,
    school_parents,
    school_payments,
    school_receipts,
    school_refunds,
    school_roster,
)
from mobile_api.handlers import staff as staff_handlers
from mobile_api.handlers import staff_admin as staff_admin_handlers
from mobile_api.handlers import staff_wechat as staff_wechat_handlers
from mobile_api.handlers.docs import DocsHandler, DocsStaticHandler, OpenApiHandler
from mobile_api.handlers.health import HealthzHandler, MetricsHandler, ReadyzHandler
from mobile_api.observability import InFlight, log_request
from mobile_api.openapi import build_openapi
from mobile_api.routing import by_specificity, route

API_VERSION = "0.1.0"


def api_routes() -> list[URLSpec]:
    """Every documented route. Later resources append their modules' routes here."""
    return [
        route("/healthz", HealthzHandler),
        route("/readyz", ReadyzHandler),
        route("/metrics", MetricsHandler),
        route("/api/v1/auth/miniprogram/login", auth.MiniProgramLoginHandler),
        route("/api/v1/auth/official-account/authorize", auth.OfficialAccountAuthorizeHandler),
        route("/api/v1/auth/official-account/login", auth.OfficialAccountLoginHandler),
        route("/api/v1/auth/refresh", auth.RefreshHandler),
        route("/api/v1/auth/logout", auth.LogoutHandler),
        route("/api/v1/auth/logout-everywhere", auth.LogoutEverywhereHandler),
        route("/api/v1/me", me.MeHandler),
        route("/api/v1/me/citizen-id", me.CitizenIdHandler),
        route("/api/v1/me/sessions", me.SessionsHandler),
        route("/api/v1/me/sessions/{session_id}", me.SessionHandler),
        route("/api/v1/auth/sms/code", auth_sms.SmsCodeHandler),
        route("/api/v1/auth/sms/login", auth_sms.SmsLoginHandler),
        route("/api/v1/me/phone/code", me_phone.PhoneCodeHandler),
        route("/api/v1/me/phone", me_phone.PhoneHandler),
        route("/api/v1/staff/login", staff_handlers.StaffLoginHandler),
        route("/api/v1/staff/login/verify", staff_handlers.StaffLoginVerifyHandler),
        route("/api/v1/staff/refresh", staff_handlers.StaffRefreshHandler),
        route("/api/v1/staff/me", staff_handlers.StaffMeHandler),
        route("/api/v1/admin/staff", staff_admin_handlers.AdminStaffHandler),
        route("/api/v1/admin/staff/{staff_id}/disable", staff_admin_handlers.AdminStaffDisableHandler),
        route("/api/v1/admin/staff/{staff_id}/roles", staff_admin_handlers.AdminStaffRolesHandler),
        route("/api/v1/regions/{code}", catalogue.RegionHandler),
        route("/api/v1/departments", catalogue.DepartmentsHandler),
        route("/api/v1/matters", catalogue.MattersHandler),
        route("/api/v1/matters/{code}", catalogue.MatterHandler),
        route("/api/v1/matters/{code}/versions/{version}", catalogue.MatterVersionHandler),
        route("/api/v1/admin/matters", catalogue_admin.AdminMattersHandler),
        route("/api/v1/admin/matters/{code}", catalogue_admin.AdminMatterHandler),
        route("/api/v1/admin/matters/{code}/draft", catalogue_admin.AdminMatterDraftHandler),
        route("/api/v1/admin/matters/{code}/submit", catalogue_admin.AdminMatterSubmitHandler),
        route("/api/v1/admin/matters/{code}/publish", catalogue_admin.AdminMatterPublishHandler),
        route("/api/v1/admin/matters/{code}/withdraw", catalogue_admin.AdminMatterWithdrawHandler),
        route("/api/v1/staff/password", staff_handlers.StaffPasswordHandler),
        route("/api/v1/staff/wechat/bind", staff_wechat_handlers.StaffWeChatBindHandler),
        route("/api/v1/staff/wechat", staff_wechat_handlers.StaffWeChatHandler),
        route("/api/v1/staff/wechat/login", staff_wechat_handlers.StaffWeChatLoginHandler),
        route("/api/v1/admin/matters/import-template", catalogue_io.ImportTemplateHandler),
        route("/api/v1/admin/matters/imports", catalogue_io.MatterImportsHandler),
        route("/api/v1/admin/matters/imports/{job_id}", catalogue_io.MatterImportHandler),
        route("/api/v1/admin/matters/export", catalogue_io.MatterExportHandler),
        route("/api/v1/documents/slots", documents.SlotsHandler),
        route("/api/v1/documents/{document_id}/confirm", documents.DocumentConfirmHandler),
        route("/api/v1/documents/{document_id}", documents.DocumentHandler),
        route("/api/v1/documents/{document_id}/download", documents.DocumentDownloadHandler),
        route("/api/v1/admin/forms/slots", forms.FormSlotsHandler),
        route("/api/v1/admin/forms/{form_id}/confirm", forms.FormConfirmHandler),
        route("/api/v1/matters/{code}/materials/{index}/form", forms.MaterialFormHandler),
        *cases.ROUTES,
        *cases_staff.ROUTES,
        *ratings.ROUTES,
        *notifications.ROUTES,
        *notifications_admin.ROUTES,
        *school_admin.ROUTES, *school_roster.ROUTES, *school_fee_items.ROUTES, *school_parents.ROUTES,
        *school_payments.ROUTES, *school_receipts.ROUTES, *school_refunds.ROUTES,
        *me_alipay.ROUTES,
    ]


def make_app(deps: Dependencies, *, extra_routes: list[URLSpec] | None = None, **overrides: Any) -> Application:
    settings = deps.settings
    routes = by_specificity(api_routes() + list(extra_routes or []))
    document = build_openapi(routes, title="掌上办 API", version=API_VERSION, server_url=settings.base_url)
    routes += [
        route("/openapi.json", OpenApiHandler),
        route("/docs", DocsHandler),
        URLSpec(r"^/docs/static/(.*)$", DocsStaticHandler),
    ]
    return Application(
        routes,
        default_handler_class=NotFoundHandler,
        log_function=log_request,
        deps=deps,
        in_flight=InFlight(),
        max_json_body_bytes=settings.max_json_body_bytes,
        max_json_depth=settings.max_json_depth,
        openapi_json=json.dumps(document, ensure_ascii=False).encode(),
        compress_response=False,
        **overrides,
    )
