"""The yardstick: a bare Flask app answering "hello", served the same way."""

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello() -> str:
    return "Hello, World!"
