from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return {"message": "Hello from a monitored container"}


@app.get("/health")
def health():
    # A real app would check its database connection and the like here.
    return {"status": "ok"}


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=8000)
