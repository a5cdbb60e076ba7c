from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return {"message": "Hello from Flask in a container"}


if __name__ == "__main__":
    # Flask's development server; its host defaults to 127.0.0.1.
    app.run(port=8000)
