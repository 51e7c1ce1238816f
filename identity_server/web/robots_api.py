"""The sandbox's robot phones (the QA kit); every route needs the operator's bearer token.

A robot answers its identity's push requests by itself, through the same signed answer path as
a person's phone (identity_server/sandbox/robot_answers.py). The robots run while the app runs: they
start with it and every answer on its way is cancelled when it stops."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Literal, TypedDict

from aiohttp import web
from msgspec import Meta, Struct

from identity_server.sandbox.records import Robot
from identity_server.sandbox.robot_answers import POLL_SECONDS
from identity_server.sandbox.robots import MAX_DELAY
from identity_server.web.body import json_response
from identity_server.web.endpoints import Endpoints
from identity_server.web.keys import SERVICES

routes = Endpoints("sandbox")

OutcomeName = Literal["approve", "approve_biometric", "refuse", "wrong_icon", "wrong_code", "never"]


class RobotView(TypedDict):
    phone: str
    """E.164."""
    identity_id: str
    national_number: str
    outcome: str
    delay: float
    """Seconds of sandbox time between a request and the robot's answer."""
    offline: bool
    """No live connection: the robot finds requests by polling."""
    answered: int
    """Requests the robot has answered."""


class RobotList(TypedDict):
    robots: list[RobotView]


class RobotSettings(Struct, kw_only=True):
    """What the robot does with each request of its identity (docs/test-numbers.md)."""

    outcome: Annotated[
        OutcomeName,
        Meta(
            description="approve (itsme code, right icon), approve_biometric (fingerprint; "
            "refused by services that ask for the code), refuse, wrong_icon (approves where no "
            "icons are shown), wrong_code (until the identity is blocked), never (it expires)"
        ),
    ]
    delay: Annotated[
        float,
        Meta(ge=0, le=MAX_DELAY, description="Answer this many seconds of sandbox time later"),
    ] = 0.0
    offline: Annotated[
        bool,
        Meta(
            description=f"No live connection: the robot polls every {POLL_SECONDS:g} s of "
            "sandbox time"
        ),
    ] = False
    national_number: (
        Annotated[
            str,
            Meta(
                max_length=16,
                description="The person whose identity the robot gets, when the number has none",
            ),
        ]
        | None
    ) = None


def view(robot: Robot) -> RobotView:
    return RobotView(
        phone=robot.phone,
        identity_id=robot.identity_id,
        national_number=robot.national_number,
        outcome=robot.outcome.value,
        delay=robot.delay,
        offline=robot.offline,
        answered=robot.answered,
    )


@routes.get(
    "/api/admin/robots",
    "Every robot phone and what it answers",
    auth="admin",
    answers={200: RobotList},
)
async def list_robots(request: web.Request) -> web.Response:
    robots = await request.app[SERVICES].robots.list()
    return json_response(RobotList(robots=[view(r) for r in robots]))


@routes.put(
    "/api/admin/robots/{phone}",
    "Make a phone number a robot, or change what it answers",
    description="A number without an identity needs `national_number`: the person's identity "
    "is made already onboarded, on a robot phone. A number whose identity answers on a "
    "person's phone is refused (409 `not_a_robot`).",
    auth="admin",
    body=RobotSettings,
    answers={200: RobotView},
)
async def put_robot(request: web.Request, body: RobotSettings) -> web.Response:
    robot = await request.app[SERVICES].robots.put(
        request.match_info["phone"][:40],
        outcome=body.outcome,
        delay=body.delay,
        offline=body.offline,
        national_number=body.national_number,
    )
    return json_response(view(robot))


@routes.delete(
    "/api/admin/robots/{phone}",
    "Stop a robot phone (its identity stays, without a phone)",
    auth="admin",
)
async def delete_robot(request: web.Request) -> web.Response:
    await request.app[SERVICES].robots.remove(request.match_info["phone"][:40])
    return web.Response(status=204)


async def _running(app: web.Application) -> AsyncIterator[None]:
    robots = app[SERVICES].robots
    await robots.start()
    try:
        yield
    finally:
        await robots.close()


def connect(app: web.Application) -> None:
    """The robots answer while the app runs; their tasks end with it."""
    app.cleanup_ctx.append(_running)
