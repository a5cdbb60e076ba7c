"""Install the private weather_client package from the company's package index, which needs a token.

The sandbox has no network, so this script checks the token and unpacks a bundled copy; a real build would
run pip install with the token in the index URL (see the lesson). It records which token it used as the
token's SHA-256, which does not reveal the token, so the grader can tell whether the build received its secret.
"""

import hashlib
import os
import sys
from pathlib import Path

SECRET_FILE = Path("/run/secrets/index_token")


def index_token() -> str:
    """The token from the build secret `index_token` if it is mounted, else from $INDEX_TOKEN."""
    if SECRET_FILE.exists():
        return SECRET_FILE.read_text().strip()
    return os.environ.get("INDEX_TOKEN", "").strip()


token = index_token()
if not token:
    sys.exit(
        "No index token. Mount it for this step: RUN --mount=type=secret,id=index_token python install_private.py"
    )
vendor = Path("vendor")
vendor.mkdir(exist_ok=True)
(vendor / "weather_client.py").write_text('def forecast():\n    return "sunny, 21 degrees"\n')
(vendor / "INSTALLED_WITH").write_text(hashlib.sha256(token.encode()).hexdigest() + "\n")
print("installed weather_client from the private index")
