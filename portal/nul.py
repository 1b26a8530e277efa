"""Requests that carry a NUL character are refused with a 400 before anything reads them.

PostgreSQL text cannot hold NUL (U+0000): a NUL that reaches a query (a lookup by slug, a
feed name, a User-Agent being recorded) raises DataError, a 500, where SQLite says nothing.
No honest client sends one, so instead of guarding every lookup this one place refuses a
request wherever it can carry one: the path, the query string, form fields and file names,
JSON bodies, cookies and headers. The answer names where, so a script's author can find it.

A NUL can also arrive escaped, as JSON's or TOML's "\\u0000", and appear only once parsed:
JSON form fields refuse it with ``refuse_nul_in_json``, roster files in their own checks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.http.request import HttpHeaders

NUL = "\x00"
REFUSAL = "NUL characters are not allowed"
FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


def refuse_nul_characters(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        where = nul_in(request)
        if where is None:
            return get_response(request)
        message = f"{REFUSAL} (in {where})."
        if request.path.startswith("/api/") or is_json(request):
            return JsonResponse({"error": message}, status=400)
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")

    return middleware


def nul_in(request: HttpRequest) -> str | None:
    """Where ``request`` carries a NUL, in words ("the query parameter 'q'"); None if nowhere.

    The raw query string and headers are scanned first and parsed only when they hold a NUL
    (spelled %00 in a query): this runs on every request, and most have none."""
    if NUL in request.path:
        return "the address"
    query = request.META.get("QUERY_STRING", "")
    found = None
    if "%00" in query or NUL in query:
        found = _first("query parameter", request.GET.lists())
    cookies = request.META.get("HTTP_COOKIE", "")
    # A quoted cookie may also spell NUL as the octal escape \000, which parsing turns into one.
    if not found and ("\\" in cookies or NUL in cookies):
        found = _first("cookie", ((name, [value]) for name, value in request.COOKIES.items()))
    found = found or _in_headers(request)
    if found:
        return found
    if request.method == "POST" and request.content_type in FORM_TYPES:
        files = ((name, [f.name or "" for f in files]) for name, files in request.FILES.lists())
        return _first("form field", request.POST.lists()) or _first("file name of", files)
    return _in_json(request)


def _in_headers(request: HttpRequest) -> str | None:
    for key, value in request.META.items():
        if isinstance(value, str) and NUL in value:
            name = HttpHeaders.parse_header_name(key)
            if name is not None:
                return f"the header '{name}'"
    return None


def is_json(request: HttpRequest) -> bool:
    content_type = request.content_type or ""
    return content_type == "application/json" or content_type.endswith("+json")


def _first(kind: str, items: Iterable[tuple[str, list[str]]]) -> str | None:
    for name, values in items:
        if NUL in name or any(NUL in value for value in values):
            shown = name.replace(NUL, "\\x00")
            return f"the {kind} '{shown}'"
    return None


def _in_json(request: HttpRequest) -> str | None:
    """A JSON body's NUL, raw or escaped as \\u0000; a body that is no JSON is the view's to
    refuse."""
    if not is_json(request) or not request.body:
        return None
    try:
        document = json.loads(request.body)
    except (ValueError, RecursionError):
        document = None
    if b"\x00" in request.body or _holds_nul(document):
        return "the JSON body"
    return None


def refuse_nul_in_json(value: object) -> None:
    """A form validator for JSON fields: "\\u0000" arrives as text without a NUL, and only
    becomes one once parsed, which PostgreSQL's jsonb then refuses."""
    if _holds_nul(value):
        raise ValidationError(f"{REFUSAL}.", code="null_characters_not_allowed")


def _holds_nul(document: object) -> bool:
    # A loop, not recursion: the document may be nested as deep as the parser allows.
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, str) and NUL in value:
            return True
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False
