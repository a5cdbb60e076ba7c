import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "vendor"))
from weather_client import forecast  # noqa: E402 - installed into vendor/ by install_private.py


def read_secret(name: str) -> str:
    """A secret from NAME (an environment variable) or else NAME_FILE (the path of a mounted file).

    A value passed with -e wins, so an image may name a default file with ENV NAME_FILE=/run/secrets/...
    """
    value = os.environ.get(name)
    if value:
        return value
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text().strip()
    sys.exit(f"{name} is not set. Pass it when you start the container: docker run -e {name}=... IMAGE")


token = read_secret("API_TOKEN")
print(f"Calling the weather API with the token ending in ...{token[-4:]}: {forecast()}")
