"""ASGI entry point: Django for HTTP, Channels for the build-log WebSockets."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tutorial.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from sandbox.routing import websocket_urlpatterns  # noqa: E402
from workspace.limits import RequestBodyLimit  # noqa: E402

application = ProtocolTypeRouter(
    {
        # A body over the limit is refused before Django reads it (workspace/limits.py).
        "http": RequestBodyLimit(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
