"""Admin views of the audit log (read-only) and API tokens (revoke only); the admin login form."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from portal.forms import AdminLoginForm
from portal.models import ApiToken, AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    list_display = ["at", "action", "subject", "actor"]
    list_filter = ["action"]
    search_fields = ["subject", "action"]
    # The actor as a name, not a link: a manager may read the log but not open user accounts.
    fields = ["at", "action", "subject", "by", "details"]
    readonly_fields = ["at", "action", "subject", "by", "details"]

    @admin.display(description="actor")
    def by(self, entry: AuditEntry) -> str:
        return str(entry.actor) if entry.actor else "the portal"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ["user", "created_at"]
    fields = ["user", "created_at"]
    readonly_fields = ["user", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # people create their own, at /account/api-token/


# Login attempts in turn per username and address, as on /login/ (portal/forms.py).
admin.site.login_form = AdminLoginForm
admin.site.site_header = "On-call portal admin"
admin.site.site_title = "On-call portal admin"
admin.site.index_title = "Rosters, overrides and records"
