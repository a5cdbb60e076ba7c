from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return {"message": "Hello from Flask in a container"}


if __name__ == "__main__":
    # 0.0.0.0: every interface of the container, so a published port can reach the app.
    app.run(host="0.0.0.0", port=8000)
