import platform
import sys
from pathlib import Path

debian = Path("/etc/debian_version").read_text().strip() if Path("/etc/debian_version").exists() else "unknown"
print(f"Report ready, made with Python {platform.python_version()} on Debian {debian}")
if sys.version_info[:2] != (3, 11):
    raise SystemExit("This report was written for Python 3.11.")
