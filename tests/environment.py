"""The environment a test run needs, set before Django reads its settings (a pytest plugin: pytest.ini `-p`).

With DEBUG off, the settings refuse to start without a SECRET_KEY of their own. Tests run with DEBUG off, as
production does, so the test run brings a random key unless one is set already. Subprocesses the tests start
(the live stack's web server and worker, manage.py) inherit it.
"""

import os
import secrets

os.environ.setdefault("SECRET_KEY", f"test-run-{secrets.token_urlsafe(40)}")
