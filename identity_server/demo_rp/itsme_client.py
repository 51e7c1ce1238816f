"""itsme's CIBA with QR user discovery, as a relying party runs it (itsme doc, "CIBA QR login"):
a user discovery session whose QR the person scans with the app, polled until it names the
person, then a backchannel authentication request signed as a request object. Everything else
itsme speaks (private_key_jwt, nested request objects, sealed ID tokens and userinfo) is the
plain OpenID Connect client's, with a private JWK set."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from identity_server.demo_rp.oidc_client import OidcClient
from identity_server.demo_rp.oidc_messages import (
    DEFAULT_CIBA_INTERVAL,
    CibaRequest,
    OidcError,
    ProviderUnavailable,
)


@dataclass(frozen=True)
class Discovery:
    """A user discovery session as its last poll left it (itsme doc, CIBA QR login): the QR to
    show while pending (a base64 PNG, replaced at each poll), or the user_identifier_token."""

    session_id: str = field(repr=False)
    qr_png: str = field(default="", repr=False)
    expires_at: str = ""
    interval: int = DEFAULT_CIBA_INTERVAL
    user_identifier_token: str = field(default="", repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Discovery:
        session_id = data.get("user_discovery_session_id")
        token = data.get("user_discovery_token")
        interval = data.get("interval", DEFAULT_CIBA_INTERVAL)
        if not isinstance(session_id, str) or not isinstance(interval, int):
            raise ProviderUnavailable("malformed user discovery answer")
        found = data.get("user_identifier_token")
        if isinstance(found, str) and found:
            return cls(session_id, interval=max(interval, 1), user_identifier_token=found)
        if not isinstance(token, dict) or not isinstance(token.get("qr_code"), str):
            raise ProviderUnavailable("malformed user discovery answer")
        return cls(
            session_id,
            qr_png=token["qr_code"],
            expires_at=str(token.get("expires_at", "")),
            interval=max(interval, 1),
        )


class ItsmeClient(OidcClient):
    """The OpenID Connect client of the itsme dialect, with itsme's QR login."""

    async def _discovery_endpoint(self) -> str:
        metadata = await self.metadata()
        if metadata.user_discovery_endpoint is None:
            raise OidcError("ciba_not_supported", "the provider offers no user discovery")
        return metadata.user_discovery_endpoint

    async def start_discovery(self) -> Discovery:
        """User Discovery Request: a session whose QR code the person scans with the app."""
        endpoint = await self._discovery_endpoint()
        return Discovery.from_json(await self._provider.post_form(endpoint, {}))

    async def poll_discovery(self, session_id: str) -> Discovery:
        """User Discovery Poll: a new QR while nobody scanned, the token once someone did;
        `OidcError` with the provider's error (400 once the session ended, 429 too fast).

        The client assertion's `aud` is the sessions' collection URL, without the session id."""
        endpoint = await self._discovery_endpoint()
        url = f"{endpoint}/{quote(session_id, safe='')}"
        return Discovery.from_json(await self._provider.post_form(url, {}, audience=endpoint))

    async def start_discovered_ciba(
        self,
        *,
        user_identifier_token: str,
        scope: str,
        acr_values: str,
        binding_message: str,
    ) -> CibaRequest:
        """itsme's backchannel authentication request (itsme doc, CIBA QR login, Authentication
        Request): every parameter in a request object signed with our key (CIBA Core §7.1.1),
        the person named by a `login_hint_token` JWT of type user_identifier_token (signed too:
        the provider reads either)."""
        endpoint = await self._backchannel_endpoint()
        hint = self._keys.sign({"type": "user_identifier_token", "value": user_identifier_token})
        params: dict[str, Any] = {
            "scope": scope,
            "acr_values": acr_values,
            "login_hint_token": hint,
            "binding_message": binding_message,
        }
        if self._settings.ciba_requested_expiry is not None:
            params["requested_expiry"] = self._settings.ciba_requested_expiry
        request = await self.request_object(params, encrypt=False)
        data = await self._provider.post_form(endpoint, {"request": request})
        return CibaRequest.from_json(data)
