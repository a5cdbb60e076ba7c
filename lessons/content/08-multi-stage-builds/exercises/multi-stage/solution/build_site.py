"""Build the static site: read pages.json and write dist/index.html.

Stands in for a real site generator or front-end build: it needs Python to run,
but its output is plain files that any web server can serve.
"""

import html
import json
from pathlib import Path

pages = json.loads(Path("pages.json").read_text())
items = "\n".join(
    f"    <li><strong>{html.escape(page['title'])}</strong>: {html.escape(page['summary'])}</li>"
    for page in pages
)
Path("dist").mkdir(exist_ok=True)
Path("dist/index.html").write_text(
    "<!doctype html>\n<html>\n<head><meta charset=\"utf-8\"><title>Dockyard notes</title></head>\n"
    f"<body>\n  <h1>Dockyard notes</h1>\n  <ul>\n{items}\n  </ul>\n</body>\n</html>\n"
)
print(f"built dist/index.html with {len(pages)} pages")
