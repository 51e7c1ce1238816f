"""The pages of a login that waits for the phone (a CIBA login, itsme's QR login): the wait page,
and one poll step — as JSON for the page's script, or as the page again for a browser without
script (its "check" link)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from identity_server.demo_rp import i18n, outcomes
from identity_server.demo_rp.flows import LoginError, LoginStep
from identity_server.demo_rp.pages import DEMO_RP, error_page, render, see_other
from identity_server.demo_rp.sessions import FailedLogin, Session

Poll = Callable[[web.Request, Session], Awaitable[LoginStep]]
"""One poll step of the login under way in the session."""
WaitPage = Callable[[web.Request, Session, bool], web.Response]
"""The wait page of the login under way (`still_pending`: after a check without news)."""


def wait_page(
    request: web.Request,
    template: str,
    session: Session,
    *,
    next_poll_at: float,
    still_pending: bool,
    **context: Any,
) -> web.Response:
    """The page that waits: its script asks again after `retry_after` seconds."""
    return render(
        request,
        template,
        retry_after=max(1, round(next_poll_at - request.app[DEMO_RP].clock())),
        still_pending=still_pending,
        csrf=session.csrf_token,
        **context,
    )


def failed_page(request: web.Request, failure: FailedLogin | None) -> web.Response:
    failure = failure or FailedLogin("generic")
    return error_page(request, failure.code, failure.detail, 400)


def nothing_to_wait_for(request: web.Request, session: Session | None) -> web.Response:
    """A wait page with no login under way: why the last one failed, else home."""
    if session is not None and session.ciba_failure is not None and session.user is None:
        return failed_page(request, session.ciba_failure)
    return see_other("/")


def step_json(request: web.Request, step: LoginStep, next_page: str) -> web.Response:
    """For the wait page's script: pending (ask again after `retry_after`, a QR login's new QR),
    done or discovered (go on to `next_page`), or failed (the sentence to show)."""
    body: dict[str, Any] = {"status": step.state}
    if step.state == "pending":
        body["retry_after"] = max(1, round(step.retry_after))
        if step.qr_png is not None:
            body["qr"] = step.qr_png
    elif step.state in ("done", "discovered"):
        body["location"] = next_page
    elif step.failure is not None:
        failure = step.failure
        body["code"] = failure.code
        told = outcomes.told(i18n.language_of(request), failure.code, failure.detail)
        body["message"] = told.message
        if told.outcome is not None:
            body["outcome"] = told.outcome
    return web.json_response(body)


async def status(request: web.Request, poll: Poll, *, next_page: str) -> web.Response:
    """One poll step as JSON for the wait page's script."""
    session = request.app[DEMO_RP].sessions.find(request)
    if session is None:
        expired = LoginStep("failed", failure=FailedLogin("session_expired"))
        return step_json(request, expired, next_page)
    return step_json(request, await poll(request, session), next_page)


async def check(
    request: web.Request, poll: Poll, page: WaitPage, *, next_page: str
) -> web.Response:
    """One poll step without script: the wait page again, `next_page`, or why it failed."""
    session = request.app[DEMO_RP].sessions.find(request)
    if session is None:
        raise LoginError("session_expired")
    step = await poll(request, session)
    if step.state == "pending":
        return page(request, session, True)
    if step.state == "failed":
        return failed_page(request, step.failure)
    return see_other(next_page)
