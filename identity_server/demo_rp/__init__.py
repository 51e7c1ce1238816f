"""The demo relying party: the e-loket of Gemeente Sleutelstad, a reference OpenID Connect client.

from identity_server.demo_rp import DemoRpSettings, create_demo_rp
app = create_demo_rp(DemoRpSettings(issuer=..., client_id=..., client_secret=..., base_url=...))
"""

from identity_server.demo_rp.app import create_demo_rp
from identity_server.demo_rp.settings import DemoRpSettings

__all__ = ["DemoRpSettings", "create_demo_rp"]
