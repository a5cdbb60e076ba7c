"""The nightly sales report: it stages its intermediate files in a cache folder, then prints the result."""

import os
from pathlib import Path

CACHE = Path(os.environ.get("REPORT_CACHE", "/app/cache"))

CACHE.mkdir(parents=True, exist_ok=True)
sales = {"north": 1200, "south": 950, "east": 1430}
staged = CACHE / "sales.csv"
staged.write_text("".join(f"{region},{amount}\n" for region, amount in sales.items()))
total = sum(int(line.split(",")[1]) for line in staged.read_text().splitlines())
print(f"Report ready: {total} sold in {len(sales)} regions (uid {os.getuid()}, cache {CACHE})")
