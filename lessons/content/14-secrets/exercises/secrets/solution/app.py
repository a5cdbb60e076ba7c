import os
import sys

token = os.environ.get("API_TOKEN")
if not token:
    sys.exit("API_TOKEN is not set. Pass it when you start the container: docker run -e API_TOKEN=... IMAGE")
print(f"Calling the weather API with the token ending in ...{token[-4:]}")
