import time
from pathlib import Path

from flask import Flask

app = Flask(__name__)

# The grader creates this file to make the app hang, as a deadlocked server would: a health check must
# then report the container unhealthy.
FROZEN = Path("/tmp/app-frozen")


@app.before_request
def hang_while_frozen():
    while FROZEN.exists():
        time.sleep(0.2)


@app.get("/")
def index():
    return {"message": "Hello from a monitored container"}


@app.get("/health")
def health():
    # A real app would check its database connection and the like here.
    return {"status": "ok"}


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=8000)
